"""Calls that wait do not queue: many slow calls in flight at once, in every server mode ``auto`` picks.

A connector whose ``get`` awaits 1 s (``conn_slow``) is called hundreds of times at once, v1 and v2
mixed, over several connections. Every call must answer, and all of them within a bound well below
what a server holding at most 128 calls at once needs (the thread-pool server ``auto`` used to pick when
confined to one CPU: 300 calls take three rounds of 1 s there, 600 over two pinned workers too).
The same for blocking connectors: they run in ``--worker`` threads and must not hold up async ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import grpc
import pytest

from tests.bridge._helpers import Served, free_port, start_serve
from translators import _gen

pytestmark = pytest.mark.timeout(120)

SUCCEEDED = _gen.v2_core_execution.TaskExecution.SUCCEEDED
V1_GET = "/flyteidl.service.AsyncAgentService/GetTask"
V2_GET = "/flyteidl2.connector.AsyncConnectorService/GetTask"


def _request(generation: str, task_type: str, seconds: float) -> bytes:
    cls = _gen.v1.GetTaskRequest if generation == "v1" else _gen.v2.GetTaskRequest
    req = cls(resource_meta=json.dumps({"seconds": seconds}).encode())
    req.task_category.name = task_type
    return req.SerializeToString()


async def _calls(target: str, task_type: str, seconds: float, n: int, connections: int = 8) -> list[float]:
    """``n`` GetTask calls (v1 and v2 alternating) sent at once; each one's seconds until it answered."""
    # A local subchannel pool: every channel its own TCP connection, so SO_REUSEPORT spreads them.
    channels = [grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(connections)]
    try:
        await asyncio.gather(*(ch.channel_ready() for ch in channels))
        started = time.monotonic()

        async def one(i: int) -> float:
            gen = "v1" if i % 2 else "v2"
            resp_cls = _gen.v1.GetTaskResponse if gen == "v1" else _gen.v2.GetTaskResponse
            call = channels[i % connections].unary_unary(
                V1_GET if gen == "v1" else V2_GET, request_serializer=None, response_deserializer=resp_cls.FromString
            )
            resp = await call(_request(gen, task_type, seconds), timeout=60)
            assert resp.resource.phase == SUCCEEDED, resp
            return time.monotonic() - started

        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        for ch in channels:
            await ch.close()


def _wait_workers(served: Served, count: int) -> None:
    deadline = time.monotonic() + 60
    while not all(f"(worker {i})" in served.log() for i in range(count)):
        assert time.monotonic() < deadline, served.log()
        time.sleep(0.1)


# (confine the server to CPU 0?, extra flags, calls): every configuration --server-mode auto serves.
CASES = {
    "one-cpu": (True, (), 300),
    "all-cpus": (False, (), 300),
    "workers-pinned": (False, ("--workers", "2", "--pin-workers"), 600),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hundreds_of_waiting_calls_are_all_in_flight_at_once(tmp_path: Path, case: str) -> None:
    pinned, flags, n = CASES[case]
    if pinned and not hasattr(os, "sched_getaffinity"):
        pytest.skip("needs CPU affinity (taskset)")
    workers = 2 if "--workers" in flags else 1
    served = start_serve(
        tmp_path, "--modules", "tests.bridge.conn_slow", *flags,
        prometheus_port=free_port(consecutive=workers), prefix=("taskset", "-c", "0") if pinned else (),
    )
    try:
        if workers > 1:
            _wait_workers(served, workers)
        done = asyncio.run(_calls(served.target, "slow", 1.0, n))
        assert len(done) == n
        # Capped at 128 calls per process, the last call would answer after >= 3 s.
        assert max(done) < 2.7, f"{n} calls of 1 s took {max(done):.2f} s: calls queued"
        assert "thread-pool server)" not in served.log(), served.log()
    finally:
        assert served.stop() == 0, served.log()


def test_blocking_connector_does_not_hold_up_async_ones(tmp_path: Path) -> None:
    served = start_serve(
        tmp_path, "--modules", "tests.bridge.conn_slow", "--modules", "tests.bridge.conn_blocking", "--worker", "4",
    )
    try:

        async def both() -> tuple[list[float], list[float]]:
            blocking = asyncio.ensure_future(_calls(served.target, "blocking", 1.0, 12, connections=2))
            await asyncio.sleep(0.3)  # the blocking calls hold all four threads, eight wait
            slow = await _calls(served.target, "slow", 1.0, 100, connections=2)
            return await blocking, slow

        blocked, waited = asyncio.run(both())
        # 12 blocking calls on 4 threads: three rounds of 1 s; the async ones meanwhile take one (a
        # blocking call on the loop would hold them up for every round still to run, 12 s in all).
        assert max(blocked) >= 2.9, blocked
        assert max(waited) < 2.6, f"async calls waited behind blocking ones: {max(waited):.2f} s"
        log = served.log()
        assert "threads for blocking connector methods are busy" in log and "--worker 4" in log, log
    finally:
        assert served.stop() == 0, served.log()


def test_threads_mode_warns_near_its_cap(tmp_path: Path) -> None:
    served = start_serve(
        tmp_path, "--modules", "tests.bridge.conn_slow", "--server-mode", "threads", "--threads", "8",
    )
    try:
        done = asyncio.run(_calls(served.target, "slow", 0.5, 12, connections=2))
        assert max(done) >= 0.95, done  # the documented limit: 8 at once, then the other 4
        log = served.log()
        assert "WARNING" in log and "--threads 8" in log and "--server-mode aio" in log, log
    finally:
        assert served.stop() == 0, served.log()


def test_thousands_of_calls_started_at_once_are_all_held(tmp_path: Path) -> None:
    # gRPC core sheds calls waiting to be picked up past 1,000 by default (hard limit 3,000): a burst
    # larger than that, on one CPU, must still be held and answered (bridge.server.assembly.MAX_PENDING_CALLS).
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("needs CPU affinity (taskset)")
    n = 3_500
    served = start_serve(tmp_path, "--modules", "tests.bridge.conn_slow", prefix=("taskset", "-c", "0"))
    try:
        done = asyncio.run(_calls(served.target, "slow", 1.0, n, connections=4))
        assert len(done) == n
    finally:
        assert served.stop() == 0, served.log()
