"""Task calls through the generated stubs of either generation, for the interop tests.

``s`` is anything with ``v1``/``v2`` blocking stubs (``tests._servers.Served``, or a bridge subprocess
reached over a channel): the same calls drive an in-process server and one running under another
flytekit's venv.
"""

from __future__ import annotations

import uuid
from typing import Any

from translators._gen import v1, v1_core_literals, v1_core_tasks, v2, v2_core_tasks, v2_task_common
from translators.literals import native_to_inputs, outputs_to_native

GENERATIONS = ("v1", "v2")


def int_type() -> Any:
    from translators._gen import v2_types

    return v2_types.LiteralType(simple=v2_types.SimpleType.INTEGER)


def int_template(task_type: str, inputs: dict[str, Any], outputs: tuple[str, ...]) -> v2_core_tasks.TaskTemplate:
    """A v2 template of ``task_type`` with the given typed inputs and integer outputs."""
    from translators._gen import v2_interface

    t = v2_core_tasks.TaskTemplate(type=task_type)
    t.id.name = f"t{uuid.uuid4().hex[:6]}"
    for key, lt in inputs.items():
        t.interface.inputs.variables.add(key=key, value=v2_interface.Variable(type=lt))
    for key in outputs:
        t.interface.outputs.variables.add(key=key, value=v2_interface.Variable(type=int_type()))
    return t


def v1_literals(template: v2_core_tasks.TaskTemplate, inputs: dict[str, Any]) -> v1_core_literals.LiteralMap:
    lits = native_to_inputs(inputs, template.interface.inputs)
    return v1_core_literals.LiteralMap.FromString(lits.SerializeToString())


def create(s: Any, gen: str, template: v2_core_tasks.TaskTemplate, inputs: dict[str, Any] | None = None, **kw: Any) -> bytes:
    """CreateTask through ``gen``'s stub; the ``resource_meta``."""
    if gen == "v1":
        req = v1.CreateTaskRequest(template=v1_core_tasks.TaskTemplate.FromString(template.SerializeToString()), output_prefix="s3://o")
        if inputs is not None:
            req.inputs.CopyFrom(v1_literals(template, inputs))
        return s.v1.async_.CreateTask(req, timeout=20).resource_meta
    req2 = v2.CreateTaskRequest(template=template, output_prefix="s3://o", **kw)
    if inputs is not None:
        req2.inputs.CopyFrom(native_to_inputs(inputs, template.interface.inputs))
    return s.v2.async_.CreateTask(req2, timeout=20).resource_meta


def get(s: Any, gen: str, task_type: str, meta: bytes) -> Any:
    """GetTask through ``gen``'s stub; the ``resource``."""
    if gen == "v1":
        req = v1.GetTaskRequest(task_category=v1.TaskCategory(name=task_type), resource_meta=meta)
        return s.v1.async_.GetTask(req, timeout=20).resource
    return s.v2.async_.GetTask(v2.GetTaskRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta), timeout=20).resource


def delete(s: Any, gen: str, task_type: str, meta: bytes) -> None:
    """DeleteTask through ``gen``'s stub."""
    if gen == "v1":
        s.v1.async_.DeleteTask(v1.DeleteTaskRequest(task_category=v1.TaskCategory(name=task_type), resource_meta=meta), timeout=20)
    else:
        s.v2.async_.DeleteTask(v2.DeleteTaskRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta), timeout=20)


def execute_sync(s: Any, template: v2_core_tasks.TaskTemplate, inputs: dict[str, Any]) -> list[Any]:
    """v1 ExecuteTaskSync (header, then inputs); the replies."""
    header = v1.CreateRequestHeader(template=v1_core_tasks.TaskTemplate.FromString(template.SerializeToString()), output_prefix="o")
    reqs = [v1.ExecuteTaskSyncRequest(header=header), v1.ExecuteTaskSyncRequest(inputs=v1_literals(template, inputs))]
    return list(s.v1.sync.ExecuteTaskSync(iter(reqs), timeout=20))


def outputs(resource: Any) -> dict[str, Any]:
    """A resource's outputs (either generation) as native values."""
    return outputs_to_native(v2_task_common.Outputs.FromString(resource.outputs.SerializeToString()))
