"""A short local measurement behind the choice of ``--server-mode auto`` (issue 25): not part of ``make bench``.

Two questions, each server pinned to core 0 (``taskset -c 0``), the client on core 1:

1. *Calls that wait*: a connector whose ``get`` awaits ``asyncio.sleep(1)`` (``tests.bridge.conn_slow``),
   K v2 GetTask calls kept in flight by ``grpc.aio`` clients for a few seconds: calls/s (ideal K/s) and the
   latency added over the 1 s at p50/p99.
2. *Trivial calls*: GetTask of the bench connector through h2load at 1/16/64 streams (``benchmarks.h2load``),
   every run checked against the server's own success counter.

Run: ``.venv/bin/python -m benchmarks.serving_modes_probe [--modes threads aio] [--inflight 256 1024]``.
Timing on a shared machine is noisy: read the figures as ratios between modes measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from benchmarks import h2load, payloads
from benchmarks.servers import VENV_BIN, RunningServer, ServerSpec

_SLOW_META = json.dumps({"seconds": 1.0}).encode()


def _spec(mode: str, modules: str, extra: tuple[str, ...] = ()) -> ServerSpec:
    argv = (str(VENV_BIN / "flyte-bridge"), "serve", "--port", "{port}", "--prometheus_port", "{metrics_port}",
            "--modules", modules, "--server-mode", mode, *extra)
    return ServerSpec(f"bridge-{mode}", f"bridge --server-mode {mode}", argv, ("v1", "v2"), cpus="0")


async def _inflight(port: int, k: int, seconds: float) -> dict[str, Any]:
    """Keep ``k`` slow GetTask calls in flight for ``seconds`` after a warm-up; count what finished."""
    req = payloads._gen.v2.GetTaskRequest(resource_meta=_SLOW_META)
    req.task_category.name = "slow"
    data = req.SerializeToString()
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(4)]
    calls = [ch.unary_unary(payloads.rpc_path("v2", "GetTask"), request_serializer=None,
                            response_deserializer=payloads._gen.v2.GetTaskResponse.FromString) for ch in channels]
    done: list[tuple[float, float]] = []  # (finish time, latency)
    failures = 0
    stop_at = 0.0

    async def one(i: int) -> None:
        nonlocal failures
        call = calls[i % len(calls)]
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            try:
                resp = await call(data, timeout=60)
                if resp.resource.phase != payloads._gen.v2_core_execution.TaskExecution.SUCCEEDED:
                    failures += 1
            except grpc.RpcError:
                failures += 1
                continue
            t1 = time.monotonic()
            done.append((t1, t1 - t0))

    warm = 3.0
    start = time.monotonic()
    stop_at = start + warm + seconds
    await asyncio.gather(*(one(i) for i in range(k)))
    for ch in channels:
        await ch.close()
    window = [lat for t, lat in done if start + warm <= t < start + warm + seconds]
    window.sort()
    added = [max(0.0, lat - 1.0) * 1000 for lat in window]

    def pct(q: float) -> float:
        return added[min(len(added) - 1, int(q / 100 * len(added)))] if added else float("nan")

    return {"inflight": k, "calls_per_s": len(window) / seconds, "ideal": float(k),
            "added_p50_ms": pct(50), "added_p99_ms": pct(99), "failures": failures}


def _trivial(server: RunningServer, h2: str, work: Path, conc: int, gen: str) -> dict[str, Any]:
    data = work / f"{gen}.bin"
    data.write_bytes(payloads.grpc_frame(payloads.request_bytes(gen, "GetTask")))
    url = f"http://127.0.0.1:{server.port}{payloads.rpc_path(gen, 'GetTask')}"
    h2load.run(h2, url, data, max(200, conc * 20), conc, work / "warm.log", cpus="1")
    n = {1: 3000, 16: 12000, 64: 16000}.get(conc, 10000)
    before = server.success_count()
    res = h2load.run(h2, url, data, n, conc, work / f"{gen}-{conc}.log", cpus="1")
    verified = res.succeeded == n and round(server.success_count() - before) == n
    return {"generation": gen, "concurrency": conc, "rps": res.rps, "p50_ms": res.percentile_ms(50),
            "p99_ms": res.percentile_ms(99), "verified": verified}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", nargs="+", default=["threads", "aio"])
    p.add_argument("--inflight", nargs="+", type=int, default=[256, 1024])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--streams", nargs="+", type=int, default=[1, 16, 64])
    p.add_argument("--reps", type=int, default=2, help="interleaved repetitions of the trivial runs")
    p.add_argument("--skip-trivial", action="store_true")
    p.add_argument("--skip-inflight", action="store_true")
    args = p.parse_args(argv)
    os.sched_setaffinity(0, {1})
    work = Path(tempfile.mkdtemp(prefix="serving-probe-"))
    out: dict[str, Any] = {"inflight": [], "trivial": []}
    if not args.skip_inflight:
        for mode in args.modes:
            with RunningServer(_spec(mode, "tests.bridge.conn_slow"), work / "logs") as server:
                server.wait_ready()
                for k in args.inflight:
                    row = {"mode": mode, **asyncio.run(_inflight(server.port, k, args.seconds))}
                    out["inflight"].append(row)
                    print(json.dumps(row), flush=True)
    if not args.skip_trivial:
        h2 = h2load.ensure_h2load()
        if h2 is None:
            print("no h2load: trivial runs skipped", file=sys.stderr)
        else:
            servers = {m: RunningServer(_spec(m, "benchmarks.bench_connector"), work / "logs") for m in args.modes}
            try:
                for s in servers.values():
                    s.wait_ready()
                for rep in range(args.reps):
                    for conc in args.streams:
                        for gen in ("v1", "v2"):
                            for mode, s in servers.items():
                                row = {"mode": mode, "rep": rep, **_trivial(s, h2, work, conc, gen)}
                                out["trivial"].append(row)
                                print(json.dumps(row), flush=True)
            finally:
                for s in servers.values():
                    s.stop()
            summary = {}
            for row in out["trivial"]:
                summary.setdefault((row["mode"], row["generation"], row["concurrency"]), []).append(row["rps"])
            for key, rps in sorted(summary.items()):
                print(f"trivial {key}: median {statistics.median(rps):.0f} req/s over {len(rps)}", flush=True)
    (work / "result.json").write_text(json.dumps(out, indent=1))
    print(f"results in {work / 'result.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
