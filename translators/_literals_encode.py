"""Native Python value -> flyteidl2 ``Literal``, against a declared LiteralType or by inference.

Two modes of fit. *Strict*: the Python type is the one the declared type names (an ``int`` for
INTEGER, a ``Blob`` for a blob). *Lenient* adds the conversions Flyte SDKs accept: an int for a
FLOAT (when exact), a str URI for a blob or dataset, a str for an enum, a date for a DATETIME.
The top level is lenient; a union first tries every variant strictly and only then leniently,
and more than one fitting variant at the same level is an ambiguity error (as in flytekit), so
``Union[int, float]`` with ``3`` picks int and ``Union[str, Enum]`` with ``"red"`` picks str.

A v2 ``Literal`` (or v1, re-parsed) value is used as is under any declared type: the caller
built it on purpose, e.g. an offloaded literal passed through from the inputs.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Callable, Mapping
from typing import Any

from translators._literals_common import (
    BINARY,
    BOOLEAN,
    DATETIME,
    DURATION,
    FLOAT,
    INTEGER,
    KIND_TAGS,
    NONE,
    SIMPLE_TAGS,
    STRING,
    STRUCT,
    Literal,
    LiteralType,
    V1Literal,
    conversion_error,
    describe_type,
    key_segment,
    reparse,
    reraise_at,
)
from translators._literals_struct import MSGPACK_TAG, dict_to_struct, msgpack_encode, to_msgpack_tree
from translators.errors import LiteralConversionError
from translators._literals_build import (
    binary_lit,
    blob_lit,
    bool_lit,
    date_lit,
    datetime_lit,
    duration_lit,
    float_lit,
    infer,
    int_lit,
    is_dataclass_instance,
    none_lit,
    sd_lit,
    str_lit,
)
from translators.values import Blob, BlobDimensionality, StructuredDataset

Encoder = Callable[[Any, LiteralType, bool], Literal]


def _mismatch(value: Any, lt: LiteralType) -> LiteralConversionError:
    # Type names only: the value itself may be a secret and must not reach a status detail.
    return conversion_error(f"a {type(value).__name__} does not fit the declared type {describe_type(lt)}")


def _wants_msgpack(lt: LiteralType) -> bool:
    # flytekit >= 1.14 and flyte-sdk mark msgpack STRUCTs with this annotation; an unmarked STRUCT
    # comes from an older flytekit that only reads the JSON Struct. Read with .get: indexing a
    # message map would insert the key into the caller's LiteralType.
    if not lt.HasField("annotation"):
        return False
    meta = lt.annotation.annotations.fields.get("cache-key-metadata")
    if meta is None:
        return False
    fmt = meta.struct_value.fields.get("serialization-format")
    return fmt is not None and fmt.string_value == MSGPACK_TAG


def _dataclass_fits(v: Any, lt: LiteralType) -> bool:
    """Whether a dataclass instance has the fields a STRUCT type declares (when it declares any)."""
    names = {f.name for f in dataclasses.fields(v)}
    declared = lt.structure.dataclass_type if lt.HasField("structure") else None
    if declared:
        return set(declared.keys()) == names
    props = lt.metadata.fields.get("properties") if lt.HasField("metadata") else None
    if props is not None and props.HasField("struct_value"):
        return set(props.struct_value.fields.keys()) == names
    return True


# --- typed encoders: (value, declared type, lenient) -> Literal ----------------------------


def _enc_integer(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, int) and not isinstance(v, bool):
        return int_lit(int(v))
    raise _mismatch(v, lt)


def _enc_float(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, float):
        return float_lit(v)
    if lenient and isinstance(v, int) and not isinstance(v, bool):
        if abs(v) > 2**53 and float(v) != v:
            raise conversion_error("integer cannot be represented exactly as a float")
        return float_lit(float(v))
    raise _mismatch(v, lt)


def _enc_string(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, str) and not isinstance(v, enum.Enum):
        return str_lit(str(v))
    if lenient and isinstance(v, enum.Enum) and isinstance(v.value, str):
        return str_lit(v.value)
    raise _mismatch(v, lt)


def _enc_bool(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, bool):
        return bool_lit(v)
    raise _mismatch(v, lt)


def _enc_datetime(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, datetime.datetime):
        return datetime_lit(v)
    if lenient and isinstance(v, datetime.date):
        return date_lit(v)
    raise _mismatch(v, lt)


def _enc_duration(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, datetime.timedelta):
        return duration_lit(v)
    raise _mismatch(v, lt)


def _enc_none(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if v is None:
        return none_lit()
    raise _mismatch(v, lt)


def _enc_binary(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if isinstance(v, (bytes, bytearray)):
        return binary_lit(bytes(v), "")
    raise _mismatch(v, lt)


def _enc_struct(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    # Blob and StructuredDataset are dataclasses too, but they have literal kinds of their own.
    is_dc = is_dataclass_instance(v) and not isinstance(v, (Blob, StructuredDataset))
    if not (is_dc or isinstance(v, Mapping)):
        raise _mismatch(v, lt)
    if is_dc and not _dataclass_fits(v, lt):
        raise conversion_error(f"dataclass {type(v).__name__} does not have the declared fields")
    if _wants_msgpack(lt):
        return binary_lit(msgpack_encode(v), MSGPACK_TAG)
    lit = Literal()
    lit.scalar.generic.CopyFrom(dict_to_struct(to_msgpack_tree(v)))
    return lit


def _enc_collection(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if not isinstance(v, (list, tuple)):
        raise _mismatch(v, lt)
    sub = lt.collection_type
    lit = Literal()
    lit.collection.SetInParent()  # an empty list is still a collection
    items = lit.collection.literals
    try:
        for i, item in enumerate(v):
            items.append(encode(item, sub, lenient))
    except LiteralConversionError as err:
        reraise_at(err, f"[{i}]")
    return lit


def _enc_map(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    if not isinstance(v, Mapping):
        raise _mismatch(v, lt)
    sub = lt.map_value_type
    lit = Literal()
    lit.map.SetInParent()  # an empty dict is still a map
    entries = lit.map.literals
    for k, item in v.items():
        if not isinstance(k, str):
            raise conversion_error("map keys must be str")
        try:
            entries[k].CopyFrom(encode(item, sub, lenient))
        except LiteralConversionError as err:
            reraise_at(err, key_segment(k))
    return lit


def _enc_blob(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    bt = lt.blob
    if lenient and isinstance(v, str):
        v = Blob(uri=v, format=bt.format, dimensionality=BlobDimensionality(bt.dimensionality))
    if not isinstance(v, Blob):
        raise _mismatch(v, lt)
    if int(v.dimensionality) != bt.dimensionality:
        raise conversion_error("blob dimensionality differs from the declared one")
    if v.format and bt.format and v.format != bt.format:
        raise conversion_error("blob format differs from the declared one")
    return blob_lit(v, bt)


def _enc_structured_dataset(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    st = lt.structured_dataset_type
    if lenient and isinstance(v, str):
        v = StructuredDataset(uri=v)
    if not isinstance(v, StructuredDataset):
        raise _mismatch(v, lt)
    if v.format and st.format and v.format != st.format:
        raise conversion_error("structured dataset format differs from the declared one")
    return sd_lit(v, st)


def _enc_enum(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    values = lt.enum_type.values
    if isinstance(v, enum.Enum):
        # flytekit declares and writes enum *values*, flyte-sdk enum *names*: the declared list
        # tells which convention the reader uses.
        if isinstance(v.value, str) and v.value in values:
            return str_lit(v.value)
        if v.name in values:
            return str_lit(v.name)
        raise conversion_error("enum member is not one of the declared enum values")
    if not lenient or not isinstance(v, str):
        raise _mismatch(v, lt)
    if v not in values:
        raise conversion_error("value is not one of the declared enum values")
    return str_lit(v)


def _tagged(variant: LiteralType) -> LiteralType:
    if variant.HasField("structure") and variant.structure.tag:
        return variant
    kind = variant.WhichOneof("type")
    tag = SIMPLE_TAGS.get(variant.simple) if kind == "simple" else KIND_TAGS.get(kind or "")
    if tag is None:
        return variant
    out = LiteralType()
    out.CopyFrom(variant)
    out.structure.tag = tag
    return out


def _enc_union(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    variants = lt.union_type.variants
    modes = (False, True) if lenient else (False,)
    for mode in modes:
        fits: list[tuple[LiteralType, Literal]] = []
        for variant in variants:
            try:
                fits.append((variant, encode(v, variant, mode)))
            except LiteralConversionError:
                continue
        if len(fits) > 1:
            names = ", ".join(describe_type(f[0]) for f in fits[:4])
            raise conversion_error(f"ambiguous union: a {type(v).__name__} fits several variants ({names})")
        if fits:
            variant, inner = fits[0]
            lit = Literal()
            u = lit.scalar.union
            u.value.CopyFrom(inner)
            u.type.CopyFrom(_tagged(variant))
            return lit
    raise _mismatch(v, lt)


def _enc_literal_only(v: Any, lt: LiteralType, lenient: bool) -> Literal:
    raise _mismatch(v, lt)  # schema and error literals have no native form to build from


_BY_SIMPLE: dict[int, Encoder] = {
    NONE: _enc_none,
    INTEGER: _enc_integer,
    FLOAT: _enc_float,
    STRING: _enc_string,
    BOOLEAN: _enc_bool,
    DATETIME: _enc_datetime,
    DURATION: _enc_duration,
    BINARY: _enc_binary,
    STRUCT: _enc_struct,
}
_BY_KIND: dict[str, Encoder] = {
    "collection_type": _enc_collection,
    "map_value_type": _enc_map,
    "blob": _enc_blob,
    "structured_dataset_type": _enc_structured_dataset,
    "enum_type": _enc_enum,
    "union_type": _enc_union,
    "schema": _enc_literal_only,
}


def encode(v: Any, lt: LiteralType | None, lenient: bool = True) -> Literal:
    """Encode ``v`` against ``lt`` (``None`` or an empty LiteralType: infer from the value)."""
    if isinstance(v, Literal):
        return v
    if isinstance(v, V1Literal):
        return reparse(v, Literal)
    if lt is None:
        return infer(v)
    kind = lt.WhichOneof("type")
    if kind == "simple":
        enc = _BY_SIMPLE.get(lt.simple, _enc_literal_only)
    elif kind is None:
        return infer(v)
    else:
        enc = _BY_KIND[kind]
    return enc(v, lt, lenient)
