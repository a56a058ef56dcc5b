"""``flyte-bridge`` with one more Prometheus gauge, for the endurance figure: the asyncio tasks alive.

``python -m benchmarks.endurance_serve serve ...`` takes the arguments of ``flyte-bridge``. The gauge
``bench_asyncio_tasks`` counts the tasks of every loop in the process (asyncio's own registry of tasks),
read when the metrics endpoint is scraped, so the harness sees a task left behind by a call as a count
that grows with the calls.
"""

from __future__ import annotations

import asyncio
import sys

from prometheus_client import Gauge

from bridge.commands.cli import main

TASKS_GAUGE = "bench_asyncio_tasks"


def asyncio_tasks() -> int:
    """Tasks alive in this process (all loops): asyncio's registry, read without the loop's thread."""
    # Python 3.12+ keeps scheduled and eager tasks apart; 3.11 and older keep one registry.
    names = ("_scheduled_tasks", "_eager_tasks") if hasattr(asyncio.tasks, "_scheduled_tasks") else ("_all_tasks",)
    return sum(len(getattr(asyncio.tasks, name, ())) for name in names)


if __name__ == "__main__":
    Gauge(TASKS_GAUGE, "asyncio tasks alive in the process").set_function(asyncio_tasks)
    sys.exit(main())
