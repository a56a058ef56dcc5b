"""flyte-sdk twins of :mod:`benchmarks.wait_connector`, served by ``c0``.

flyte-sdk's server awaits ``connector.get(...)`` directly (``flyte/connectors/_server.py``): a plain
method is not supported, and a blocking call inside ``async def get`` would stop the server's one event
loop. A flyte-sdk author with a blocking client has to hand it to a thread, as the blocking ``get`` here
does with ``asyncio.to_thread`` (the loop's default executor).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution


@dataclasses.dataclass
class WaitMeta(ResourceMeta):
    """The job handle: an id and how long ``get`` waits."""

    job_id: str
    wait_s: float = 1.0


class AsyncWait(AsyncConnector):
    """``get`` awaits ``wait_s`` seconds."""

    name = "Wait Async"
    task_type_name = "wait-async"
    metadata_type = WaitMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    async def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:
        """Wait like a remote call, then SUCCEEDED with one output."""
        await asyncio.sleep(resource_meta.wait_s)
        return Resource(phase=TaskExecution.SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


class BlockingWait(AsyncConnector):
    """A blocking client call, handed to a thread (flyte-sdk awaits ``get``: it must be a coroutine)."""

    name = "Wait Blocking"
    task_type_name = "wait-blocking"
    metadata_type = WaitMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    async def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:
        """Block a thread like a synchronous client call, then SUCCEEDED with one output."""
        await asyncio.to_thread(time.sleep, resource_meta.wait_s)
        return Resource(phase=TaskExecution.SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


ConnectorRegistry.register(AsyncWait(), override=True)
ConnectorRegistry.register(BlockingWait(), override=True)
