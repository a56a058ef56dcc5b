"""The thread-pool server's threads: a fixed set, started up front, the most recently idle one first.

``concurrent.futures.ThreadPoolExecutor`` starts a thread whenever a call arrives and no thread is idle
*yet*. A gRPC worker marks itself idle only after its call's answer went out, so the client's next call
often arrives first: under a steady 16 calls in flight the pool kept starting threads (32 -> 38 in
200,000 calls, each a stack and a share of the allocator's arenas), growing towards ``--threads`` for
days. Here every thread exists from the start, so the count never moves; an idle thread waits on its own
lock and the one that went idle last is woken first, so a light load keeps reusing the few threads (and
their stacks and arenas) that are already warm, and the others stay untouched.

A gRPC thread stays with its call until the answer goes out, however long the connector waits, so the
pool is also the most calls served at once. When nine in ten threads are taken, a throttled WARNING says
so (:mod:`bridge.server.saturation`): that server is then near its cap and further calls wait in the queue.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from bridge.server.saturation import Throttled

_Item = tuple[concurrent.futures.Future, Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class CallPool(concurrent.futures.Executor):
    """An executor of ``threads`` threads started at once; work goes to the most recently idle thread.

    Args:
        threads: How many threads (calls that run at once); the rest wait in order of arrival.
        name: Thread name prefix.
        warning: The throttle for the "near the cap" warning (default: one a minute).
    """

    def __init__(self, threads: int, name: str = "bridge-grpc", warning: Throttled | None = None) -> None:
        self._lock = threading.Lock()
        self._warning = warning or Throttled()
        self._size = max(1, threads)
        self._warn_at = self._size - self._size // 10  # in flight at which the warning goes out
        self._idle: list[_Worker] = []  # a stack: the last one to go idle is woken first
        self._backlog: collections.deque[_Item] = collections.deque()
        self._stopping = False
        self._threads = [_Worker(self, f"{name}_{i}") for i in range(max(1, threads))]
        for worker in self._threads:
            worker.thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        """Run ``fn(*args, **kwargs)`` on an idle thread, or after the calls ahead of it.

        Raises:
            RuntimeError: After :meth:`shutdown`.
        """
        future: concurrent.futures.Future = concurrent.futures.Future()
        item = (future, fn, args, kwargs)
        with self._lock:
            if self._stopping:
                raise RuntimeError("cannot schedule new calls after shutdown")
            if self._idle:
                worker: _Worker | None = self._idle.pop()
            else:
                worker = None
                self._backlog.append(item)
            in_flight = self._size - len(self._idle) + len(self._backlog)
        if worker is not None:
            worker.hand(item)
        if in_flight >= self._warn_at:
            self._warning.warn(
                "%d calls in flight on --server-mode threads, which serves at most --threads %d at once "
                "(%d waiting): calls that wait on a connector hold a thread each; use --server-mode aio "
                "(no such cap) or raise --threads",
                in_flight, self._size, max(0, in_flight - self._size),
            )
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let the threads finish the queued calls (or cancel them) and end."""
        with self._lock:
            self._stopping = True
            if cancel_futures:
                while self._backlog:
                    self._backlog.popleft()[0].cancel()
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.hand(None)
        if wait:
            for worker in self._threads:
                if worker.thread is not threading.current_thread():
                    worker.thread.join()


class _Worker:
    def __init__(self, pool: CallPool, name: str) -> None:
        self._pool = pool
        self._wake = threading.Lock()
        self._wake.acquire()  # released by hand()
        self._item: _Item | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def hand(self, item: _Item | None) -> None:
        """Give this (idle) worker ``item``, or None to end it."""
        self._item = item
        self._wake.release()

    def _run(self) -> None:
        pool = self._pool
        while True:
            with pool._lock:
                if pool._backlog:
                    item: _Item | None = pool._backlog.popleft()
                elif pool._stopping:
                    return
                else:
                    pool._idle.append(self)
                    item = None
            if item is None:
                self._wake.acquire()
                item, self._item = self._item, None
                if item is None:  # shutdown
                    return
            future, fn, args, kwargs = item
            del item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                    result = None
            del future, fn, args, kwargs


__all__ = ["CallPool"]
