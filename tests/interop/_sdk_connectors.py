"""A flyte-sdk connector written the flyte-sdk way, for the interop tests (imported only with flyte)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.connector.connector_pb2 import GetTaskLogsResponse, GetTaskLogsResponseHeader
from flyteidl2.core.execution_pb2 import TaskExecution

SDK_TYPE = "bridge_sdk_sum"
CALLS: list[tuple[str, dict[str, Any]]] = []


@dataclass
class SumMeta(ResourceMeta):
    job: str
    total: float


class SumConnector(AsyncConnector):
    """Sums input list ``xs``; answers the total as native output ``total`` once asked."""

    name = "Bridge Test SDK"
    task_type_name = SDK_TYPE
    metadata_type = SumMeta

    async def create(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs) -> SumMeta:
        CALLS.append(("create", {"task_template": task_template, "inputs": inputs, **kwargs}))
        if kwargs.get("fail"):
            raise RuntimeError("asked to fail")
        return SumMeta(job=task_template.id.name or "job", total=float(sum(inputs.get("xs", []))))

    async def get(self, resource_meta: SumMeta, **kwargs) -> Resource:
        CALLS.append(("get", {"resource_meta": resource_meta, **kwargs}))
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"total": resource_meta.total}, message="done")

    async def delete(self, resource_meta: SumMeta, **kwargs) -> None:
        CALLS.append(("delete", {"resource_meta": resource_meta, **kwargs}))

    async def get_logs(self, resource_meta: SumMeta, **kwargs):
        for page in ("p1", "p2"):
            yield GetTaskLogsResponse(header=GetTaskLogsResponseHeader(token=f"{resource_meta.job}-{page}"))


def register_in_sdk() -> None:
    """Register into flyte-sdk's own registry, as a connector module does on import."""
    ConnectorRegistry.register(SumConnector(), override=True)
