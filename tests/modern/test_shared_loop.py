"""SharedLoop: other threads start coroutines in place while the loop is idle, and the loop's rules still hold.

Each test runs a SharedLoop in its own thread (as ``flyte-bridge serve`` runs it in the main thread)
and submits from other threads, as gRPC's worker threads do.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modern._invoke import within
from modern.shared_loop import SharedLoop, run, submit

pytestmark = pytest.mark.timeout(60)


@contextlib.contextmanager
def running(debug: bool = False) -> Iterator[SharedLoop]:
    loop = SharedLoop()
    loop.set_debug(debug)
    ready = threading.Event()
    loop.call_soon(ready.set)
    thread = threading.Thread(target=loop.run_forever, name="shared-loop", daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def settle(loop: SharedLoop) -> None:
    """Wait until the loop has gone round once more (it is idle again afterwards)."""
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(10)


async def where() -> tuple[str, Any, Any]:
    return threading.current_thread().name, asyncio.get_running_loop(), asyncio.current_task()


def test_a_coroutine_that_never_waits_runs_in_the_calling_thread_as_a_task_of_the_loop() -> None:
    with running() as loop:
        settle(loop)
        name, seen_loop, task = loop.submit(where()).result(10)
        assert name == threading.current_thread().name
        assert seen_loop is loop
        assert isinstance(task, asyncio.Task) and task.get_loop() is loop and task.done()
        # The caller's thread is left as it was: no running loop in it afterwards.
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()


def test_a_coroutine_that_waits_is_resumed_by_the_loop_thread() -> None:
    async def wait_then_where() -> tuple[str, str]:
        first = threading.current_thread().name
        await asyncio.sleep(0.01)
        return first, threading.current_thread().name

    with running() as loop:
        settle(loop)
        first, after = loop.submit(wait_then_where()).result(10)
    assert first == threading.current_thread().name
    assert after == "shared-loop"


def test_a_busy_loop_gets_the_coroutine_handed_over() -> None:
    with running() as loop:
        blocker = threading.Event()
        loop.call_soon_threadsafe(blocker.wait, 10)  # the loop thread is busy (holds the baton)
        time.sleep(0.05)
        future = loop.submit(where())
        assert not future.done()
        blocker.set()
        name, seen_loop, _ = future.result(10)
    assert name == "shared-loop" and seen_loop is loop


def test_debug_mode_and_plain_loops_always_hand_over() -> None:
    with running(debug=True) as loop:
        settle(loop)
        assert loop.submit(where()).result(10)[0] == "shared-loop"
    plain = asyncio.new_event_loop()
    thread = threading.Thread(target=plain.run_forever, name="plain-loop", daemon=True)
    thread.start()
    try:
        assert submit(where(), plain).result(10)[0] == "plain-loop"
    finally:
        plain.call_soon_threadsafe(plain.stop)
        thread.join(10)
        plain.close()


def test_a_loop_not_running_yet_runs_the_coroutine_once_it_starts() -> None:
    loop = SharedLoop()
    future = loop.submit(where())
    assert not future.done()
    thread = threading.Thread(target=loop.run_forever, name="late-loop", daemon=True)
    thread.start()
    try:
        assert future.result(10)[0] == "late-loop"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_results_and_exceptions_come_back() -> None:
    async def fails() -> None:
        raise ValueError("boom")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    with running() as loop:
        settle(loop)
        with pytest.raises(ValueError, match="boom"):
            loop.submit(fails()).result(10)
        with pytest.raises(KeyError, match="later"):
            loop.submit(fails_later()).result(10)


def test_cancelling_the_future_cancels_the_task_where_it_waits() -> None:
    seen = []

    async def long() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with running() as loop:
        settle(loop)
        future = loop.submit(long())
        time.sleep(0.05)
        assert future.cancel()
        with pytest.raises(concurrent.futures.CancelledError):
            future.result(10)
        for _ in range(200):
            if seen:
                break
            time.sleep(0.01)
    assert seen == ["cancelled"]


def test_a_task_cancelled_on_the_loop_cancels_the_future() -> None:
    async def cancels_itself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    with running() as loop:
        settle(loop)
        with pytest.raises(concurrent.futures.CancelledError):
            loop.submit(cancels_itself()).result(10)


def test_the_loop_wakes_for_timers_and_tasks_a_finished_coroutine_left_behind() -> None:
    # The loop thread sleeps in select() with no timeout; work queued by a coroutine that finished
    # in the calling thread must still run (an unwoken loop would never run it).
    fired = threading.Event()
    background = threading.Event()

    async def leaves_work() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, fired.set)

        async def later() -> None:
            background.set()

        loop.create_task(later())

    with running() as loop:
        settle(loop)
        loop.submit(leaves_work()).result(10)
        assert background.wait(5)
        assert fired.wait(5)


def test_a_deadline_scope_works_in_the_calling_thread_and_fires_on_the_loop() -> None:
    # The bridge's own deadline scope: asyncio.timeout (needs the current task) from 3.11, wait_for on 3.10.
    async def quick() -> str:
        return await within(asyncio.sleep(0, "in time"), 5)

    async def slow() -> str:
        await within(asyncio.sleep(10), 0.05)
        return "unreachable"

    with running() as loop:
        settle(loop)
        assert loop.submit(quick()).result(10) == "in time"
        settle(loop)
        started = time.monotonic()
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            loop.submit(slow()).result(10)
        assert time.monotonic() - started < 5


def test_a_lock_of_the_loop_is_shared_by_coroutines_started_anywhere() -> None:
    with running() as loop:
        lock = asyncio.run_coroutine_threadsafe(_make_lock(), loop).result(10)
        order: list[str] = []

        async def holder() -> None:
            async with lock:
                order.append("held")
                await asyncio.sleep(0.1)
                order.append("released")

        async def waiter() -> None:
            async with lock:
                order.append("acquired")

        held = loop.submit(holder())
        time.sleep(0.03)
        loop.submit(waiter()).result(10)
        held.result(10)
    assert order == ["held", "released", "acquired"]


async def _make_lock() -> asyncio.Lock:
    return asyncio.Lock()


def test_an_async_generator_left_open_is_closed_on_the_loop() -> None:
    closed = threading.Event()

    async def numbers() -> Any:
        try:
            yield 1
            yield 2
        finally:
            await asyncio.sleep(0)
            closed.set()

    async def take_one() -> int:
        gen = numbers()
        return await gen.__anext__()  # left open; the loop's finalizer must close it

    with running() as loop:
        settle(loop)
        assert loop.submit(take_one()).result(10) == 1
        gc.collect()
        assert closed.wait(5)


def test_many_threads_at_once_all_get_their_own_answers() -> None:
    async def echo(i: int) -> int:
        if i % 3 == 0:
            await asyncio.sleep(0)
        elif i % 3 == 1:
            await asyncio.sleep(random.random() / 1000)
        return i

    def client(base: int) -> list[int]:
        return [loop.submit(echo(base + i)).result(10) for i in range(300)]

    with running() as loop:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(client, range(0, 8 * 1000, 1000)))
        # The loop is still alive and idle-able after the storm.
        settle(loop)
    assert answers == [list(range(b, b + 300)) for b in range(0, 8000, 1000)]


def test_run_runs_main_on_a_shared_loop() -> None:
    async def main() -> bool:
        return isinstance(asyncio.get_running_loop(), SharedLoop)

    assert run(main()) is True


def test_run_cancels_what_main_leaves_running() -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(1000)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> str:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)
        return "done"

    assert run(main()) == "done"
    assert cancelled.is_set()


def test_cancelled_deadline_timers_do_not_pile_up_on_an_idle_loop() -> None:
    # Each deadline scope that ends in time leaves a cancelled timer in the loop's heap; only the loop
    # thread sweeps them, so it must be woken before they pile up (else: one per call, forever).
    async def in_time() -> int:
        return await within(asyncio.sleep(0, 1), 1000)

    with running() as loop:
        settle(loop)
        assert sum(loop.submit(in_time()).result(10) for _ in range(2000)) == 2000
        # Nothing else wakes the loop here: only the sweep request can shrink the heap.
        deadline = time.monotonic() + 5
        while len(loop._scheduled) > 250 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(loop._scheduled) <= 250


def test_a_stop_asked_for_in_the_calling_thread_stops_the_loop() -> None:
    loop = SharedLoop()
    thread = threading.Thread(target=loop.run_forever, name="stopping-loop", daemon=True)
    thread.start()
    try:
        settle(loop)

        async def stop() -> None:
            asyncio.get_running_loop().stop()

        loop.submit(stop()).result(10)
        thread.join(5)
        assert not thread.is_alive()
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
        loop.close()


def test_unlocked_lets_the_loop_and_other_lenders_go_on_during_a_blocking_call() -> None:
    # The lent step blocks (as a blocking gRPC read does) until a coroutine on the loop thread and a
    # second lender have both run: neither could while the step held the loop.
    with running() as loop:
        settle(loop)
        loop_ran, lender_ran = threading.Event(), threading.Event()

        async def on_loop() -> None:
            loop_ran.set()

        async def blocks() -> tuple[Any, Any, bool, bool]:
            from modern.shared_loop import lent_here

            lent = lent_here()
            assert lent is loop
            task = asyncio.current_task()

            def call() -> bool:
                assert lent_here() is None  # not lent while the loop is let go
                asyncio.run_coroutine_threadsafe(on_loop(), loop)
                threading.Thread(target=lambda: loop.submit(quick()).result(10)).start()
                return loop_ran.wait(5) and lender_ran.wait(5)

            ok = lent.unlocked(call)
            return asyncio.current_task(), lent_here(), ok, task is asyncio.current_task()

        async def quick() -> None:
            lender_ran.set()

        current, lent_after, ok, same_task = loop.submit(blocks()).result(10)
        assert ok and same_task and lent_after is loop and current is not None


def test_unlocked_refuses_outside_a_lent_step() -> None:
    with running() as loop:
        settle(loop)

        async def on_the_loop_thread() -> None:
            loop.unlocked(lambda: None)

        with pytest.raises(RuntimeError, match="outside a task step lent"):
            asyncio.run_coroutine_threadsafe(on_the_loop_thread(), loop).result(10)
        with pytest.raises(RuntimeError, match="outside a task step lent"):
            loop.unlocked(lambda: None)


def test_work_a_lent_step_leaves_after_unlocked_still_wakes_the_loop() -> None:
    # The loop ran while the step was unlocked; a task the step creates after taking the loop back is
    # still run by the loop thread.
    with running() as loop:
        settle(loop)
        done = threading.Event()

        async def later() -> None:
            done.set()

        async def step() -> None:
            lent = asyncio.get_running_loop()
            assert isinstance(lent, SharedLoop)
            lent.unlocked(lambda: asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(5))
            asyncio.get_running_loop().create_task(later())

        loop.submit(step()).result(10)
        assert done.wait(5)
