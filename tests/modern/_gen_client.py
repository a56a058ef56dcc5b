"""One client API over both generations, so an integration test runs unchanged through v1 and v2.

v1 requests are built as FlytePropeller builds them (``task_type`` and ``task_category`` on
Get/Delete, no connection), answers are read back to comparable values (phase, native outputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import translators as tr
from tests._servers import Served
from translators._gen import v1, v2
from translators.literals import outputs_to_native

GENERATIONS = ("v1", "v2")


@dataclass
class Answer:
    """A Resource read back from either generation."""

    phase: int
    outputs: dict[str, Any]
    message: str
    raw: Any


class GenClient:
    """Calls a served bridge through the stubs of one generation."""

    def __init__(self, gen: str, served: Served) -> None:
        self.gen = gen
        self.s = served

    def _v1_create(self, req2: v2.CreateTaskRequest) -> v1.CreateTaskRequest:
        plain = v2.CreateTaskRequest()
        plain.CopyFrom(req2)
        plain.ClearField("connection")  # v1 has no connection
        return tr.create_task_request_to_v1(plain, mark=False)

    async def create(self, req2: v2.CreateTaskRequest, **call: Any) -> bytes:
        if self.gen == "v2":
            return (await self.s.v2.async_.CreateTask(req2, **call)).resource_meta
        return (await self.s.v1.async_.CreateTask(self._v1_create(req2), **call)).resource_meta

    async def get(self, task_type: str, meta: bytes, version: int = 0, **call: Any) -> Answer:
        if self.gen == "v2":
            req = v2.GetTaskRequest(task_category=v2.TaskCategory(name=task_type, version=version), resource_meta=meta)
            res = (await self.s.v2.async_.GetTask(req, **call)).resource
        else:
            req1 = v1.GetTaskRequest(
                task_type=task_type, task_category=v1.TaskCategory(name=task_type, version=version), resource_meta=meta
            )
            res = (await self.s.v1.async_.GetTask(req1, **call)).resource
        outputs = outputs_to_native(res.outputs) if res.HasField("outputs") else {}
        return Answer(res.phase, outputs, res.message, res)

    async def delete(self, task_type: str, meta: bytes, **call: Any) -> None:
        if self.gen == "v2":
            await self.s.v2.async_.DeleteTask(
                v2.DeleteTaskRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta), **call
            )
        else:
            await self.s.v1.async_.DeleteTask(
                v1.DeleteTaskRequest(task_type=task_type, task_category=v1.TaskCategory(name=task_type),
                                     resource_meta=meta), **call
            )

    async def metrics(self, task_type: str, meta: bytes, **call: Any) -> list[str]:
        if self.gen == "v2":
            r = await self.s.v2.async_.GetTaskMetrics(
                v2.GetTaskMetricsRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta), **call
            )
        else:
            r = await self.s.v1.async_.GetTaskMetrics(
                v1.GetTaskMetricsRequest(task_category=v1.TaskCategory(name=task_type), resource_meta=meta), **call
            )
        return [m.metric for m in r.results]

    async def logs(self, task_type: str, meta: bytes, token: str = "") -> list[Any]:
        if self.gen == "v2":
            call = self.s.v2.async_.GetTaskLogs(
                v2.GetTaskLogsRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta, token=token)
            )
        else:
            call = self.s.v1.async_.GetTaskLogs(
                v1.GetTaskLogsRequest(task_type=task_type, resource_meta=meta, token=token)
            )
        return [m async for m in call]

    async def connectors(self) -> dict[str, list[tuple[str, int]]]:
        if self.gen == "v2":
            found = (await self.s.v2.metadata.ListConnectors(v2.ListConnectorsRequest())).connectors
        else:
            found = (await self.s.v1.metadata.ListAgents(v1.ListAgentsRequest())).agents
        return {c.name: [(t.name, t.version) for t in c.supported_task_categories] for c in found}

    async def connector(self, name: str) -> list[tuple[str, int]]:
        if self.gen == "v2":
            c = (await self.s.v2.metadata.GetConnector(v2.GetConnectorRequest(name=name))).connector
        else:
            c = (await self.s.v1.metadata.GetAgent(v1.GetAgentRequest(name=name))).agent
        return [(t.name, t.version) for t in c.supported_task_categories]
