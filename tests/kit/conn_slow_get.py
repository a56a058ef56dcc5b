"""A bad connector for ``flyte-bridge check``: every GetTask takes longer than the clients wait (it
does stop when cancelled). Under FlytePropeller its tasks never finish: only the deadline rule fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

GET_SECONDS = 30.0


@dataclass
class Job(ResourceMeta):
    job: str = "j"


class SlowGet(AsyncConnector):
    name = "Kit Slow Get"
    task_type_name = "kit_slow_get"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        return Job()

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
        await asyncio.sleep(GET_SECONDS)  # a slow upstream call, cancelled at the deadline
        return Resource(phase=TaskExecution.SUCCEEDED)

    async def delete(self, resource_meta: Job, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(SlowGet(), override=True)
