"""A connector written against flyte-sdk, the shape of flyte-sdk's ``custom_connector_app`` example:
create starts a job and returns its id; get answers SUCCEEDED with an output derived from that id.

Each generation's task is its own job, so the two outputs differ by design: ``check`` passes it, and
fails it only when asked to compare values (``--same-outputs``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution


@dataclass
class JobMetadata(ResourceMeta):
    job_id: str


class JobIdConnector(AsyncConnector):
    name = "Kit SDK Job Id"
    task_type_name = "kit_sdk_job_id"
    metadata_type = JobMetadata

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> JobMetadata:
        return JobMetadata(job_id=uuid.uuid4().hex[:8])

    async def get(self, resource_meta: JobMetadata, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"result": f"output-from-{resource_meta.job_id}"})

    async def delete(self, resource_meta: JobMetadata, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(JobIdConnector(), override=True)
