"""The flytekit half of the category in ``_two_sdks`` (imports flytekit only)."""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any

from flyteidl.core.execution_pb2 import TaskExecution
from flytekit.extend.backend.base_connector import AsyncConnectorBase, ConnectorRegistry, Resource, ResourceMeta

from tests.interop._two_sdks import CATEGORY, FLYTEKIT_NAME


@dataclass
class FlytekitJob(ResourceMeta):
    flytekit_job: str


class FlytekitSide(AsyncConnectorBase):
    name = FLYTEKIT_NAME

    def __init__(self) -> None:
        super().__init__(task_type_name=CATEGORY, metadata_type=FlytekitJob)

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> FlytekitJob:
        return FlytekitJob(flytekit_job=task_template.id.name or "job")

    async def get(self, resource_meta: FlytekitJob, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"by": "flytekit"}, message=resource_meta.flytekit_job)

    async def delete(self, resource_meta: FlytekitJob, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(FlytekitSide(), override=True)


def template_bytes(name: str = "fk_task") -> bytes:
    """A template of the category serialized by flytekit's own serializer (v1 bytes)."""
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.core.base_task import PythonTask
    from flytekit.core.interface import Interface
    from flytekit.tools.translator import get_serializable

    task = PythonTask(task_type=CATEGORY, name=name, task_config=None, interface=Interface(inputs={"x": int}, outputs={"by": str}))
    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    return get_serializable(collections.OrderedDict(), settings, task).template.to_flyte_idl().SerializeToString()
