"""The README's "Write a connector once" example, with its ``submit``/``cancel`` placeholders filled in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta


def submit(inputs: Any) -> str:
    return uuid.uuid4().hex


def cancel(job_id: str) -> None:
    return None


@dataclass
class JobMeta(ResourceMeta):
    job_id: str


class MyConnector(AsyncConnector):
    name = "My Connector"
    task_type_name = "my_task"
    metadata_type = JobMeta

    async def create(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs):  # type: ignore[no-untyped-def]
        return JobMeta(job_id=submit(inputs))

    async def get(self, resource_meta: JobMeta, **kwargs):  # type: ignore[no-untyped-def]
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"rows": 42})

    async def delete(self, resource_meta: JobMeta, **kwargs):  # type: ignore[no-untyped-def]
        cancel(resource_meta.job_id)


ConnectorRegistry.register(MyConnector(), override=True)
