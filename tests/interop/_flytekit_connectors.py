"""flytekit connectors written the flytekit way, for the interop tests (imported only with flytekit).

They record what they were called with so the tests can check the adapter hands them flytekit model
objects, exactly as ``pyflyte serve connector`` does.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from typing import Any, Optional

from flyteidl.admin.agent_pb2 import GetTaskLogsResponse, GetTaskLogsResponseBody, GetTaskMetricsResponse
from flyteidl.core.execution_pb2 import TaskExecution, TaskLog

try:
    from flytekit.extend.backend.base_connector import (
        AsyncConnectorBase,
        ConnectorRegistry,
        Resource,
        ResourceMeta,
        SyncConnectorBase,
    )
except ImportError:  # flytekit 1.11-1.15: the same API under its agent names (run from .venvs/flytekit-*)
    from flytekit.extend.backend.base_agent import AgentRegistry as ConnectorRegistry
    from flytekit.extend.backend.base_agent import AsyncAgentBase as AsyncConnectorBase
    from flytekit.extend.backend.base_agent import Resource, ResourceMeta
    from flytekit.extend.backend.base_agent import SyncAgentBase as SyncConnectorBase
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate

#: flytekit 1.11's Resource has no custom_info (added in 1.12); the sync test connector then sends none.
HAS_CUSTOM_INFO = "custom_info" in getattr(Resource, "__dataclass_fields__", {})

SYNC_TYPE = "bridge_fk_sync"
ASYNC_TYPE = "bridge_fk_async"
CALLS: list[tuple[str, dict[str, Any]]] = []
# Let go of the recorded flytekit models before the interpreter tears its modules down: protobuf 5.29's
# upb (what flytekit 1.15's grpcio<=1.68 pin brings) segfaults freeing a repeated field after its own
# module is gone (the class of exit crashes of protocolbuffers/protobuf#22067); this list would trigger it.
atexit.register(CALLS.clear)


def _int_input(inputs: Optional[LiteralMap], name: str) -> int:
    assert isinstance(inputs, LiteralMap)
    lit = inputs.literals.get(name)
    return lit.scalar.primitive.integer if lit is not None else 0


class DoubleSync(SyncConnectorBase):
    """Sync: doubles input ``x`` into native output ``y`` (encoded by flytekit's TypeEngine)."""

    name = "Bridge Test Sync"

    def __init__(self) -> None:
        super().__init__(task_type_name=SYNC_TYPE)

    async def do(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None, **kwargs):
        CALLS.append(("do", {"task_template": task_template, "inputs": inputs, **kwargs}))
        x = _int_input(inputs, "x")
        if x < 0:
            raise ValueError("x must not be negative")
        extra = {"custom_info": {"seen": x}} if HAS_CUSTOM_INFO else {}
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"y": x * 2}, **extra)


@dataclass
class JobMeta(ResourceMeta):
    job_id: str
    x: int


class JobAsync(AsyncConnectorBase):
    """Async with plain (blocking) methods, as many flytekit connectors are written."""

    name = "Bridge Test Async"

    def __init__(self) -> None:
        super().__init__(task_type_name=ASYNC_TYPE, metadata_type=JobMeta)

    def create(
        self,
        task_template: TaskTemplate,
        output_prefix: str,
        inputs: Optional[LiteralMap] = None,
        task_execution_metadata: Optional[Any] = None,  # flytekit's model (none in 1.11)
        **kwargs,
    ) -> JobMeta:
        CALLS.append(("create", {"task_template": task_template, "inputs": inputs,
                                 "task_execution_metadata": task_execution_metadata, **kwargs}))
        return JobMeta(job_id=task_template.id.name or "job", x=_int_input(inputs, "x"))

    def get(self, resource_meta: JobMeta, **kwargs) -> Resource:
        CALLS.append(("get", {"resource_meta": resource_meta, **kwargs}))
        if resource_meta.x == 0:
            return Resource(phase=TaskExecution.RUNNING, message="still going")
        return Resource(
            phase=TaskExecution.SUCCEEDED,
            outputs={"y": resource_meta.x + 1},
            log_links=[TaskLog(name="console", uri=f"https://example.invalid/{resource_meta.job_id}")],
        )

    def delete(self, resource_meta: JobMeta, **kwargs) -> None:
        CALLS.append(("delete", {"resource_meta": resource_meta, **kwargs}))

    def get_metrics(self, resource_meta: JobMeta, **kwargs) -> GetTaskMetricsResponse:
        return GetTaskMetricsResponse()

    def get_logs(self, resource_meta: JobMeta, **kwargs) -> GetTaskLogsResponse:
        return GetTaskLogsResponse(body=GetTaskLogsResponseBody(results=[f"log of {resource_meta.job_id}"]))


def register_in_flytekit() -> None:
    """Register both into flytekit's own registry, as a flytekit plugin module does on import."""
    ConnectorRegistry.register(DoubleSync(), override=True)
    ConnectorRegistry.register(JobAsync(), override=True)
