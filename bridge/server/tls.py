"""Server credentials: plaintext, TLS, or mutual TLS (client certificate required).

Propeller's v1 client speaks TLS against the system roots when ``insecure: false`` and sends no
client certificate; the Flyte 2 executor does the same. Mutual TLS is for deployments that put the
bridge behind their own clients or a mesh that presents certificates.
"""

from __future__ import annotations

from pathlib import Path

import grpc


class TlsConfigError(ValueError):
    """The TLS flags are inconsistent or name files that cannot be read."""


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        # Only the path and the OS reason: never the file contents (it may be a key).
        raise TlsConfigError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None
    if not data.strip():
        raise TlsConfigError(f"{what} {str(path)!r} is empty")
    return data


def server_credentials(
    cert: Path | None, key: Path | None, client_ca: Path | None = None
) -> grpc.ServerCredentials | None:
    """Build server credentials from PEM files.

    Args:
        cert: The server certificate chain (PEM), or None for plaintext.
        key: The server private key (PEM); required with ``cert``.
        client_ca: CA bundle (PEM) that client certificates must chain to. When given, clients
            must present a certificate (mutual TLS).

    Returns:
        Credentials for ``add_secure_port``, or None when serving plaintext.

    Raises:
        TlsConfigError: On a missing half of the pair, a CA without a certificate, or unreadable files.
    """
    if cert is None and key is None:
        if client_ca is not None:
            raise TlsConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise TlsConfigError("--tls-cert and --tls-key must be given together")
    pair = (_read(key, "TLS key"), _read(cert, "TLS certificate"))
    if client_ca is None:
        return grpc.ssl_server_credentials([pair])
    return grpc.ssl_server_credentials(
        [pair], root_certificates=_read(client_ca, "client CA"), require_client_auth=True
    )


def channel_credentials(
    ca: Path | None, cert: Path | None = None, key: Path | None = None
) -> grpc.ChannelCredentials | None:
    """Build client (channel) credentials for upstream servers from PEM files.

    Args:
        ca: CA bundle the upstream's certificate must chain to (None: the system roots).
        cert: Client certificate chain for mutual TLS, or None.
        key: Client private key; required with ``cert``.

    Returns:
        Credentials for ``grpc.aio.secure_channel``, or None (plaintext) when no file is given.

    Raises:
        TlsConfigError: On a missing half of the client pair, or unreadable files.
    """
    if ca is None and cert is None and key is None:
        return None
    if (cert is None) != (key is None):
        raise TlsConfigError("--upstream-tls-cert and --upstream-tls-key must be given together")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca, "upstream CA") if ca is not None else None,
        private_key=_read(key, "upstream client key") if key is not None else None,
        certificate_chain=_read(cert, "upstream client certificate") if cert is not None else None,
    )
