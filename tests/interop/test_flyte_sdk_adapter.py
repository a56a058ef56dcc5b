"""The flyte-sdk adapter called directly: inputs as flyte-sdk converts them, outputs as it encodes them."""

from __future__ import annotations

import asyncio
import datetime
import inspect
from typing import Any

import pytest

pytest.importorskip("flyte")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from modern.errors import ConnectorNotFoundError  # noqa: E402
from modern.flyte_sdk import adapt, fast_type, native_inputs  # noqa: E402
from tests.interop import _sdk_connectors as sdk  # noqa: E402
from translators._gen import v2_core_tasks, v2_interface, v2_types  # noqa: E402
from translators.literals import inputs_to_native, native_to_inputs  # noqa: E402
from translators.values import Blob  # noqa: E402

pytestmark = pytest.mark.interop
S = v2_types.SimpleType


def lt(**kw: Any) -> v2_types.LiteralType:
    return v2_types.LiteralType(**kw)


def template(types: dict[str, v2_types.LiteralType]) -> v2_core_tasks.TaskTemplate:
    t = v2_core_tasks.TaskTemplate(type=sdk.SDK_TYPE)
    for k, v in types.items():
        t.interface.inputs.variables.add(key=k, value=v2_interface.Variable(type=v))
    return t


async def sdk_native(t: v2_core_tasks.TaskTemplate, inputs: Any) -> dict[str, Any]:
    """What flyte-sdk's c0 would hand the connector (its own code path)."""
    import flyte.io  # noqa: F401
    from flyte._internal.runtime.convert import Inputs, convert_from_inputs_to_native
    from flyte.models import NativeInterface
    from flyte.types import TypeEngine

    ni = NativeInterface.from_types(
        inputs={e.key: (TypeEngine.guess_python_type(e.value.type), inspect.Parameter.empty) for e in t.interface.inputs.variables},
        outputs={},
    )
    return await convert_from_inputs_to_native(ni, Inputs(proto_inputs=inputs))


_utc = st.datetimes(min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(2200, 1, 1),
                    timezones=st.just(datetime.timezone.utc))
_fast_cases = st.one_of(
    st.tuples(st.just(lt(simple=S.INTEGER)), st.integers(-(2**63), 2**63 - 1)),
    st.tuples(st.just(lt(simple=S.FLOAT)), st.floats(allow_nan=False)),
    st.tuples(st.just(lt(simple=S.STRING)), st.text(max_size=20)),
    st.tuples(st.just(lt(simple=S.BOOLEAN)), st.booleans()),
    st.tuples(st.just(lt(simple=S.DATETIME)), _utc),
    st.tuples(st.just(lt(simple=S.DURATION)), st.timedeltas(min_value=datetime.timedelta(days=-99), max_value=datetime.timedelta(days=99))),
    st.tuples(st.just(lt(collection_type=lt(simple=S.INTEGER))), st.lists(st.integers(-1000, 1000), max_size=5)),
    st.tuples(st.just(lt(map_value_type=lt(simple=S.STRING))), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=4)),
)


@given(_fast_cases)
def test_fast_types_decode_exactly_as_flyte_sdk_for_every_value(case: tuple[Any, Any]) -> None:
    literal_type, value = case
    assert fast_type(literal_type)
    t = template({"v": literal_type})
    lits = native_to_inputs({"v": value}, t.interface.inputs)
    ours = asyncio.run(native_inputs(lits, t))
    assert ours == asyncio.run(sdk_native(t, lits))
    # And the path where the hub already decoded the values natively gives the same.
    assert asyncio.run(native_inputs(inputs_to_native(lits, t.interface.inputs), t)) == ours


def test_slow_types_go_through_flyte_sdk() -> None:
    from flyte.io import File

    t = template({"f": lt(blob=v2_types.BlobType(format="csv")), "n": lt(simple=S.INTEGER)})
    assert not fast_type(t.interface.inputs.variables[0].value.type)
    lits = native_to_inputs({"f": Blob(uri="s3://b/k.csv", format="csv"), "n": 2}, t.interface.inputs)
    values = asyncio.run(native_inputs(lits, t))
    assert isinstance(values["f"], File) and values["f"].path == "s3://b/k.csv" and values["n"] == 2
    assert list(values) == ["f", "n"]
    assert values == asyncio.run(sdk_native(t, lits))


def test_struct_with_schema_is_not_fast() -> None:
    meta = lt(simple=S.STRUCT)
    meta.metadata.update({"title": "Point"})
    assert not fast_type(meta) and fast_type(lt(simple=S.STRUCT))
    assert not fast_type(lt(union_type=v2_types.UnionType(variants=[lt(simple=S.INTEGER)])))


def test_not_found_and_native_outputs() -> None:
    from flyte.connectors._connector import FlyteConnectorNotFound

    class Missing(sdk.SumConnector):
        async def get(self, resource_meta, **kwargs):
            raise FlyteConnectorNotFound("Cannot find connector for task type: x and version: 0")

    with pytest.raises(ConnectorNotFoundError):
        asyncio.run(adapt(Missing()).get(sdk.SumMeta(job="j", total=1.0)))
    res = asyncio.run(adapt(sdk.SumConnector()).get(sdk.SumMeta(job="j", total=2.0)))
    assert res.outputs.literals[0].name == "total" and res.outputs.literals[0].value.scalar.primitive.float_value == 2.0
    with pytest.raises(TypeError):
        adapt(object())
