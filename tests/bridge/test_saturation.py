"""The throttled "pool is the bottleneck" warnings: --worker threads for blocking connectors, --threads."""

from __future__ import annotations

import logging
import threading

import pytest

from bridge.server.call_pool import CallPool
from bridge.server.saturation import BlockingPool, Throttled


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttled_logs_once_per_interval_and_counts_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    throttle = Throttled(interval=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bridge.server.saturation"):
        assert throttle.warn("busy %d", 1)
        assert not throttle.warn("busy %d", 2)
        assert not throttle.warn("busy %d", 3)
        clock.now += 59.9
        assert not throttle.warn("busy %d", 4)
        clock.now += 0.2
        assert throttle.warn("busy %d", 5)
    assert [r.getMessage() for r in caplog.records] == ["busy 1", "busy 5 (3 more such moments in the last 60 s)"]


def _hold(pool: object, count: int) -> tuple[threading.Event, list[object]]:
    release = threading.Event()
    futures = [pool.submit(release.wait, 10) for _ in range(count)]  # type: ignore[attr-defined]
    return release, futures


def test_blocking_pool_warns_only_when_calls_wait(caplog: pytest.LogCaptureFixture) -> None:
    pool = BlockingPool(2, Throttled(interval=0.0))
    try:
        with caplog.at_level(logging.WARNING, logger="bridge.server.saturation"):
            release, futures = _hold(pool, 2)
            assert not caplog.records  # both run at once: nothing waits
            release2, more = _hold(pool, 1)
            assert pool.busy == 3
            release.set()
            release2.set()
            for f in [*futures, *more]:
                f.result(5)  # type: ignore[attr-defined]
        assert len(caplog.records) == 1
        msg = caplog.records[0].getMessage()
        assert "all 2 threads" in msg and "1 call(s) wait" in msg and "--worker 2" in msg
        assert pool.busy == 0
    finally:
        pool.shutdown()


def test_call_pool_warns_as_calls_in_flight_near_threads(caplog: pytest.LogCaptureFixture) -> None:
    pool = CallPool(10, warning=Throttled(interval=0.0))
    try:
        with caplog.at_level(logging.WARNING, logger="bridge.server.saturation"):
            release, futures = _hold(pool, 8)
            assert not caplog.records  # 8 of 10: not yet
            release2, more = _hold(pool, 2)  # 9 and 10 of 10
            release.set()
            release2.set()
            for f in [*futures, *more]:
                f.result(5)  # type: ignore[attr-defined]
        assert [r.getMessage().split(" calls")[0] for r in caplog.records] == ["9", "10"]
        assert "--threads 10" in caplog.records[0].getMessage()
    finally:
        pool.shutdown()
