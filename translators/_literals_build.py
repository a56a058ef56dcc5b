"""Literal builders for each scalar kind, and encoding by inference from the Python type.

``infer`` is what ``native_to_literal`` does without a declared type (and inside an untyped
container). The builders write attributes instead of nesting constructors: about twice as fast
with upb, and this is the hot path of every output a connector returns.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Callable, Mapping
from typing import Any

from translators._literals_common import (
    INT64_MAX,
    INT64_MIN,
    Literal,
    V1Literal,
    conversion_error,
    key_segment,
    reparse,
    reraise_at,
)
from translators._literals_struct import MSGPACK_TAG, msgpack_encode
from translators._protobuf_compat import not_utf8
from translators.errors import LiteralConversionError
from translators.values import Blob, StructuredDataset

_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
_ONE_US = datetime.timedelta(microseconds=1)
_MAX_DURATION_S = 315_576_000_000  # google.protobuf.Duration's documented range
_MIN_TS, _MAX_TS = -62_135_596_800, 253_402_300_799  # google.protobuf.Timestamp's documented range

def is_dataclass_instance(v: Any) -> bool:
    """True for a dataclass instance (not the class itself)."""
    return dataclasses.is_dataclass(v) and not isinstance(v, type)


# --- scalar literal builders ---------------------------------------------------------------


def int_lit(v: int) -> Literal:
    """An INTEGER literal; raises for values outside int64."""
    if not INT64_MIN <= v <= INT64_MAX:
        raise conversion_error("integer outside the int64 range")
    lit = Literal()
    lit.scalar.primitive.integer = v
    return lit


def float_lit(v: float) -> Literal:
    """A FLOAT literal (NaN and infinities kept as they are)."""
    lit = Literal()
    lit.scalar.primitive.float_value = v
    return lit


def str_lit(v: str) -> Literal:
    """A STRING literal."""
    lit = Literal()
    try:
        lit.scalar.primitive.string_value = v
    except ValueError as exc:
        if not not_utf8(exc):
            raise
        raise conversion_error("string is not valid UTF-8 (a lone surrogate)") from None
    return lit


def bool_lit(v: bool) -> Literal:
    """A BOOLEAN literal."""
    lit = Literal()
    lit.scalar.primitive.boolean = v
    return lit


def none_lit(_: Any = None) -> Literal:
    """A NONE (Void) literal."""
    lit = Literal()
    lit.scalar.none_type.SetInParent()
    return lit


def datetime_lit(v: datetime.datetime) -> Literal:
    """A DATETIME literal, exact to the microsecond; a naive datetime is taken as UTC."""
    if v.tzinfo is None:
        v = v.replace(tzinfo=_UTC)  # naive means UTC here: the server's local zone is meaningless
    micros = (v - _EPOCH) // _ONE_US
    seconds, us = divmod(micros, 1_000_000)
    if not _MIN_TS <= seconds <= _MAX_TS:
        raise conversion_error("datetime outside the protobuf Timestamp range (years 1-9999 UTC)")
    lit = Literal()
    ts = lit.scalar.primitive.datetime
    ts.seconds = seconds
    ts.nanos = us * 1000
    return lit


def date_lit(v: datetime.date) -> Literal:
    """A DATETIME literal at midnight UTC of ``v`` (as flytekit writes a ``date``)."""
    return datetime_lit(datetime.datetime(v.year, v.month, v.day, tzinfo=_UTC))


def duration_lit(v: datetime.timedelta) -> Literal:
    """A DURATION literal, exact to the microsecond; raises outside protobuf's range."""
    micros = v // _ONE_US
    sign = -1 if micros < 0 else 1
    seconds, us = divmod(abs(micros), 1_000_000)
    if seconds > _MAX_DURATION_S:
        raise conversion_error("duration outside the protobuf Duration range")
    lit = Literal()
    d = lit.scalar.primitive.duration
    d.seconds = sign * seconds
    d.nanos = sign * us * 1000
    return lit


def binary_lit(data: bytes, tag: str) -> Literal:
    """A BINARY literal with ``tag`` (``msgpack`` or ``""`` for raw bytes)."""
    lit = Literal()
    b = lit.scalar.binary
    b.value = data
    b.tag = tag
    return lit


def blob_lit(v: Blob, bt: Any = None) -> Literal:
    """A blob literal; ``bt`` (the declared BlobType) fills an empty format."""
    lit = Literal()
    blob = lit.scalar.blob
    blob.uri = v.uri
    t = blob.metadata.type
    t.format = v.format or (bt.format if bt is not None else "")
    t.dimensionality = int(v.dimensionality)
    return lit


def sd_lit(v: StructuredDataset, st: Any = None) -> Literal:
    """A structured dataset literal; ``st`` (the declared type) supplies columns the value lacks."""
    lit = Literal()
    sd = lit.scalar.structured_dataset
    sd.uri = v.uri
    t = sd.metadata.structured_dataset_type
    if st is not None:
        t.CopyFrom(st)  # the declared columns and schema travel with the literal, as in flytekit
    if v.format:
        t.format = v.format
    if v.columns:
        del t.columns[:]
        for name, col_type in v.columns:
            t.columns.add(name=name, literal_type=col_type)
    if v.external_schema_type:
        t.external_schema_type = v.external_schema_type
    if v.external_schema_bytes:
        t.external_schema_bytes = v.external_schema_bytes
    return lit



# --- inference ---------------------------------------------------------------------------------


def _infer_item(v: Any) -> Literal:
    if isinstance(v, Literal):
        return v
    if isinstance(v, V1Literal):
        return reparse(v, Literal)
    return infer(v)


def _infer_list(v: Any) -> Literal:
    lit = Literal()
    lit.collection.SetInParent()  # an empty list is still a collection
    items = lit.collection.literals
    try:
        for i, item in enumerate(v):
            items.append(_infer_item(item))
    except LiteralConversionError as err:
        reraise_at(err, f"[{i}]")
    return lit


def _infer_mapping(v: Any) -> Literal:
    if not all(isinstance(k, str) for k in v):
        # dict[int, X] has no LiteralMap form; flytekit writes such dicts as msgpack too.
        return binary_lit(msgpack_encode(v), MSGPACK_TAG)
    lit = Literal()
    lit.map.SetInParent()  # an empty dict is still a map
    entries = lit.map.literals
    for k, item in v.items():
        try:
            entries[k].CopyFrom(_infer_item(item))
        except LiteralConversionError as err:
            reraise_at(err, key_segment(k))
    return lit


_INFER: dict[type, Callable[[Any], Literal]] = {
    int: int_lit,
    float: float_lit,
    str: str_lit,
    bool: bool_lit,
    type(None): none_lit,
    datetime.datetime: datetime_lit,
    datetime.date: date_lit,
    datetime.timedelta: duration_lit,
    list: _infer_list,
    tuple: _infer_list,
    dict: _infer_mapping,
    bytes: lambda v: binary_lit(v, ""),
    Blob: blob_lit,
    StructuredDataset: sd_lit,
}


def infer(v: Any) -> Literal:
    """Encode ``v`` with the LiteralType its Python type implies (see ``native_to_literal``)."""
    fn = _INFER.get(type(v))
    if fn is not None:
        return fn(v)
    if isinstance(v, enum.Enum):
        return infer(v.value)
    if isinstance(v, (Literal, V1Literal)):
        return _infer_item(v)
    if is_dataclass_instance(v):
        return binary_lit(msgpack_encode(v), MSGPACK_TAG)
    # Subclasses (an OrderedDict, a str subclass, a datetime subclass) take their base's form.
    for base, fn in _INFER.items():
        if base is not type(None) and isinstance(v, base):
            return fn(v)
    if isinstance(v, Mapping):
        return _infer_mapping(v)
    raise conversion_error(f"cannot infer a literal type for a {type(v).__name__}")
