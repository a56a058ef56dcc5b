"""A bad connector for ``flyte-bridge check``: its task fails with a whole traceback as the message the
user reads (checked with ``--expect-phase FAILED``: failing is what this task does; the message is the bug)."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta


@dataclass
class Job(ResourceMeta):
    job: str = "j"


def _deep(n: int) -> None:
    if n == 0:
        raise ConnectionError("warehouse unreachable")
    _deep(n - 1)


class Noisy(AsyncConnector):
    name = "Kit Noisy"
    task_type_name = "kit_noisy"
    metadata_type = Job

    async def create(self, task_template: Any, output_prefix: str, **kwargs: Any) -> Job:
        return Job()

    async def get(self, resource_meta: Job, **kwargs: Any) -> Resource:
        try:
            _deep(30)
        except ConnectionError:
            return Resource(phase=TaskExecution.FAILED, message="polling failed:\n" + traceback.format_exc())
        raise AssertionError("unreachable")

    async def delete(self, resource_meta: Job, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(Noisy(), override=True)
