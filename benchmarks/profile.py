"""Where the bridge spends its time: py-spy samples of the GetTask and CreateTask paths under load.

``python -m benchmarks --profile`` starts the bridge (one worker, core 1), drives each
(generation, method) with h2load on core 0 at 16 streams while ``py-spy record`` samples the server,
and writes ``PROFILE.md``: the top frames by own time and by inclusive time, per path. py-spy is a
dev tool (``pip install py-spy``); without it this mode explains what is missing and stops.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import h2load, payloads
from benchmarks.servers import RunningServer, all_specs

SECONDS = 8
TOP = 15


def _py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


# Frames of the project's own packages (and the bench connector), as py-spy prints their files.
_PROJECT = ("(modern/", "(translators/", "(legacy/", "(bridge/", "(benchmarks/")
# The CLI frames that run the event loop sit under every sample; they say nothing about a path.
_ROOTS = ("main (bridge/commands/cli.py", "serve_command (bridge/commands/serve.py")


# Leaf frames that are a thread blocked in C (a lock, epoll, gRPC's completion queue, the pool's
# queue): py-spy --nonblocking cannot tell these threads are idle, so they are counted apart.
_WAITS = (
    "Condition.wait (threading.py", "EpollSelector.select (selectors.py", "_worker (concurrent/futures/thread.py",
    "_serve (grpc/_server.py",
)


def summarize(
    collapsed: str, top: int = TOP
) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]]:
    """Own-time and inclusive-time frame counts from py-spy's raw (collapsed) output.

    Args:
        collapsed: lines of ``frame;frame;...;frame count``, outermost frame first.
        top: how many frames to keep in each list.

    Returns:
        (busy samples, top frames by own samples, top frames by inclusive samples, top project
        frames by inclusive samples). Samples of a thread blocked in a wait (``_WAITS``) are left out.
    """
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if frames[-1].startswith(_WAITS):
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    project = [
        (f, n) for f, n in incl.most_common()
        if any(p in f for p in _PROJECT) and not f.startswith(_ROOTS)
    ][:top]
    return total, own.most_common(top), incl.most_common(top), project


def _table(title: str, rows: list[tuple[str, int]], total: int) -> list[str]:
    lines = [f"**{title}**", "", "| % | frame |", "|---|---|"]
    lines += [f"| {100 * n / max(total, 1):.1f} | `{frame}` |" for frame, n in rows]
    return lines + [""]


def main(out_dir: Path) -> int:
    """Profile the bridge and write ``PROFILE.md`` into ``out_dir``.

    Returns:
        0 on success, 1 when py-spy or h2load is missing or the bridge does not start.
    """
    spy, h2 = _py_spy(), h2load.ensure_h2load()
    if spy is None or h2 is None:
        print("profiling needs py-spy (pip install py-spy) and h2load (apt-get install nghttp2-client)",
              file=sys.stderr)
        return 1
    spec = next(s for s in all_specs() if s.key == "bridge")
    out = ["# Where the bridge spends its time (py-spy)", "",
           f"`flyte-bridge serve` with one worker on core 1, h2load on core 0 at 16 streams on one connection, "
           f"py-spy sampling the server for {SECONDS} s per path (`--nonblocking`, 100 Hz). Percentages are of the "
           f"busy samples of the path: samples of a thread blocked in a lock, epoll, gRPC's completion queue or "
           f"the thread pool's queue are left out. Regenerate with `python -m benchmarks --profile`.",
           "",
           "Reading it: py-spy sees Python frames only. The server is a thread-pool `grpc.server`; "
           "`grpc/_server.py` frames are gRPC's own per-call work, paid by the empty thread-pool servicer too, "
           "and `asyncio` and `modern/shared_loop.py` frames run the connector coroutine as a task of the one "
           "event loop (in the gRPC thread while the loop is idle, else handed to the loop's thread). "
           "The project table shows what the bridge itself adds.", ""]
    with tempfile.TemporaryDirectory(prefix="bench-prof-") as tmp, RunningServer(spec, Path(tmp) / "logs") as server:
        work = Path(tmp)
        try:
            server.wait_ready()
        except RuntimeError as exc:
            print(f"bridge did not start: {exc}", file=sys.stderr)
            return 1
        for gen in spec.generations:
            for method in ("GetTask", "CreateTask"):
                data = work / f"{gen}-{method}.bin"
                data.write_bytes(payloads.grpc_frame(payloads.request_bytes(gen, method)))
                url = f"http://127.0.0.1:{server.port}{payloads.rpc_path(gen, method)}"
                pilot = h2load.run(h2, url, data, 200, 16, work / "pilot.log")
                raw = work / f"{gen}-{method}.txt"
                rec = subprocess.Popen(
                    ["taskset", "-c", "0", spy, "record", "--pid", str(server.proc.pid), "--duration", str(SECONDS),
                     "--rate", "100", "--nonblocking", "--format", "raw", "-o", str(raw)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
                time.sleep(0.5)  # let py-spy attach before the load starts
                n = int(pilot.rps * (SECONDS + 1))
                res = h2load.run(h2, url, data, max(n, 100), 16, work / "run.log")
                _, err = rec.communicate(timeout=SECONDS + 30)
                if not raw.exists():
                    out += [f"## {gen} {method}", "", f"py-spy failed: {err.decode(errors='replace')[-300:]}", ""]
                    continue
                total, own, incl, project = summarize(raw.read_text())
                out += [f"## {gen} {method}: {res.rps:,.0f} req/s under the profiler, {total} busy samples", ""]
                out += _table("Top frames by own time", own, total)
                out += _table("Top frames by inclusive time", incl, total)
                out += _table("Project frames (modern, translators, legacy, bridge) by inclusive time", project, total)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "PROFILE.md").write_text("\n".join(out) + "\n")
    print(f"wrote {out_dir / 'PROFILE.md'}")
    return 0
