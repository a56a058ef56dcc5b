"""Test connector module (loaded with --modules): task type ``slow``, whose ``get`` sleeps.

The sleep comes from the ``resource_meta`` (``seconds``), so a test controls it per call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta


@dataclass
class SlowMeta(ResourceMeta):
    seconds: float = 0.0


class SlowConnector(AsyncConnector):
    name = "Slow Connector"
    task_type_name = "slow"
    metadata_type = SlowMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> SlowMeta:
        return SlowMeta(seconds=float((inputs or {}).get("seconds", 0.0)))

    async def get(self, resource_meta: SlowMeta, **kwargs: Any) -> Resource:
        await asyncio.sleep(resource_meta.seconds)
        return Resource(phase=TaskExecution.SUCCEEDED, message=f"slept {resource_meta.seconds}")

    async def delete(self, resource_meta: SlowMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(SlowConnector())
