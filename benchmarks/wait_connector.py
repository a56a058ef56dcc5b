"""The waiting connectors written against the bridge's own API, for the ``waiting`` figure.

Two task types whose ``get`` waits as a real connector's does while a remote job runs:

* ``wait-async``: ``get`` awaits a remote call (``asyncio.sleep`` of ``wait_s``, the time a remote API
  takes to answer), the way an ``aiohttp``/``httpx.AsyncClient`` connector waits;
* ``wait-blocking``: ``get`` is a plain method that blocks its thread for ``wait_s`` (``time.sleep``), the
  way a flytekit-era connector calling a blocking client library (boto3, requests) does.

``wait_s`` rides in ``resource_meta`` (``{"job_id": ..., "wait_s": 1.0}``), so one server answers any wait
the harness asks for. The flytekit and flyte-sdk twins are ``flytekit_wait_connector`` and
``flyte_wait_connector``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

_SUCCEEDED = 3  # TaskExecution.SUCCEEDED


@dataclasses.dataclass
class WaitMeta(ResourceMeta):
    """The job handle: an id and how long ``get`` waits."""

    job_id: str
    wait_s: float = 1.0


class AsyncWait(AsyncConnector):
    """``get`` awaits ``wait_s`` seconds, then the job is done."""

    name = "Wait Async"
    task_type_name = "wait-async"
    metadata_type = WaitMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    async def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:
        """Wait like a remote call, then SUCCEEDED with one output."""
        await asyncio.sleep(resource_meta.wait_s)
        return Resource(phase=_SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


class BlockingWait(AsyncConnector):
    """``get`` is a plain method that blocks its thread for ``wait_s`` seconds."""

    name = "Wait Blocking"
    task_type_name = "wait-blocking"
    metadata_type = WaitMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> WaitMeta:
        """A constant handle."""
        return WaitMeta(job_id="wait-job")

    def get(self, resource_meta: WaitMeta, **kwargs: Any) -> Resource:  # type: ignore[override]
        """Block like a synchronous client call, then SUCCEEDED with one output."""
        time.sleep(resource_meta.wait_s)
        return Resource(phase=_SUCCEEDED, message="done", outputs={"o0": 42})

    async def delete(self, resource_meta: WaitMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


ConnectorRegistry.register(AsyncWait(), override=True)
ConnectorRegistry.register(BlockingWait(), override=True)
