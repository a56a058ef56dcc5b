"""The benchmark requests: GetTask and CreateTask of both generations, as messages and gRPC frames.

The CreateTask template is about 2 KB and declares ten typed inputs (int, float, str, bool,
datetime, duration, list, map, blob, dataclass as msgpack). Each generation's literals are built by
that generation's own SDK type engine, as a real client would build them: flytekit's ``TypeEngine``
for v1 requests, flyte-sdk's for v2 requests. Both SDKs are imported lazily so that the harness
modules that do not need them stay cheap to import.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import struct
import typing
from typing import Any

from google.protobuf import struct_pb2

from benchmarks._inputs import INPUT_VALUES, Point
from translators import _gen
from translators._protobuf_compat import known_fields

TASK_TYPE = "bench"
OUTPUT_PREFIX = "s3://bench-bucket/metadata/propeller/bench-project/development/abc123/n0/0"
# Every bench connector's ResourceMeta is a dataclass with one field ``job_id``; all three SDKs
# encode it as JSON of ``asdict``, so the same bytes decode everywhere.
RESOURCE_META = b'{"job_id": "bench-job-000000000001"}'
INPUT_TYPES: dict[str, Any] = {
    "count": int,
    "ratio": float,
    "name": str,
    "flag": bool,
    "when": datetime.datetime,
    "span": datetime.timedelta,
    "items": typing.List[int],
    "weights": typing.Dict[str, int],
    "data": "file",
    "point": Point,
}
OUTPUT_TYPES: dict[str, Any] = {"o0": int, "o1": str}


def grpc_frame(message_bytes: bytes) -> bytes:
    """Return ``message_bytes`` behind the 5-byte gRPC length prefix (uncompressed)."""
    return struct.pack(">BI", 0, len(message_bytes)) + message_bytes


@functools.lru_cache(maxsize=1)
def _v1_literals() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Literals and literal types (flyteidl v1 messages) built by flytekit's TypeEngine."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.types.file import FlyteFile

    ctx = FlyteContextManager.current_context()
    literals: dict[str, Any] = {}
    in_types: dict[str, Any] = {}
    for name, py_type in INPUT_TYPES.items():
        value = INPUT_VALUES[name]
        if py_type == "file":
            py_type, value = FlyteFile, FlyteFile(value)
        lt = TypeEngine.to_literal_type(py_type)
        in_types[name] = lt.to_flyte_idl()
        literals[name] = TypeEngine.to_literal(ctx, value, py_type, lt).to_flyte_idl()
    out_types = {n: TypeEngine.to_literal_type(t).to_flyte_idl() for n, t in OUTPUT_TYPES.items()}
    return literals, in_types, out_types


@functools.lru_cache(maxsize=1)
def _v2_literals() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Literals and literal types (flyteidl2 messages) built by flyte-sdk's TypeEngine."""
    from flyte.io import File
    from flyte.types import TypeEngine

    async def build() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        literals: dict[str, Any] = {}
        in_types: dict[str, Any] = {}
        for name, py_type in INPUT_TYPES.items():
            value = INPUT_VALUES[name]
            if py_type == "file":
                py_type, value = File, File(path=value)
            lt = TypeEngine.to_literal_type(py_type)
            in_types[name] = lt
            literals[name] = await TypeEngine.to_literal(value, py_type, lt)
        out_types = {n: TypeEngine.to_literal_type(t) for n, t in OUTPUT_TYPES.items()}
        return literals, in_types, out_types

    return asyncio.run(build())


def _fill_template(template: Any, in_types: dict[str, Any], out_types: dict[str, Any]) -> None:
    """Fill a TaskTemplate of either generation (same field names) to about 2 KB."""
    template.id.resource_type = 1  # TASK
    template.id.project = "bench-project"
    template.id.domain = "development"
    template.id.name = "benchmarks.workflows.bench_connector_task"
    template.id.version = "v0123456789abcdef"
    template.type = TASK_TYPE
    template.task_type_version = 0
    template.metadata.runtime.type = 1  # FLYTE_SDK
    template.metadata.runtime.version = "1.16.0"
    template.metadata.retries.retries = 3
    template.metadata.timeout.seconds = 3600
    template.metadata.interruptible = True
    for kind, types in (("inputs", in_types), ("outputs", out_types)):
        variables = getattr(template.interface, kind).variables
        for name, lt in types.items():
            if hasattr(variables, "get_or_create"):
                var = variables[name]  # v1: map<string, Variable>
            else:
                entry = variables.add()  # v2: repeated VariableEntry{key, value}
                entry.key = name
                var = entry.value
            var.type.CopyFrom(lt)
            var.description = f"{kind[:-1]} {name}"
    c = template.container
    c.image = "ghcr.io/example/bench-connector-image:py3.11-sha-0123456789abcdef0123"
    c.command.extend(["pyflyte-execute"])
    c.args.extend(
        ["--inputs", "{{.input}}", "--output-prefix", "{{.outputPrefix}}", "--raw-output-data-prefix",
         "{{.rawOutputDataPrefix}}", "--checkpoint-path", "{{.checkpointOutputPrefix}}",
         "--prev-checkpoint", "{{.prevCheckpointPrefix}}", "--resolver",
         "flytekit.core.python_auto_container.default_task_resolver", "--", "task-module",
         "benchmarks.workflows", "task-name", "bench_connector_task"]
    )
    for i in range(6):
        kv = c.env.add()
        kv.key, kv.value = f"BENCH_ENV_{i}", f"value-{i:02d}-" + "x" * 24
    custom = struct_pb2.Struct()
    custom.update({"query": "SELECT * FROM bench WHERE id = @id " + "-- padding " * 20,
                   "cluster": "bench-cluster", "priority": 5, "tags": ["a", "b", "c"]})
    template.custom.CopyFrom(custom)


def _fill_metadata(meta: Any) -> None:
    """The TaskExecutionMetadata subset propeller sends (see CLIENTS.md)."""
    meta.namespace = "bench-project-development"
    meta.k8s_service_account = "default"
    meta.labels["execution-id"] = "abc123"
    meta.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] = "false"
    meta.environment_variables["FLYTE_INTERNAL_EXECUTION_ID"] = "abc123"
    tid = meta.task_execution_id
    tid.task_id.project, tid.task_id.domain = "bench-project", "development"
    tid.task_id.name, tid.task_id.version = "bench_connector_task", "v0123456789abcdef"
    tid.node_execution_id.node_id = "n0"
    tid.node_execution_id.execution_id.project = "bench-project"
    tid.node_execution_id.execution_id.domain = "development"
    tid.node_execution_id.execution_id.name = "abc123"


@functools.lru_cache(maxsize=1)
def create_task_request_v1() -> Any:
    """A v1 ``flyteidl.admin.CreateTaskRequest`` built with flytekit's type engine."""
    literals, in_types, out_types = _v1_literals()
    req = _gen.v1.CreateTaskRequest(output_prefix=OUTPUT_PREFIX)
    _fill_template(req.template, in_types, out_types)
    for name, lit in literals.items():
        req.inputs.literals[name].CopyFrom(lit)
    _fill_metadata(req.task_execution_metadata)
    return req


@functools.lru_cache(maxsize=1)
def create_task_request_v2() -> Any:
    """A v2 ``flyteidl2.connector.CreateTaskRequest`` built with flyte-sdk's type engine."""
    literals, in_types, out_types = _v2_literals()
    req = _gen.v2.CreateTaskRequest(output_prefix=OUTPUT_PREFIX)
    _fill_template(req.template, in_types, out_types)
    for name, lit in literals.items():
        named = req.inputs.literals.add()
        named.name = name
        named.value.CopyFrom(lit)
    _fill_metadata(req.task_execution_metadata)
    return req


def get_task_request_v1() -> Any:
    """A v1 GetTaskRequest as propeller sends it (deprecated task_type and the category)."""
    req = _gen.v1.GetTaskRequest(
        task_type=TASK_TYPE, resource_meta=RESOURCE_META,
        **known_fields(_gen.v1.GetTaskRequest, output_prefix=OUTPUT_PREFIX),
    )
    req.task_category.name = TASK_TYPE
    return req


def get_task_request_v2() -> Any:
    """A v2 GetTaskRequest as the Flyte 2 executor sends it."""
    req = _gen.v2.GetTaskRequest(resource_meta=RESOURCE_META, output_prefix=OUTPUT_PREFIX)
    req.task_category.name = TASK_TYPE
    return req


def get_task_response_v1() -> Any:
    """The GetTaskResponse every bench connector answers: SUCCEEDED with two primitive outputs."""
    resp = _gen.v1.GetTaskResponse()
    resp.resource.phase = _gen.v1_core_execution.TaskExecution.SUCCEEDED
    resp.resource.state = _gen.v1.SUCCEEDED
    resp.resource.message = "done"
    resp.resource.outputs.literals["o0"].scalar.primitive.integer = 42
    resp.resource.outputs.literals["o1"].scalar.primitive.string_value = "done"
    return resp


def get_task_response_v2() -> Any:
    """The v2 twin of :func:`get_task_response_v1`."""
    resp = _gen.v2.GetTaskResponse()
    resp.resource.phase = _gen.v2_core_execution.TaskExecution.SUCCEEDED
    resp.resource.message = "done"
    o0 = resp.resource.outputs.literals.add()
    o0.name = "o0"
    o0.value.scalar.primitive.integer = 42
    o1 = resp.resource.outputs.literals.add()
    o1.name = "o1"
    o1.value.scalar.primitive.string_value = "done"
    return resp


V1_SERVICE = "flyteidl.service.AsyncAgentService"
V2_SERVICE = "flyteidl2.connector.AsyncConnectorService"


def request_bytes(generation: str, method: str) -> bytes:
    """Serialized request for ``generation`` ("v1"/"v2") and ``method`` ("GetTask"/"CreateTask")."""
    builders = {
        ("v1", "GetTask"): get_task_request_v1,
        ("v2", "GetTask"): get_task_request_v2,
        ("v1", "CreateTask"): create_task_request_v1,
        ("v2", "CreateTask"): create_task_request_v2,
    }
    return builders[(generation, method)]().SerializeToString()


def rpc_path(generation: str, method: str) -> str:
    """The HTTP/2 ``:path`` of a unary call."""
    return f"/{V1_SERVICE if generation == 'v1' else V2_SERVICE}/{method}"
