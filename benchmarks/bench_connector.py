"""The bench connector written against the bridge's own API (``modern.AsyncConnector``).

Served by ``flyte-bridge serve --modules benchmarks.bench_connector`` to both v1 and v2 clients.
Task type ``bench``: ``create`` reads every native input, ``get`` answers SUCCEEDED with two
primitive outputs. It registers itself at import, as connector modules of both SDKs do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchmarks._inputs import check_inputs, check_payload
from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

_SUCCEEDED = 3  # flyteidl2.core.TaskExecution.SUCCEEDED; a literal keeps this module import-light


@dataclasses.dataclass
class BenchMeta(ResourceMeta):
    """The job handle: one id, as in ``payloads.RESOURCE_META``."""

    job_id: str


class BenchConnector(AsyncConnector):
    """A connector that does no remote work, so the server's own cost is what gets measured."""

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
        """Read and verify every input, then return a constant handle."""
        self.verify(inputs)
        return BenchMeta(job_id="bench-job-000000000001")

    async def get(self, resource_meta: BenchMeta, **kwargs: Any) -> Resource:
        """The job is always done, with two primitive outputs."""
        return Resource(phase=_SUCCEEDED, message="done", outputs={"o0": 42, "o1": "done"})

    async def delete(self, resource_meta: BenchMeta, **kwargs: Any) -> None:
        """Nothing to cancel."""


class PayloadConnector(BenchConnector):
    """Task type ``payload`` (the payload figure): ``create`` reads every input of any size."""

    name = "Payload Connector"
    task_type_name = "payload"
    verify = staticmethod(check_payload)


ConnectorRegistry.register(BenchConnector(), override=True)
ConnectorRegistry.register(PayloadConnector(), override=True)
