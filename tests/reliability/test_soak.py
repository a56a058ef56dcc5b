"""A bounded soak on loopback against a served subprocess, with its resident memory sampled.

Fast profile: ~3,000 mixed calls over both generations within 30 s. Full (FULL=1): 30,000 within
180 s. Mixed = v1/v2 CreateTask and GetTask, v1 ExecuteTaskSync, both metadata listings, plus every
10th create an injected connector failure. Assertions: no call lost (every future answered), no
error status except the injected INTERNALs, and RSS growth after warm-up below ``RSS_BOUND_MIB``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.bridge._helpers import start_serve
from tests.conftest import FULL
from tests.modern._connectors import create_request, template
from tests.reliability._harness import V1_ASYNC, V1_META, V1_SYNC, V2_ASYNC, V2_META, count
from tests.reliability.conn_faults import FaultMeta
from translators._gen import v1, v2

TOTAL = 30_000 if FULL else 3_000
TIME_LIMIT = 180.0 if FULL else 30.0
WARMUP = TOTAL // 6
BATCH = 32  # calls in flight at once
#: Resident memory may grow at most this much after warm-up (allocator noise is a few MiB).
RSS_BOUND_MIB = 20.0

pytestmark = pytest.mark.timeout(int(TIME_LIMIT) + 60)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _plan(channel: grpc.Channel) -> list[tuple[str, Any, bytes, bool]]:
    """The mix, as (name, callable, request bytes, injected failure)."""
    ok = create_request(template("fault", {"mode": "ok"})).SerializeToString()
    bad = create_request(template("fault", {"mode": "raise"})).SerializeToString()
    get = v2.GetTaskRequest(resource_meta=FaultMeta().encode())
    get.task_category.name = "fault"
    sync = v1.ExecuteTaskSyncRequest()
    sync.header.template.ParseFromString(template("fault", {"mode": "ok"}).SerializeToString())
    uu = lambda p: channel.unary_unary(p)  # noqa: E731
    ex = channel.stream_stream(f"/{V1_SYNC}/ExecuteTaskSync")
    return [
        ("v1 create", uu(f"/{V1_ASYNC}/CreateTask"), ok, False),
        ("v2 create", uu(f"/{V2_ASYNC}/CreateTask"), ok, False),
        ("v1 get", uu(f"/{V1_ASYNC}/GetTask"), get.SerializeToString(), False),
        ("v2 get", uu(f"/{V2_ASYNC}/GetTask"), get.SerializeToString(), False),
        ("v1 list", uu(f"/{V1_META}/ListAgents"), b"", False),
        ("v2 list", uu(f"/{V2_META}/ListConnectors"), b"", False),
        ("v1 sync", ex, sync.SerializeToString(), False),
        ("v2 get", uu(f"/{V2_ASYNC}/GetTask"), get.SerializeToString(), False),
        ("v1 get", uu(f"/{V1_ASYNC}/GetTask"), get.SerializeToString(), False),
        ("v2 create (injected failure)", uu(f"/{V2_ASYNC}/CreateTask"), bad, True),
    ]


def test_soak_mixed_calls_bounded_memory_no_lost_calls(tmp_path: Path) -> None:
    served = start_serve(tmp_path, "--modules", "tests.reliability.conn_faults", "--no-entry-points", "--log-level", "error")
    made = lost = injected = unexpected = 0
    samples: list[float] = []
    started = time.monotonic()
    try:
        with grpc.insecure_channel(served.target) as channel:
            plan = _plan(channel)
            while made < TOTAL and time.monotonic() - started < TIME_LIMIT:
                pending = []
                for _ in range(BATCH):
                    name, rpc, payload, fails = plan[made % len(plan)]
                    if name == "v1 sync":
                        pending.append((rpc(iter([payload]), timeout=10), fails, True))
                    else:
                        pending.append((rpc.future(payload, timeout=10), fails, False))
                    made += 1
                for call, fails, stream in pending:
                    try:
                        answers = list(call) if stream else [call.result()]
                        if not answers:
                            lost += 1
                        elif fails:
                            unexpected += 1
                    except grpc.RpcError as exc:
                        if fails and exc.code() == grpc.StatusCode.INTERNAL:
                            injected += 1
                        else:
                            unexpected += 1
                if made >= WARMUP and (not samples or made % (BATCH * 10) < BATCH):
                    samples.append(_rss_mib(served.proc.pid))
            samples.append(_rss_mib(served.proc.pid))
        elapsed = time.monotonic() - started
    finally:
        rc = served.stop()
    growth = samples[-1] - samples[0]
    peak_growth = max(samples) - samples[0]
    count("soak calls made", made)
    count("soak injected failures", injected)
    count("soak lost calls", lost)
    count("soak RSS growth KiB", int(growth * 1024))
    print(
        f"\nsoak: {made} calls in {elapsed:.1f}s ({made / elapsed:.0f}/s), injected failures {injected}, "
        f"unexpected errors {unexpected}, lost {lost}; RSS after warm-up {samples[0]:.1f} MiB, "
        f"growth {growth:+.2f} MiB (peak {peak_growth:+.2f}, bound {RSS_BOUND_MIB} MiB, {len(samples)} samples)"
    )
    assert rc == 0
    assert made >= TOTAL * (0.5 if FULL else 1.0), f"only {made} calls in {TIME_LIMIT}s"
    assert lost == 0 and unexpected == 0
    assert injected == made // 10  # every 10th call of the plan, and only those
    assert growth < RSS_BOUND_MIB and peak_growth < RSS_BOUND_MIB * 1.5


# -- thread-pool mode: growth per call -------------------------------------------------------------

FLAT_CALLS = 240_000
FLAT_WARMUP = 40_000
FLAT_SAMPLE_EVERY = 10_000
FLAT_IN_FLIGHT = 16
#: Calls per connection: clients come and go (propeller restarts, keepalive GOAWAYs), and memory the
#: allocator spreads over many arenas grows with every new connection.
FLAT_CALLS_PER_CONNECTION = 2_000
#: Least-squares RSS growth per call after warm-up. Measured on a shared 2-core machine: the fixed server
#: 2.3 and 2.8 (0.98 on one connection); before the fix (ThreadPoolExecutor, glibc's default arenas) 4.26,
#: with the pool's thread count creeping (21 -> 22), which the thread assertion catches on its own. The
#: bound is above the fixed runs' spread; the issue's harness saw 30-80 before the fix.
FLAT_BOUND_BYTES_PER_CALL = 4.0
FLAT_TIME_LIMIT = 900.0


@pytest.mark.skipif(not FULL, reason="full profile only (FULL=1): minutes of calls")
@pytest.mark.timeout(int(FLAT_TIME_LIMIT) + 120)
def test_soak_thread_pool_mode_memory_flat_per_call(tmp_path: Path) -> None:
    """The thread-pool server (what ``auto`` runs on one core) stays flat: RSS slope and thread count.

    v1 and v2 CreateTask (ten typed inputs) and GetTask, 16 in flight, a new connection every 2,000 calls.
    """
    from benchmarks import payloads
    from benchmarks.endurance import slope, threads

    served = start_serve(tmp_path, "--server-mode", "threads", "--modules", "benchmarks.bench_connector",
                         "--no-entry-points", "--log-level", "error")
    plan = [(payloads.rpc_path(gen, method), payloads.request_bytes(gen, method))
            for method in ("CreateTask", "GetTask") for gen in ("v1", "v2")]
    made = 0
    samples: list[tuple[int, float]] = []
    own_threads: list[int] = []
    started = time.monotonic()
    try:
        while made < FLAT_WARMUP + FLAT_CALLS and time.monotonic() - started < FLAT_TIME_LIMIT:
            with grpc.insecure_channel(served.target) as channel:
                calls = [(channel.unary_unary(path), payload) for path, payload in plan]
                for _ in range(FLAT_CALLS_PER_CONNECTION // FLAT_IN_FLIGHT):
                    pending = []
                    for _ in range(FLAT_IN_FLIGHT):
                        rpc, payload = calls[made % len(calls)]
                        pending.append(rpc.future(payload, timeout=30))
                        made += 1
                    for call in pending:
                        call.result()
                    if made >= FLAT_WARMUP and made % FLAT_SAMPLE_EVERY < FLAT_IN_FLIGHT:
                        samples.append((made - FLAT_WARMUP, _rss_mib(served.proc.pid) * 1024 * 1024))
                        own_threads.append(threads(served.proc.pid)[0])
        elapsed = time.monotonic() - started
    finally:
        rc = served.stop()
    per_call = slope(samples)
    count("thread-pool soak calls", made)
    print(
        f"\nthread-pool soak: {made} calls in {elapsed:.0f}s ({made / elapsed:.0f}/s); RSS after warm-up "
        f"{samples[0][1] / 2**20:.1f} MiB, at end {samples[-1][1] / 2**20:.1f} MiB, slope {per_call:.2f} B/call "
        f"(bound {FLAT_BOUND_BYTES_PER_CALL}), threads {own_threads[0]} -> {own_threads[-1]} "
        f"(max {max(own_threads)}; gRPC's event-engine workers not counted), "
        f"{len(samples)} samples"
    )
    assert rc == 0
    assert samples[-1][0] >= FLAT_CALLS // 2, f"only {made} calls in {FLAT_TIME_LIMIT:.0f}s"
    assert per_call < FLAT_BOUND_BYTES_PER_CALL
    assert max(own_threads) == own_threads[0], f"threads grew after warm-up: {own_threads}"
