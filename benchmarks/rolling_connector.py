"""The connector of the rolling-update figure (``--modules benchmarks.rolling_connector``): task type ``rolling``.

A task is RUNNING for ``custom.seconds`` (default 1.5) after its create, then SUCCEEDED. Everything
``get`` needs is in ``resource_meta`` (the wall-clock start and the length), so any replica on the
machine answers any task, as after a rolling update. Every answer names the process that gave it
(``pid`` in ``custom_info`` and the message), so the figure can count tasks finished on a replica
other than the one that created them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from translators._gen import v2_core_execution

Phase = v2_core_execution.TaskExecution
TASK_TYPE = "rolling"


@dataclass
class RollingMeta(ResourceMeta):
    """When the task started (wall clock, seconds), how long it runs, and which process created it."""

    started: float = 0.0
    seconds: float = 1.5
    created_by: int = 0


class RollingConnector(AsyncConnector):
    """RUNNING for a while from ``resource_meta``, then SUCCEEDED; stateless."""

    name = "Rolling Connector"
    task_type_name = TASK_TYPE
    metadata_type = RollingMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> RollingMeta:
        custom = json_format.MessageToDict(task_template.custom) if task_template.HasField("custom") else {}
        return RollingMeta(started=time.time(), seconds=float(custom.get("seconds", 1.5)), created_by=os.getpid())

    async def get(self, resource_meta: RollingMeta, **kwargs: Any) -> Resource:
        done = time.time() >= resource_meta.started + resource_meta.seconds
        pid = os.getpid()
        return Resource(
            phase=Phase.SUCCEEDED if done else Phase.RUNNING,
            message=f"answered by pid {pid}",
            custom_info={"pid": pid, "created_by": resource_meta.created_by},
        )

    async def delete(self, resource_meta: RollingMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(RollingConnector())
