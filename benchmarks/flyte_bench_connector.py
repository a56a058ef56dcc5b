"""The bench connector written against flyte-sdk's API, served by ``c0 --modules ...``.

flyte-sdk's server converts the inputs to native values itself before calling ``create``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# c0 does not import flyte.io itself; without it flyte-sdk cannot map a blob literal back to File.
import flyte.io  # noqa: F401

# Nor its lazily imported DataFrame transformer: without it a StructuredDataset literal has no native type.
from flyte.io import DataFrame  # noqa: F401
from flyte.connectors import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from flyteidl2.core.execution_pb2 import TaskExecution

from benchmarks._inputs import check_inputs, check_payload


@dataclasses.dataclass
class BenchMeta(ResourceMeta):
    """The job handle: one id, as in ``payloads.RESOURCE_META``."""

    job_id: str


class BenchConnector(AsyncConnector):
    """flyte-sdk twin of :class:`benchmarks.bench_connector.BenchConnector`."""

    name = "Bench Connector"
    task_type_name = "bench"
    task_type_version = 0
    metadata_type = BenchMeta
    verify = staticmethod(check_inputs)  # what create reads and checks; the payload twin swaps it

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> BenchMeta:
        """Read and verify every native input."""
        self.verify(inputs)
        return BenchMeta(job_id="bench-job-000000000001")

    async def get(self, resource_meta: BenchMeta, **kwargs: Any) -> Resource:
        """The job is always done, with two primitive outputs."""
        return Resource(phase=TaskExecution.SUCCEEDED, message="done", outputs={"o0": 42, "o1": "done"})

    async def delete(self, resource_meta: BenchMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


class PayloadConnector(BenchConnector):
    """Task type ``payload``: flyte-sdk twin of ``benchmarks.bench_connector.PayloadConnector``."""

    name = "Payload Connector"
    task_type_name = "payload"
    verify = staticmethod(check_payload)


ConnectorRegistry.register(BenchConnector(), override=True)
ConnectorRegistry.register(PayloadConnector(), override=True)
