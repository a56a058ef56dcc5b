"""Warnings for a pool of threads that has become the bottleneck, at most one per interval.

Two pools can cap what one server does at once:

- ``--worker`` (default 10, as ``pyflyte serve connector`` and ``c0``): the threads that run blocking
  (non-async) connector methods, the event loop's default executor (:class:`BlockingPool`). Async
  connectors never wait for it; blocking calls beyond it queue.
- ``--threads`` (default 128), only with ``--server-mode threads``: one gRPC thread per call in flight,
  for the whole call (:class:`bridge.server.call_pool.CallPool`).

When calls queue for either, the operator should hear it once, not once per call: :class:`Throttled`
logs a WARNING at most every ``interval`` seconds, with how many times it was suppressed meanwhile.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bridge.server.saturation")

WARN_INTERVAL = 60.0
"""Seconds between two warnings of the same kind."""


class Throttled:
    """Log a WARNING at most once per ``interval`` seconds; count the ones left out.

    Args:
        interval: Seconds between two warnings.
        clock: A monotonic clock (tests pass their own).
    """

    def __init__(self, interval: float = WARN_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")
        self._suppressed = 0

    def warn(self, message: str, *args: Any) -> bool:
        """Log ``message % args`` unless a warning went out less than ``interval`` ago.

        Returns:
            Whether it was logged.
        """
        now = self._clock()
        with self._lock:
            if now < self._next:
                self._suppressed += 1
                return False
            self._next = now + self._interval
            suppressed, self._suppressed = self._suppressed, 0
        if suppressed:
            message += " (%d more such moments in the last %.0f s)"
            args = (*args, suppressed, self._interval)
        log.warning(message, *args)
        return True


class BlockingPool(concurrent.futures.ThreadPoolExecutor):
    """The event loop's default executor (``asyncio.to_thread``), warning when its threads are all busy.

    A blocking connector method holds one of these threads for as long as it runs; the event loop, and
    with it every async connector, goes on meanwhile. When a call arrives and every thread is busy it
    waits in the queue: that is logged (throttled) with the flag that raises the limit.

    Args:
        max_workers: Threads (``--worker``).
        warning: The throttle (default: one warning a minute).
    """

    def __init__(self, max_workers: int, warning: Throttled | None = None) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bridge-blocking")
        self._size = max_workers
        self._busy = 0
        self._count_lock = threading.Lock()
        self._warning = warning or Throttled()

    @property
    def busy(self) -> int:
        """Calls submitted and not finished (running or queued)."""
        return self._busy

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        with self._count_lock:
            self._busy += 1
            busy = self._busy
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(self._done)
        if busy > self._size:
            self._warning.warn(
                "all %d threads for blocking connector methods are busy and %d call(s) wait for one: "
                "blocking connectors are capped at --worker %d calls at once (async connectors are not); "
                "raise --worker, or make the connector async",
                self._size, busy - self._size, self._size,
            )
        return future

    def _done(self, _future: Any = None) -> None:
        with self._count_lock:
            self._busy -= 1


__all__ = ["WARN_INTERVAL", "BlockingPool", "Throttled"]
