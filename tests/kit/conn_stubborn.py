"""A bad connector for ``flyte-bridge check``: its get hangs and swallows its cancellation (for a while)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

HANG_SECONDS = 6.0


@dataclass
class Job(ResourceMeta):
    job: str = "j"


class Stubborn(AsyncConnector):
    name = "Kit Stubborn"
    task_type_name = "kit_stubborn"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        return Job()

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
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
