"""Running the closed-loop driver against a server and reading what the server did meanwhile.

One measured run: the server's success counter, CPU time and (sampled every 0.2 s during the measured
window) resident memory around one ``benchmarks.driver`` process pinned to the client core. The run is
verified when the driver checked every answer without an error and, where the server counts the calls,
its counter grew by the calls the driver made (times ``per_call``: a Create+Get counts two).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import servers

#: Above this share of its core the driver may itself have been the bottleneck: flagged in the report.
DRIVER_BUSY = 0.85


def run_driver(
    server: servers.RunningServer | None, spec: dict[str, Any], work: Path, tag: str, per_call: int = 1,
    client_cpus: str = "0", count: bool = True, tolerate: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One closed-loop run of ``spec`` (see :mod:`benchmarks.driver`) against ``server``.

    Args:
        server: the server under test (None: ``spec['target']`` is something else, nothing sampled).
        spec: the driver's spec; ``target`` is filled from the server when missing.
        work: where the spec and result files go.
        tag: file name stem.
        per_call: server-counted calls per driver call (Create+Get: 2).
        client_cpus: ``taskset`` list for the driver.
        count: compare with the server's success counter.
        tolerate: gRPC status names (e.g. ``CANCELLED``) of failed calls that do not fail the run: they are
            counted (``errors_by_code``) and reported, and only answered calls count as throughput. A wrong
            answer never passes.

    Returns:
        The driver's result plus ``server_cpu_s``, ``rss_peak_kib`` (during the window), ``idle_rss_kib``,
        ``server_counted`` and ``verified``.
    """
    if server is not None:
        spec = dict(spec, target=spec.get("target") or f"127.0.0.1:{server.port}")
    spec_path, out_path = work / f"{tag}.spec.json", work / f"{tag}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    before = server.success_count() if server is not None and count else 0.0
    cpu0 = server.cpu_seconds() if server is not None else 0.0
    idle = servers.memory_kib(server.proc.pid, "VmRSS") if server is not None else 0
    peak = [0]
    stop = threading.Event()

    def sample() -> None:  # RSS while the K calls are in flight (the measured window)
        if server is None:
            return
        if stop.wait(float(spec["warmup_s"])):
            return
        end = time.monotonic() + float(spec["measure_s"])
        while time.monotonic() < end and not stop.is_set():
            peak[0] = max(peak[0], servers.memory_kib(server.proc.pid, "VmRSS"))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timeout = 120 + float(spec["warmup_s"]) + float(spec["measure_s"]) * 4
    try:
        proc = subprocess.run(["taskset", "-c", client_cpus, sys.executable, "-m", "benchmarks.driver",
                               str(spec_path), str(out_path)],
                              capture_output=True, text=True, timeout=timeout,
                              cwd=Path(__file__).resolve().parent.parent)
    finally:
        stop.set()
        sampler.join()
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"driver failed (rc={proc.returncode}): {(proc.stdout + proc.stderr)[-1200:]}")
    res: dict[str, Any] = json.loads(out_path.read_text())
    res["started"] = time.time()
    if server is not None:
        res["server_cpu_s"] = server.cpu_seconds() - cpu0
        # Steadier than calls/s on a shared machine: time the server waited for its core does not count.
        res["cpu_ms_per_call"] = res["server_cpu_s"] / max(1, res["ok"] + res["errors"]) * 1e3
        res["idle_rss_kib"], res["rss_peak_kib"] = idle, peak[0]
        if count:
            time.sleep(0.05)
            res["server_counted"] = int(round(server.success_count() - before))
    expected = res["ok"] * per_call
    untolerated = sum(n for code, n in res.get("errors_by_code", {}).items() if code not in tolerate)
    res["failed_share"] = res["errors"] / max(1, res["calls"])
    res["verified"] = untolerated == 0 and (not count or server is None or res["server_counted"] == expected)
    if not res["verified"]:
        res["note"] = (f"not verified: {res['ok']} answers checked, {res['errors']} failed "
                       f"{res['error_samples'][:2]}, server counted {res.get('server_counted')} of {expected}"
                       + (f"; log tail: {server.log_tail(300)!r}" if server is not None else ""))
    res["driver_busy"] = res["driver_cpu_util"] >= DRIVER_BUSY
    return res


def median_of(runs: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    """The median of each key over the runs (NaN when a key is missing everywhere)."""
    out = {}
    for key in keys:
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = float(statistics.median(values)) if values else float("nan")
    return out


@contextlib.contextmanager
def started(specs: list[servers.ServerSpec], log_dir: Path, records: dict[str, dict[str, Any]]) -> Any:
    """Start every server (one after the other, so each start-up is timed alone); yield those that came up.

    A server that does not come up gets ``error`` in its record and is left out.
    """
    with contextlib.ExitStack() as stack:
        up = []
        for spec in specs:
            t0 = time.monotonic()
            server = stack.enter_context(servers.RunningServer(spec, log_dir))
            try:
                server.wait_ready()
            except Exception as exc:  # a server that does not come up costs its rows, not the figure
                records[spec.key]["error"] = str(exc)[-1500:]
                server.stop()
                continue
            records[spec.key].update(startup_s=time.monotonic() - t0, idle_rss_mib=server.idle_rss_kib / 1024)
            up.append(server)
        yield up
