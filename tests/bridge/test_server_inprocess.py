"""build_server in-process: keepalive pings during long calls, drain, port conflicts, options."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import modern
from modern import shared_loop
from bridge.server.assembly import BridgeServer, ServerOptions, build_server, channel_options, stop_server
from translators import _gen

pytestmark = pytest.mark.timeout(60)

PHASE = _gen.v2_core_execution.TaskExecution
# Both servers the bridge can run (--server-mode aio, the default, and threads), on the loop
# ``flyte-bridge serve`` runs (modern.shared_loop.SharedLoop: gRPC threads start coroutines in place),
# and the thread-pool server on a plain asyncio loop (a library user's: every call hops to the loop).
MODES = pytest.mark.parametrize("mode", ["aio", "threads", "threads-plain-loop"])
PLAIN = "-plain-loop"


@dataclass
class _Meta(modern.ResourceMeta):
    seconds: float = 0.0


class _Sleepy(modern.AsyncConnector):
    name = "Sleepy"
    task_type_name = "sleepy_inproc"
    metadata_type = _Meta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kw: Any) -> _Meta:
        return _Meta()

    async def get(self, resource_meta: _Meta, **kw: Any) -> modern.Resource:
        await asyncio.sleep(resource_meta.seconds)
        return modern.Resource(phase=PHASE.SUCCEEDED)

    async def delete(self, resource_meta: _Meta, **kw: Any) -> None:
        return None


def _sync(fn: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    # No pytest-asyncio in the project: run each async test in its own event loop, a SharedLoop as
    # under flyte-bridge serve unless the mode asks for a plain one (then the mode loses that suffix).
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        mode = kwargs.get("mode", "")
        if mode.endswith(PLAIN):
            kwargs["mode"] = mode[: -len(PLAIN)]
            asyncio.run(fn(*args, **kwargs))
        else:
            shared_loop.run(fn(*args, **kwargs))

    return run


def _hub(connector: modern.AsyncConnector | None = None, hub_class: type[modern.Hub] = modern.Hub) -> modern.Hub:
    registry = modern.ConnectorRegistry()
    registry.register(connector or _Sleepy())
    return hub_class(registry, metrics=False)


@contextlib.asynccontextmanager
async def _started(hub: modern.Hub, mode: str, **options: Any) -> AsyncIterator[BridgeServer]:
    """``build_server`` for ``hub`` in ``mode`` on 127.0.0.1:0, started; stopped on exit."""
    bridge = build_server(hub, ServerOptions(host="127.0.0.1", port=0, reflection=False, mode=mode, **options))
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.stop(0)


def _slow_get(seconds: float) -> Any:
    return _gen.v2.GetTaskRequest(
        task_category=_gen.v2.TaskCategory(name="sleepy_inproc"), resource_meta=_Meta(seconds).encode()
    )


# A client that pings every second during a call (gRPC clamps clients to >= 1 s), more often
# than the executor's 30 s: gRPC core's default server policy (one ping per 5 min, 2 strikes)
# answers the third early ping with a too_many_pings GOAWAY about 4 s into the call and drops
# the connection soon after. The executor hits that wall at about 90 s; 1 s pings show it in 7 s.
_PINGY = [
    ("grpc.keepalive_time_ms", 1000),
    ("grpc.keepalive_timeout_ms", 5000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_time_between_pings_ms", 10),
    ("grpc.http2.min_ping_interval_without_data_ms", 10),
]


async def _long_call_with_pings(port: int) -> Any:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=_PINGY) as ch:
        return await _gen.v2_grpc.AsyncConnectorServiceStub(ch).GetTask(_slow_get(7.0), timeout=20)


@MODES
@_sync
async def test_keepalive_pings_during_a_long_call_are_accepted(mode: str) -> None:
    async with _started(_hub(), mode) as bridge:
        resp = await _long_call_with_pings(bridge.port)
    assert resp.resource.phase == PHASE.SUCCEEDED


@_sync
async def test_control_default_server_options_reject_those_pings() -> None:
    # Same servicers, gRPC's default ping policy: shows the test above can fail.
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    modern.add_to_server(server, _hub())
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _long_call_with_pings(port)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await stop_server(server, 0)


@MODES
@_sync
async def test_drain_reports_not_serving_and_refuses_new_work(mode: str) -> None:
    async with _started(_hub(), mode) as bridge, grpc.aio.insecure_channel(f"127.0.0.1:{bridge.port}") as ch:
        health = health_pb2_grpc.HealthStub(ch)
        ok = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert ok.status == health_pb2.HealthCheckResponse.SERVING
        in_flight = asyncio.ensure_future(_gen.v2_grpc.AsyncConnectorServiceStub(ch).GetTask(_slow_get(1.0), timeout=10))
        await asyncio.sleep(0.3)
        stopping = asyncio.ensure_future(bridge.stop(5))
        await asyncio.sleep(0.1)
        for name in bridge.health.services:
            assert bridge.health.servicer._server_status[name] == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await _gen.v2_grpc.AsyncConnectorServiceStub(ch).GetTask(_slow_get(0), timeout=3)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert (await in_flight).resource.phase == PHASE.SUCCEEDED
        await stopping


@MODES
@_sync
async def test_taken_port_fails_loudly_without_reuse_port(mode: str) -> None:
    async with _started(_hub(), mode) as first:
        with pytest.raises(RuntimeError, match="cannot listen"):
            build_server(_hub(), ServerOptions(host="127.0.0.1", port=first.port, reflection=False, mode=mode))


def test_channel_options() -> None:
    opts = dict(channel_options(ServerOptions(max_message_bytes=1234, reuse_port=True)))
    assert opts["grpc.max_receive_message_length"] == 1234 == opts["grpc.max_send_message_length"]
    assert opts["grpc.so_reuseport"] == 1 and opts["grpc.keepalive_permit_without_calls"] == 1
    assert opts["grpc.http2.min_ping_interval_without_data_ms"] <= 30_000
    assert dict(channel_options(ServerOptions()))["grpc.so_reuseport"] == 0


class _LoopBound(modern.AsyncConnector):
    """Keeps loop-bound state between calls, as a connector with a cached async client does."""

    name = "LoopBound"
    task_type_name = "loop_bound_inproc"
    metadata_type = _Meta

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.loops: set[int] = set()
        self.cancelled = 0

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kw: Any) -> _Meta:
        return _Meta()

    async def get(self, resource_meta: _Meta, **kw: Any) -> modern.Resource:
        self.loops.add(id(asyncio.get_running_loop()))
        self.lock = self.lock or asyncio.Lock()  # bound to the loop of its first use
        try:
            async with self.lock:
                await asyncio.sleep(resource_meta.seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return modern.Resource(phase=PHASE.SUCCEEDED)

    async def delete(self, resource_meta: _Meta, **kw: Any) -> None:
        return None


def _loop_bound_get(seconds: float) -> Any:
    return _gen.v2.GetTaskRequest(
        task_category=_gen.v2.TaskCategory(name="loop_bound_inproc"), resource_meta=_Meta(seconds).encode()
    )


@contextlib.asynccontextmanager
async def _loop_bound_stub(connector: _LoopBound, mode: str, threads: int = 8) -> AsyncIterator[Any]:
    """A started bridge serving ``connector`` in ``mode``; yields a v2 async-service stub to it."""
    async with _started(_hub(connector), mode, threads=threads) as bridge:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{bridge.port}") as ch:
            yield _gen.v2_grpc.AsyncConnectorServiceStub(ch)


@MODES
@_sync
async def test_connector_coroutines_share_the_server_loop_across_threads(mode: str) -> None:
    # The gRPC handlers run in a thread pool; every connector coroutine must still run on the one
    # loop the server was built in (an asyncio.Lock reused from another loop raises RuntimeError).
    connector = _LoopBound()
    async with _loop_bound_stub(connector, mode, threads=3) as stub:
        # 12 calls on 3 threads (thread-pool mode): 9 wait in the queue and still finish.
        answers = await asyncio.gather(*(stub.GetTask(_loop_bound_get(0.05), timeout=20) for _ in range(12)))
    assert [a.resource.phase for a in answers] == [PHASE.SUCCEEDED] * 12
    assert connector.loops == {id(asyncio.get_running_loop())}


@MODES
@_sync
async def test_client_cancel_and_deadline_cancel_the_connector_coroutine(mode: str) -> None:
    connector = _LoopBound()
    async with _loop_bound_stub(connector, mode) as stub:
        call = stub.GetTask(_loop_bound_get(30))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetTask(_loop_bound_get(30), timeout=0.5)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        for _ in range(100):
            if connector.cancelled == 2:
                break
            await asyncio.sleep(0.05)
    assert connector.cancelled == 2


def test_auto_mode_is_aio_whatever_the_cpu_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.server.assembly import resolve_mode

    # Confined to one CPU too: the thread-pool server would cap calls in flight at --threads.
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {1})
    assert resolve_mode("auto") == "aio"
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert resolve_mode("auto") == "aio"
    assert resolve_mode("threads") == "threads" and resolve_mode("aio") == "aio"
    with pytest.raises(ValueError, match="unknown server mode"):
        resolve_mode("fast")


@_sync
async def test_built_server_kind_follows_the_mode() -> None:
    for mode, kind in (("aio", grpc.aio.Server), ("threads", grpc.Server)):
        async with _started(_hub(), mode) as bridge:
            assert isinstance(bridge.server, kind) and (mode == "threads") != isinstance(bridge.server, grpc.aio.Server)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{bridge.port}") as ch:
                resp = await _gen.v2_grpc.AsyncConnectorServiceStub(ch).GetTask(_slow_get(0), timeout=5)
        assert resp.resource.phase == PHASE.SUCCEEDED


class _WhereRun(modern.AsyncConnector):
    """Notes the thread each get ran in; answers without waiting for anything."""

    name = "WhereRun"
    task_type_name = "where_run_inproc"
    metadata_type = _Meta

    def __init__(self) -> None:
        self.threads: list[str] = []

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kw: Any) -> _Meta:
        return _Meta()

    async def get(self, resource_meta: _Meta, **kw: Any) -> modern.Resource:
        assert asyncio.current_task() is not None  # a real task, as on the loop's own thread
        self.threads.append(threading.current_thread().name)
        return modern.Resource(phase=PHASE.SUCCEEDED)

    async def delete(self, resource_meta: _Meta, **kw: Any) -> None:
        return None


@pytest.mark.parametrize("mode", ["threads", "threads-plain-loop"])
@_sync
async def test_a_call_that_never_waits_runs_in_the_grpc_thread_on_a_shared_loop(mode: str) -> None:
    connector = _WhereRun()
    on_shared = isinstance(asyncio.get_running_loop(), shared_loop.SharedLoop)
    request = _gen.v2.GetTaskRequest(
        task_category=_gen.v2.TaskCategory(name="where_run_inproc"), resource_meta=_Meta().encode()
    )

    def calls(port: int) -> None:  # a blocking client in another thread: the server's loop stays idle meanwhile
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
            for _ in range(5):
                assert stub.GetTask(request, timeout=10).resource.phase == PHASE.SUCCEEDED

    async with _started(_hub(connector), mode) as bridge:
        await asyncio.to_thread(calls, bridge.port)
    in_grpc_threads = [name for name in connector.threads if name.startswith("bridge-grpc")]
    assert len(connector.threads) == 5
    # Python 3.10 has no asyncio.timeout: the call's deadline is asyncio.wait_for, whose new task starts
    # on the loop's own thread.
    if on_shared and hasattr(asyncio, "timeout"):
        assert in_grpc_threads, connector.threads
    else:
        assert not in_grpc_threads, connector.threads


@pytest.mark.parametrize("mode", ["aio", "threads"])
@_sync
async def test_a_call_without_deadline_reaches_the_hub_without_one(mode: str) -> None:
    # The thread-pool server reports gRPC's infinite deadline as ~9.2e18 s left; passed on, it would
    # arm a timer on the loop for every call.
    seen: list[Any] = []

    class _Recording(modern.Hub):
        async def get_task(self, request: Any, *, timeout: float | None = None) -> Any:
            seen.append(timeout)
            return await super().get_task(request, timeout=timeout)

    async with _started(_hub(hub_class=_Recording), mode) as bridge:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{bridge.port}") as ch:
            stub = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
            await stub.GetTask(_slow_get(0))
            await stub.GetTask(_slow_get(0), timeout=30)
    assert seen[0] is None
    assert 0 < seen[1] <= 31  # the thread-pool server counts from its own clock
