"""The connector API, registry, errors, envelope and metrics, without a server."""

from __future__ import annotations

import dataclasses
import json

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Counter

import modern
from modern import (
    AsyncConnector,
    ConnectorNotFoundError,
    ConnectorRegistry,
    InvalidRequestError,
    Resource,
    ResourceMeta,
    default_registry,
)
from modern import envelope
from modern._values import resource_to_proto
from modern.errors import MAX_DETAILS, BridgeError, ConnectorError, bounded
from modern.metrics import RequestMetrics
from tests.modern._connectors import EchoSync, JobConnector, Phase
from translators._gen import v1, v1_core_literals, v2, v2_core_literals


@dataclasses.dataclass
class Inner(ResourceMeta):
    region: str
    zones: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Outer(ResourceMeta):
    job_id: str
    attempt: int = 0
    inner: Inner | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


text = st.text(max_size=20)


@given(
    job_id=text,
    attempt=st.integers(-(2**53), 2**53),
    inner=st.none() | st.builds(Inner, region=text, zones=st.lists(text, max_size=3)),
    tags=st.dictionaries(text, text, max_size=3),
)
def test_resource_meta_json_round_trip_for_every_value(job_id, attempt, inner, tags) -> None:
    meta = Outer(job_id=job_id, attempt=attempt, inner=inner, tags=tags)
    data = meta.encode()
    json.loads(data)  # JSON, never pickle
    assert Outer.decode(data) == meta


@pytest.mark.parametrize("data", [b"\x80\x04pickle", b"[1,2]", b'"str"', b"{", b'{"attempt": 3}'])
def test_resource_meta_bad_bytes_are_invalid_request(data: bytes) -> None:
    with pytest.raises(InvalidRequestError) as err:
        Outer.decode(data)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_resource_meta_ignores_unknown_keys_from_newer_replicas() -> None:
    assert Outer.decode(b'{"job_id": "a", "added_later": 1}') == Outer(job_id="a")


@given(st.text(max_size=5000))
def test_error_details_are_bounded_for_every_message(message: str) -> None:
    err = ConnectorError(message)
    assert len(err.details) <= MAX_DETAILS
    if len(message) <= MAX_DETAILS:
        assert err.details == message
    assert len(bounded(message, 50)) <= 50


def test_error_codes_follow_the_design_table() -> None:
    table = {
        modern.ConnectorNotFoundError: grpc.StatusCode.NOT_FOUND,
        modern.InvalidRequestError: grpc.StatusCode.INVALID_ARGUMENT,
        modern.ConnectorError: grpc.StatusCode.INTERNAL,
        modern.UnimplementedError: grpc.StatusCode.UNIMPLEMENTED,
        modern.DeadlineError: grpc.StatusCode.DEADLINE_EXCEEDED,
        modern.DrainingError: grpc.StatusCode.UNAVAILABLE,
    }
    for cls, code in table.items():
        assert issubclass(cls, BridgeError) and cls.code == code


def test_isolated_registries_and_duplicate_rules() -> None:
    a, b = ConnectorRegistry(), ConnectorRegistry()
    first = JobConnector()
    a.register(first)
    assert a.get_connector("job") is first
    with pytest.raises(ConnectorNotFoundError):
        b.get_connector("job")
    with pytest.raises(ValueError, match="Duplicate"):
        a.register(JobConnector())
    second = JobConnector()
    a.register(second, override=True)
    assert a.get_connector("job", 0) is second
    a.register(JobConnector("job", 1))
    assert [(c.name, len(c.supported_task_categories)) for c in a.list_connectors()] == [("Job Connector", 2)]
    assert a._get_connector_metadata("Job Connector") == a.get_connector_metadata("Job Connector")
    with pytest.raises(ConnectorNotFoundError) as err:
        a.get_connector_metadata("nobody")
    assert err.value.code == grpc.StatusCode.NOT_FOUND


def test_class_level_calls_act_on_the_default_registry() -> None:
    unique = JobConnector("default-registry-test-type", 7, name="Default Test")
    ConnectorRegistry.register(unique)
    assert ConnectorRegistry.get_connector("default-registry-test-type", 7) is unique
    assert default_registry().get_connector("default-registry-test-type", 7) is unique
    assert "Default Test" in {c.name for c in ConnectorRegistry._list_connectors()}
    assert ConnectorRegistry.get_connector_metadata("Default Test").supported_task_categories[0].version == 7
    isolated = ConnectorRegistry()
    assert not isolated.has("default-registry-test-type", 7)


def test_registry_refuses_non_connectors() -> None:
    with pytest.raises(TypeError):
        ConnectorRegistry().register(object())


def test_registry_entry_inspects_connectors_once() -> None:
    class NoInputs(AsyncConnector):
        task_type_name = "no-inputs"

        async def create(self, task_template, output_prefix):  # type: ignore[override]
            return ResourceMeta()

        async def get(self, resource_meta):  # type: ignore[override]
            return Resource(phase=Phase.SUCCEEDED)

        async def delete(self, resource_meta):  # type: ignore[override]
            return None

    reg = ConnectorRegistry()
    reg.register(NoInputs())
    reg.register(EchoSync())
    no_inputs, echo = reg.entry("no-inputs"), reg.entry("echo")
    assert not no_inputs.is_sync and not no_inputs.takes_inputs
    assert no_inputs.accepted_kwargs["get"] == frozenset({"resource_meta"})
    assert echo.is_sync and echo.takes_inputs and echo.async_methods == frozenset({"do"})


def test_resource_to_proto_accepts_every_output_shape() -> None:
    lit = v2_core_literals.Literal()
    lit.scalar.primitive.integer = 5
    lit1 = v1_core_literals.Literal.FromString(lit.SerializeToString())
    lm1 = v1_core_literals.LiteralMap(literals={"x": lit1})
    for outputs in ({"x": 5}, {"x": lit}, {"x": lit1}, lm1, v2_core_literals.LiteralMap(literals={"x": lit})):
        msg = resource_to_proto(Resource(phase=Phase.SUCCEEDED, outputs=outputs))
        assert [(e.name, e.value.scalar.primitive.integer) for e in msg.outputs.literals] == [("x", 5)]
    assert resource_to_proto(v1.Resource(phase=Phase.RUNNING)).phase == Phase.RUNNING
    for bad in (Resource(phase=0), Resource(phase=None), Resource(phase=99), None):  # type: ignore[arg-type]
        with pytest.raises(ConnectorError):
            resource_to_proto(bad)
    with pytest.raises(ConnectorError):
        resource_to_proto(Resource(phase=Phase.SUCCEEDED, custom_info={"when": object()}))


@given(st.binary(max_size=300), st.text(max_size=50))
def test_envelope_round_trip_and_rejects_non_envelopes(payload: bytes, message: str) -> None:
    res = v2.Resource(phase=Phase.SUCCEEDED, message=message)
    res.custom_info.update({"p": payload.hex()})
    packed = envelope.pack(res)
    assert envelope.is_envelope(packed) and envelope.unpack(packed) == res
    if not payload.startswith(envelope.MAGIC):
        with pytest.raises(InvalidRequestError):
            envelope.unpack(payload)


def test_envelope_bound() -> None:
    res = v2.Resource(phase=Phase.SUCCEEDED, message="m" * 1000)
    with pytest.raises(ConnectorError, match="limit of 500"):
        envelope.pack(res, max_bytes=500)
    with pytest.raises(InvalidRequestError):
        envelope.unpack(envelope.MAGIC + b"\xff\xff")


def test_metrics_reuse_collectors_registered_by_another_library(monkeypatch: pytest.MonkeyPatch) -> None:
    other = CollectorRegistry()
    foreign = Counter("flyte_connector_requests_success_total", "x", ["task_type", "operation"], registry=other)
    monkeypatch.setattr(REGISTRY, "_names_to_collectors", {**REGISTRY._names_to_collectors,
                                                          "flyte_connector_requests_success_total": foreign})
    m = RequestMetrics()
    assert m.success is foreign
    m.observe_success("t", "create", 0.0)
    m.observe_success("t", "create", 0.0)
    assert other.get_sample_value("flyte_connector_requests_success_total", {"task_type": "t", "operation": "create"}) == 2
    # a second instance in the same process does not fail on duplicate names
    assert RequestMetrics().failure is m.failure


def test_flyte_sdk_style_generic_subclass_ports_by_changing_the_import() -> None:
    from typing import Optional

    @dataclasses.dataclass
    class MyMeta(ResourceMeta):
        job_id: str

    class MyConnector(AsyncConnector[MyMeta]):
        name = "Mine"
        task_type_name = "mine"
        metadata_type = MyMeta

        async def create(self, task_template, output_prefix, inputs: Optional[dict] = None,
                         task_execution_metadata=None, **kwargs) -> MyMeta:
            return MyMeta(job_id="1")

        async def get(self, resource_meta: MyMeta, **kwargs) -> Resource:
            return Resource(phase=Phase.SUCCEEDED)

        async def delete(self, resource_meta: MyMeta, **kwargs) -> None:
            return None

    reg = ConnectorRegistry()
    reg.register(MyConnector())
    assert reg.entry("mine").metadata_type is MyMeta and reg.entry("mine").takes_inputs
