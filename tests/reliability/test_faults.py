"""Connector faults on a real in-process server: raise, hang past the deadline, slow, malformed
Resource; client cancellation; no growth of pending tasks or threads over many faulty calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.modern._connectors import create_request, template
from tests.reliability._harness import V1_ASYNC, V1_SYNC, V2_ASYNC, InProcessBridge, assert_bounded, count, healthy, standard_registry
from tests.reliability.conn_faults import FaultConnector, FaultMeta
from translators._gen import v1, v2

pytestmark = pytest.mark.timeout(60)
SC = grpc.StatusCode


@pytest.fixture
def faults() -> FaultConnector:
    return FaultConnector()


@pytest.fixture
def bridge(faults: FaultConnector) -> Iterator[InProcessBridge]:
    with InProcessBridge(standard_registry(faults)) as b:
        yield b


def _create(bridge: InProcessBridge, svc: str, mode: str, timeout: float = 5.0, **extra: Any) -> tuple[SC, str, bytes]:
    req = create_request(template("fault", {"mode": mode, **extra}))
    assert bridge.channel is not None
    call = bridge.channel.unary_unary(f"/{svc}/CreateTask")
    count("faults injected")
    try:
        return SC.OK, "", v2.CreateTaskResponse.FromString(call(req.SerializeToString(), timeout=timeout)).resource_meta
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or "", b""


def _get(bridge: InProcessBridge, svc: str, meta: bytes, timeout: float = 5.0) -> tuple[SC, str, Any]:
    req = v2.GetTaskRequest(resource_meta=meta)
    req.task_category.name = "fault"
    assert bridge.channel is not None
    try:
        raw = bridge.channel.unary_unary(f"/{svc}/GetTask")(req.SerializeToString(), timeout=timeout)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or "", None
    cls = v1.GetTaskResponse if svc == V1_ASYNC else v2.GetTaskResponse
    return SC.OK, "", cls.FromString(raw).resource


@pytest.mark.parametrize("svc", [V1_ASYNC, V2_ASYNC])
def test_connector_that_raises_is_internal_with_bounded_message(bridge: InProcessBridge, svc: str) -> None:
    code, details, _ = _create(bridge, svc, "raise")
    assert code == SC.INTERNAL
    assert "injected failure in create" in details
    assert_bounded(details)
    healthy(bridge.channel)  # type: ignore[arg-type]


@pytest.mark.parametrize("svc", [V1_ASYNC, V2_ASYNC])
def test_hang_past_the_deadline_is_deadline_exceeded_and_cancels_the_connector(
    bridge: InProcessBridge, faults: FaultConnector, svc: str
) -> None:
    started = time.monotonic()
    code, details, _ = _create(bridge, svc, "hang", timeout=0.5)
    assert code == SC.DEADLINE_EXCEEDED, details
    assert time.monotonic() - started < 5
    assert_bounded(details)
    # The hub's own deadline (or the client's cancel) must have stopped the connector's coroutine.
    deadline = time.monotonic() + 5
    while faults.cancellations == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert faults.cancellations >= 1
    healthy(bridge.channel)  # type: ignore[arg-type]


def test_slow_connector_within_the_deadline_succeeds(bridge: InProcessBridge) -> None:
    for svc in (V1_ASYNC, V2_ASYNC):
        code, details, meta = _create(bridge, svc, "slow", timeout=5.0, seconds=0.3)
        assert code == SC.OK, details
        code, details, resource = _get(bridge, svc, meta)
        assert code == SC.OK, details
        assert resource.phase == 3  # SUCCEEDED in both generations' enums


@pytest.mark.parametrize("svc", [V1_ASYNC, V2_ASYNC])
@pytest.mark.parametrize("mode", ["no_phase", "bad_outputs"])
def test_malformed_resource_is_internal_never_an_unset_phase(bridge: InProcessBridge, svc: str, mode: str) -> None:
    meta = FaultMeta(mode=mode).encode()
    code, details, resource = _get(bridge, svc, meta)
    count("faults injected")
    # An unset phase must never reach a client (v1 reads it as retryable, v2 as system error).
    assert code == SC.INTERNAL, (code, resource)
    assert_bounded(details)
    healthy(bridge.channel)  # type: ignore[arg-type]


def test_execute_task_sync_on_a_hanging_connector_hits_the_deadline(bridge: InProcessBridge) -> None:
    req = v1.ExecuteTaskSyncRequest()
    req.header.template.ParseFromString(template("fault", {"mode": "hang"}).SerializeToString())
    call = bridge.channel.stream_stream(f"/{V1_SYNC}/ExecuteTaskSync")  # type: ignore[union-attr]
    count("faults injected")
    with pytest.raises(grpc.RpcError) as err:
        list(call(iter([req.SerializeToString()]), timeout=0.5))
    assert err.value.code() == SC.DEADLINE_EXCEEDED
    healthy(bridge.channel)  # type: ignore[arg-type]


def test_client_cancellation_reaches_the_connector(bridge: InProcessBridge, faults: FaultConnector) -> None:
    req = create_request(template("fault", {"mode": "hang"}))
    fut = bridge.channel.unary_unary(f"/{V2_ASYNC}/CreateTask").future(req.SerializeToString(), timeout=60)  # type: ignore[union-attr]
    count("faults injected")
    deadline = time.monotonic() + 5
    while faults.cancelled is None and time.monotonic() < deadline:  # the connector is now waiting
        time.sleep(0.01)
    assert faults.cancelled is not None and not faults.cancelled.is_set()
    fut.cancel()

    async def wait_cancelled() -> None:
        assert faults.cancelled is not None
        await asyncio.wait_for(faults.cancelled.wait(), 5)

    bridge.run(wait_cancelled())
    assert faults.cancellations == 1
    healthy(bridge.channel)  # type: ignore[arg-type]


def test_no_growth_of_tasks_or_threads_over_200_faulty_calls(bridge: InProcessBridge) -> None:
    # Warm up: the first calls create the thread pools and channels that then stay.
    for svc in (V1_ASYNC, V2_ASYNC):
        _create(bridge, svc, "ok")
    tasks_before, threads_before = bridge.pending_tasks(), threading.active_count()
    modes = ["raise", "hang", "slow", "ok", "no_phase", "bad_outputs"]
    outcomes: dict[SC, int] = {}
    for i in range(200):
        svc = (V1_ASYNC, V2_ASYNC)[i % 2]
        mode = modes[i % len(modes)]
        if mode in ("no_phase", "bad_outputs"):
            code = _get(bridge, svc, FaultMeta(mode=mode).encode())[0]
            count("faults injected")
        else:
            code = _create(bridge, svc, mode, timeout=0.05 if mode == "hang" else 5.0, seconds=0.001)[0]
        outcomes[code] = outcomes.get(code, 0) + 1
    # Nothing stuck: give cancelled handlers a moment to unwind, then compare.
    deadline = time.monotonic() + 5
    while bridge.pending_tasks() > tasks_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bridge.pending_tasks() <= tasks_before, "pending asyncio tasks grew"
    assert threading.active_count() <= threads_before + 2, "threads grew"
    assert outcomes.get(SC.UNKNOWN, 0) == 0 and outcomes.get(SC.UNAVAILABLE, 0) == 0, outcomes
    assert outcomes[SC.OK] >= 60 and outcomes[SC.INTERNAL] >= 60 and outcomes[SC.DEADLINE_EXCEEDED] >= 30, outcomes
    healthy(bridge.channel)  # type: ignore[arg-type]
