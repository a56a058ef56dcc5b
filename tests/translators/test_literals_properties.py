"""Property tests: native -> literal -> native and literal -> native -> literal, for every kind.

Stated limits (the only lossy spots, so the strategies stay inside them):
* datetimes and durations: microsecond resolution (Python's); literals are built with
  microsecond-aligned nanos, datetimes between years 2 and 9998 so every offset stays in range;
* NaN: kept bit-for-bit in FLOAT primitives and msgpack; compared with a NaN-aware equality.
  Generic Structs (JSON) carry no NaN and only doubles, so their numbers are floats;
* literals are compared by deterministic serialization (NaN != NaN and map order in ``==``).
"""

from __future__ import annotations

import datetime
import math
from typing import Any

import msgpack
from hypothesis import given
from hypothesis import strategies as st
from google.protobuf import struct_pb2

from translators._gen import v2_core_literals as L
from translators._gen import v2_types as T
from translators._literals_struct import is_nan_safe_equal
from translators._protobuf_compat import PARSE_ERRORS
from translators.errors import LiteralConversionError
from translators.literals import literal_to_native, native_to_literal
from translators.values import Blob, BlobDimensionality, StructuredDataset

UTC = datetime.timezone.utc
ST = T.SimpleType
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MAX_DURATION = datetime.timedelta(seconds=315_576_000_000)

# --- native values ------------------------------------------------------------------------------

ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.text(max_size=20)
offsets = st.builds(datetime.timezone, st.timedeltas(min_value=datetime.timedelta(hours=-23), max_value=datetime.timedelta(hours=23)))
aware_datetimes = st.datetimes(
    min_value=datetime.datetime(2, 1, 1), max_value=datetime.datetime(9998, 12, 31), timezones=st.just(UTC) | offsets
)
durations = st.timedeltas(min_value=-MAX_DURATION, max_value=MAX_DURATION)
blobs = st.builds(Blob, uri=texts, format=texts, dimensionality=st.sampled_from(list(BlobDimensionality)))
datasets = st.builds(StructuredDataset, uri=texts, format=texts)

scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts, aware_datetimes, durations, st.binary(max_size=16), blobs, datasets)
natives = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """NaN-aware equality that also requires aware datetimes to be the same instant."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(natives)
def test_native_literal_native_inferred(value):
    assert same(literal_to_native(native_to_literal(value)), value)


# --- LiteralTypes, and values / literals built from them ---------------------------------------

SIMPLE_KINDS = [ST.NONE, ST.INTEGER, ST.FLOAT, ST.STRING, ST.BOOLEAN, ST.DATETIME, ST.DURATION, ST.BINARY, ST.STRUCT]
TAGS = {ST.NONE: "none", ST.INTEGER: "int", ST.FLOAT: "float", ST.STRING: "str", ST.BOOLEAN: "bool",
        ST.DATETIME: "datetime", ST.DURATION: "timedelta"}


def msgpack_struct() -> T.LiteralType:
    lt = T.LiteralType(simple=ST.STRUCT)
    lt.annotation.annotations.update({"cache-key-metadata": {"serialization-format": "msgpack"}})
    return lt


def dataset_type(fmt: str) -> T.LiteralType:
    col = T.StructuredDatasetType.DatasetColumn(name="c", literal_type=T.LiteralType(simple=ST.INTEGER))
    return T.LiteralType(structured_dataset_type=T.StructuredDatasetType(format=fmt, columns=[col]))


leaf_types = st.one_of(
    st.sampled_from(SIMPLE_KINDS).map(lambda s: T.LiteralType(simple=s)),
    st.just(None).map(lambda _: msgpack_struct()),
    st.builds(lambda f, d: T.LiteralType(blob=T.BlobType(format=f, dimensionality=d)), texts, st.sampled_from([0, 1])),
    texts.map(dataset_type),
    st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True).map(
        lambda vs: T.LiteralType(enum_type=T.EnumType(values=vs))
    ),
)


def _kind(lt: T.LiteralType) -> str:
    """Variants of one kind would make a value fit several variants (an ambiguity error)."""
    k = lt.WhichOneof("type")
    if k == "simple" and lt.simple != ST.STRUCT:
        return f"simple{lt.simple}"
    if k in ("simple", "map_value_type"):
        return "dict"  # a STRUCT and a map both take a dict
    if k in ("enum_type", "blob", "structured_dataset_type"):
        return "lenient-str"  # each accepts a str leniently
    return k or "none"


@st.composite
def union_types(draw, inner):
    # Distinct kinds, no nested union, and no enum beside STRING (a str would pick STRING), so
    # exactly one variant fits each value. flytekit/flyte-sdk tag every variant; so do we here.
    variants = draw(st.lists(inner.filter(lambda t: not t.HasField("union_type")), min_size=1, max_size=4, unique_by=_kind))
    if any(v.HasField("simple") and v.simple == ST.STRING for v in variants):
        variants = [v for v in variants if not v.HasField("enum_type")]
    out = T.LiteralType()
    for v in variants:
        tagged = out.union_type.variants.add()
        tagged.CopyFrom(v)
        tagged.structure.tag = TAGS.get(v.simple, "custom") if v.WhichOneof("type") == "simple" else "custom"
    return out


literal_types = st.recursive(
    leaf_types,
    lambda inner: st.one_of(
        inner.map(lambda t: T.LiteralType(collection_type=t)),
        inner.map(lambda t: T.LiteralType(map_value_type=t)),
        union_types(inner),
    ),
    max_leaves=5,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
msgpack_values = st.dictionaries(
    texts,
    st.recursive(st.none() | st.booleans() | ints | floats | texts,
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8),
    max_size=4,
)


@st.composite
def value_and_literal(draw, lt: T.LiteralType) -> tuple[Any, L.Literal]:
    """A native value of type ``lt`` and the literal Flyte would hold for it, built by hand."""
    kind = lt.WhichOneof("type")
    lit = L.Literal()
    if kind == "simple":
        s, p = lt.simple, lit.scalar.primitive
        if s == ST.NONE:
            lit.scalar.none_type.SetInParent()
            return None, lit
        if s == ST.INTEGER:
            p.integer = v = draw(ints)
        elif s == ST.FLOAT:
            p.float_value = v = draw(floats)
        elif s == ST.STRING:
            p.string_value = v = draw(texts)
        elif s == ST.BOOLEAN:
            p.boolean = v = draw(st.booleans())
        elif s == ST.DATETIME:
            v = draw(aware_datetimes).astimezone(UTC)
            us = (v - EPOCH) // datetime.timedelta(microseconds=1)
            p.datetime.seconds, rest = divmod(us, 1_000_000)
            p.datetime.nanos = rest * 1000
        elif s == ST.DURATION:
            v = draw(durations)
            us = v // datetime.timedelta(microseconds=1)
            secs, rest = divmod(abs(us), 1_000_000)
            sign = -1 if us < 0 else 1
            p.duration.seconds, p.duration.nanos = sign * secs, sign * rest * 1000
        elif s == ST.BINARY:
            lit.scalar.binary.value = v = draw(st.binary(max_size=16))
        elif lt.HasField("annotation"):
            v = draw(msgpack_values)
            lit.scalar.binary.value, lit.scalar.binary.tag = msgpack.packb(v), "msgpack"
        else:
            v = draw(st.dictionaries(texts, json_values, max_size=4))
            lit.scalar.generic.CopyFrom(struct_pb2.Struct())
            lit.scalar.generic.update(v)
        return v, lit
    if kind == "collection_type":
        pairs = draw(st.lists(value_and_literal(lt.collection_type), max_size=3))
        lit.collection.SetInParent()
        lit.collection.literals.extend(p[1] for p in pairs)
        return [p[0] for p in pairs], lit
    if kind == "map_value_type":
        pairs = draw(st.dictionaries(texts, value_and_literal(lt.map_value_type), max_size=3))
        lit.map.SetInParent()
        for k, (_, item) in pairs.items():
            lit.map.literals[k].CopyFrom(item)
        return {k: p[0] for k, p in pairs.items()}, lit
    if kind == "blob":
        uri = draw(texts)
        lit.scalar.blob.uri = uri
        lit.scalar.blob.metadata.type.CopyFrom(lt.blob)
        return Blob(uri, lt.blob.format, BlobDimensionality(lt.blob.dimensionality)), lit
    if kind == "structured_dataset_type":
        uri = draw(texts)
        lit.scalar.structured_dataset.uri = uri
        lit.scalar.structured_dataset.metadata.structured_dataset_type.CopyFrom(lt.structured_dataset_type)
        sdt = lt.structured_dataset_type
        return StructuredDataset(uri, sdt.format, tuple((c.name, c.literal_type) for c in sdt.columns)), lit
    if kind == "enum_type":
        lit.scalar.primitive.string_value = v = draw(st.sampled_from(list(lt.enum_type.values)))
        return v, lit
    assert kind == "union_type"
    variant = draw(st.sampled_from(list(lt.union_type.variants)))
    v, inner = draw(value_and_literal(variant))
    lit.scalar.union.value.CopyFrom(inner)
    lit.scalar.union.type.CopyFrom(variant)
    return v, lit


typed_cases = literal_types.flatmap(lambda lt: value_and_literal(lt).map(lambda vl: (lt, *vl)))


def wire(lit: L.Literal) -> bytes:
    return lit.SerializeToString(deterministic=True)


@given(typed_cases)
def test_typed_round_trips(case):
    """One generated (type, value, hand-built literal) case checks all three directions."""
    lt, value, lit = case
    # literal -> native -> literal is the identity on the wire
    assert wire(native_to_literal(literal_to_native(lit, lt), lt)) == wire(lit)
    # native -> literal gives the literal Flyte would hold, and decodes back to the value
    encoded = native_to_literal(value, lt)
    assert wire(encoded) == wire(lit)
    assert same(literal_to_native(encoded, lt), value)


@given(st.dictionaries(texts, json_values, max_size=4))
def test_generic_struct_round_trip(value):
    lit = native_to_literal(value, T.LiteralType(simple=ST.STRUCT))
    assert is_nan_safe_equal(literal_to_native(lit), value)


# --- robustness: whatever arrives on the wire, the only failure is a LiteralConversionError ----


def _parse(cls, data: bytes):
    try:
        return cls.FromString(data)
    except PARSE_ERRORS:
        return None


@given(typed_cases, st.binary(max_size=64), st.data())
def test_decoding_never_fails_with_anything_but_a_conversion_error(case, noise, data):
    lt, _, lit = case
    # Corrupt a valid literal (splice random bytes into its encoding) and pair it with a random type.
    raw = lit.SerializeToString()
    at = data.draw(st.integers(min_value=0, max_value=len(raw)))
    candidates = [_parse(L.Literal, raw[:at] + noise + raw[at:]), _parse(L.Literal, noise)]
    other_type = data.draw(literal_types)
    for bad in filter(None, candidates):
        for declared in (None, lt, other_type):
            try:
                literal_to_native(bad, declared)
            except LiteralConversionError:
                pass
    try:
        literal_to_native(lit, other_type)
    except LiteralConversionError:
        pass


odd_values = st.one_of(natives, st.sets(ints, max_size=3), st.builds(object), st.just(float("nan")), st.builds(complex))


@given(odd_values, literal_types)
def test_encoding_never_fails_with_anything_but_a_conversion_error(value, lt):
    try:
        lit = native_to_literal(value, lt)
    except LiteralConversionError:
        return
    assert isinstance(lit, L.Literal)
    literal_to_native(lit, lt)  # what we wrote under a type decodes under that type
