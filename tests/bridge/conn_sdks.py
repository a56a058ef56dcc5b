"""Test connector module (loaded with --modules): one flytekit connector and one flyte-sdk connector.

Both register in their own SDK's registry only; the bridge must adapt them into its registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flyte.connectors import AsyncConnector as SdkAsyncConnector
from flyte.connectors import ConnectorRegistry as SdkRegistry
from flyte.connectors import Resource as SdkResource
from flyte.connectors import ResourceMeta as SdkResourceMeta
from flytekit.extend.backend.base_connector import AsyncConnectorBase, ConnectorRegistry, Resource, ResourceMeta
from flytekit.models.core.execution import TaskExecutionPhase


@dataclass
class KitMeta(ResourceMeta):
    job: str = "kit"


class KitConnector(AsyncConnectorBase):
    name = "Kit Connector"

    def __init__(self) -> None:
        super().__init__(task_type_name="kit_task", metadata_type=KitMeta)

    async def create(self, task_template: Any, inputs: Any = None, **kwargs: Any) -> KitMeta:
        return KitMeta()

    async def get(self, resource_meta: KitMeta, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecutionPhase.SUCCEEDED)

    async def delete(self, resource_meta: KitMeta, **kwargs: Any) -> None:
        return None


@dataclass
class SdkMeta(SdkResourceMeta):
    job: str = "sdk"


class SdkConnector(SdkAsyncConnector):
    name = "Sdk Connector"
    task_type_name = "sdk_task"
    metadata_type = SdkMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> SdkMeta:
        return SdkMeta()

    async def get(self, resource_meta: SdkMeta, **kwargs: Any) -> SdkResource:
        from flyteidl2.core.execution_pb2 import TaskExecution

        return SdkResource(phase=TaskExecution.SUCCEEDED)

    async def delete(self, resource_meta: SdkMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(KitConnector())
SdkRegistry.register(SdkConnector())
