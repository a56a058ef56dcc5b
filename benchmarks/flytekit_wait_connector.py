"""flytekit twins of :mod:`benchmarks.wait_connector`, served by ``pyflyte serve connector``.

flytekit's server calls a connector method through ``mirror_async_methods``: a coroutine function is
awaited, a plain one runs in the event loop's default executor (``run_in_executor(None, ...)``), so the
blocking ``get`` here runs on that executor's threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from flytekit.extend.backend.base_connector import AsyncConnectorBase, ConnectorRegistry, Resource, ResourceMeta
from flytekit.models.core.execution import TaskExecutionPhase


@dataclasses.dataclass
class WaitMeta(ResourceMeta):
    """The job handle: an id and how long ``get`` waits."""

    job_id: str
    wait_s: float = 1.0


class AsyncWait(AsyncConnectorBase):
    """``get`` awaits ``wait_s`` seconds."""

    name = "Wait Async"

    def __init__(self) -> None:
        super().__init__(task_type_name="wait-async", metadata_type=WaitMeta)

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    async def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:
        """Wait like a remote call, then SUCCEEDED with one output."""
        await asyncio.sleep(resource_meta.wait_s)
        return Resource(phase=TaskExecutionPhase.SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


class BlockingWait(AsyncConnectorBase):
    """``get`` is a plain method that blocks its thread for ``wait_s`` seconds."""

    name = "Wait Blocking"

    def __init__(self) -> None:
        super().__init__(task_type_name="wait-blocking", metadata_type=WaitMeta)

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:  # type: ignore[override]
        """Block like a synchronous client call, then SUCCEEDED with one output."""
        time.sleep(resource_meta.wait_s)
        return Resource(phase=TaskExecutionPhase.SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


ConnectorRegistry.register(AsyncWait(), override=True)
ConnectorRegistry.register(BlockingWait(), override=True)
