"""Interop: literals written by flytekit's and flyte-sdk's own TypeEngines decode to the expected
native values with our code, and literals we write are read back by those TypeEngines.

Skipped when the SDK is not installed (both are optional extras of the bridge).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import typing

import pytest

from translators._gen import v1_core_literals, v2_core_literals
from translators.literals import literal_to_native, native_to_literal
from translators.values import Blob, BlobDimensionality, StructuredDataset

pytestmark = pytest.mark.interop
UTC = datetime.timezone.utc


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Inner:
    f: float
    when: datetime.datetime


@dataclasses.dataclass
class Record:
    n: int
    name: str
    tags: typing.List[str]
    inner: Inner
    color: Color
    maybe: typing.Optional[int] = None
    by_id: typing.Dict[int, str] = dataclasses.field(default_factory=dict)


RECORD = Record(3, "r", ["a", "b"], Inner(1.5, datetime.datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC)), Color.GREEN, None, {1: "x"})
RECORD_NATIVE = {
    "n": 3,
    "name": "r",
    "tags": ["a", "b"],
    "inner": {"f": 1.5, "when": "2024-05-06T07:08:09.000010+00:00"},
    "color": "green",
    "maybe": None,
    "by_id": {1: "x"},
}
WHEN = datetime.datetime(2023, 12, 31, 23, 59, 58, 999999, tzinfo=UTC)

# (python value, python type, expected native value after our decoding)
COMMON_CASES = [
    (42, int, 42),
    (-2.25, float, -2.25),
    ("text", str, "text"),
    (True, bool, True),
    (WHEN, datetime.datetime, WHEN),
    (datetime.timedelta(days=1, microseconds=7), datetime.timedelta, datetime.timedelta(days=1, microseconds=7)),
    ([1, 2, 3], typing.List[int], [1, 2, 3]),
    ({"a": 1, "b": 2}, typing.Dict[str, int], {"a": 1, "b": 2}),
    ({"k": [1, "v"]}, dict, {"k": [1, "v"]}),
    (RECORD, Record, RECORD_NATIVE),
    (Color.RED, Color, "red"),
    (None, typing.Optional[int], None),
    (5, typing.Optional[int], 5),
    ("s", typing.Union[int, str], "s"),
]
IDS = [repr(c[1]) for c in COMMON_CASES]


# --- flytekit ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fk():
    pytest.importorskip("flytekit")
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal as ModelLiteral

    class FK:
        ctx = FlyteContextManager.current_context()
        engine = TypeEngine

        def lit(self, value, t):
            """flytekit literal as a v1 flyteidl Literal, plus its v1 LiteralType."""
            lt = TypeEngine.to_literal_type(t)
            return TypeEngine.to_literal(self.ctx, value, t, lt).to_flyte_idl(), lt.to_flyte_idl()

        def read(self, v2_literal, t):
            v1 = v1_core_literals.Literal.FromString(v2_literal.SerializeToString())
            return TypeEngine.to_python_value(self.ctx, ModelLiteral.from_flyte_idl(v1), t)

    return FK()


@pytest.mark.parametrize(("value", "t", "expected"), COMMON_CASES, ids=IDS)
def test_flytekit_literals_decode(fk, value, t, expected):
    v1_lit, v1_type = fk.lit(value, t)
    assert literal_to_native(v1_lit) == expected
    assert literal_to_native(v1_lit, v1_type) == expected


@pytest.mark.parametrize(("value", "t", "expected"), COMMON_CASES, ids=IDS)
def test_flytekit_reads_what_we_write(fk, value, t, expected):
    _, v1_type = fk.lit(value, t)
    ours = native_to_literal(value, v1_type)
    assert fk.read(ours, t) == value


def test_flytekit_dataclass_msgpack_bytes_are_identical(fk):
    v1_lit, v1_type = fk.lit(RECORD, Record)
    assert native_to_literal(RECORD, v1_type).scalar.binary.value == v1_lit.scalar.binary.value


def test_flytekit_file_and_dataset(fk):
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    v1_lit, v1_type = fk.lit(FlyteFile("s3://bucket/key.csv"), FlyteFile)
    assert literal_to_native(v1_lit, v1_type) == Blob("s3://bucket/key.csv")
    v1_lit, v1_type = fk.lit(FlyteDirectory("s3://bucket/dir"), FlyteDirectory)
    assert literal_to_native(v1_lit, v1_type) == Blob("s3://bucket/dir", "", BlobDimensionality.MULTIPART)
    ours = native_to_literal(Blob("s3://bucket/other.csv"), fk.lit(FlyteFile("s3://b/k"), FlyteFile)[1])
    assert fk.read(ours, FlyteFile).remote_source == "s3://bucket/other.csv"


# --- flyte-sdk -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fl():
    pytest.importorskip("flyte")
    from flyte.types import TypeEngine

    class FL:
        engine = TypeEngine

        def lit(self, value, t):
            lt = TypeEngine.to_literal_type(t)
            return asyncio.run(TypeEngine.to_literal(value, t, lt)), lt

        def read(self, lit, t):
            return asyncio.run(TypeEngine.to_python_value(lit, t))

    return FL()


# flyte-sdk writes an enum member by *name* (flytekit by value): the wire string is what decodes.
FLYTE_CASES = [(v, t, "RED" if t is Color else e) for v, t, e in COMMON_CASES]


@pytest.mark.parametrize(("value", "t", "expected"), FLYTE_CASES, ids=IDS)
def test_flyte_sdk_literals_decode(fl, value, t, expected):
    lit, lt = fl.lit(value, t)
    assert isinstance(lit, v2_core_literals.Literal)
    assert literal_to_native(lit) == expected
    assert literal_to_native(lit, lt) == expected


@pytest.mark.parametrize(("value", "t", "expected"), FLYTE_CASES, ids=IDS)
def test_flyte_sdk_reads_what_we_write(fl, value, t, expected):
    _, lt = fl.lit(value, t)
    assert fl.read(native_to_literal(value, lt), t) == value


def test_flyte_sdk_dataclass_msgpack_bytes_are_identical(fl):
    lit, lt = fl.lit(RECORD, Record)
    assert native_to_literal(RECORD, lt).scalar.binary.value == lit.scalar.binary.value


def test_flyte_sdk_file_and_dataframe(fl):
    from flyte.io import DataFrame, File

    lit, lt = fl.lit(File(path="s3://bucket/key"), File)
    assert literal_to_native(lit, lt) == Blob("s3://bucket/key")
    df = DataFrame.from_existing_remote("s3://bucket/df", format="parquet")
    lit, lt = fl.lit(df, DataFrame)
    sd = literal_to_native(lit, lt)
    assert isinstance(sd, StructuredDataset) and (sd.uri, sd.format) == ("s3://bucket/df", "parquet")
    assert fl.read(native_to_literal(Blob("s3://bucket/other"), lt_file := fl.lit(File(path="s3://x"), File)[1]), File).path == "s3://bucket/other"
    assert lt_file.HasField("blob")
