"""Measuring servers side by side: every (generation, method, concurrency) point, repeated, verified.

A point counts only when, for every repetition, h2load saw every request succeed *and* the server's
own success counter grew by exactly the number of requests sent (h2load alone would count a failed
gRPC call as HTTP 200). Each point starts with an unmeasured pilot run that warms the server up and
sizes the measured runs to the configured duration. The servers of one figure are measured
interleaved (see :func:`measure_servers`), so their ratios compare runs made under the same load.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks import h2load, payloads
from benchmarks.servers import RunningServer, ServerSpec

METHODS = ("GetTask", "CreateTask")
CONCURRENCY = (1, 16, 64)


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much to measure.

    Attributes:
        seconds: target duration of one measured run.
        repetitions: measured runs per point (the median is reported).
        methods: RPCs to measure.
        concurrency: streams in flight on the one connection.
        generations: restrict every server to these generations (None: each server's own list).
        max_requests: cap on requests in one run.
        connections: HTTP/2 connections; the ``concurrency`` streams are split evenly over them.
        deadline_s: a deadline sent with every request (``grpc-timeout``), as FlytePropeller and the
            Flyte 2 executor send one; None sends none.
    """

    seconds: float = 2.5
    repetitions: int = 3
    methods: tuple[str, ...] = METHODS
    concurrency: tuple[int, ...] = CONCURRENCY
    generations: tuple[str, ...] | None = None
    max_requests: int = 40_000
    connections: int = 1
    deadline_s: float | None = None


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _measure_once(
    server: RunningServer, h2: str, url: str, data: Path, n: int, conc: int, log: Path, client_cpus: str,
    connections: int = 1,
    deadline_s: float | None = None,
) -> dict[str, Any]:
    started = time.time()
    before = server.success_count()
    cpu0 = server.cpu_seconds()
    res = h2load.run(h2, url, data, n, conc, log, cpus=client_cpus, connections=connections, deadline_s=deadline_s)
    cpu1 = server.cpu_seconds()
    after = server.success_count()
    grown = int(round(after - before))
    return {
        "started": started,
        "requests": n,
        "h2load_succeeded": res.succeeded,
        "server_counted": grown,
        "verified": res.succeeded == n and grown == n,
        "seconds": res.seconds,
        "rps": res.rps,
        "p50_ms": res.percentile_ms(50),
        "p99_ms": res.percentile_ms(99),
        "cpu_seconds": cpu1 - cpu0,
        "cpu_util": (cpu1 - cpu0) / res.seconds if res.seconds else float("nan"),
        "cpu_us_per_req": (cpu1 - cpu0) / n * 1e6,
    }


@dataclasses.dataclass
class _Point:
    """One (server, generation, method, concurrency) point being measured."""

    server: RunningServer
    record: dict[str, Any]
    url: str
    data: Path
    tag: str
    per_conn: int
    n: int = 0

    @property
    def ok(self) -> bool:
        return self.record.get("status") != "failed"


def _start_point(
    server: RunningServer, h2: str, generation: str, method: str, conc: int, plan: Plan, work: Path
) -> _Point:
    """The point's pilot run: warms the server up and sizes the measured runs to ``plan.seconds``."""
    spec = server.spec
    data = work / f"{generation}-{method}.bin"
    if not data.exists():
        data.write_bytes(payloads.grpc_frame(payloads.request_bytes(generation, method)))
    point = _Point(
        server=server,
        record={"server": spec.key, "generation": generation, "method": method, "concurrency": conc,
                "connections": plan.connections, "runs": []},
        url=f"http://127.0.0.1:{server.port}{payloads.rpc_path(generation, method)}",
        data=data,
        tag=f"{spec.key}-{generation}-{method}-c{conc}-x{plan.connections}",
        per_conn=max(1, conc // plan.connections),
    )
    pilot = _run(point, h2, max(40, conc * 4), work / f"{point.tag}-pilot.log", plan)
    if not pilot["verified"]:
        point.record.update(status="failed", note=_unverified(pilot, server))
    else:
        point.n = int(min(plan.max_requests, max(conc * 10, pilot["rps"] * plan.seconds)))
    return point


def _run(point: _Point, h2: str, n: int, log: Path, plan: Plan) -> dict[str, Any]:
    # With the server on both cores (scaling figure) the load generator shares core 0 with it.
    return _measure_once(point.server, h2, point.url, point.data, n, point.per_conn, log, "0", plan.connections,
                         plan.deadline_s)


def _measured_run(point: _Point, h2: str, rep: int, plan: Plan, work: Path) -> None:
    run = _run(point, h2, point.n, work / f"{point.tag}-{rep}.log", plan)
    point.record["runs"].append(run)
    if not run["verified"]:
        point.record.update(status="failed", note=_unverified(run, point.server))


def _finish(point: _Point) -> dict[str, Any]:
    record = point.record
    if point.ok:
        runs = record["runs"]
        record["status"] = "ok"
        record["median"] = {
            k: _median([r[k] for r in runs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_util", "cpu_us_per_req")
        }
    med = record.get("median", {})
    print(f"  {record['server']:<17} {record['generation']} {record['method']:<10} c={record['concurrency']:<3} "
          f"x{record['connections']} {record['status']:<6} {med.get('rps', float('nan')):9.0f} req/s  "
          f"p99 {med.get('p99_ms', float('nan')):7.2f} ms", flush=True)
    return record


def _unverified(run: dict[str, Any], server: RunningServer) -> str:
    return (
        f"not verified: sent {run['requests']}, h2load saw {run['h2load_succeeded']} succeed, "
        f"server counted {run['server_counted']}; log tail: {server.log_tail(300)!r}"
    )


def _probe_failure(spec: ServerSpec, gen: str, method: str, conc: int, exc: Exception) -> dict[str, Any]:
    return {"server": spec.key, "generation": gen, "method": method, "concurrency": conc,
            "status": "failed", "note": f"probe call failed: {str(exc)[:600]}", "runs": []}


def measure_servers(specs: list[ServerSpec], h2: str, plan: Plan, work: Path, log_dir: Path) -> list[dict[str, Any]]:
    """Measure every server of one figure, interleaved: all are started (one after the other, so each
    start-up is timed alone), then each point's repetitions go round the servers, so every server's
    runs of a point fall in the same minute of this shared machine's load. A server waiting its turn
    is idle.

    Returns:
        One record per server, in ``specs`` order: start-up time, idle/peak RSS, points, or an error if
        it never came up.
    """
    records = {s.key: {"server": s.key, "label": s.label, "cpus": s.cpus, "workers": s.workers, "points": []}
               for s in specs}
    with contextlib.ExitStack() as stack:
        up: list[RunningServer] = []
        ports: dict[str, int] = {}
        for spec in specs:
            if spec.upstream is not None and spec.upstream not in ports:
                records[spec.key]["error"] = f"its upstream {spec.upstream!r} is not running in this figure"
                continue
            t0 = time.monotonic()
            server = stack.enter_context(RunningServer(spec, log_dir, ports.get(spec.upstream or "")))
            try:
                server.wait_ready()
            except Exception as exc:  # a server that does not come up costs its points, not the whole run
                records[spec.key]["error"] = str(exc)[-1500:]
                server.stop()
                continue
            ports[spec.key] = server.port
            records[spec.key]["startup_s"] = time.monotonic() - t0
            records[spec.key]["idle_rss_mib"] = server.idle_rss_kib / 1024
            up.append(server)
        for gen in ("v1", "v2"):
            for method in plan.methods:
                serving = [s for s in up if gen in s.spec.generations
                           and (plan.generations is None or gen in plan.generations)]
                probed = []
                for server in serving:
                    try:
                        server.probe(gen, method)
                        probed.append(server)
                    except Exception as exc:  # any probe failure skips the method's points, with the reason
                        records[server.spec.key]["points"].extend(
                            _probe_failure(server.spec, gen, method, c, exc) for c in plan.concurrency)
                for conc in plan.concurrency:
                    points = [_start_point(s, h2, gen, method, conc, plan, work) for s in probed]
                    for rep in range(plan.repetitions if points else 0):
                        # Rotate who goes first, so no server always runs right after the same neighbour.
                        first = rep % len(points)
                        for point in points[first:] + points[:first]:
                            if point.ok:
                                _measured_run(point, h2, rep, plan, work)
                    for point in points:
                        records[point.server.spec.key]["points"].append(_finish(point))
        for server in up:
            records[server.spec.key]["peak_rss_mib"] = server.peak_rss_kib() / 1024
    return [records[s.key] for s in specs]
