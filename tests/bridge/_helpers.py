"""Helpers for the bridge tests: free ports, a served subprocess, generated certificates."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

REPO = Path(__file__).resolve().parents[2]


def free_port(consecutive: int = 1) -> int:
    """A port on 127.0.0.1 that is free now, with ``consecutive - 1`` free ports after it."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + consecutive > 65535:
            continue
        ok = True
        for extra in range(1, consecutive):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + extra))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


@dataclass
class Served:
    """A ``python -m bridge serve`` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    prometheus_port: int
    log_path: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"server did not stop in {timeout}s; log:\n{self.log()}") from None


def start_serve(
    tmp: Path,
    *extra: str,
    port: int | None = None,
    prometheus_port: int | None = None,
    wait: bool = True,
    credentials: grpc.ChannelCredentials | None = None,
    python: str | Path = sys.executable,
    prefix: tuple[str, ...] = (),
) -> Served:
    """Start ``python -m bridge serve`` on 127.0.0.1 and wait until health says SERVING.

    ``python`` is the interpreter (another venv's, e.g. ``tests.sdkenv``'s, serves under its packages);
    ``prefix`` goes before it (``("taskset", "-c", "0")`` confines the server to one CPU).
    """
    port = port or free_port()
    prometheus_port = prometheus_port or free_port()
    log_path = tmp / f"serve-{port}.log"
    argv = [
        *prefix, str(python), "-m", "bridge", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--prometheus_port", str(prometheus_port), "--grace", "10", *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    served = Served(proc, port, prometheus_port, log_path)
    if wait:
        try:
            wait_serving(served, credentials)
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            raise
    return served


def channel(target: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.Channel:
    if credentials is None:
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", "localhost")])


def wait_serving(served: Served, credentials: grpc.ChannelCredentials | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            raise AssertionError(f"server exited with {served.proc.returncode}; log:\n{served.log()}")
        try:
            with channel(served.target, credentials) as ch:
                resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
        except grpc.RpcError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"server not SERVING after {timeout}s ({last}); log:\n{served.log()}")


@dataclass
class Pki:
    """A throwaway CA, a server certificate for localhost/127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: bytes
    client_key: bytes
    ca_pem: bytes


def make_pki(tmp: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k: ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = key()
    ca = (
        x509.CertificateBuilder().subject_name(name("bridge-test-ca")).issuer_name(name("bridge-test-ca"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, usage: x509.ObjectIdentifier, san: bool) -> tuple[bytes, bytes]:
        k = key()
        b = (
            x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
            .public_key(k.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            b = b.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = b.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), pem_key(k)

    server_cert, server_key = leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_cert, client_key = leaf("bridge-test-client", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    (tmp / "ca.pem").write_bytes(ca_pem)
    (tmp / "server.pem").write_bytes(server_cert)
    (tmp / "server.key").write_bytes(server_key)
    return Pki(tmp / "ca.pem", tmp / "server.pem", tmp / "server.key", client_cert, client_key, ca_pem)
