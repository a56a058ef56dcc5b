"""CallPool: fixed threads, the most recently idle first, calls beyond them queued in order; the arena cap."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.server.call_pool import CallPool


def test_all_threads_start_at_once_and_their_number_never_changes() -> None:
    before = threading.active_count()
    pool = CallPool(8, name="pool-test")
    try:
        assert threading.active_count() == before + 8
        for _ in range(50):
            futures = [pool.submit(time.sleep, 0.0005) for _ in range(12)]
            for f in futures:
                f.result(timeout=10)
        assert threading.active_count() == before + 8
    finally:
        pool.shutdown()
    assert threading.active_count() == before


def test_results_and_exceptions_reach_the_futures() -> None:
    pool = CallPool(2)
    try:
        assert pool.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=10) == 5
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 / 0).result(timeout=10)
    finally:
        pool.shutdown()


def test_the_most_recently_idle_thread_takes_the_next_call() -> None:
    pool = CallPool(16)
    try:
        names = {pool.submit(lambda: threading.current_thread().name).result(timeout=10) for _ in range(200)}
    finally:
        pool.shutdown()
    # One call at a time: the thread that just finished is always on top of the idle stack.
    assert len(names) == 1


def test_calls_beyond_the_threads_wait_in_order_of_arrival() -> None:
    pool = CallPool(1)
    gate = threading.Event()
    order: list[int] = []
    try:
        blockers = [pool.submit(gate.wait, 10)]
        queued = [pool.submit(order.append, i) for i in range(5)]
        time.sleep(0.05)
        assert order == [] and not any(f.done() for f in queued)
        gate.set()
        for f in blockers + queued:
            f.result(timeout=10)
        assert order == [0, 1, 2, 3, 4]
    finally:
        pool.shutdown()


def test_shutdown_runs_or_cancels_the_queue_and_refuses_new_calls() -> None:
    pool = CallPool(1)
    gate = threading.Event()
    running = pool.submit(gate.wait, 10)
    queued = pool.submit(lambda: "ran")
    stopper = threading.Thread(target=pool.shutdown, kwargs={"cancel_futures": True})
    stopper.start()
    time.sleep(0.05)
    gate.set()
    stopper.join(10)
    assert running.result(timeout=1) is True and queued.cancelled()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(print)

    kept = CallPool(1)
    gate2 = threading.Event()
    kept.submit(gate2.wait, 10)
    later = kept.submit(lambda: "ran")
    threading.Timer(0.05, gate2.set).start()
    kept.shutdown(wait=True)
    assert later.result(timeout=1) == "ran"


def test_the_thread_pool_server_caps_malloc_arenas_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    from bridge.server.assembly import bound_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert bound_malloc_arenas() is False  # the operator's setting stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    try:
        ctypes.CDLL(None).mallopt
    except AttributeError:
        pytest.skip("no glibc mallopt here")
    assert bound_malloc_arenas() is True
