"""Example tests for native values <-> literals: every kind, both directions, and the error paths."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math

import msgpack
import pytest
from google.protobuf import struct_pb2

from translators._gen import v1_core_literals, v1_interface, v1_types, v2_core_literals, v2_interface, v2_task_common
from translators._gen import v2_types as T
from translators.errors import DuplicateNameError, LiteralConversionError, TranslationError
from translators.literals import (
    inputs_to_native,
    literal_to_native,
    native_to_inputs,
    native_to_literal,
    native_to_outputs,
    outputs_to_native,
)
from translators.values import Blob, BlobDimensionality, StructuredDataset

L = v2_core_literals
UTC = datetime.timezone.utc
ST = T.SimpleType


def simple(st: int) -> T.LiteralType:
    return T.LiteralType(simple=st)


def prim(**kw: object) -> L.Literal:
    return L.Literal(scalar=L.Scalar(primitive=L.Primitive(**kw)))


def variables(**types: T.LiteralType) -> v2_interface.VariableMap:
    return v2_interface.VariableMap(
        variables=[v2_interface.VariableEntry(key=k, value=v2_interface.Variable(type=t)) for k, t in types.items()]
    )


MSGPACK_STRUCT = T.LiteralType(simple=ST.STRUCT)
MSGPACK_STRUCT.annotation.annotations.update({"cache-key-metadata": {"serialization-format": "msgpack"}})


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: float
    tags: list[str]


# --- primitives, both ways --------------------------------------------------------------------

PRIMITIVE_CASES = [
    (7, prim(integer=7), ST.INTEGER),
    (-(2**63), prim(integer=-(2**63)), ST.INTEGER),
    (2.5, prim(float_value=2.5), ST.FLOAT),
    ("héllo", prim(string_value="héllo"), ST.STRING),
    (True, prim(boolean=True), ST.BOOLEAN),
    (
        datetime.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        L.Literal(scalar=L.Scalar(primitive=L.Primitive(datetime={"seconds": 1709251199, "nanos": 123456000}))),
        ST.DATETIME,
    ),
    (
        datetime.timedelta(seconds=-1, microseconds=-5),
        L.Literal(scalar=L.Scalar(primitive=L.Primitive(duration={"seconds": -1, "nanos": -5000}))),
        ST.DURATION,
    ),
    (None, L.Literal(scalar=L.Scalar(none_type=L.Void())), ST.NONE),
    (b"\x00\xff", L.Literal(scalar=L.Scalar(binary=L.Binary(value=b"\x00\xff"))), ST.BINARY),
]


@pytest.mark.parametrize(("value", "literal", "st"), PRIMITIVE_CASES)
def test_primitive_both_ways_inferred_and_typed(value, literal, st):
    assert native_to_literal(value) == literal
    assert native_to_literal(value, simple(st)) == literal
    decoded = literal_to_native(literal)
    assert decoded == value and type(decoded) is type(value)
    assert literal_to_native(literal, simple(st)) == value


def test_datetime_is_tz_aware_utc_and_naive_means_utc():
    out = literal_to_native(native_to_literal(datetime.datetime(2020, 1, 1, 12)))
    assert out == datetime.datetime(2020, 1, 1, 12, tzinfo=UTC) and out.tzinfo is UTC
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    aware = datetime.datetime(2020, 1, 1, 14, tzinfo=plus2)
    assert literal_to_native(native_to_literal(aware)) == aware


def test_sub_microsecond_nanos_are_truncated():
    lit = L.Literal(scalar=L.Scalar(primitive=L.Primitive(duration={"seconds": 1, "nanos": 1999})))
    assert literal_to_native(lit) == datetime.timedelta(seconds=1, microseconds=1)


def test_nan_and_infinities_survive():
    assert math.isnan(literal_to_native(native_to_literal(float("nan"))))
    assert literal_to_native(native_to_literal(float("-inf"), simple(ST.FLOAT))) == float("-inf")


def test_date_encodes_as_midnight_utc():
    lit = native_to_literal(datetime.date(2021, 3, 4), simple(ST.DATETIME))
    assert literal_to_native(lit) == datetime.datetime(2021, 3, 4, tzinfo=UTC)


def test_flyte_console_conversions_follow_the_declared_type():
    assert literal_to_native(prim(float_value=3.0), simple(ST.INTEGER)) == 3
    assert type(literal_to_native(prim(integer=3), simple(ST.FLOAT))) is float
    with pytest.raises(LiteralConversionError, match="non-integral"):
        literal_to_native(prim(float_value=3.5), simple(ST.INTEGER))
    assert native_to_literal(3, simple(ST.FLOAT)) == prim(float_value=3.0)


# --- containers --------------------------------------------------------------------------------


def test_nested_lists_and_maps():
    value = {"a": [1, 2, [3]], "b": {"c": "d", "e": []}}
    lit = native_to_literal(value)
    assert lit.WhichOneof("value") == "map"
    assert lit.map.literals["a"].collection.literals[2].collection.literals[0] == prim(integer=3)
    assert literal_to_native(lit) == value
    typed = T.LiteralType(map_value_type=T.LiteralType(collection_type=simple(ST.INTEGER)))
    assert literal_to_native(native_to_literal({"k": [1, 2]}, typed), typed) == {"k": [1, 2]}


def test_tuple_encodes_as_list():
    assert literal_to_native(native_to_literal((1, "x"))) == [1, "x"]


def test_generic_struct_decodes_to_dict_and_encodes_when_unannotated():
    s = struct_pb2.Struct()
    s.update({"a": 1, "b": [True, None, "x"], "c": {"d": 2.5}})
    lit = L.Literal(scalar=L.Scalar(generic=s))
    assert literal_to_native(lit) == {"a": 1.0, "b": [True, None, "x"], "c": {"d": 2.5}}
    # An old flytekit format hint is not data: still decoded.
    hinted = L.Literal(scalar=L.Scalar(generic=s), metadata={"format": "json"})
    assert literal_to_native(hinted)["a"] == 1.0
    assert native_to_literal({"a": 1, "b": [True]}, simple(ST.STRUCT)).scalar.generic == struct_pb2.Struct(
        fields={"a": struct_pb2.Value(number_value=1), "b": struct_pb2.Value(list_value={"values": [{"bool_value": True}]})}
    )


def test_annotated_struct_is_msgpack_like_flytekit():
    lit = native_to_literal({"a": 1, "b": [1, 2]}, MSGPACK_STRUCT)
    assert lit.scalar.binary.tag == "msgpack"
    assert msgpack.unpackb(lit.scalar.binary.value) == {"a": 1, "b": [1, 2]}
    assert literal_to_native(lit, MSGPACK_STRUCT) == {"a": 1, "b": [1, 2]}


def test_dataclass_is_msgpack_and_decodes_to_dict():
    lit = native_to_literal(Point(1, 2.0, ["a"]))
    assert lit.scalar.binary.tag == "msgpack"
    assert literal_to_native(lit) == {"x": 1, "y": 2.0, "tags": ["a"]}
    assert native_to_literal(Point(1, 2.0, []), MSGPACK_STRUCT).scalar.binary.tag == "msgpack"


def test_dict_with_int_keys_is_msgpack():
    lit = native_to_literal({1: "a", 2: "b"})
    assert lit.scalar.binary.tag == "msgpack"
    assert literal_to_native(lit) == {1: "a", 2: "b"}


def test_msgpack_primitive_follows_declared_type():
    lit = L.Literal(scalar=L.Scalar(binary=L.Binary(value=msgpack.packb(2), tag="msgpack")))
    assert type(literal_to_native(lit, simple(ST.FLOAT))) is float
    bad = L.Literal(scalar=L.Scalar(binary=L.Binary(value=b"\xc1", tag="msgpack")))
    with pytest.raises(LiteralConversionError, match="invalid msgpack"):
        literal_to_native(bad)


# --- blobs, datasets, enums, unions -------------------------------------------------------------


def test_blob_both_ways():
    bt = T.LiteralType(blob=T.BlobType(format="csv", dimensionality=T.BlobType.MULTIPART))
    lit = native_to_literal("s3://b/dir", bt)  # a URI string is accepted for a declared blob
    assert lit.scalar.blob.uri == "s3://b/dir" and lit.scalar.blob.metadata.type == bt.blob
    blob = literal_to_native(lit, bt)
    assert blob == Blob("s3://b/dir", "csv", BlobDimensionality.MULTIPART) and blob.is_directory
    assert native_to_literal(blob, bt) == lit
    with pytest.raises(LiteralConversionError, match="dimensionality"):
        native_to_literal(Blob("s3://f"), bt)


def test_structured_dataset_both_ways():
    cols = [T.StructuredDatasetType.DatasetColumn(name="a", literal_type=simple(ST.INTEGER))]
    sdt = T.LiteralType(structured_dataset_type=T.StructuredDatasetType(columns=cols, format="parquet"))
    lit = native_to_literal(StructuredDataset("s3://d"), sdt)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type == sdt.structured_dataset_type
    sd = literal_to_native(lit, sdt)
    assert (sd.uri, sd.format, sd.columns[0][0]) == ("s3://d", "parquet", "a")
    assert native_to_literal(sd) == lit
    assert hash(sd) == hash(StructuredDataset("s3://d", "parquet"))


def test_enum_both_ways():
    et = T.LiteralType(enum_type=T.EnumType(values=["red", "green"]))
    assert native_to_literal(Color.RED, et) == prim(string_value="red")
    assert native_to_literal("green", et) == prim(string_value="green")
    assert literal_to_native(prim(string_value="red"), et) == "red"
    with pytest.raises(LiteralConversionError, match="enum values"):
        native_to_literal("blue", et)
    with pytest.raises(LiteralConversionError, match="enum values"):
        literal_to_native(prim(string_value="blue"), et)


def union(*variants: T.LiteralType) -> T.LiteralType:
    return T.LiteralType(union_type=T.UnionType(variants=list(variants)))


def test_union_picks_the_fitting_variant_and_tags_it():
    ut = union(simple(ST.INTEGER), simple(ST.STRING), simple(ST.NONE))
    lit = native_to_literal("x", ut)
    assert lit.scalar.union.value == prim(string_value="x")
    assert lit.scalar.union.type.simple == ST.STRING and lit.scalar.union.type.structure.tag == "str"
    assert literal_to_native(lit, ut) == "x"
    assert literal_to_native(native_to_literal(None, ut), ut) is None
    assert native_to_literal(3, ut).scalar.union.type.structure.tag == "int"


def test_union_prefers_exact_kinds_and_keeps_declared_tags():
    tagged_float = T.LiteralType(simple=ST.FLOAT, structure=T.TypeStructure(tag="float"))
    ut = union(simple(ST.INTEGER), tagged_float)
    assert native_to_literal(3, ut).scalar.union.type.simple == ST.INTEGER
    assert native_to_literal(3.0, ut).scalar.union.type == tagged_float
    et = T.LiteralType(enum_type=T.EnumType(values=["red"]))
    assert native_to_literal("red", union(et, simple(ST.STRING))).scalar.union.type.simple == ST.STRING
    assert native_to_literal(Color.RED, union(et, simple(ST.STRING))).scalar.union.type.HasField("enum_type")
    # Only leniently fitting: an int into Union[float, str] becomes the float.
    assert native_to_literal(2, union(simple(ST.FLOAT), simple(ST.STRING))).scalar.union.value == prim(
        float_value=2.0
    )


def test_union_ambiguity_and_no_fit_are_errors():
    with pytest.raises(LiteralConversionError, match="ambiguous"):
        native_to_literal([], union(T.LiteralType(collection_type=simple(ST.INTEGER)), T.LiteralType(collection_type=simple(ST.STRING))))
    with pytest.raises(LiteralConversionError, match="does not fit"):
        native_to_literal(1.5, union(simple(ST.INTEGER), simple(ST.NONE)))


def test_union_picks_dataclass_variant_by_fields():
    a = MSGPACK_STRUCT.__deepcopy__()
    a.structure.dataclass_type["x"].simple = ST.INTEGER
    a.structure.dataclass_type["y"].simple = ST.FLOAT
    a.structure.dataclass_type["tags"].CopyFrom(T.LiteralType(collection_type=simple(ST.STRING)))
    b = MSGPACK_STRUCT.__deepcopy__()
    b.structure.dataclass_type["other"].simple = ST.INTEGER
    lit = native_to_literal(Point(1, 1.0, []), union(b, a))
    assert lit.scalar.union.type == a


# --- pass-through of literals with no native form ---------------------------------------------


def test_literals_without_native_form_pass_through():
    offloaded = L.Literal(offloaded_metadata=L.LiteralOffloadedMetadata(uri="s3://big", size_bytes=10))
    hashed = L.Literal(scalar=L.Scalar(primitive=L.Primitive(integer=1)), hash="abc")
    artifact = prim(integer=2)
    artifact.artifact_id.version = "v1"
    other_tag = L.Literal(scalar=L.Scalar(binary=L.Binary(value=b"x", tag="pickle")))
    schema = L.Literal(scalar=L.Scalar(schema=L.Schema(uri="s3://s")))
    for lit in (offloaded, hashed, artifact, other_tag, schema):
        out = literal_to_native(lit)
        assert out is lit
        assert native_to_literal(out) == lit
    # ...at any depth, and into outputs unchanged.
    nested = L.Literal(collection=L.LiteralCollection(literals=[prim(integer=1), offloaded]))
    value = literal_to_native(nested)
    assert value[0] == 1 and value[1] == offloaded
    assert native_to_literal(value) == nested
    assert native_to_literal(offloaded, simple(ST.INTEGER)) is offloaded


def test_v1_literals_are_reparsed():
    v1 = v1_core_literals.Literal(scalar=v1_core_literals.Scalar(primitive=v1_core_literals.Primitive(integer=5)))
    assert literal_to_native(v1) == 5
    assert native_to_literal(v1) == prim(integer=5)
    assert literal_to_native(prim(integer=5), v1_types.LiteralType(simple=v1_types.SimpleType.INTEGER)) == 5


# --- inputs / outputs ----------------------------------------------------------------------------


def test_inputs_outputs_containers_and_order():
    vm = variables(z=simple(ST.INTEGER), a=simple(ST.FLOAT))
    out = native_to_outputs({"b": "s", "a": 1, "z": 2, "c": None}, vm)
    assert isinstance(out, v2_task_common.Outputs)
    assert [nl.name for nl in out.literals] == ["z", "a", "b", "c"]
    assert out.literals[1].value == prim(float_value=1.0)
    native = outputs_to_native(out, vm)
    assert native == {"z": 2, "a": 1.0, "b": "s", "c": None}
    inputs = native_to_inputs({"x": [1]}, None)
    assert isinstance(inputs, v2_task_common.Inputs)
    assert inputs_to_native(inputs) == {"x": [1]}


def test_inputs_from_literal_maps_of_both_generations():
    v2map = L.LiteralMap(literals={"a": prim(integer=1)})
    v1map = v1_core_literals.LiteralMap(
        literals={"a": v1_core_literals.Literal(scalar=v1_core_literals.Scalar(primitive=v1_core_literals.Primitive(integer=1)))}
    )
    v1vars = v1_interface.VariableMap(variables={"a": v1_interface.Variable(type=v1_types.LiteralType(simple=v1_types.SimpleType.FLOAT))})
    assert inputs_to_native(v2map) == {"a": 1}
    assert inputs_to_native(v1map) == {"a": 1}
    assert inputs_to_native(v1map, v1vars) == {"a": 1.0}


def test_errors_name_the_path_and_never_the_value():
    vm = variables(xs=T.LiteralType(map_value_type=T.LiteralType(collection_type=simple(ST.INTEGER))))
    with pytest.raises(LiteralConversionError) as info:
        native_to_inputs({"xs": {"k": [1, "secret-token"]}}, vm)
    assert info.value.path == "inputs.xs.k[1]"
    assert "secret-token" not in str(info.value) and "str" in str(info.value)
    bad = v2_task_common.Inputs(
        literals=[v2_task_common.NamedLiteral(name="n", value=prim(string_value="secret-token"))]
    )
    with pytest.raises(LiteralConversionError) as info:
        inputs_to_native(bad, variables(n=simple(ST.INTEGER)))
    assert info.value.path == "inputs.n" and "secret-token" not in str(info.value)
    assert isinstance(info.value, TranslationError)


def test_duplicate_input_names_are_an_error():
    dup = v2_task_common.Inputs(
        literals=[v2_task_common.NamedLiteral(name="a", value=prim(integer=i)) for i in (1, 2)]
    )
    with pytest.raises(DuplicateNameError):
        inputs_to_native(dup)


@pytest.mark.parametrize(
    ("value", "st"),
    [("1", ST.INTEGER), (True, ST.INTEGER), (1.5, ST.INTEGER), (1, ST.BOOLEAN), (None, ST.STRING), ("x", ST.DATETIME), (1, ST.DURATION), ([1], ST.STRUCT)],
)
def test_values_that_do_not_fit_raise(value, st):
    with pytest.raises(LiteralConversionError, match="does not fit"):
        native_to_literal(value, simple(st))


def test_range_and_uninferable_errors():
    with pytest.raises(LiteralConversionError, match="int64"):
        native_to_literal(2**63)
    with pytest.raises(LiteralConversionError, match="Duration range"):
        native_to_literal(datetime.timedelta(days=999_999_999))
    with pytest.raises(LiteralConversionError, match="cannot infer"):
        native_to_literal(object())
    with pytest.raises(LiteralConversionError, match="no value"):
        literal_to_native(L.Literal())
    with pytest.raises(LiteralConversionError, match="Literal"):
        literal_to_native(5)
    long_name = "n" * 5000
    with pytest.raises(LiteralConversionError) as info:
        native_to_outputs({long_name: object()})
    assert len(str(info.value)) <= 512


def test_inputs_are_not_mutated():
    lt = MSGPACK_STRUCT.__deepcopy__()
    before = lt.SerializeToString()
    native_to_literal({"a": 1}, lt)
    native_to_literal({"a": 1}, simple(ST.STRUCT))
    assert lt.SerializeToString() == before


def test_enum_member_follows_the_declared_convention():
    # flytekit declares values, flyte-sdk names; a member is written in whichever is declared.
    by_name = T.LiteralType(enum_type=T.EnumType(values=["RED", "GREEN"]))
    assert native_to_literal(Color.GREEN, by_name) == prim(string_value="GREEN")
    assert native_to_literal(Color.GREEN) == prim(string_value="green")
    with pytest.raises(LiteralConversionError, match="enum"):
        native_to_literal(Color.GREEN, T.LiteralType(enum_type=T.EnumType(values=["blue"])))


def test_outputs_from_literal_containers_are_reordered_not_reencoded():
    v1map = v1_core_literals.LiteralMap(
        literals={k: v1_core_literals.Literal(scalar=v1_core_literals.Scalar(primitive=v1_core_literals.Primitive(integer=i))) for i, k in enumerate("cab")}
    )
    out = native_to_outputs(v1map, variables(b=simple(ST.INTEGER)))
    assert [nl.name for nl in out.literals] == ["b", "a", "c"]
    assert out.literals[0].value == prim(integer=2)
    again = native_to_outputs(out)
    assert [nl.name for nl in again.literals] == ["a", "b", "c"]
    with pytest.raises(DuplicateNameError):
        native_to_outputs(v2_task_common.Outputs(literals=[v2_task_common.NamedLiteral(name="a", value=prim(integer=1))] * 2))


def test_msgpack_attribute_values_decode_to_the_declared_kind():
    # Propeller hands ``dc.file`` / ``dc.df`` / ``dc.when`` over as msgpack of the attribute.
    def mp(v):
        return L.Literal(scalar=L.Scalar(binary=L.Binary(value=msgpack.packb(v), tag="msgpack")))

    bt = T.LiteralType(blob=T.BlobType(format="csv"))
    assert literal_to_native(mp({"path": "s3://f"}), bt) == Blob("s3://f", "csv")
    sdt = T.LiteralType(structured_dataset_type=T.StructuredDatasetType())
    assert literal_to_native(mp({"uri": "s3://d", "file_format": "parquet"}), sdt) == StructuredDataset("s3://d", "parquet")
    assert literal_to_native(mp("2024-01-01T00:00:00+00:00"), simple(ST.DATETIME)) == datetime.datetime(2024, 1, 1, tzinfo=UTC)
    assert literal_to_native(mp(1.5), simple(ST.DURATION)) == datetime.timedelta(seconds=1.5)


def test_unencodable_strings_and_out_of_range_datetimes_are_conversion_errors():
    with pytest.raises(LiteralConversionError, match="UTF-8") as info:
        native_to_outputs({"o": ["ok", "\ud800"]})
    assert info.value.path == "outputs.o[1]"
    with pytest.raises(LiteralConversionError, match="UTF-8"):
        native_to_literal({"\ud800": 1})
    with pytest.raises(LiteralConversionError, match="UTF-8"):
        native_to_outputs({"o": {"\ud800": 1}})
    plus5 = datetime.timezone(datetime.timedelta(hours=5))
    with pytest.raises(LiteralConversionError, match="Timestamp range"):
        native_to_literal(datetime.datetime.min.replace(tzinfo=plus5))
