"""``--workers N``: N server processes on one port, supervised by the parent.

Python serves one event loop per process, so to use every core the parent starts N children
(``python -m bridge serve ... --workers 1``) that all bind the same port with ``SO_REUSEPORT``
(grpc option ``grpc.so_reuseport=1``); the kernel spreads new connections over them. The bridge
is stateless (every GetTask is answered from ``resource_meta`` alone), so any worker can answer
any call.

The parent only supervises: it forwards SIGTERM/SIGINT to every child as SIGTERM (each drains
on its own within ``--grace``), restarts a child that crashed (exit code not 0) a bounded number
of times, and exits 0 when every child ended with 0. Metrics: worker ``i`` exposes
``--prometheus_port + i`` (see :mod:`bridge.server.metrics`).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
"""Crashes tolerated per worker slot within :data:`RESTART_WINDOW_S` before the parent gives up."""
RESTART_WINDOW_S = 60.0
_POLL_S = 0.1


def supervise(
    count: int,
    child_command: Callable[[int], Sequence[str]],
    *,
    grace: float,
    env: dict[str, str] | None = None,
) -> int:
    """Run ``count`` worker processes until they all exit; forward stop signals.

    Args:
        count: Number of workers.
        child_command: Worker index -> the argv that starts that worker.
        grace: The workers' drain grace; the parent kills a worker that outlives it by 10 s.
        env: Environment of the children (default: inherited).

    Returns:
        0 when every worker ended with exit code 0, else 1.
    """
    stopping = False
    stop_deadline = 0.0

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping, stop_deadline
        if not stopping:
            log.info("supervisor got %s; stopping %d workers", signal.Signals(signum).name, count)
            stopping = True
            stop_deadline = time.monotonic() + grace + 10.0
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    procs: dict[int, subprocess.Popen[bytes]] = {}
    crashes: dict[int, list[float]] = {i: [] for i in range(count)}
    results: dict[int, int] = {}
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for i in range(count):
            procs[i] = subprocess.Popen(list(child_command(i)), env=env)
            log.info("started worker %d (pid %d)", i, procs[i].pid)
        while procs:
            time.sleep(_POLL_S)
            if stopping and time.monotonic() > stop_deadline:
                for i, proc in procs.items():
                    log.warning("worker %d (pid %d) outlived the grace; killing it", i, proc.pid)
                    proc.kill()
            for i, proc in list(procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                del procs[i]
                if code == 0 or stopping:
                    results[i] = code
                    continue
                now = time.monotonic()
                recent = [t for t in crashes[i] if now - t < RESTART_WINDOW_S] + [now]
                crashes[i] = recent
                if len(recent) > MAX_RESTARTS:
                    log.error("worker %d crashed %d times in %.0fs; stopping all", i, len(recent), RESTART_WINDOW_S)
                    results[i] = code
                    _on_signal(signal.SIGTERM, None)
                    continue
                log.warning("worker %d exited with %d; restarting", i, code)
                procs[i] = subprocess.Popen(list(child_command(i)), env=env)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    failed = {i: c for i, c in results.items() if c != 0}
    if failed:
        log.error("workers ended with errors: %s", failed)
        return 1
    return 0
