"""The server's life cycle: start, wait for a signal or ``--timeout``, drain, exit 0.

On SIGTERM or SIGINT the bridge (1) reports NOT_SERVING on the health service, (2) keeps serving
every call for ``--drain-delay`` seconds (0 by default), (3) stops the gRPC server: GOAWAY on every
connection, the port closed, and the calls in flight finish within the grace period, then (4) returns
exit code 0. Further signals during the drain are logged only. :mod:`bridge.server.drain` has the details
and what gRPC itself does at (3).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from bridge.server.assembly import BridgeServer

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_until_stopped(
    bridge: BridgeServer,
    *,
    grace: float,
    timeout: float | None = None,
    on_started: Callable[[BridgeServer], Awaitable[None] | None] | None = None,
    drain_delay: float = 0.0,
) -> int:
    """Start ``bridge`` and serve until SIGTERM/SIGINT or ``timeout`` seconds, then drain.

    Args:
        bridge: The built server.
        grace: Seconds in-flight calls may still run after the stop request.
        timeout: Stop after this many seconds (for tests, like ``pyflyte serve --timeout``).
        on_started: Called once the server listens (e.g. to print the start table).
        drain_delay: Seconds to keep serving after the signal, reporting NOT_SERVING, before stopping.

    Returns:
        The process exit code: 0 after a clean drain.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    signals_seen = 0

    def _on_signal(signum: signal.Signals) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            log.info("received %s again; already draining", signum.name)
        else:
            log.info("received %s; draining (grace %.1fs)", signum.name, grace)
        stop.set()

    for signum in STOP_SIGNALS:
        try:
            loop.add_signal_handler(signum, _on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            # Not the main thread (e.g. the in-process demo): the caller stops us instead.
            pass
    try:
        await bridge.start()
        if on_started is not None:
            maybe = on_started(bridge)
            if maybe is not None:
                await maybe
        try:
            await asyncio.wait_for(stop.wait(), timeout)
        except asyncio.TimeoutError:
            log.info("--timeout of %ss reached; stopping", timeout)
        await bridge.stop(grace, drain_delay)
        log.info("stopped cleanly")
        return 0
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
