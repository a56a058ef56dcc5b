"""Test connector module (loaded with --modules): task type ``slow``, whose ``get`` sleeps.

The sleep comes from the ``resource_meta`` (``seconds``), so a test controls it per call. With
``SLOW_CONNECTOR_STARTED`` set to a file path, each ``get`` appends a line to it before sleeping, so a
test can wait until its calls are inside the connector.
"""

from __future__ import annotations

import asyncio
import os
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
        started = os.environ.get("SLOW_CONNECTOR_STARTED")
        if started:
            with open(started, "a") as f:
                f.write("get\n")
        await asyncio.sleep(resource_meta.seconds)
        return Resource(phase=TaskExecution.SUCCEEDED, message=f"slept {resource_meta.seconds}")

    async def delete(self, resource_meta: SlowMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(SlowConnector())
