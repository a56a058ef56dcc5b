"""An event loop that other threads may lend a hand to: ``SharedLoop.submit`` runs a coroutine's first
step in the calling thread while the loop waits for I/O.

Why: in the thread-pool server every call is a gRPC worker thread handing a coroutine to the one loop
connectors share. ``asyncio.run_coroutine_threadsafe`` costs two thread wake-ups and three loop
iterations per call (schedule, step, copy the result back), whatever the coroutine does. Most calls
(a GetTask that reads its answer from ``resource_meta``) finish in their first step, without waiting
for anything. ``submit`` runs that step in the gRPC thread instead, as the loop's own thread would
have, and the call never leaves its thread.

How it stays correct: the loop's thread holds a lock (the *baton*) at all times except while it
blocks in ``select()``. ``submit`` takes the baton without waiting; holding it, the calling thread is
the only one touching the loop's state (the loop thread is parked in ``select()`` or waiting for the
baton), so it may do what the loop thread does: create the ``Task`` and run its first step with this
loop as the running loop, the task as the current task, the loop's async-generator hooks in place.
A task that suspends is then the loop's like any other: the loop thread is woken and resumes it.
When the baton is taken (the loop thread is busy, or another thread is lending), when the loop thread
waits for the baton, when the loop is not running or runs in debug mode, ``submit`` falls back to
``run_coroutine_threadsafe``. Either way the result is a ``concurrent.futures.Future`` whose
``cancel()`` cancels the task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import sys
import threading
from asyncio import events
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


_CANCELLED_TIMERS_TO_SWEEP = 100
"""Cancelled timers left in the heap before the loop thread is woken to sweep them (asyncio's own
``_run_once`` sweeps past 100 when they are half the heap)."""


class SharedLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose idle time other threads can use (see the module doc).

    Args:
        selector: The selector to wait with (default: ``selectors.DefaultSelector()``).
    """

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self._baton = threading.Lock()
        self._loop_waits = False  # the loop thread wants the baton back: lenders stand aside
        self._caught: list[tuple[Any, tuple[Any, ...], Any]] | None = None
        self._catcher = 0
        self._lender = 0  # the thread running a task step on loan, while it runs one (see lent_here)
        self._baseline: tuple[int, Any] = (0, None)  # the loop's work when the lender took the baton
        super().__init__(_LendingSelector(selector or selectors.DefaultSelector(), self))

    def run_forever(self) -> None:
        with self._baton:
            super().run_forever()

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> Any:
        # While ``submit`` creates its task, the task's first step is caught here instead of queued.
        if self._caught is not None and self._catcher == threading.get_ident():
            self._caught.append((callback, args, context))
            return None
        return super().call_soon(callback, *args, context=context)

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run ``coro`` as a task of this loop; call from any thread but the loop's own.

        Returns:
            A future with the task's outcome; cancelling it cancels the task.
        """
        if self._loop_waits or not self._baton.acquire(blocking=False):
            return asyncio.run_coroutine_threadsafe(coro, self)
        try:
            if self._thread_id is None or self.get_debug():  # not running: nobody would resume the task
                return asyncio.run_coroutine_threadsafe(coro, self)
            return self._start_here(coro)
        finally:
            self._baton.release()

    # -- the lender's side (runs in the calling thread, holding the baton) ------------------------------

    def _start_here(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._note_baseline()
        outer_loop = events._get_running_loop()
        outer_hooks = sys.get_asyncgen_hooks()
        events._set_running_loop(self)
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook)
        try:
            me = threading.get_ident()
            self._caught, self._catcher = [], me
            try:
                task = self.create_task(coro)
            finally:
                caught, self._caught = self._caught, None
            if len(caught) == 1:
                self._lender = me
                try:
                    self._run_step(*caught[0])
                finally:
                    self._lender = 0
            else:  # a task factory that did not schedule exactly one step: queue what it asked for
                for callback, args, context in caught:
                    super().call_soon(callback, *args, context=context)
        finally:
            sys.set_asyncgen_hooks(*outer_hooks)
            events._set_running_loop(outer_loop)
        queued, first_timer = self._baseline  # (re)noted whenever this thread last took the baton
        if task.done():
            _settle(outcome, task)
        else:
            task.add_done_callback(lambda t: _settle(outcome, t))
            outcome.add_done_callback(lambda f: f.cancelled() and self.call_soon_threadsafe(task.cancel))
        if (
            not task.done()
            or len(self._ready) > queued
            or _new_live_timer(self._scheduled, first_timer)
            or self._timer_cancelled_count > _CANCELLED_TIMERS_TO_SWEEP
            or self._stopping
        ):
            # The loop thread has work it does not know of yet, cancelled timers (a deadline scope
            # leaves one per call) to sweep from its heap, which only it does, or was asked to stop.
            self._write_to_self()
        return outcome

    def _note_baseline(self) -> None:
        # What the loop thread already knows of, so the lender can tell what it added.
        self._baseline = (len(self._ready), self._scheduled[0] if self._scheduled else None)

    def unlocked(self, call: Callable[[], _T]) -> _T:
        """Run the blocking ``call()`` from a task step lent to this thread, the loop free meanwhile.

        Only while :func:`lent_here` is this loop: the task stops being the loop's current task, the
        baton is handed back (the loop thread and other lenders go on), ``call()`` runs, and the baton is
        taken back before the step goes on. The task stays where it was; a ``cancel()`` meanwhile takes
        effect at its next ``await``, as for any running task.
        """
        me = threading.get_ident()
        if self._lender != me:
            raise RuntimeError("SharedLoop.unlocked outside a task step lent to this thread")
        task = asyncio.current_task(self)
        _leave_task(self, task)
        self._lender = 0
        events._set_running_loop(None)
        self._baton.release()
        try:
            return call()
        finally:
            _take(self._baton)
            events._set_running_loop(self)
            _enter_task(self, task)
            self._lender = me
            self._note_baseline()

    def _run_step(self, callback: Any, args: tuple[Any, ...], context: Any) -> None:
        # What asyncio.Handle._run does for the loop thread.
        try:
            if context is None:
                callback(*args)
            else:
                context.run(callback, *args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.call_exception_handler(
                {"message": f"Exception in callback {callback!r}", "exception": exc, "loop": self}
            )


class _LendingSelector(selectors.BaseSelector):
    """Wraps a selector so that the loop thread lets go of the baton only while it waits in ``select``."""

    def __init__(self, inner: selectors.BaseSelector, loop: SharedLoop) -> None:
        self._inner = inner
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        loop._baton.release()
        try:
            return self._inner.select(timeout)
        finally:
            loop._loop_waits = True
            _take(loop._baton)
            loop._loop_waits = False

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


def _take(baton: threading.Lock) -> None:
    """Acquire ``baton`` even if a signal handler raises meanwhile (then re-raise it, holding the baton):
    the loop thread must hold it whenever it is out of ``select``."""
    interrupted: BaseException | None = None
    while True:
        try:
            baton.acquire()
            break
        except BaseException as exc:  # KeyboardInterrupt from a handler run inside acquire()
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def _settle(outcome: concurrent.futures.Future[Any], task: asyncio.Task[Any]) -> None:
    """Copy a finished task's outcome into ``outcome`` (unless ``outcome`` was cancelled)."""
    if task.cancelled():
        outcome.cancel()
        return
    if not outcome.set_running_or_notify_cancel():
        return
    exc = task.exception()
    if exc is None:
        outcome.set_result(task.result())
    else:
        outcome.set_exception(exc)


def _new_live_timer(scheduled: list[Any], before: Any) -> bool:
    """Whether the loop's earliest timer changed to one that is not cancelled (its wait is now too long)."""
    if not scheduled:
        return False
    first = scheduled[0]
    return first is not before and not first.cancelled()


def lent_here() -> SharedLoop | None:
    """The :class:`SharedLoop` whose task step this thread runs on loan (see ``submit``), else None.

    A coroutine that would block on I/O may then call ``loop.unlocked(call)`` instead of awaiting: the
    call then never leaves the thread that received it (no loop thread, no completion thread).
    """
    loop = events._get_running_loop()
    if isinstance(loop, SharedLoop) and loop._lender == threading.get_ident():
        return loop
    return None


def submit(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> concurrent.futures.Future[Any]:
    """``loop.submit(coro)`` for a :class:`SharedLoop`, else ``asyncio.run_coroutine_threadsafe``."""
    if isinstance(loop, SharedLoop):
        return loop.submit(coro)
    return asyncio.run_coroutine_threadsafe(coro, loop)


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run(main)`` on a :class:`SharedLoop`."""
    runner_class = getattr(asyncio, "Runner", None)
    if runner_class is None:
        return _run_without_runner(main)
    with runner_class(loop_factory=SharedLoop) as runner:
        return runner.run(main)


def _run_without_runner(main: Coroutine[Any, Any, Any]) -> Any:
    """Python 3.10 has no ``asyncio.Runner`` to take a loop factory: the same life cycle by hand."""
    loop = SharedLoop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


__all__ = ["SharedLoop", "lent_here", "run", "submit"]
