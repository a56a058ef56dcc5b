"""Test connectors for ``flyte-bridge run`` (loaded with --modules tests.kit.conn_run).

- ``kit_sync``: a sync connector (``do``); returns ``{"y": x * 2}``.
- ``kit_fail``: create succeeds, get reports FAILED with a message.
- ``kit_args``: answers the container args it was created with (``{"args": "a b c"}``).
- ``kit_region``: answers with the ``region`` the v2 ``connection`` carries on each call (configs).
- ``kit_slow``: RUNNING with a progress message until ``seconds`` passed since create (the start
  time is in the meta, so any replica answers); ``delete`` appends to the ``marker`` file of the inputs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta, SyncConnector


class SyncDouble(SyncConnector):
    name = "Kit Sync"
    task_type_name = "kit_sync"

    async def do(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, message="doubled", outputs={"y": int(inputs["x"]) * 2})


@dataclass
class NoMeta(ResourceMeta):
    job: str = "j"


class Failing(AsyncConnector):
    name = "Kit Fail"
    task_type_name = "kit_fail"
    metadata_type = NoMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> NoMeta:
        return NoMeta()

    async def get(self, resource_meta: NoMeta, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.FAILED, message="the warehouse rejected the query: syntax error at line 1")

    async def delete(self, resource_meta: NoMeta, **kwargs: Any) -> None:
        return None


@dataclass
class SlowMeta(ResourceMeta):
    started: float = 0.0
    seconds: float = 0.0
    marker: str = ""


class Slow(AsyncConnector):
    name = "Kit Slow"
    task_type_name = "kit_slow"
    metadata_type = SlowMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> SlowMeta:
        inputs = inputs or {}
        return SlowMeta(time.time(), float(inputs.get("seconds", 1.0)), str(inputs.get("marker", "")))

    async def get(self, resource_meta: SlowMeta, **kwargs: Any) -> Resource:
        done = time.time() - resource_meta.started
        if done < resource_meta.seconds:
            return Resource(phase=TaskExecution.RUNNING, message=f"{done:.1f}s of {resource_meta.seconds:g}s",
                            log_links=[])
        return Resource(phase=TaskExecution.SUCCEEDED, message="slept", outputs={"slept": resource_meta.seconds})

    async def delete(self, resource_meta: SlowMeta, **kwargs: Any) -> None:
        if resource_meta.marker:
            with open(resource_meta.marker, "a") as f:
                f.write("deleted\n")


@dataclass
class ArgsMeta(ResourceMeta):
    args: str = ""


class Args(AsyncConnector):
    name = "Kit Args"
    task_type_name = "kit_args"
    metadata_type = ArgsMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> ArgsMeta:
        return ArgsMeta(" ".join(task_template.container.args))

    async def get(self, resource_meta: ArgsMeta, **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"args": resource_meta.args})

    async def delete(self, resource_meta: ArgsMeta, **kwargs: Any) -> None:
        return None


class Region(AsyncConnector):
    name = "Kit Region"
    task_type_name = "kit_region"
    metadata_type = NoMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> NoMeta:
        return NoMeta()

    async def get(self, resource_meta: NoMeta, region: str = "", **kwargs: Any) -> Resource:
        return Resource(phase=TaskExecution.SUCCEEDED, message=f"region={region or 'none'}")

    async def delete(self, resource_meta: NoMeta, region: str = "", **kwargs: Any) -> None:
        if kwargs.get("require_region_on_delete") and not region:
            raise ValueError("DeleteTask without the connection")


for _c in (SyncDouble(), Failing(), Slow(), Args(), Region()):
    ConnectorRegistry.register(_c, override=True)
