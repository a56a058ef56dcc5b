"""The ``waiting`` figure: many GetTask calls in flight on a connector whose ``get`` waits like a real one.

Every server (the bridge in each ``--server-mode``, ``c0``, ``pyflyte serve connector``) is pinned to core 1
and serves the same two connectors (``benchmarks.wait_connector`` and its SDK twins): ``wait-async``
awaits a 1 s remote call, ``wait-blocking`` blocks a thread for 1 s. The closed-loop driver
(:mod:`benchmarks.driver`, core 0) keeps K calls in flight and checks every answer; the servers' runs of
one row are interleaved, repetition by repetition.

* async rows: throughput against the ideal K / wait, latency added over the wait (p50, p99), resident
  memory per call in flight (RSS during the window minus the server's idle RSS, over K);
* blocking rows: a few calls in flight; throughput x wait is how many blocking calls the server runs at
  once (Little's law);
* mixed rows: async calls with blocking calls beside them on the same server: does the blocking
  connector stall the async one?
"""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

from benchmarks import closed_loop, servers
from translators import _gen

SUCCESS_RATIO_1024 = 0.95
SUCCESS_RATIO_4096 = 0.75
TARGET_ADDED_P99_MS = 5.0
#: Calls a saturated server's gRPC core cancels (a few thousand queued at once): counted and reported as
#: failed calls (not throughput), not a broken run.
TOLERATED = ("CANCELLED", "RESOURCE_EXHAUSTED", "UNAVAILABLE")


@dataclasses.dataclass(frozen=True)
class WaitPlan:
    """How much to measure (``QUICK`` for the smoke run)."""

    inflight: tuple[int, ...] = (256, 1024, 4096)
    wait_s: float = 1.0
    warmup_s: float = 3.0
    measure_s: float = 5.0
    repetitions: int = 2
    blocking_inflight: int = 32
    blocking_warmup_s: float = 6.0
    mixed_inflight: int = 1024
    generations: tuple[str, ...] = ("v1", "v2")


QUICK = WaitPlan(inflight=(16, 64), wait_s=0.2, warmup_s=0.6, measure_s=1.0, repetitions=1, blocking_inflight=16,
                 blocking_warmup_s=1.0, mixed_inflight=64, generations=("v1", "v2"))


def specs() -> list[servers.ServerSpec]:
    """The servers of the figure, each pinned to core 1, each serving both waiting connectors."""
    flags = ("--port", "{port}", "--prometheus_port", "{metrics_port}")
    bridge = (servers._bin("flyte-bridge"), "serve", *flags, "--modules", "benchmarks.wait_connector")
    return [
        servers.ServerSpec("bridge", "bridge (default mode, pinned)", bridge, ("v1", "v2"), section="waiting"),
        servers.ServerSpec("bridge-aio", "bridge --server-mode aio", (*bridge, "--server-mode", "aio"),
                           ("v1", "v2"), section="waiting"),
        servers.ServerSpec("bridge-threads", "bridge --server-mode threads", (*bridge, "--server-mode", "threads"),
                           ("v1", "v2"), section="waiting"),
        servers.ServerSpec("flytekit", "flytekit pyflyte serve connector",
                           (servers._bin("pyflyte"), "serve", "connector", *flags,
                            "--modules", "benchmarks.flytekit_wait_connector"), ("v1",), section="waiting"),
        servers.ServerSpec("flyte-sdk", "flyte-sdk c0",
                           (servers._bin("c0"), *flags, "--modules", "benchmarks.flyte_wait_connector"),
                           ("v2",), section="waiting"),
    ]


def get_request(generation: str, task_type: str, wait_s: float) -> bytes:
    """A GetTask of ``generation`` for ``task_type`` whose handle asks the connector to wait ``wait_s``."""
    meta = json.dumps({"job_id": "wait-job", "wait_s": wait_s}).encode()
    if generation == "v1":
        req = _gen.v1.GetTaskRequest(task_type=task_type, resource_meta=meta)
    else:
        req = _gen.v2.GetTaskRequest(resource_meta=meta)
    req.task_category.name = task_type
    return bytes(req.SerializeToString())


def _spec(generation: str, task_type: str, k: int, plan: WaitPlan, work: Path, warmup_s: float) -> dict[str, Any]:
    path = work / f"wait-{generation}-{task_type}-{plan.wait_s}.bin"
    if not path.exists():
        path.write_bytes(get_request(generation, task_type, plan.wait_s))
    service = "flyteidl.service.AsyncAgentService" if generation == "v1" else "flyteidl2.connector.AsyncConnectorService"
    return {"workload": "unary", "generation": generation, "path": f"/{service}/GetTask", "request": str(path),
            "outputs": ["o0"], "concurrency": k, "warmup_s": warmup_s, "measure_s": plan.measure_s,
            "deadline_s": 600, "ramp_s": min(plan.wait_s, warmup_s)}


def _row_summary(row: dict[str, Any], wait_s: float) -> None:
    runs = row["runs"]
    if not runs or not all(r["verified"] for r in runs):
        row["status"] = "failed"
        row["note"] = next((r.get("note") for r in runs if not r["verified"]), "no runs")
        return
    row["status"] = "ok"
    med = closed_loop.median_of(runs, ("rps", "p50_ms", "p99_ms", "driver_cpu_util", "server_cpu_s", "cpu_ms_per_call",
                                       "failed_share"))
    k = row["inflight"]
    med["ideal_rps"] = k / wait_s
    med["of_ideal"] = med["rps"] / med["ideal_rps"]
    med["added_p50_ms"] = med["p50_ms"] - wait_s * 1e3
    med["added_p99_ms"] = med["p99_ms"] - wait_s * 1e3
    med["at_once"] = med["rps"] * wait_s
    rss = closed_loop.median_of(runs, ("rss_peak_kib",))["rss_peak_kib"]
    med["rss_load_mib"] = rss / 1024
    med["rss_per_call_kib"] = (rss - row["server_idle_rss_kib"]) / k
    med["driver_busy"] = any(r["driver_busy"] for r in runs)
    row["median"] = med


def run(plan: WaitPlan, work: Path, log_dir: Path, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Measure every server of the figure, interleaved; returns ``{"plan": ..., "servers": [...]}``."""
    chosen = [s for s in specs() if only is None or s.key in only]
    records = {s.key: {"server": s.key, "label": s.label, "cpus": s.cpus, "rows": []} for s in chosen}
    print("== waiting: " + ", ".join(s.key for s in chosen) + f", wait {plan.wait_s} s, interleaved", flush=True)
    with closed_loop.started(chosen, log_dir, records) as up:
        idle = {s.spec.key: s.idle_rss_kib for s in up}
        rows: list[tuple[str, str, int, float]] = [("async", g, k, plan.warmup_s)
                                                   for k in plan.inflight for g in plan.generations]
        rows += [("blocking", g, plan.blocking_inflight, plan.blocking_warmup_s) for g in plan.generations]
        rows += [("mixed", g, plan.mixed_inflight, plan.blocking_warmup_s) for g in plan.generations]
        for kind, gen, k, warmup in rows:
            serving = [s for s in up if gen in s.spec.generations]
            row_of = {}
            for s in serving:
                row_of[s.spec.key] = {"connector": kind, "generation": gen, "inflight": k, "runs": [],
                                      "server_idle_rss_kib": idle[s.spec.key]}
            for rep in range(plan.repetitions):
                first = rep % max(1, len(serving))
                for server in serving[first:] + serving[:first]:
                    tag = f"wait-{server.spec.key}-{kind}-{gen}-{k}-{rep}"
                    try:
                        res = _measure(server, kind, gen, k, warmup, plan, work, tag)
                    except Exception as exc:  # one broken run costs its row
                        res = {"verified": False, "note": f"{type(exc).__name__}: {str(exc)[:600]}"}
                    row_of[server.spec.key]["runs"].append(res)
            for s in serving:
                row = row_of[s.spec.key]
                _row_summary(row, plan.wait_s)
                records[s.spec.key]["rows"].append(row)
                med = row.get("median", {})
                print(f"  {s.spec.key:<15} {kind:<8} {gen} K={k:<5} {row['status']:<6} "
                      f"{med.get('rps', float('nan')):8.1f}/s (ideal {k / plan.wait_s:.0f}) "
                      f"+p50 {med.get('added_p50_ms', float('nan')):8.1f} ms +p99 {med.get('added_p99_ms', float('nan')):8.1f} ms "
                      f"RSS/call {med.get('rss_per_call_kib', float('nan')):6.1f} KiB "
                      f"driver {med.get('driver_cpu_util', float('nan')):.2f}", flush=True)
    return {"plan": dataclasses.asdict(plan), "servers": [records[s.key] for s in chosen]}


def _measure(server: servers.RunningServer, kind: str, gen: str, k: int, warmup: float, plan: WaitPlan,
             work: Path, tag: str) -> dict[str, Any]:
    if kind != "mixed":
        task_type = "wait-async" if kind == "async" else "wait-blocking"
        return closed_loop.run_driver(server, _spec(gen, task_type, k, plan, work, warmup), work, tag,
                                      tolerate=TOLERATED)
    # The async calls measured while blocking calls keep the blocking connector's threads busy beside them.
    blocking: dict[str, Any] = {}

    def side() -> None:
        spec = _spec(gen, "wait-blocking", plan.blocking_inflight, plan, work, 0.0)
        spec["measure_s"] = warmup + plan.measure_s
        try:
            blocking.update(closed_loop.run_driver(server, spec, work, tag + "-side", count=False))
        except Exception as exc:  # reported with the row
            blocking.update(verified=False, note=str(exc)[:400])

    thread = threading.Thread(target=side)
    thread.start()
    try:
        res = closed_loop.run_driver(server, _spec(gen, "wait-async", k, plan, work, warmup), work, tag, count=False,
                                     tolerate=TOLERATED)
    finally:
        thread.join()
    res["blocking_beside"] = {key: blocking.get(key) for key in ("rps", "p50_ms", "errors", "verified", "note")}
    if not blocking.get("verified"):
        res["verified"] = False
        res["note"] = f"blocking calls beside: {blocking.get('note')}"
    return res
