"""Connectors and request builders shared by the hub and servicer tests.

Behaviour is steered by the task template's ``custom`` struct so one connector covers many cases:
``fail`` (raise with that message), ``sleep`` (seconds in create/do), ``polls`` (RUNNING answers
before the final one), ``final`` (terminal phase), ``no_phase`` (return a Resource without phase),
``big`` (bytes of output for the size bound).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta, SyncConnector
from translators._gen import v2, v2_core_execution, v2_core_tasks, v2_interface, v2_types
from translators.literals import native_to_inputs

Phase = v2_core_execution.TaskExecution
_ids = itertools.count(1)


def custom_of(template: Any) -> dict[str, Any]:
    """The template's ``custom`` as a dict."""
    return json_format.MessageToDict(template.custom) if template.HasField("custom") else {}


@dataclasses.dataclass
class JobMeta(ResourceMeta):
    """Everything ``get`` needs travels in the meta (statelessness)."""

    job_id: str
    outputs: dict[str, Any] | None = None
    final: int = Phase.SUCCEEDED
    polls: int = 0
    message: str = ""
    no_phase: bool = False


class JobConnector(AsyncConnector):
    """An async connector with metrics and streamed (async generator) logs."""

    name = "Job Connector"
    task_type_name = "job"
    metadata_type = JobMeta

    def __init__(self, task_type_name: str = "job", task_type_version: int = 0, name: str | None = None) -> None:
        self.task_type_name = task_type_name
        self.task_type_version = task_type_version
        if name:
            self.name = name
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.polled: collections.Counter[str] = collections.Counter()
        self.deleted: list[str] = []
        self.cancel_seen = 0

    async def create(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs):
        self.calls.append(("create", inputs, kwargs))
        c = custom_of(task_template)
        if c.get("sleep"):
            try:
                await asyncio.sleep(float(c["sleep"]))
            except asyncio.CancelledError:
                self.cancel_seen += 1
                raise
        if c.get("fail"):
            raise ValueError(str(c["fail"]))
        plain = {k: v for k, v in (inputs or {}).items() if isinstance(v, (int, float, str, bool, list, dict))}
        return JobMeta(
            job_id=f"job-{next(_ids)}",
            outputs=plain,
            final=int(c.get("final", Phase.SUCCEEDED)),
            polls=int(c.get("polls", 0)),
            message=str(c.get("message", "")),
            no_phase=bool(c.get("no_phase", False)),
        )

    async def get(self, resource_meta: JobMeta, **kwargs):
        self.calls.append(("get", resource_meta, kwargs))
        n = self.polled[resource_meta.job_id]
        self.polled[resource_meta.job_id] += 1
        if n < resource_meta.polls:
            return Resource(phase=Phase.RUNNING, message="still running")
        if resource_meta.no_phase:
            return Resource(phase=None)  # type: ignore[arg-type]
        outputs = resource_meta.outputs if resource_meta.final == Phase.SUCCEEDED else None
        return Resource(
            phase=resource_meta.final,
            message=resource_meta.message or None,
            outputs=outputs,
            log_links=[v2_core_execution.TaskLog(name="console", uri=f"https://jobs/{resource_meta.job_id}")],
            custom_info={"job_id": resource_meta.job_id},
        )

    async def delete(self, resource_meta: JobMeta, **kwargs):
        self.calls.append(("delete", resource_meta, kwargs))
        self.deleted.append(resource_meta.job_id)

    async def get_metrics(self, resource_meta: JobMeta, **kwargs):
        from flyteidl2.core import metrics_pb2

        return v2.GetTaskMetricsResponse(results=[metrics_pb2.ExecutionMetricResult(metric=f"cpu:{resource_meta.job_id}")])

    async def get_logs(self, resource_meta: JobMeta, **kwargs):  # an async generator
        yield v2.GetTaskLogsResponse(header=v2.GetTaskLogsResponseHeader(token=f"tok-{kwargs.get('token', '')}"))
        yield v2.GetTaskLogsResponse(body=v2.GetTaskLogsResponseBody(results=["line 1", "line 2"]))


class PlainConnector(AsyncConnector):
    """Plain-function methods (run in a thread), a coroutine get_logs, no metrics."""

    name = "Plain Connector"
    task_type_name = "plain"
    metadata_type = JobMeta

    def create(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs):  # type: ignore[override]
        return JobMeta(job_id="plain-1")

    def get(self, resource_meta, **kwargs):  # type: ignore[override]
        return Resource(phase=Phase.SUCCEEDED, outputs={"n": 1})

    def delete(self, resource_meta, **kwargs):  # type: ignore[override]
        return None

    async def _logs(self, token: str) -> Any:
        return v2.GetTaskLogsResponse(body=v2.GetTaskLogsResponseBody(results=[f"only {token}"]))

    def get_logs(self, resource_meta, **kwargs):
        return self._logs(kwargs.get("token", ""))


class EchoSync(SyncConnector):
    """A sync connector: outputs are the inputs (native values of every kind)."""

    name = "Echo"
    task_type_name = "echo"

    def __init__(self, task_type_name: str = "echo", name: str | None = None) -> None:
        self.task_type_name = task_type_name
        if name:
            self.name = name
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    async def do(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs):
        self.calls.append((inputs, kwargs))
        c = custom_of(task_template)
        if c.get("sleep"):
            await asyncio.sleep(float(c["sleep"]))
        if c.get("fail"):
            raise RuntimeError(str(c["fail"]))
        outputs = dict(inputs or {})
        if c.get("big"):
            outputs["blob_text"] = "x" * int(c["big"])
        return Resource(phase=int(c.get("final", Phase.SUCCEEDED)), outputs=outputs, message="done")


def registry_with(*connectors: Any) -> ConnectorRegistry:
    """An isolated registry holding ``connectors``."""
    reg = ConnectorRegistry()
    for c in connectors:
        reg.register(c)
    return reg


def literal_type(simple: int) -> v2_types.LiteralType:
    """A simple ``LiteralType``."""
    return v2_types.LiteralType(simple=simple)


def template(
    task_type: str,
    custom: dict[str, Any] | None = None,
    inputs: dict[str, v2_types.LiteralType] | None = None,
    outputs: dict[str, v2_types.LiteralType] | None = None,
    version: int = 0,
) -> v2_core_tasks.TaskTemplate:
    """A v2 TaskTemplate with an interface and a ``custom`` struct."""
    t = v2_core_tasks.TaskTemplate(type=task_type, task_type_version=version)
    t.id.name = "t"
    for name, lt in (inputs or {}).items():
        t.interface.inputs.variables.append(v2_interface.VariableEntry(key=name, value=v2_interface.Variable(type=lt)))
    for name, lt in (outputs or {}).items():
        t.interface.outputs.variables.append(v2_interface.VariableEntry(key=name, value=v2_interface.Variable(type=lt)))
    if custom is not None:
        s = Struct()
        s.update(custom)
        t.custom.CopyFrom(s)
    return t


def create_request(
    tmpl: v2_core_tasks.TaskTemplate,
    values: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    configs: dict[str, str] | None = None,
) -> v2.CreateTaskRequest:
    """A v2 CreateTaskRequest with native ``values`` encoded as the template declares."""
    req = v2.CreateTaskRequest(template=tmpl, output_prefix="s3://bucket/out")
    if values is not None:
        req.inputs.CopyFrom(native_to_inputs(values, tmpl.interface.inputs))
    if secrets or configs:
        req.connection.secrets.update(secrets or {})
        req.connection.configs.update(configs or {})
    req.task_execution_metadata.namespace = "ns"
    return req
