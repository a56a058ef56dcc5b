"""A bad connector for ``flyte-bridge check``: DeleteTask of a deleted job raises (state in a file, so
every process sees it: only the delete rule fails)."""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

ROOT = os.path.join(tempfile.gettempdir(), "flyte-bridge-kit-delete-once")


@dataclass
class Job(ResourceMeta):
    job: str = ""


class DeleteOnce(AsyncConnector):
    name = "Kit Delete Once"
    task_type_name = "kit_delete_once"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        os.makedirs(ROOT, exist_ok=True)
        job = uuid.uuid4().hex
        open(os.path.join(ROOT, job), "w").close()
        return Job(job)

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, message="done")

    async def delete(self, resource_meta: Job, **kwargs: Any) -> None:
        os.remove(os.path.join(ROOT, resource_meta.job))  # FileNotFoundError the second time


ConnectorRegistry.register(DeleteOnce(), override=True)
