"""Bad input on a real in-process server, every method of both generations, raw bytes on the wire.

Every case must end with a status of the error table (DESIGN.md "Errors") and a bounded detail, and
the server must stay healthy: a health check and a normal Create+Get succeed right after.
RESOURCE_EXHAUSTED is gRPC's own answer to a message over the receive limit (before any handler).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import grpc
import pytest

from translators._pair import encode_varint as _varint
from hypothesis import given
from hypothesis import strategies as st

from tests.modern._connectors import create_request, literal_type, template
from tests.reliability._harness import (
    MAX_MESSAGE_BYTES,
    METHODS,
    V1_ASYNC,
    V1_SYNC,
    V2_ASYNC,
    InProcessBridge,
    assert_bounded,
    count,
    healthy,
    raw_call,
    standard_registry,
)
from translators._gen import v1, v2, v2_core_literals, v2_task_common, v2_types

pytestmark = pytest.mark.timeout(60)

SC = grpc.StatusCode
#: Statuses a request that is not a valid call may end with (never INTERNAL, UNKNOWN or a hang).
REJECTED = {SC.INVALID_ARGUMENT, SC.NOT_FOUND}
#: Random bytes may happen to parse as a valid (empty-ish) metadata request.
RANDOM_OK = REJECTED | {SC.OK, SC.UNIMPLEMENTED}


@pytest.fixture(scope="module")
def bridge() -> Iterator[InProcessBridge]:
    with InProcessBridge(standard_registry()) as b:
        yield b


def _check(bridge: InProcessBridge, path: str, kind: str, payload: bytes | list[bytes], allowed: set[SC], what: str) -> None:
    assert bridge.channel is not None
    result = raw_call(bridge.channel, path, kind, payload)
    count("bad inputs tried")
    assert result.code in allowed, f"{what} on {path}: {result.code} {result.details[:200]}"
    assert_bounded(result.details)


def _after(bridge: InProcessBridge) -> None:
    assert bridge.channel is not None
    healthy(bridge.channel)


# -- random bytes ---------------------------------------------------------------------------------


def test_fixed_seed_corpus_of_random_bytes(bridge: InProcessBridge) -> None:
    rng = random.Random(20261122)
    corpus = [bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 3, 17, 64, 300]))) for _ in range(12)]
    # Plausible-looking prefixes: a length-delimited field 2 (template / resource_meta) with junk.
    corpus += [b"\x12" + bytes([n]) + bytes(rng.getrandbits(8) for _ in range(n)) for n in (5, 40, 120)]
    for path, kind in METHODS:
        for payload in corpus:
            _check(bridge, path, kind, payload, RANDOM_OK, "random bytes")
    _after(bridge)


@given(payload=st.binary(max_size=512), method=st.sampled_from(METHODS))
def test_hypothesis_random_bytes(bridge: InProcessBridge, payload: bytes, method: tuple[str, str]) -> None:
    _check(bridge, method[0], method[1], payload, RANDOM_OK, "random bytes")
    _after(bridge)


# -- structurally broken messages -----------------------------------------------------------------


def _valid_create() -> v2.CreateTaskRequest:
    return create_request(template("job", inputs={"x": literal_type(v2_types.INTEGER)}), {"x": 1})


def test_truncated_messages(bridge: InProcessBridge) -> None:
    data = _valid_create().SerializeToString()
    tried = 0
    for cut in range(1, len(data), max(1, len(data) // 25)):
        for path in (f"/{V1_ASYNC}/CreateTask", f"/{V2_ASYNC}/CreateTask"):
            # A cut can land on a field boundary (a valid, smaller message): then NOT_FOUND/INVALID or OK.
            _check(bridge, path, "unary", data[:cut], REJECTED | {SC.OK}, f"truncated at {cut}")
            tried += 1
    assert tried > 20
    _after(bridge)


def test_valid_message_of_the_wrong_type(bridge: InProcessBridge) -> None:
    get = v2.GetTaskRequest(resource_meta=b'{"job_id": "x"}')
    get.task_category.name = "job"
    others = [get.SerializeToString(), _valid_create().SerializeToString(), v2.ListConnectorsResponse().SerializeToString()]
    lit = v2_core_literals.Literal()
    lit.scalar.primitive.string_value = "not a request"
    others.append(lit.SerializeToString())
    for path, kind in METHODS:
        for payload in others:
            if payload == get.SerializeToString() and path.endswith(("/GetTask", "/DeleteTask", "/GetTaskMetrics", "/GetTaskLogs")):
                continue  # that one is a valid request there
            if payload == _valid_create().SerializeToString() and path.endswith(("/CreateTask", "ExecuteTaskSync")):
                continue
            _check(bridge, path, kind, payload, RANDOM_OK, "wrong message type")
    _after(bridge)


def _nested_collection(depth: int) -> v2_core_literals.Literal:
    lit = v2_core_literals.Literal()
    lit.scalar.primitive.integer = 1
    for _ in range(depth):
        outer = v2_core_literals.Literal()
        outer.collection.literals.append(lit)
        lit = outer
    return lit


@pytest.mark.parametrize("depth", [40, 200])
def test_deeply_nested_literals(bridge: InProcessBridge, depth: int) -> None:
    # Built on the wire by hand: the python protobuf runtime refuses to serialize past its own limit.
    inner = _nested_collection(0).SerializeToString()
    for _ in range(depth):
        coll = b"\x0a" + _varint(len(inner)) + inner  # LiteralCollection.literals = 1
        inner = b"\x12" + _varint(len(coll)) + coll  # Literal.collection = 2
    named = b"\x0a\x01x" + b"\x12" + _varint(len(inner)) + inner  # NamedLiteral{name=1, value=2}
    inputs = b"\x0a" + _varint(len(named)) + named  # Inputs.literals = 1
    t = template("job").SerializeToString()
    req = b"\x0a" + _varint(len(inputs)) + inputs + b"\x12" + _varint(len(t)) + t + b"\x1a\x02s3"
    for path in (f"/{V1_ASYNC}/CreateTask", f"/{V2_ASYNC}/CreateTask"):
        # Shallow enough nesting is a valid (odd) request; too deep must be a clean rejection.
        allowed = REJECTED | ({SC.OK} if depth <= 40 else set())
        _check(bridge, path, "unary", req, allowed, f"{depth}-deep collection")
    _after(bridge)


def test_messages_over_the_size_limit(bridge: InProcessBridge) -> None:
    big = _valid_create()
    big.output_prefix = "s3://" + "a" * (MAX_MESSAGE_BYTES + 10)
    for path, kind in METHODS:
        payload = big.SerializeToString()
        _check(bridge, path, kind, payload, {SC.RESOURCE_EXHAUSTED}, "oversized message")
    _after(bridge)


def test_invalid_utf8_in_string_fields(bridge: InProcessBridge) -> None:
    bad = b"\xff\xfe\xc3("
    # TaskTemplate.type is field 2 (string); CreateTaskRequest.template is field 2, output_prefix 3.
    tmpl = b"\x12" + _varint(len(bad)) + bad
    create = b"\x12" + _varint(len(tmpl)) + tmpl + b"\x1a" + _varint(len(bad)) + bad
    category = b"\x0a" + _varint(len(bad)) + bad  # TaskCategory.name = 1
    get = b"\x12\x02{}" + b"\x1a" + _varint(len(category)) + category  # resource_meta=2, task_category=3
    name = b"\x0a" + _varint(len(bad)) + bad  # Get{Agent,Connector}Request.name = 1
    for path, kind in METHODS:
        method = path.rsplit("/", 1)[1]
        payload = {"CreateTask": create, "ExecuteTaskSync": create, "GetAgent": name, "GetConnector": name}.get(method, get)
        if method == "ExecuteTaskSync":
            payload = b"\x0a" + _varint(len(create)) + create  # ExecuteTaskSyncRequest.header = 1
        _check(bridge, path, kind, payload, REJECTED | ({SC.OK} if method.startswith("List") else set()), "invalid UTF-8")
    _after(bridge)


def test_empty_requests(bridge: InProcessBridge) -> None:
    for path, kind in METHODS:
        method = path.rsplit("/", 1)[1]
        allowed = {SC.OK} if method.startswith("List") else ({SC.NOT_FOUND} if method.startswith("Get") and "Task" not in method else {SC.INVALID_ARGUMENT})
        _check(bridge, path, kind, b"", allowed, "empty request")
        if kind == "stream_stream":
            _check(bridge, path, kind, [], {SC.INVALID_ARGUMENT}, "empty stream")
    _after(bridge)


def test_template_without_a_type_and_unknown_categories(bridge: InProcessBridge) -> None:
    no_type = create_request(template(""))
    unknown = create_request(template("no_such_type"))
    wrong_version = create_request(template("job", version=7))
    for req, what in ((no_type, "template without type"), (unknown, "unknown type"), (wrong_version, "unknown version")):
        for path in (f"/{V1_ASYNC}/CreateTask", f"/{V2_ASYNC}/CreateTask"):
            _check(bridge, path, "unary", req.SerializeToString(), {SC.NOT_FOUND, SC.INVALID_ARGUMENT}, what)
        header = v1.ExecuteTaskSyncRequest()
        header.header.template.ParseFromString(req.template.SerializeToString())
        _check(bridge, f"/{V1_SYNC}/ExecuteTaskSync", "stream_stream", [header.SerializeToString()], {SC.NOT_FOUND, SC.INVALID_ARGUMENT}, what)
    for method in ("GetTask", "DeleteTask", "GetTaskMetrics", "GetTaskLogs"):
        req = getattr(v2, f"{method}Request")(resource_meta=b"{}")
        req.task_category.name, req.task_category.version = "nope", 3
        kind = "unary_stream" if method == "GetTaskLogs" else "unary"
        for svc in (V1_ASYNC, V2_ASYNC):
            _check(bridge, f"/{svc}/{method}", kind, req.SerializeToString(), {SC.NOT_FOUND}, "unknown category")
    _after(bridge)


BAD_METAS = [
    b"",
    b"\x80\x81garbage",
    b"not json at all",
    b"[1, 2, 3]",
    b'"a string"',
    b'{"unrelated": true}',
    json.dumps({"sensor_module": "os", "sensor_name": "system"}).encode(),  # another connector's (sensor) meta
    b"\x00FCBsr1\n" + b"\xff" * 8,  # a sync envelope, corrupt, sent to an async connector
    b"{" * 5000,  # deeply nested JSON
]


def test_resource_meta_not_written_by_the_connector(bridge: InProcessBridge) -> None:
    for task_type in ("job", "echo"):
        for meta in BAD_METAS:
            for svc in (V1_ASYNC, V2_ASYNC):
                for method in ("GetTask", "DeleteTask", "GetTaskMetrics", "GetTaskLogs"):
                    req = getattr(v2, f"{method}Request")(resource_meta=meta)
                    req.task_category.name = task_type
                    kind = "unary_stream" if method == "GetTaskLogs" else "unary"
                    allowed = {SC.INVALID_ARGUMENT} | ({SC.UNIMPLEMENTED} if task_type == "echo" and "Task" in method and method not in ("GetTask", "DeleteTask") else set())
                    _check(bridge, f"/{svc}/{method}", kind, req.SerializeToString(), allowed, f"bad meta {meta[:20]!r}")
    _after(bridge)


def test_resource_meta_with_wrong_json_types(bridge: InProcessBridge) -> None:
    req = v2.GetTaskRequest(resource_meta=b'{"job_id": 5, "polls": "many"}')
    req.task_category.name = "job"
    try:
        for svc in (V1_ASYNC, V2_ASYNC):
            _check(bridge, f"/{svc}/GetTask", "unary", req.SerializeToString(), {SC.INVALID_ARGUMENT}, "wrong JSON types")
    finally:
        _after(bridge)


def test_duplicate_input_names_are_invalid_argument(bridge: InProcessBridge) -> None:
    # Decision (DESIGN "duplicate names"): v2 inputs with a repeated name are ambiguous to a
    # connector receiving natives and cannot become a v1 map: INVALID_ARGUMENT, never last-wins.
    tmpl = template("job", inputs={"x": literal_type(v2_types.INTEGER)})
    req = create_request(tmpl, {"x": 1})
    dup = v2_task_common.NamedLiteral(name="x")
    dup.value.scalar.primitive.integer = 2
    req.inputs.literals.append(dup)
    echo = create_request(template("echo", inputs={"x": literal_type(v2_types.INTEGER)}), {"x": 1})
    echo.inputs.literals.append(dup)
    for r in (req, echo):
        for path in (f"/{V1_ASYNC}/CreateTask", f"/{V2_ASYNC}/CreateTask"):
            _check(bridge, path, "unary", r.SerializeToString(), {SC.INVALID_ARGUMENT}, "duplicate input names")
    _after(bridge)


def test_execute_task_sync_stream_out_of_order(bridge: InProcessBridge) -> None:
    req = create_request(template("echo", inputs={"x": literal_type(v2_types.INTEGER)}), {"x": 1})
    header = v1.ExecuteTaskSyncRequest()
    header.header.template.ParseFromString(req.template.SerializeToString())
    inputs = v1.ExecuteTaskSyncRequest()
    inputs.inputs.ParseFromString(req.inputs.SerializeToString())
    h, i = header.SerializeToString(), inputs.SerializeToString()
    path = f"/{V1_SYNC}/ExecuteTaskSync"
    for parts, what in (([i, h], "inputs first"), ([h, h, i], "two headers"), ([h, i, i], "two inputs"), ([i], "inputs only")):
        _check(bridge, path, "stream_stream", parts, {SC.INVALID_ARGUMENT}, what)
    ok = raw_call(bridge.channel, path, "stream_stream", [h, i])  # type: ignore[arg-type]
    assert ok.code == SC.OK and len(ok.responses) == 1, ok
    _after(bridge)
