"""Structure-aware fuzzing through the gateway: well-formed requests of both generations with bad
content (garbage and foreign ``resource_meta``, inputs of the wrong type or name, 20,000-character
strings, unknown versions and categories, ``connection`` keys that collide with the connector's own
arguments), sent to a bridge in front of both upstream kinds the tests start: flytekit 1.13's
``pyflyte serve agent`` (v1) and flyte-sdk's ``c0`` (v2).

Every answer is OK or a code of the gateway's table (docs/_incoming/gateway.md), its details bounded,
one line and free of tracebacks when an upstream wrote them; both upstreams and the bridge stay
healthy. The random-bytes fuzz of the in-process path is ``tests/reliability/test_bad_input.py``.
Examples: 300 by default, 3000 with FULL=1 (more than the suite's ``tests/conftest.py`` profiles: each is one call).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

# The upstreams are c0 (flyte-sdk, this venv) and flytekit 1.13's agent server: without flyte-sdk (the
# lowest dependency set) there is no c0 to fuzz through.
pytest.importorskip("flyte", reason="needs flyte-sdk for its c0 upstream")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st

import translators as tr
from translators.errors import TranslationError
from bridge.upstream import Upstreams
from bridge.upstream.dialect import without_connection
from tests.conftest import FULL
from tests.gateway._huge_error import HUGE_ERROR_TYPE
from tests.gateway._upstreams import LIST_METHOD, SdkServer
from tests.interop._sdk_connectors import SDK_TYPE
from tests.modern._connectors import create_request, literal_type, template
from tests.reliability._harness import InProcessBridge, assert_bounded, healthy, raw_call, standard_registry
from translators._gen import v2, v2_core_literals, v2_task_common, v2_types

pytest.importorskip("flyte")
pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]

SC = grpc.StatusCode
#: What a bad request through the gateway may end with (docs/_incoming/gateway.md). Never UNKNOWN
#: (mapped to INTERNAL), never UNAVAILABLE or DEADLINE_EXCEEDED here (the upstreams are up and quick),
#: never RESOURCE_EXHAUSTED (the requests are small; an upstream's would be INTERNAL).
ALLOWED = {SC.OK, SC.INVALID_ARGUMENT, SC.NOT_FOUND, SC.INTERNAL, SC.UNIMPLEMENTED}
OLD_ASYNC, OLD_SYNC = "old_async", "old_sync"
LONG = "x" * 20_000
CATEGORIES = (SDK_TYPE, OLD_ASYNC, OLD_SYNC, HUGE_ERROR_TYPE, "echo", "job", "no_such_category", "", LONG)
VERSIONS = (0, 1, 7, -1, 2**31 - 1)
S = v2_types.SimpleType
INTERFACES = {  # what each upstream connector declares (the fuzz then sends something else)
    SDK_TYPE: {"xs": v2_types.LiteralType(collection_type=literal_type(S.FLOAT))},
    OLD_ASYNC: {"x": literal_type(S.INTEGER)},
    OLD_SYNC: {"x": literal_type(S.INTEGER)},
}
#: Keys a connector's own methods take: ``connection`` entries with these names collide (c0 passes
#: them as keyword arguments next to its own).
COLLIDING_KEYS = ("task_template", "inputs", "output_prefix", "resource_meta", "task_execution_metadata", "token")

#: v1 ``ExecuteTaskSync`` on an async category is the hub's create-then-get until terminal: the old agent's
#: task with ``x == 0`` never is, so such a call ends at its deadline (DEADLINE_EXCEEDED, as documented).
SYNC_DEADLINE = 2.0
_ASYNC = {"v1": "/flyteidl.service.AsyncAgentService", "v2": "/flyteidl2.connector.AsyncConnectorService"}
_SYNC = "/flyteidl.service.SyncAgentService/ExecuteTaskSync"


@dataclass
class Gateway:
    bridge: InProcessBridge
    upstreams: Upstreams
    servers: tuple[SdkServer, SdkServer]
    metas: dict[str, bytes]  # a real resource_meta per upstream category, for foreign-meta cases


@pytest.fixture(scope="module")
def gw(c0_server: SdkServer, old_agent: SdkServer) -> Iterator[Gateway]:
    with InProcessBridge(standard_registry()) as bridge:
        ups = Upstreams(bridge.registry, [c0_server.address, old_agent.address])
        bridge.run(ups.start())
        try:
            assert [u.state for u in ups.statuses()] == ["up", "up"], ups.statuses()
            metas = {
                SDK_TYPE: _create(bridge, _valid(SDK_TYPE, {"xs": [1.0, 2.0]})),
                OLD_ASYNC: _create(bridge, _valid(OLD_ASYNC, {"x": 3})),
            }
            yield Gateway(bridge, ups, (c0_server, old_agent), metas)
        finally:
            bridge.run(ups.close())


def _valid(task_type: str, values: dict[str, Any]) -> v2.CreateTaskRequest:
    return create_request(template(task_type, inputs=INTERFACES[task_type]), values)


def _create(bridge: InProcessBridge, req: v2.CreateTaskRequest) -> bytes:
    assert bridge.channel is not None
    data = bridge.channel.unary_unary(f"{_ASYNC['v2']}/CreateTask")(req.SerializeToString(), timeout=30)
    return bytes(v2.CreateTaskResponse.FromString(data).resource_meta)


# -- strategies -----------------------------------------------------------------------------------


def _literal(draw: st.DrawFn) -> v2_core_literals.Literal:
    """A literal of any simple kind (most of the time not what the interface declares)."""
    kind = draw(st.sampled_from(["integer", "float_value", "string_value", "boolean", "long_string", "collection", "none"]))
    lit = v2_core_literals.Literal()
    if kind == "integer":
        lit.scalar.primitive.integer = draw(st.integers(-(2**63), 2**63 - 1))
    elif kind == "float_value":
        lit.scalar.primitive.float_value = draw(st.floats(allow_nan=True))
    elif kind == "string_value":
        lit.scalar.primitive.string_value = draw(st.text(max_size=40))
    elif kind == "boolean":
        lit.scalar.primitive.boolean = draw(st.booleans())
    elif kind == "long_string":
        lit.scalar.primitive.string_value = LONG
    elif kind == "collection":
        lit.collection.literals.add().scalar.primitive.string_value = draw(st.text(max_size=10))
    else:
        lit.scalar.none_type.SetInParent()
    return lit


@st.composite
def create_requests(draw: st.DrawFn) -> v2.CreateTaskRequest:
    category = draw(st.sampled_from(CATEGORIES))
    declared = INTERFACES.get(category, {"x": literal_type(S.INTEGER)})
    custom = draw(st.sampled_from([None, {}, {"size": 30_000}, {"size": "big"}, {"k": LONG}, {"nested": {"a": [1, "b"]}}]))
    if category != HUGE_ERROR_TYPE and custom and "size" in custom:
        custom = {"k": "v"}
    tmpl = template(category, custom, inputs=declared, version=draw(st.sampled_from(VERSIONS)))
    req = v2.CreateTaskRequest(template=tmpl, output_prefix=draw(st.sampled_from(["s3://b/o", "", LONG])))
    names = draw(st.lists(st.sampled_from([*declared, "nam", LONG[:300], ""]), max_size=3))
    req.inputs.CopyFrom(v2_task_common.Inputs(
        literals=[v2_task_common.NamedLiteral(name=n, value=_literal(draw)) for n in names]
    ))
    _connection(draw, req)
    return req


def _connection(draw: st.DrawFn, req: Any) -> None:
    keys = draw(st.lists(st.sampled_from([*COLLIDING_KEYS, "token_x", LONG[:500]]), max_size=2, unique=True))
    for key in keys:
        target = req.connection.secrets if draw(st.booleans()) else req.connection.configs
        target[key] = draw(st.sampled_from(["s", LONG]))


@st.composite
def metas(draw: st.DrawFn, real: dict[str, bytes]) -> bytes:
    return draw(st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"", b"{}", b'{"job": 1, "x": "y"}', b'{"job": "j", "total": "NaN"}', b"\xff\xfe\x00",
                         LONG.encode(), b"[" * 500]),
        st.sampled_from(sorted(real.values())),  # another category's real handle
    ))


@st.composite
def category_requests(draw: st.DrawFn, cls: Any, real: dict[str, bytes]) -> Any:
    req = cls(resource_meta=draw(metas(real)))
    req.task_category.name = draw(st.sampled_from(CATEGORIES))
    req.task_category.version = draw(st.sampled_from(VERSIONS))
    if "connection" in cls.DESCRIPTOR.fields_by_name and draw(st.booleans()):
        _connection(draw, req)
    return req


def _calls(real: dict[str, bytes]) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(generation, method, v2 request): the v1 ones are the same requests translated as the bridge would."""
    per_method = [
        st.tuples(st.just("CreateTask"), create_requests()),
        st.tuples(st.just("ExecuteTaskSync"), create_requests()),
        *(st.tuples(st.just(m), category_requests(cls, real)) for m, cls in (
            ("GetTask", v2.GetTaskRequest), ("DeleteTask", v2.DeleteTaskRequest),
            ("GetTaskMetrics", v2.GetTaskMetricsRequest), ("GetTaskLogs", v2.GetTaskLogsRequest),
        )),
    ]
    return st.tuples(st.sampled_from(["v1", "v2"]), st.one_of(per_method)).map(lambda t: (t[0], *t[1]))


# -- the check ------------------------------------------------------------------------------------


def _v1(req: Any) -> Any:
    """``req`` as a v1 client would send it, or None when v1 cannot say it (duplicate input names)."""
    try:
        return tr.to_v1(without_connection(req), mark=False)
    except TranslationError:
        return None


def _send(gw: Gateway, gen: str, method: str, req: Any) -> tuple[SC, str]:
    channel = gw.bridge.channel
    assert channel is not None
    if gen == "v1" and _v1(req) is None:
        gen = "v2"
    if method == "ExecuteTaskSync":
        if _v1(req) is None:
            return _send(gw, "v2", "CreateTask", req)
        parts = [p.SerializeToString() for p in tr.create_task_request_to_execute_task_sync_v1(without_connection(req))]
        result = raw_call(channel, _SYNC, "stream_stream", parts, timeout=SYNC_DEADLINE)
    else:
        data = (req if gen == "v2" else _v1(req)).SerializeToString()
        kind = "unary_stream" if method == "GetTaskLogs" else "unary"
        result = raw_call(channel, f"{_ASYNC[gen]}/{method}", kind, data, timeout=30)
    return result.code, result.details


def _check(gw: Gateway, gen: str, method: str, req: Any) -> None:
    code, details = _send(gw, gen, method, req)
    allowed = ALLOWED | ({SC.DEADLINE_EXCEEDED} if method == "ExecuteTaskSync" else set())
    assert code in allowed, f"{gen} {method}: {code} {details[:300]}"
    assert_bounded(details)
    if "upstream " in details:  # an upstream's words, cleaned as a local connector's error
        assert "\n" not in details, details[:300]


def _healthy(gw: Gateway) -> None:
    """The bridge and both upstreams answer normally (the upstreams also directly)."""
    assert gw.bridge.channel is not None
    healthy(gw.bridge.channel)
    for server in gw.servers:
        assert server.proc is not None and server.proc.poll() is None, server.log()[-2000:]
        with grpc.insecure_channel(server.address) as ch:
            ch.unary_unary(LIST_METHOD[server.generation])(b"", timeout=10)
    assert _create(gw.bridge, _valid(SDK_TYPE, {"xs": [0.5]}))
    assert _create(gw.bridge, _valid(OLD_ASYNC, {"x": 1}))
    assert [u.state for u in gw.upstreams.statuses()] == ["up", "up"]


def test_corpus_every_class_on_both_upstreams(gw: Gateway) -> None:
    """Each named bad-request class, at each upstream category, in both generations (no randomness)."""
    cases: list[tuple[str, Any]] = []
    for category in (SDK_TYPE, OLD_ASYNC, OLD_SYNC, HUGE_ERROR_TYPE):
        declared = INTERFACES.get(category, {"x": literal_type(S.INTEGER)})
        wrong_type = create_request(template(category, inputs=declared))
        name = next(iter(declared))
        wrong_type.inputs.literals.add(name=name).value.scalar.primitive.string_value = "not a number"
        unknown_name = create_request(template(category, inputs=declared))
        unknown_name.inputs.literals.add(name="nam").value.scalar.primitive.integer = 1
        long_input = create_request(template(category, inputs=declared))
        long_input.inputs.literals.add(name=name).value.scalar.primitive.string_value = LONG
        colliding = create_request(template(category, inputs=declared), secrets=dict.fromkeys(COLLIDING_KEYS, "s"))
        cases += [("CreateTask", r) for r in (wrong_type, unknown_name, long_input, colliding)]
        cases.append(("CreateTask", create_request(template(category, version=7))))
        cases.append(("ExecuteTaskSync", wrong_type))
        for meta in (b"\xff\xfe garbage", b'{"job": 1}', LONG.encode(), *gw.metas.values()):
            for method, cls in (("GetTask", v2.GetTaskRequest), ("DeleteTask", v2.DeleteTaskRequest),
                                ("GetTaskMetrics", v2.GetTaskMetricsRequest), ("GetTaskLogs", v2.GetTaskLogsRequest)):
                cases.append((method, cls(task_category=v2.TaskCategory(name=category), resource_meta=meta)))
    for category in ("no_such_category", LONG):
        cases.append(("CreateTask", create_request(template(category))))
        cases.append(("GetTask", v2.GetTaskRequest(task_category=v2.TaskCategory(name=category), resource_meta=b"m")))
    for gen in ("v1", "v2"):
        for method, req in cases:
            _check(gw, gen, method, req)
    _healthy(gw)


@settings(max_examples=3000 if FULL else 300)  # ~10 s by default, ~1.5 min with FULL=1 (2 cores)
@given(data=st.data())
def test_hypothesis_structured_bad_requests(gw: Gateway, data: st.DataObject) -> None:
    gen, method, req = data.draw(_calls(gw.metas))
    _check(gw, gen, method, req)


def test_both_upstreams_healthy_after_the_fuzz(gw: Gateway) -> None:
    _healthy(gw)

