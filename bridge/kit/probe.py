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


__all__ = ["Probe"]
