"""``bridge.kit.probe.LoopMonitor``: a stall names the connector methods that ran during it, and only those."""

from __future__ import annotations

import asyncio
import time

from bridge.kit.probe import LoopMonitor


class _Running:
    """A stand-in for the ``Probe``: the connector methods running now."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def running_names(self) -> list[str]:
        return list(self.names)


def test_a_stall_names_what_ran_during_it_not_what_ran_during_an_earlier_late_wake_up() -> None:
    running = _Running()
    monitor = LoopMonitor(running, interval=0.01, threshold=0.2)  # type: ignore[arg-type]

    async def main() -> None:
        task = asyncio.ensure_future(monitor.run())
        await asyncio.sleep(0.05)
        # As if the watchdog had seen a method during a wake-up late by less than a stall.
        with monitor._lock:
            monitor._seen.add("earlier.get")
        await asyncio.sleep(0.1)  # on-time wake-ups: no stall recorded
        running.names = ["blocker.create"]
        time.sleep(0.6)  # blocks the loop: a stall, while blocker.create runs
        running.names = []
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    (who,) = [who for start, end, who in monitor.stalls if end - start >= 0.5]  # (a busy machine may add short ones)
    assert who == ["blocker.create"]
