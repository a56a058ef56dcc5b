"""A bad connector for ``flyte-bridge check``: ``time.sleep`` inside ``async def get`` blocks the event
loop every connector of the process shares (the first GetTask of each job; files keep which, so
every process agrees). Only the loop rule fails: the overrun it causes is not a cancellation bug."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

BLOCK_SECONDS = 8.0
ROOT = os.path.join(tempfile.gettempdir(), "flyte-bridge-kit-blocking")


@dataclass
class Job(ResourceMeta):
    job: str = "j"


class Blocking(AsyncConnector):
    name = "Kit Blocking"
    task_type_name = "kit_blocking"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        return Job(uuid.uuid4().hex)

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
        os.makedirs(ROOT, exist_ok=True)
        seen = os.path.join(ROOT, resource_meta.job)
        if not os.path.exists(seen):
            open(seen, "w").close()
            time.sleep(BLOCK_SECONDS)  # the bug: a blocking call in a coroutine
        return Resource(phase=TaskExecution.SUCCEEDED, message="done")

    async def delete(self, resource_meta: Job, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(Blocking(), override=True)
