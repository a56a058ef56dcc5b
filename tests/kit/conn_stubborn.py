"""A bad connector for ``flyte-bridge check``: the first GetTask of a job hangs and swallows its
cancellation (for a while); later ones answer at once. Which jobs were polled is kept in files, so
every process agrees and only the cancellation rule fails."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

HANG_SECONDS = 6.0
ROOT = os.path.join(tempfile.gettempdir(), "flyte-bridge-kit-stubborn")


@dataclass
class Job(ResourceMeta):
    job: str = "j"


class Stubborn(AsyncConnector):
    name = "Kit Stubborn"
    task_type_name = "kit_stubborn"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        return Job(uuid.uuid4().hex)

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
        os.makedirs(ROOT, exist_ok=True)
        seen = os.path.join(ROOT, resource_meta.job)
        if os.path.exists(seen):
            return Resource(phase=TaskExecution.SUCCEEDED)
        open(seen, "w").close()
        end = time.monotonic() + HANG_SECONDS
        while time.monotonic() < end:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass  # the bug: cancellation is swallowed and the loop goes on
        return Resource(phase=TaskExecution.SUCCEEDED)

    async def delete(self, resource_meta: Job, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(Stubborn(), override=True)
