"""Literal -> native Python value (flyteidl2 ``Literal``; v1 literals are re-parsed first).

Dispatch is on ``WhichOneof`` through dicts built at import. A declared LiteralType, when given,
is checked (a string where an INTEGER is declared is an error naming the path) and used for the
few conversions Flyte itself applies: an integral float for an INTEGER (Flyte console inputs),
an integer for a FLOAT, a msgpack-encoded primitive (propeller attribute access).

Literals with no native form come back *as the Literal object* so nothing is dropped:
offloaded literals, literals carrying ``hash``, ``artifact_id`` or ``metadata`` (other than the
``format: json`` hint old flytekit puts on generic dicts), schemas, errors, binaries with an
unknown tag. Lossy by nature: timestamps and durations keep microseconds (Python's resolution);
nanoseconds below that are truncated.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from translators._literals_common import (
    BINARY,
    BOOLEAN,
    DATETIME,
    DURATION,
    ERROR,
    FLOAT,
    INTEGER,
    NONE,
    STRING,
    STRUCT,
    Literal,
    LiteralType,
    V1Literal,
    as_v2_literal_type,
    conversion_error,
    describe_type,
    key_segment,
    reparse,
    reraise_at,
)
from translators._literals_struct import MSGPACK_TAG, msgpack_decode, struct_to_dict
from translators.errors import LiteralConversionError
from translators.values import Blob, BlobDimensionality, StructuredDataset

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_timedelta = datetime.timedelta

# What each declared type accepts, by scalar/primitive kind. Keys are SimpleType numbers for
# simple types and the LiteralType oneof name otherwise. "binary" is accepted wherever Flyte
# may hand over a msgpack value instead (attribute access on dataclasses).
_ACCEPTS: dict[int | str, frozenset[str]] = {
    NONE: frozenset({"none_type"}),
    INTEGER: frozenset({"integer", "float_value", "binary"}),
    FLOAT: frozenset({"float_value", "integer", "binary"}),
    STRING: frozenset({"string_value", "binary"}),
    BOOLEAN: frozenset({"boolean", "binary"}),
    DATETIME: frozenset({"datetime", "binary"}),
    DURATION: frozenset({"duration", "binary"}),
    BINARY: frozenset({"binary"}),
    ERROR: frozenset({"error"}),
    STRUCT: frozenset({"generic", "binary", "map"}),
    "collection_type": frozenset({"collection", "binary"}),
    "map_value_type": frozenset({"map", "binary"}),
    "blob": frozenset({"blob", "binary"}),
    "structured_dataset_type": frozenset({"structured_dataset", "binary"}),
    "schema": frozenset({"schema"}),
    "enum_type": frozenset({"string_value", "binary"}),
}


def _type_key(lt: LiteralType) -> int | str | None:
    kind = lt.WhichOneof("type")
    return lt.simple if kind == "simple" else kind


def _check(kind: str, lt: LiteralType | None) -> int | str | None:
    """Return the declared type key after checking that a literal of ``kind`` fits it."""
    if lt is None:
        return None
    key = _type_key(lt)
    if key is None or key == "union_type":
        return key
    accepted = _ACCEPTS.get(key)
    if accepted is not None and kind not in accepted:
        raise conversion_error(f"a {kind} literal does not fit the declared type {describe_type(lt)}")
    return key


# --- primitives ------------------------------------------------------------------------------


def _datetime(p: Any) -> datetime.datetime:
    ts = p.datetime
    try:
        return _EPOCH + _timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    except OverflowError:
        raise conversion_error("timestamp outside the datetime range") from None


def _duration(p: Any) -> datetime.timedelta:
    d = p.duration
    try:
        return _timedelta(seconds=d.seconds, microseconds=int(d.nanos / 1000))
    except OverflowError:
        raise conversion_error("duration outside the timedelta range") from None


_PRIMITIVE: dict[str, Callable[[Any], Any]] = {
    "integer": lambda p: p.integer,
    "float_value": lambda p: p.float_value,
    "string_value": lambda p: p.string_value,
    "boolean": lambda p: p.boolean,
    "datetime": _datetime,
    "duration": _duration,
}


def _primitive(prim: Any, lt: LiteralType | None) -> Any:
    kind = prim.WhichOneof("value")
    if kind is None:
        raise conversion_error("primitive literal with no value")
    key = _check(kind, lt)
    value = _PRIMITIVE[kind](prim)
    if key is None or key == kind:
        return value
    if key == INTEGER and kind == "float_value":
        if not value.is_integer():
            raise conversion_error("a non-integral float does not fit the declared type INTEGER")
        return int(value)
    if key == FLOAT and kind == "integer":
        return float(value)
    if key == "enum_type" and value not in lt.enum_type.values:  # type: ignore[union-attr]
        raise conversion_error("value is not one of the declared enum values")
    return value


# --- other scalars ---------------------------------------------------------------------------


def _from_msgpack(value: Any, key: int | str | None, lt: LiteralType | None) -> Any:
    # Propeller resolves attribute access on a dataclass (``dc.x``) to a msgpack literal of the
    # attribute, whatever its declared type: give back the declared kind. Files and datasets come
    # in the shapes flytekit's FlyteFile / StructuredDataset serialize to inside a dataclass.
    if key == "blob" and isinstance(value, dict) and isinstance(value.get("path"), str):
        bt = lt.blob  # type: ignore[union-attr]
        if bt.dimensionality in BlobDimensionality._value2member_map_:
            return Blob(uri=value["path"], format=bt.format, dimensionality=BlobDimensionality(bt.dimensionality))
    if key == "structured_dataset_type" and isinstance(value, dict) and isinstance(value.get("uri"), str):
        return StructuredDataset(uri=value["uri"], format=str(value.get("file_format") or ""))
    if key == DATETIME and isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            raise conversion_error("msgpack value is not an ISO datetime") from None
    if key == DURATION and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _timedelta(seconds=value)
        except (OverflowError, ValueError):  # huge, NaN or infinite seconds
            raise conversion_error("msgpack value is not a representable duration") from None
    if key == FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _binary(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
    key = _check("binary", lt)
    b = scalar.binary
    if b.tag == MSGPACK_TAG:
        return _from_msgpack(msgpack_decode(b.value), key, lt)
    if b.tag == "":
        return b.value
    return lit  # a codec we do not know: keep the literal whole


def _blob(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
    _check("blob", lt)
    blob = scalar.blob
    bt = blob.metadata.type
    try:
        dim = BlobDimensionality(bt.dimensionality)
    except ValueError:
        return lit  # a dimensionality newer than this code: no native form
    return Blob(uri=blob.uri, format=bt.format, dimensionality=dim)


def _structured_dataset(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
    _check("structured_dataset", lt)
    sd = scalar.structured_dataset
    st = sd.metadata.structured_dataset_type
    return StructuredDataset(
        uri=sd.uri,
        format=st.format,
        columns=tuple((c.name, c.literal_type) for c in st.columns),
        external_schema_type=st.external_schema_type,
        external_schema_bytes=st.external_schema_bytes,
    )


def _union(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
    # Any declared type accepts a union literal: the stored variant type decides the decoding.
    u = scalar.union
    return decode(u.value, u.type if u.HasField("type") else None)


def _passthrough(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
    return lit


def _scalar_kind(kind: str) -> Callable[[Any, LiteralType | None, Literal], Any]:
    def check_only(scalar: Any, lt: LiteralType | None, lit: Literal) -> Any:
        _check(kind, lt)
        return lit

    return check_only


def _none(scalar: Any, lt: LiteralType | None, lit: Literal) -> None:
    _check("none_type", lt)
    return None


def _generic(scalar: Any, lt: LiteralType | None, lit: Literal) -> dict[str, Any]:
    _check("generic", lt)
    return struct_to_dict(scalar.generic)


_SCALAR: dict[str, Callable[[Any, LiteralType | None, Literal], Any]] = {
    "primitive": lambda s, lt, lit: _primitive(s.primitive, lt),
    "none_type": _none,
    "generic": _generic,
    "binary": _binary,
    "blob": _blob,
    "structured_dataset": _structured_dataset,
    "union": _union,
    "schema": _scalar_kind("schema"),
    "error": _scalar_kind("error"),
}


# --- containers ------------------------------------------------------------------------------


def _collection(lit: Literal, lt: LiteralType | None) -> Any:
    key = _check("collection", lt)
    sub = lt.collection_type if key == "collection_type" else None  # type: ignore[union-attr]
    out = []
    try:
        for i, item in enumerate(lit.collection.literals):
            out.append(decode(item, sub))
    except LiteralConversionError as err:
        reraise_at(err, f"[{i}]")
    return out


def _map(lit: Literal, lt: LiteralType | None) -> Any:
    key = _check("map", lt)
    sub = lt.map_value_type if key == "map_value_type" else None  # type: ignore[union-attr]
    out = {}
    try:
        for k, item in lit.map.literals.items():
            out[k] = decode(item, sub)
    except LiteralConversionError as err:
        reraise_at(err, key_segment(k))
    return out


def _has_annotations(lit: Literal) -> bool:
    """True when the literal carries facts beside its value that a native value cannot hold."""
    if lit.hash or lit.HasField("artifact_id"):
        return True
    md = lit.metadata
    # Old flytekit marks JSON generics with format=json: a hint on how it was written, no data.
    return bool(md) and not (len(md) == 1 and md.get("format") == "json")


# Primitive kinds whose protobuf value is already the native value, and the simple type each fits
# exactly: the fast path that decodes most task inputs with no further checks.
_PLAIN_FOR: dict[int, str] = {INTEGER: "integer", FLOAT: "float_value", STRING: "string_value", BOOLEAN: "boolean"}
_PLAIN = frozenset(_PLAIN_FOR.values())


def decode(lit: Literal, lt: LiteralType | None = None) -> Any:
    """Decode one v2 literal; see the module docstring for the rules."""
    kind = lit.WhichOneof("value")
    if kind == "scalar":
        if _has_annotations(lit):
            return lit
        scalar = lit.scalar
        skind = scalar.WhichOneof("value")
        if skind == "primitive":
            prim = scalar.primitive
            pkind = prim.WhichOneof("value")
            if pkind in _PLAIN and (
                lt is None or (lt.WhichOneof("type") == "simple" and _PLAIN_FOR.get(lt.simple) == pkind)
            ):
                return getattr(prim, pkind)
            return _primitive(prim, lt)
        if skind is None:
            raise conversion_error("scalar literal with no value")
        return _SCALAR[skind](scalar, lt, lit)
    if kind == "collection":
        return lit if _has_annotations(lit) else _collection(lit, lt)
    if kind == "map":
        return lit if _has_annotations(lit) else _map(lit, lt)
    if kind == "offloaded_metadata":
        return lit  # the value lives in blob storage; the bridge does no I/O
    raise conversion_error("literal has no value")


def literal_to_native(lit: Any, literal_type: Any = None) -> Any:
    """Convert a Flyte literal to a native Python value.

    Args:
        lit: A flyteidl2 ``Literal``, or a flyteidl (v1) ``Literal`` (re-parsed: same wire format).
        literal_type: The declared flyteidl2 (or v1) ``LiteralType``, if known. Checked, and used
            for enum validation and Flyte's own int/float and msgpack conversions.

    Returns:
        int, float, str, bool, None, tz-aware UTC datetime, timedelta, list, dict,
        :class:`translators.values.Blob`, :class:`translators.values.StructuredDataset`, bytes, or
        the Literal itself when it has no native form (offloaded, annotated, schema, error).

    Raises:
        LiteralConversionError: the literal does not fit ``literal_type`` or is malformed; the
            message names the path inside the value.
    """
    if isinstance(lit, V1Literal):
        lit = reparse(lit, Literal)
    elif not isinstance(lit, Literal):
        raise conversion_error(f"expected a flyteidl2 Literal, got {type(lit).__name__}")
    return decode(lit, as_v2_literal_type(literal_type))
