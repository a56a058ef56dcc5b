"""Shared pieces of the literal <-> native conversion: message classes, paths in errors, v1 re-parse.

Error paths are built on the way *out* of a failure (each level prepends its segment), so the
success path never formats a string: decoding ten inputs must stay in the microseconds.
"""

from __future__ import annotations

from typing import Any, NoReturn

from google.protobuf.message import Message

from translators._gen import v1_core_literals, v1_types, v2_core_literals, v2_types
from translators._protobuf_compat import PARSE_ERRORS
from translators.errors import LiteralConversionError, bounded

Literal = v2_core_literals.Literal
LiteralMap = v2_core_literals.LiteralMap
LiteralType = v2_types.LiteralType
V1Literal = v1_core_literals.Literal
V1LiteralMap = v1_core_literals.LiteralMap
V1LiteralType = v1_types.LiteralType

SimpleType = v2_types.SimpleType
NONE = SimpleType.NONE
INTEGER = SimpleType.INTEGER
FLOAT = SimpleType.FLOAT
STRING = SimpleType.STRING
BOOLEAN = SimpleType.BOOLEAN
DATETIME = SimpleType.DATETIME
DURATION = SimpleType.DURATION
BINARY = SimpleType.BINARY
ERROR = SimpleType.ERROR
STRUCT = SimpleType.STRUCT

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Union variant tags both SDKs agree on (flytekit and flyte-sdk transformer names). Readers skip
# variants whose transformer name differs from the tag, so we only add a tag where both agree;
# blobs and datasets are named differently by the two SDKs and get none (readers then try all).
SIMPLE_TAGS: dict[int, str] = {
    INTEGER: "int",
    FLOAT: "float",
    STRING: "str",
    BOOLEAN: "bool",
    DATETIME: "datetime",
    DURATION: "timedelta",
    NONE: "none",
}
KIND_TAGS: dict[str, str] = {
    "collection_type": "Typed List",
    "map_value_type": "Typed Dict",
    "enum_type": "DefaultEnumTransformer",
}


def conversion_error(reason: str, path: str = "") -> LiteralConversionError:
    """Build a LiteralConversionError that remembers its reason so outer levels can extend the path."""
    err = LiteralConversionError(reason, path)
    err.reason = bounded(reason)  # type: ignore[attr-defined]
    return err


def reraise_at(err: LiteralConversionError, segment: str) -> NoReturn:
    """Re-raise ``err`` with ``segment`` (``name``, ``[3]`` or ``.key``) prepended to its path."""
    inner = err.path
    if inner and not inner.startswith("["):
        inner = "." + inner if not inner.startswith(".") else inner
    path = (segment + inner).lstrip(".")
    reason = getattr(err, "reason", None) or str(err)
    raise conversion_error(reason, path) from None


def key_segment(key: object) -> str:
    """Path segment for a map key: ``.key`` for identifiers, ``['k e y']`` otherwise."""
    text = str(key)
    return "." + text if text.isidentifier() else "[" + repr(text)[:64] + "]"


def describe_type(lt: LiteralType | None, depth: int = 0) -> str:
    """A short, bounded name for a LiteralType, for error messages (never a dump)."""
    if lt is None:
        return "any"
    kind = lt.WhichOneof("type")
    if depth > 2:
        return "..."
    if kind == "simple":
        return SimpleType.Name(lt.simple) if lt.simple in SimpleType.values() else f"simple({lt.simple})"
    if kind == "collection_type":
        return f"list[{describe_type(lt.collection_type, depth + 1)}]"
    if kind == "map_value_type":
        return f"map[str, {describe_type(lt.map_value_type, depth + 1)}]"
    if kind == "union_type":
        inner = ", ".join(describe_type(v, depth + 1) for v in lt.union_type.variants[:6])
        return f"union[{inner}]"
    if kind == "enum_type":
        return "enum"
    if kind == "structured_dataset_type":
        return "structured_dataset"
    return kind or "any"


def reparse(msg: Message, target: type[Message]) -> Any:
    """Re-parse a message of one generation as ``target`` (same wire format, see DESIGN.md)."""
    out = target()
    try:
        out.ParseFromString(msg.SerializeToString())
    except PARSE_ERRORS:
        raise conversion_error(f"cannot re-parse {type(msg).__name__} as {target.__name__}") from None
    return out


def as_v2_literal_type(lt: Any) -> LiteralType | None:
    """Accept a v2 LiteralType, a v1 LiteralType (re-parsed) or None."""
    if lt is None or isinstance(lt, LiteralType):
        return lt
    if isinstance(lt, V1LiteralType):
        return reparse(lt, LiteralType)
    raise conversion_error(f"literal_type must be a flyteidl2 LiteralType, not {type(lt).__name__}")
