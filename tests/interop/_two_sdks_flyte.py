"""The flyte-sdk half of the category in ``_two_sdks`` (imports flyte-sdk only)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution

from tests.interop._two_sdks import CATEGORY, FLYTE_SDK_NAME


@dataclass
class SdkJob(ResourceMeta):
    sdk_job: str


class SdkSide(AsyncConnector):
    name = FLYTE_SDK_NAME
    task_type_name = CATEGORY
    metadata_type = SdkJob

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> SdkJob:
        return SdkJob(sdk_job=task_template.id.name or "job")

    async def get(self, resource_meta: SdkJob, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"by": "flyte-sdk"}, message=resource_meta.sdk_job)

    async def delete(self, resource_meta: SdkJob, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(SdkSide(), override=True)


def template_bytes(name: str = "sdk_task") -> bytes:
    """A template of the category serialized by flyte-sdk's own task serializer (v2 bytes)."""
    from flyte._internal.runtime.task_serde import get_proto_task
    from flyte.extend import TaskTemplate
    from flyte.models import NativeInterface, SerializationContext

    task = TaskTemplate(
        name=name,
        task_type=CATEGORY,
        parent_env_name="two_sdks",
        image=None,
        interface=NativeInterface.from_types(inputs={"x": (int, inspect.Parameter.empty)}, outputs={"by": str}),
    )
    return get_proto_task(task, SerializationContext(version="v1", project="p", domain="d")).SerializeToString()
