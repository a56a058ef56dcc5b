"""Test connector module (loaded with --modules): task type ``blocking``, whose plain ``get`` blocks a thread.

Written as flytekit-era connectors and blocking client libraries are: ``get`` is a plain function that
sleeps with ``time.sleep`` for the ``seconds`` in its ``resource_meta``, so the bridge runs it in one of
its ``--worker`` threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flyteidl2.core.execution_pb2 import TaskExecution

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta


@dataclass
class BlockingMeta(ResourceMeta):
    seconds: float = 0.0


class BlockingConnector(AsyncConnector):
    name = "Blocking Connector"
    task_type_name = "blocking"
    metadata_type = BlockingMeta

    def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> BlockingMeta:
        return BlockingMeta(seconds=float((inputs or {}).get("seconds", 0.0)))

    def get(self, resource_meta: BlockingMeta, **kwargs: Any) -> Resource:  # type: ignore[override]
        time.sleep(resource_meta.seconds)
        return Resource(phase=TaskExecution.SUCCEEDED, message=f"blocked {resource_meta.seconds}")

    def delete(self, resource_meta: BlockingMeta, **kwargs: Any) -> None:  # type: ignore[override]
        return None


ConnectorRegistry.register(BlockingConnector())
