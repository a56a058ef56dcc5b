"""build_server in-process: keepalive pings during long calls, drain, port conflicts, options."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import modern
from bridge.server import ServerOptions, build_server, channel_options
from tests._servers import stop_server
from translators import _gen

pytestmark = pytest.mark.timeout(60)

PHASE = _gen.v2_core_execution.TaskExecution


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


def _sync(fn: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    # No pytest-asyncio in the project: run each async test in its own event loop.
    @functools.wraps(fn)
    def run() -> None:
        asyncio.run(fn())

    return run


def _hub() -> modern.Hub:
    registry = modern.ConnectorRegistry()
    registry.register(_Sleepy())
    return modern.Hub(registry, metrics=False)


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


@_sync
async def test_keepalive_pings_during_a_long_call_are_accepted() -> None:
    bridge = build_server(_hub(), ServerOptions(host="127.0.0.1", port=0, reflection=False))
    await bridge.start()
    try:
        resp = await _long_call_with_pings(bridge.port)
        assert resp.resource.phase == PHASE.SUCCEEDED
    finally:
        await bridge.stop(0)


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


@_sync
async def test_drain_reports_not_serving_and_refuses_new_work() -> None:
    bridge = build_server(_hub(), ServerOptions(host="127.0.0.1", port=0, reflection=False))
    await bridge.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{bridge.port}") as ch:
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
    finally:
        await bridge.stop(0)


@_sync
async def test_taken_port_fails_loudly_without_reuse_port() -> None:
    first = build_server(_hub(), ServerOptions(host="127.0.0.1", port=0, reflection=False))
    await first.start()
    try:
        with pytest.raises(RuntimeError, match="cannot listen"):
            build_server(_hub(), ServerOptions(host="127.0.0.1", port=first.port, reflection=False))
    finally:
        await first.stop(0)


def test_channel_options() -> None:
    opts = dict(channel_options(ServerOptions(max_message_bytes=1234, reuse_port=True)))
    assert opts["grpc.max_receive_message_length"] == 1234 == opts["grpc.max_send_message_length"]
    assert opts["grpc.so_reuseport"] == 1 and opts["grpc.keepalive_permit_without_calls"] == 1
    assert opts["grpc.http2.min_ping_interval_without_data_ms"] <= 30_000
    assert dict(channel_options(ServerOptions()))["grpc.so_reuseport"] == 0
