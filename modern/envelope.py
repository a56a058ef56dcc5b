"""The self-describing ``resource_meta`` that carries a sync connector's finished Resource.

Flyte 2 has no sync service, so a sync connector asked through CreateTask runs ``do`` there and the
terminal v2 ``Resource`` travels back inside ``resource_meta``; any replica answers the following
GetTask from those bytes alone (stateless). Layout: an 8-byte magic that no JSON ``ResourceMeta`` can
start with (it begins with a NUL byte), then the serialized v2 ``Resource``.

The bytes are stored by the executor (propeller gob-stores them in the workflow CRD), so their size
is bounded: past the bound CreateTask fails with a clear error instead of bloating the CRD.
"""

from __future__ import annotations

from modern.errors import ConnectorError, InvalidRequestError
from translators._gen import v2
from translators._protobuf_compat import PARSE_ERRORS

MAGIC = b"\x00FCBsr1\n"
DEFAULT_MAX_BYTES = 256 * 1024


def is_envelope(data: bytes) -> bool:
    """Whether ``data`` is a sync-result envelope (as opposed to a connector's own meta)."""
    return data[: len(MAGIC)] == MAGIC


def pack(resource: v2.Resource, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Wrap a finished Resource as ``resource_meta``.

    Args:
        resource: The terminal v2 Resource.
        max_bytes: The largest envelope allowed.

    Returns:
        The envelope bytes.

    Raises:
        ConnectorError: The envelope would exceed ``max_bytes``.
    """
    size = len(MAGIC) + resource.ByteSize()
    if size > max_bytes:
        raise ConnectorError(
            f"sync connector result is {size} bytes, over the resource_meta limit of {max_bytes} bytes; "
            "write large outputs to the output prefix or raise the limit"
        )
    return MAGIC + resource.SerializeToString()


def unpack(data: bytes) -> v2.Resource:
    """Read the Resource out of an envelope.

    Raises:
        InvalidRequestError: ``data`` is not an envelope or its payload does not parse.
    """
    if not is_envelope(data):
        raise InvalidRequestError("resource_meta is not a sync-result envelope")
    try:
        return v2.Resource.FromString(data[len(MAGIC) :])
    except PARSE_ERRORS:
        raise InvalidRequestError("resource_meta envelope is corrupt") from None


__all__ = ["DEFAULT_MAX_BYTES", "MAGIC", "is_envelope", "pack", "unpack"]
