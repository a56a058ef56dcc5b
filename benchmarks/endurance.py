"""The endurance figure: does the bridge's memory stay flat over a million calls, in both serving modes?

For every serving mode (``threads``, ``aio``), generation and method, a fresh bridge pinned to core 1
answers a warm-up, then several batches of calls from h2load on core 0 (16 streams on one connection,
each batch verified against the server's own success counter). After the warm-up and after every batch
the harness records the server's resident memory (``VmRSS``), its OS threads (gRPC core's event-engine
workers, which gRPC itself adds and retires with the load, counted apart) and its asyncio tasks (a gauge
that :mod:`benchmarks.endurance_serve` adds). Growth per call is the least-squares slope of RSS
over the calls after the warm-up (one batch's allocator noise moves an end-to-end difference more).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import payloads, runner, servers
from benchmarks.endurance_serve import TASKS_GAUGE

MODES = ("threads", "aio")
TARGET_BYTES_PER_CALL = 2.0


@dataclasses.dataclass(frozen=True)
class EndurancePlan:
    """How long to run each (mode, generation, method).

    Attributes:
        warmup: calls before the first sample.
        batches: batches after the warm-up, one sample after each.
        batch: calls per batch.
        concurrency: streams in flight on the one connection.
        methods: RPCs to run.
        generations: API generations to run.
        modes: ``--server-mode`` values.
    """

    warmup: int = 50_000
    batches: int = 10
    batch: int = 100_000
    concurrency: int = 16
    methods: tuple[str, ...] = runner.METHODS
    generations: tuple[str, ...] = ("v1", "v2")
    modes: tuple[str, ...] = MODES


QUICK = EndurancePlan(warmup=500, batches=2, batch=500)


def spec(mode: str) -> servers.ServerSpec:
    """The bridge in ``mode`` with the asyncio-task gauge, pinned to core 1."""
    argv = (sys.executable, "-m", "benchmarks.endurance_serve", "serve", "--port", "{port}",
            "--prometheus_port", "{metrics_port}", "--modules", "benchmarks.bench_connector", "--server-mode", mode)
    return servers.ServerSpec(f"bridge-{mode}", f"bridge --server-mode {mode}", argv, ("v1", "v2"), section="endurance")


def scrape_gauge(metrics_port: int, name: str) -> float:
    """One unlabelled sample of ``name`` from the server's metrics endpoint (NaN when absent)."""
    found = re.search(rf"^{name} (\S+)$", servers.metrics_text(metrics_port), re.MULTILINE)
    return float(found.group(1)) if found else float("nan")


GRPC_ENGINE_THREAD = "event_engine"
"""Linux name of gRPC core's event-engine workers: gRPC adds and retires them with the load, by design."""


def threads(pid: int) -> tuple[int, int]:
    """(threads of process ``pid`` other than gRPC core's event-engine workers, those workers)."""
    names = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            names.append((task / "comm").read_text().strip())
    engine = names.count(GRPC_ENGINE_THREAD)
    return len(names) - engine, engine


def _sample(server: servers.RunningServer, calls: int, run: dict[str, Any] | None) -> dict[str, Any]:
    time.sleep(1.0)  # the last calls' buffers are released by gRPC's own threads just after the answers
    own, engine = threads(server.proc.pid)
    sample = {"calls": calls, "rss_kib": servers.memory_kib(server.proc.pid, "VmRSS"), "threads": own,
              "engine_threads": engine, "tasks": scrape_gauge(server.metrics_port, TASKS_GAUGE)}
    if run is not None:
        sample.update({k: run[k] for k in ("rps", "p50_ms", "p99_ms", "seconds")})
    return sample


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (NaN with fewer than two distinct x)."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


def summarize(record: dict[str, Any]) -> None:
    """Add growth per call (slope and end to end), thread and task growth to a finished record."""
    samples = record["samples"]
    if len(samples) < 2:
        return
    first, last = samples[0], samples[-1]
    calls = last["calls"] - first["calls"]
    record["slope_bytes_per_call"] = slope([(s["calls"], s["rss_kib"] * 1024) for s in samples])
    record["end_bytes_per_call"] = (last["rss_kib"] - first["rss_kib"]) * 1024 / calls if calls else float("nan")
    record["threads_growth"] = last["threads"] - first["threads"]
    record["tasks_growth"] = last["tasks"] - first["tasks"]


def _one(mode: str, gen: str, method: str, plan: EndurancePlan, h2: str, work: Path, log_dir: Path) -> dict[str, Any]:
    record: dict[str, Any] = {"mode": mode, "generation": gen, "method": method, "concurrency": plan.concurrency,
                              "warmup": plan.warmup, "samples": [], "status": "ok"}
    data = work / f"{gen}-{method}.bin"
    if not data.exists():
        data.write_bytes(payloads.grpc_frame(payloads.request_bytes(gen, method)))
    with servers.RunningServer(spec(mode), log_dir) as server:
        server.wait_ready()
        server.probe(gen, method)
        url = f"http://127.0.0.1:{server.port}{payloads.rpc_path(gen, method)}"
        tag = f"endurance-{mode}-{gen}-{method}"
        started = time.monotonic()

        def batch(n: int, name: str) -> dict[str, Any] | None:
            run = runner._measure_once(server, h2, url, data, n, plan.concurrency, work / f"{tag}-{name}.log", "0")
            if not run["verified"]:
                record.update(status="failed", note=runner._unverified(run, server))
                return None
            return run

        if batch(plan.warmup, "warmup") is None:
            return record
        record["samples"].append(_sample(server, 0, None))
        for i in range(plan.batches):
            run = batch(plan.batch, str(i))
            if run is None:
                break
            record["samples"].append(_sample(server, (i + 1) * plan.batch, run))
        record["elapsed_s"] = time.monotonic() - started
    summarize(record)
    return record


def run(
    plan: EndurancePlan, h2: str, work: Path, log_dir: Path,
    on_record: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Every (mode, generation, method) of ``plan``, one fresh server each, in turn.

    Args:
        on_record: Called with the records so far after each combination (a long run interrupted keeps
            the rows it finished).

    Returns:
        One record per combination: samples after the warm-up and each batch, growth per call, or why
        it failed.
    """
    print("== endurance: memory over many calls per mode, generation and method", flush=True)
    records = []
    for mode in plan.modes:
        for gen in plan.generations:
            for method in plan.methods:
                try:
                    record = _one(mode, gen, method, plan, h2, work, log_dir)
                except Exception as exc:  # one broken combination must not cost the others
                    record = {"mode": mode, "generation": gen, "method": method, "samples": [],
                              "status": "failed", "note": f"{type(exc).__name__}: {str(exc)[:800]}"}
                print(f"  endurance {mode:<7} {gen} {method:<10} {record['status']:<6} "
                      f"{record.get('slope_bytes_per_call', float('nan')):8.2f} B/call over "
                      f"{record['samples'][-1]['calls'] if record['samples'] else 0:,} calls, threads "
                      f"{record.get('threads_growth', '-')}, tasks {record.get('tasks_growth', '-')}", flush=True)
                records.append(record)
                if on_record is not None:
                    on_record(records)
    return records
