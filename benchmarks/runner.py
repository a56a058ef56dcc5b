"""Measuring one server: every (generation, method, concurrency) point, repeated, verified.

A point counts only when, for every repetition, h2load saw every request succeed *and* the server's
own success counter grew by exactly the number of requests sent (h2load alone would count a failed
gRPC call as HTTP 200). Each point starts with an unmeasured pilot run that warms the server up and
sizes the measured runs to the configured duration.
"""

from __future__ import annotations

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
    """

    seconds: float = 2.5
    repetitions: int = 3
    methods: tuple[str, ...] = METHODS
    concurrency: tuple[int, ...] = CONCURRENCY
    generations: tuple[str, ...] | None = None
    max_requests: int = 40_000
    connections: int = 1


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def _measure_once(
    server: RunningServer, h2: str, url: str, data: Path, n: int, conc: int, log: Path, client_cpus: str,
    connections: int = 1,
) -> dict[str, Any]:
    before = server.success_count()
    cpu0 = server.cpu_seconds()
    res = h2load.run(h2, url, data, n, conc, log, cpus=client_cpus, connections=connections)
    cpu1 = server.cpu_seconds()
    after = server.success_count()
    grown = int(round(after - before))
    return {
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


def measure_point(
    server: RunningServer, h2: str, generation: str, method: str, conc: int, plan: Plan, work: Path
) -> dict[str, Any]:
    """Pilot, then ``plan.repetitions`` verified runs of one point; medians of the verified runs.

    Args:
        server: the running server.
        h2: the h2load binary.
        generation: "v1" or "v2" (which service path and request bytes).
        method: "GetTask" or "CreateTask".
        conc: streams in flight.
        plan: durations and repetitions.
        work: scratch directory for data and log files.

    Returns:
        A point record (status "ok" or "failed", runs, medians).
    """
    spec = server.spec
    tag = f"{spec.key}-{generation}-{method}-c{conc}-x{plan.connections}"
    per_conn = max(1, conc // plan.connections)
    data = work / f"{generation}-{method}.bin"
    if not data.exists():
        data.write_bytes(payloads.grpc_frame(payloads.request_bytes(generation, method)))
    url = f"http://127.0.0.1:{server.port}{payloads.rpc_path(generation, method)}"
    # With the server on both cores (scaling figure) the load generator shares core 0 with it.
    client_cpus = "0"
    record: dict[str, Any] = {
        "server": spec.key, "generation": generation, "method": method, "concurrency": conc,
        "connections": plan.connections, "runs": [],
    }
    pilot_n = max(40, conc * 4)
    pilot = _measure_once(server, h2, url, data, pilot_n, per_conn, work / f"{tag}-pilot.log", client_cpus,
                          plan.connections)
    if not pilot["verified"]:
        record.update(status="failed", note=_unverified(pilot, server))
        return record
    n = int(min(plan.max_requests, max(conc * 10, pilot["rps"] * plan.seconds)))
    for rep in range(plan.repetitions):
        run = _measure_once(server, h2, url, data, n, per_conn, work / f"{tag}-{rep}.log", client_cpus,
                            plan.connections)
        record["runs"].append(run)
        if not run["verified"]:
            record.update(status="failed", note=_unverified(run, server))
            return record
    runs = record["runs"]
    record["status"] = "ok"
    record["median"] = {
        k: _median([r[k] for r in runs]) for k in ("rps", "p50_ms", "p99_ms", "cpu_util", "cpu_us_per_req")
    }
    return record


def _unverified(run: dict[str, Any], server: RunningServer) -> str:
    return (
        f"not verified: sent {run['requests']}, h2load saw {run['h2load_succeeded']} succeed, "
        f"server counted {run['server_counted']}; log tail: {server.log_tail(300)!r}"
    )


def measure_server(spec: ServerSpec, h2: str, plan: Plan, work: Path, log_dir: Path) -> dict[str, Any]:
    """Start ``spec``, measure all its points, stop it.

    Returns:
        A server record: start-up time, idle/peak RSS, points, or an error if it never came up.
    """
    gens = [g for g in spec.generations if plan.generations is None or g in plan.generations]
    record: dict[str, Any] = {"server": spec.key, "label": spec.label, "cpus": spec.cpus, "workers": spec.workers,
                              "points": []}
    t0 = time.monotonic()
    with RunningServer(spec, log_dir) as server:
        try:
            server.wait_ready()
        except Exception as exc:  # a server that does not come up costs its points, not the whole run
            record["error"] = str(exc)[-1500:]
            return record
        record["startup_s"] = time.monotonic() - t0
        record["idle_rss_mib"] = server.idle_rss_kib / 1024
        for gen in gens:
            for method in plan.methods:
                try:
                    server.probe(gen, method)
                except Exception as exc:  # any probe failure skips the method's points, with the reason
                    for conc in plan.concurrency:
                        record["points"].append({
                            "server": spec.key, "generation": gen, "method": method, "concurrency": conc,
                            "status": "failed", "note": f"probe call failed: {str(exc)[:600]}", "runs": [],
                        })
                    continue
                for conc in plan.concurrency:
                    point = measure_point(server, h2, gen, method, conc, plan, work)
                    record["points"].append(point)
                    med = point.get("median", {})
                    print(f"  {spec.key:<17} {gen} {method:<10} c={conc:<3} x{plan.connections} {point['status']:<6} "
                          f"{med.get('rps', float('nan')):9.0f} req/s  p99 {med.get('p99_ms', float('nan')):7.2f} ms",
                          flush=True)
        record["peak_rss_mib"] = server.peak_rss_kib() / 1024
    return record
