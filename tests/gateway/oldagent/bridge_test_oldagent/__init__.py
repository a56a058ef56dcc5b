"""Agents written against flytekit 1.13's ``flytekit.extend.backend.base_agent``, for the gateway tests.

``pyflyte serve agent`` (flytekit 1.10-1.15) loads agents only through the ``flytekit.plugins`` entry-point
group, so this package ships the ``.dist-info`` next to it: with ``tests/gateway/oldagent`` on
``PYTHONPATH`` it is an installed distribution to ``importlib.metadata``, and nothing is pip-installed.
Imported only inside the old flytekit's venv.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from flyteidl.core.execution_pb2 import TaskExecution, TaskLog
from flytekit.extend.backend.base_agent import AgentRegistry, AsyncAgentBase, Resource, ResourceMeta, SyncAgentBase
from flytekit.models.literals import LiteralMap
from flytekit.models.task import TaskTemplate

ASYNC_TYPE = "old_async"
SYNC_TYPE = "old_sync"
HUGE_ERROR_TYPE = "bridge_huge_error"  # tests/gateway/_huge_error.py (not importable here: its own copy)


def _x(inputs: Optional[LiteralMap]) -> int:
    lit = inputs.literals.get("x") if inputs is not None else None
    return lit.scalar.primitive.integer if lit is not None else 0


@dataclass
class OldMeta(ResourceMeta):
    job: str
    x: int


class OldAsync(AsyncAgentBase):
    """create remembers ``x``; get answers ``y = x + 1`` (RUNNING while ``x`` is 0)."""

    name = "Old Async Agent"

    def __init__(self) -> None:
        super().__init__(task_type_name=ASYNC_TYPE, metadata_type=OldMeta)

    def create(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None,
               **kwargs) -> OldMeta:
        return OldMeta(job=task_template.id.name or "job", x=_x(inputs))

    def get(self, resource_meta: OldMeta, **kwargs) -> Resource:
        if resource_meta.x == 0:
            return Resource(phase=TaskExecution.RUNNING, message="waiting")
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"y": resource_meta.x + 1},
                        log_links=[TaskLog(name="old", uri=f"https://old.invalid/{resource_meta.job}")])

    def delete(self, resource_meta: OldMeta, **kwargs) -> None:
        return None


class OldSync(SyncAgentBase):
    """do answers ``y = 2 * x`` at once; a negative ``x`` raises."""

    name = "Old Sync Agent"

    def __init__(self) -> None:
        super().__init__(task_type_name=SYNC_TYPE)

    async def do(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None,
                 **kwargs) -> Resource:
        x = _x(inputs)
        if x < 0:
            raise ValueError("x must not be negative")
        return Resource(phase=TaskExecution.SUCCEEDED, outputs={"y": 2 * x})


class OldHugeError(AsyncAgentBase):
    """create raises an error of ``custom["size"]`` characters (default 200,000), traceback included."""

    name = "Old Huge Error Agent"

    def __init__(self) -> None:
        super().__init__(task_type_name=HUGE_ERROR_TYPE, metadata_type=OldMeta)

    def create(self, task_template: TaskTemplate, output_prefix: str, inputs: Optional[LiteralMap] = None,
               **kwargs) -> OldMeta:
        size = int((task_template.custom or {}).get("size", 200_000))
        raise RuntimeError(
            "job rejected by the service\nTraceback (most recent call last):\n  File \"service.py\", line 12, in "
            f"submit\n    call()\nServiceError: payload {'x' * size}"
        )

    def get(self, resource_meta: OldMeta, **kwargs) -> Resource:
        return Resource(phase=TaskExecution.FAILED, message="never created")

    def delete(self, resource_meta: OldMeta, **kwargs) -> None:
        return None


AgentRegistry.register(OldAsync())
AgentRegistry.register(OldHugeError())
AgentRegistry.register(OldSync())
