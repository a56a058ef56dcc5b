"""The ``jitter`` figure: where a slow call at one stream comes from, the bridge or the machine.

The bridge (its default mode, pinned to core 1, started through this module so that every cyclic-GC
pass is logged with its wall-clock start and duration) and the empty ``grpc.aio`` servicer answer GetTask
at one stream from h2load (core 0), interleaved, several repetitions, beside the bridge's own serving
architecture with nothing in it (``empty-sharedloop``: a thread-pool server running coroutines on one
``SharedLoop``) and the bridge in ``--server-mode aio``. h2load logs every request's start
(µs since the epoch) and duration, so each slow call (``SLOW_MS`` or more) can be set beside what happened at that moment:

* a GC pass of the bridge that overlaps it (``gc.callbacks``);
* the server's threads being preempted: involuntary context switches of the server over the run
  (``/proc/<pid>/task/*/status``), and the hypervisor's steal time on the server's core (``/proc/stat``);
* the servers' own periodic work: CPU each server uses while idle for a few seconds;
* the machine alone: a *canary* busy loop pinned to core 1 with every server idle, counting the gaps of
  ``CANARY_GAP_MS`` or more in its own run (the core taken away by other work), per second.

If the empty servicer (which has no GC to speak of, no thread pool and no periodic task) shows slow calls
as often as the bridge, the machine made them.

Run the instrumented bridge alone: ``python -m benchmarks.jitter serve --gc-log FILE <flyte-bridge args>``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import h2load, payloads, servers

SLOW_MS = 2.0
"""A call this slow is *slow*: the p99 in question was 2.3 ms against a p50 of 0.31 ms."""
CANARY_GAP_MS = 1.0


@dataclasses.dataclass(frozen=True)
class JitterPlan:
    """How much to measure."""

    seconds: float = 5.0
    repetitions: int = 3
    idle_s: float = 5.0
    method: str = "GetTask"
    generation: str = "v2"


QUICK = JitterPlan(seconds=0.5, repetitions=2, idle_s=0.5)


def specs(gc_log: Path) -> list[servers.ServerSpec]:
    """The instrumented bridge and the empty grpc.aio servicer, both on core 1."""
    bridge = (sys.executable, "-m", "benchmarks.jitter", "serve", "--gc-log", str(gc_log), "--port", "{port}",
              "--prometheus_port", "{metrics_port}", "--modules", "benchmarks.bench_connector")
    known = {s.key: s for s in servers.all_specs()}
    return [servers.ServerSpec("bridge", "bridge (default mode, pinned)", bridge, ("v1", "v2"), section="jitter"),
            dataclasses.replace(known["empty-aio"], section="jitter"),
            dataclasses.replace(known["empty-sharedloop"], section="jitter"),
            dataclasses.replace(known["bridge-aio"], section="jitter")]


CANARY = """
import json, sys, time
end = time.perf_counter() + float(sys.argv[1])
gaps, last, cpu0 = [], time.perf_counter(), time.process_time()
while (now := time.perf_counter()) < end:
    if now - last >= float(sys.argv[2]) / 1e3:
        gaps.append(now - last)
    last = now
print(json.dumps({"gaps": len(gaps), "max_ms": max(gaps, default=0) * 1e3, "cpu_share": (time.process_time() - cpu0) / float(sys.argv[1])}))
"""


def canary(seconds: float, cpus: str = "1") -> dict[str, Any]:
    """A busy loop pinned to ``cpus``: gaps of ``CANARY_GAP_MS`` or more in its own run (per second), the
    longest, and the share of the core it got."""
    import subprocess

    out = subprocess.run(["taskset", "-c", cpus, sys.executable, "-c", CANARY, str(seconds), str(CANARY_GAP_MS)],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    res: dict[str, Any] = json.loads(out)
    res["gaps_per_s"] = res["gaps"] / seconds
    return res


def involuntary_switches(pid: int) -> int:
    """Involuntary context switches of all threads of ``pid`` so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("nonvoluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def cpu_times(cpu: int) -> dict[str, int]:
    """``/proc/stat`` ticks of one CPU: user, system, steal and the rest."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            f = [int(x) for x in line.split()[1:]]
            return {"user": f[0] + f[1], "system": f[2], "idle": f[3] + f[4], "steal": f[7] if len(f) > 7 else 0,
                    "irq": f[5] + f[6]}
    return {}


def read_gc_log(path: Path, since: float, until: float) -> list[tuple[float, float, int]]:
    """GC passes (start epoch s, duration s, generation) logged between ``since`` and ``until``."""
    out = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            start, dur, gen = line.split()
            if since <= float(start) <= until:
                out.append((float(start), float(dur), int(gen)))
    return out


def _one(server: servers.RunningServer, h2: str, data: Path, n: int, plan: JitterPlan, work: Path, tag: str,
         gc_log: Path | None) -> dict[str, Any]:
    url = f"http://127.0.0.1:{server.port}{payloads.rpc_path(plan.generation, plan.method)}"
    log = work / f"{tag}.log"
    before, ctx0, cpu0 = server.success_count(), involuntary_switches(server.proc.pid), cpu_times(1)
    t0 = time.time()
    res = h2load.run(h2, url, data, n, 1, log, cpus="0")
    t1 = time.time()
    ctx1, cpu1 = involuntary_switches(server.proc.pid), cpu_times(1)
    counted = int(round(server.success_count() - before))
    calls = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1].startswith("2"):
            calls.append((int(parts[0]) / 1e6, int(parts[2]) / 1e6))
    lat = sorted(d for _, d in calls)
    p50 = res.percentile_ms(50)
    slow_s = SLOW_MS / 1e3
    slow = [(s, d) for s, d in calls if d >= slow_s]
    passes = read_gc_log(gc_log, t0 - 1, t1 + 1) if gc_log else []
    with_gc = [(s, d) for s, d in slow if any(g0 < s + d and g0 + gd > s for g0, gd, _ in passes)]
    ticks = {k: cpu1.get(k, 0) - cpu0.get(k, 0) for k in cpu0}
    return {"requests": n, "verified": res.succeeded == n and counted == n, "server_counted": counted,
            "rps": res.rps, "p50_ms": p50, "p99_ms": res.percentile_ms(99), "p999_ms": res.percentile_ms(99.9),
            "max_ms": lat[-1] * 1e3 if lat else float("nan"), "slow_threshold_ms": slow_s * 1e3,
            "slow_calls": len(slow), "slow_with_gc": len(with_gc),
            "slowest": sorted(((round(d * 1e3, 2), round(s - t0, 3)) for s, d in slow), reverse=True)[:5],
            "gc_passes": len(passes), "gc_max_ms": max((d for _, d, _ in passes), default=0.0) * 1e3,
            "gc_gen2": sum(1 for *_, g in passes if g == 2),
            "involuntary_switches": ctx1 - ctx0, "switches_per_s": (ctx1 - ctx0) / max(t1 - t0, 1e-9),
            "core1_ticks": ticks, "started": t0}


def run(plan: JitterPlan, h2: str, work: Path, log_dir: Path) -> dict[str, Any]:
    """Both servers, interleaved; plus each one's CPU while idle."""
    from benchmarks import closed_loop

    gc_log = work / "bridge-gc.log"
    chosen = specs(gc_log)
    records = {s.key: {"server": s.key, "label": s.label, "runs": []} for s in chosen}
    data = work / f"{plan.generation}-{plan.method}.bin"
    data.write_bytes(payloads.grpc_frame(payloads.request_bytes(plan.generation, plan.method)))
    print("== jitter: one stream, bridge (GC logged) and the empty grpc.aio servicer, interleaved", flush=True)
    with closed_loop.started(chosen, log_dir, records) as up:
        machine = canary(plan.idle_s)  # every server idle: what the machine alone does to core 1
        print(f"  canary on core 1: {machine['gaps_per_s']:.1f} gaps >= {CANARY_GAP_MS} ms per s, longest "
              f"{machine['max_ms']:.1f} ms, {machine['cpu_share'] * 100:.0f}% of the core", flush=True)
        for s in up:  # what each does on its own while nobody calls it: periodic work shows here
            cpu0 = s.cpu_seconds()
            time.sleep(plan.idle_s)
            records[s.spec.key]["idle_cpu_ms_per_s"] = (s.cpu_seconds() - cpu0) / plan.idle_s * 1e3
            records[s.spec.key]["threads"] = len(list(Path(f"/proc/{s.proc.pid}/task").iterdir()))
        sizes = {}
        for s in up:  # pilot: warm-up and size
            pilot = h2load.run(h2, f"http://127.0.0.1:{s.port}{payloads.rpc_path(plan.generation, plan.method)}",
                               data, 200, 1, work / f"jitter-{s.spec.key}-pilot.log", cpus="0")
            sizes[s.spec.key] = max(200, int(pilot.rps * plan.seconds))
        for rep in range(plan.repetitions):
            first = rep % max(1, len(up))
            for s in up[first:] + up[:first]:
                run_ = _one(s, h2, data, sizes[s.spec.key], plan, work, f"jitter-{s.spec.key}-{rep}",
                            gc_log if s.spec.key == "bridge" else None)
                run_["idle_cpu_ms_per_s"] = records[s.spec.key]["idle_cpu_ms_per_s"]
                records[s.spec.key]["runs"].append(run_)
                print(f"  {s.spec.key:<9} rep {rep} p50 {run_['p50_ms']:.2f} p99 {run_['p99_ms']:.2f} "
                      f"max {run_['max_ms']:.1f} ms, {run_['slow_calls']} slow (>{run_['slow_threshold_ms']:.1f} ms), "
                      f"{run_['slow_with_gc']} during a GC pass; GC passes {run_['gc_passes']} (max "
                      f"{run_['gc_max_ms']:.2f} ms); involuntary switches {run_['involuntary_switches']}; core 1 "
                      f"steal {run_['core1_ticks'].get('steal')} ticks", flush=True)
    return {"plan": dataclasses.asdict(plan), "servers": [records[s.key] for s in chosen],
            "slow_rule": f">= {SLOW_MS:g} ms", "canary": machine, "canary_gap_ms": CANARY_GAP_MS}


def _serve(argv: list[str]) -> int:
    """``flyte-bridge serve`` with every GC pass appended to ``--gc-log`` (start, seconds, generation)."""
    i = argv.index("--gc-log")
    path = argv[i + 1]
    del argv[i:i + 2]
    out = open(path, "a", buffering=1)  # noqa: SIM115 (the process's lifetime)
    started: list[float] = [0.0, 0.0]

    def log(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0], started[1] = time.time(), time.perf_counter()
        else:
            out.write(f"{started[0]:.6f} {time.perf_counter() - started[1]:.6f} {info.get('generation', -1)}\n")

    gc.callbacks.append(log)
    from bridge.commands.cli import main

    return main(argv)


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1:]))
