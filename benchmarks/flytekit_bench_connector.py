"""The bench connector written against flytekit's API, served by ``pyflyte serve connector``.

flytekit hands ``create`` a ``LiteralMap`` of flytekit models, not native values; to read every native
input (what the other two bench connectors get for free) it converts them with flytekit's own
``TypeEngine``, guessing Python types from the template's interface as flyte-sdk's server does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.extend.backend.base_connector import AsyncConnectorBase, ConnectorRegistry, Resource, ResourceMeta
from flytekit.models.core.execution import TaskExecutionPhase

from benchmarks._inputs import check_inputs, check_payload


@dataclasses.dataclass
class BenchMeta(ResourceMeta):
    """The job handle: one id, as in ``payloads.RESOURCE_META``."""

    job_id: str


class BenchConnector(AsyncConnectorBase):
    """flytekit twin of :class:`benchmarks.bench_connector.BenchConnector`."""

    name = "Bench Connector"

    def __init__(self, task_type: str = "bench") -> None:
        super().__init__(task_type_name=task_type, metadata_type=BenchMeta)

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: Any = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> BenchMeta:
        """Convert the LiteralMap to native values, read and verify each one."""
        ctx = FlyteContextManager.current_context()
        types = TypeEngine.guess_python_types(task_template.interface.inputs)
        native = await TypeEngine._literal_map_to_kwargs(ctx, inputs, types)
        (check_payload if self.task_category.name == "payload" else check_inputs)(native)
        return BenchMeta(job_id="bench-job-000000000001")

    async def get(self, resource_meta: BenchMeta, **kwargs: Any) -> Resource:
        """The job is always done, with two primitive outputs."""
        return Resource(phase=TaskExecutionPhase.SUCCEEDED, message="done", outputs={"o0": 42, "o1": "done"})

    async def delete(self, resource_meta: BenchMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


ConnectorRegistry.register(BenchConnector(), override=True)
# Task type ``payload`` (the payload figure): the same conversion, every input of any size read.
ConnectorRegistry.register(BenchConnector("payload"), override=True)
