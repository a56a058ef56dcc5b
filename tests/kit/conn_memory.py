"""A bad connector for ``flyte-bridge check``: its jobs live in this process's memory."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

JOBS: dict[int, str] = {}
_IDS = itertools.count(1)


@dataclass
class JobId(ResourceMeta):
    job: int = 0


class InMemory(AsyncConnector):
    name = "Kit Memory"
    task_type_name = "kit_memory"
    metadata_type = JobId

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> JobId:
        job = next(_IDS)
        JOBS[job] = "done"
        return JobId(job)

    async def get(self, resource_meta: JobId, **kwargs: Any) -> Resource:
        state = JOBS[resource_meta.job]  # KeyError in any other process
        return Resource(phase=TaskExecution.SUCCEEDED, message=state)

    async def delete(self, resource_meta: JobId, **kwargs: Any) -> None:
        JOBS.pop(resource_meta.job, None)


ConnectorRegistry.register(InMemory(), override=True)
