"""Watch which connector calls are still running, to tell whether a cancelled call really stopped.

``Probe.wrap(connector)`` returns a shallow copy of the connector whose ``create``/``get``/``delete``/
``do`` count themselves in and out (``functools.wraps`` keeps the signatures the registry inspects,
and an ``async def`` stays one). A call that swallows its cancellation, or blocks a thread, stays
counted after its deadline passed.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

WATCHED = ("create", "get", "delete", "do")


class Probe:
    """In-flight connector calls, by connector category."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, tuple[tuple[str, int], str, float]] = {}
        self._next = 0

    def _enter(self, category: tuple[str, int], method: str) -> int:
        with self._lock:
            self._next += 1
            self._running[self._next] = (category, method, time.monotonic())
            return self._next

    def _exit(self, token: int) -> None:
        with self._lock:
            self._running.pop(token, None)

    def running(self, category: tuple[str, int] | None = None) -> list[str]:
        """Methods of ``category``'s connector (of any, for None) still running."""
        with self._lock:
            return [m for c, m, _ in self._running.values() if category is None or c == category]

    def running_names(self) -> list[str]:
        """``category.method`` of every call still running."""
        with self._lock:
            return [f"{c[0]}.{m}" for c, m, _ in self._running.values()]

    def wait_idle(self, category: tuple[str, int] | None, seconds: float) -> list[str]:
        """Wait up to ``seconds`` for ``category``'s calls (any, for None) to end; return those still running."""
        end = time.monotonic() + seconds
        while (left := self.running(category)) and time.monotonic() < end:
            time.sleep(0.05)
        return left

    def _wrapped(self, category: tuple[str, int], method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def watched_async(*args: Any, **kwargs: Any) -> Any:
                token = self._enter(category, method)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    self._exit(token)

            return watched_async

        @functools.wraps(fn)
        def watched(*args: Any, **kwargs: Any) -> Any:
            token = self._enter(category, method)
            try:
                return fn(*args, **kwargs)
            finally:
                self._exit(token)

        return watched

    def wrap(self, connector: Any) -> Any:
        """A copy of ``connector`` whose watched methods are counted."""
        category = (str(connector.task_type_name), int(getattr(connector, "task_type_version", 0)))
        clone = copy.copy(connector)
        for method in WATCHED:
            fn = getattr(connector, method, None)
            if callable(fn) and not inspect.isasyncgenfunction(fn):
                setattr(clone, method, self._wrapped(category, method, fn))
        return clone



class LoopMonitor:
    """How long the bridge's event loop went without running anything (a connector blocking it).

    A coroutine on the loop wakes every ``interval`` seconds; a wake-up later than that by more than
    ``threshold`` is a stall of that length. A watchdog thread notes which connector methods (from the
    ``Probe``) were running while the loop stood still, so a stall names its culprit.

    Args:
        probe: The probe around the served connectors (for the culprit), or None.
        interval: Seconds between the coroutine's wake-ups (10 ms).
        threshold: Lateness recorded as a stall.
    """

    def __init__(self, probe: Probe | None = None, interval: float = 0.01, threshold: float = 0.05) -> None:
        self.probe = probe
        self.interval = interval
        self.threshold = threshold
        #: (start, end, category/method names running meanwhile) of every stall, in order.
        self.stalls: list[tuple[float, float, list[str]]] = []
        self._beat = time.monotonic()
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    async def run(self) -> None:
        """The sampling coroutine: run it on the loop to watch (cancel it to stop)."""
        import asyncio

        self._watchdog = threading.Thread(target=self._watch, name="flyte-bridge-loop-watchdog", daemon=True)
        self._watchdog.start()
        try:
            while True:
                self._beat = before = time.monotonic()
                await asyncio.sleep(self.interval)
                now = time.monotonic()
                with self._lock:  # what the watchdog saw belongs to this wake-up only, a stall or not
                    seen, self._seen = sorted(self._seen), set()
                if now - before - self.interval > self.threshold:
                    self.stalls.append((before, now, seen))
        finally:
            self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval * 5):
            if self.probe is not None and time.monotonic() - self._beat > self.threshold:
                with self._lock:
                    self._seen.update(self.probe.running_names())

    def worst(self, since: float, until: float | None = None) -> tuple[float, list[str]]:
        """The longest stall overlapping [since, until]: (seconds, methods running meanwhile); (0, []) if none."""
        end = time.monotonic() if until is None else until
        found = [(b - a, who) for a, b, who in list(self.stalls) if b >= since and a <= end]
        return max(found, default=(0.0, []), key=lambda f: f[0])


__all__ = ["LoopMonitor", "Probe"]
