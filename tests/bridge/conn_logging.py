"""Test connector module (``--modules tests.bridge.conn_logging``): task type ``logs``, which writes log
lines of its own (in the loop and from a worker thread) and fails on request.

``custom.fail``: raise in ``create`` with that message; ``custom.echo_secret``: raise with the
connection secret ``token`` in the message (the bridge must redact it).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from translators._gen import v2_core_execution

log = logging.getLogger("conn_logging")


@dataclass
class LogsMeta(ResourceMeta):
    n: int = 0


class LoggingConnector(AsyncConnector):
    name = "Logging Connector"
    task_type_name = "logs"
    metadata_type = LogsMeta

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> LogsMeta:
        custom = json_format.MessageToDict(task_template.custom) if task_template.HasField("custom") else {}
        log.warning("connector's own line in the loop")
        await asyncio.to_thread(log.warning, "connector's own line from a thread")
        if custom.get("echo_secret"):
            raise PermissionError(f"login refused for token={kwargs.get('token', '')}")
        if custom.get("fail"):
            raise RuntimeError(str(custom["fail"]))
        return LogsMeta(n=1)

    async def get(self, resource_meta: LogsMeta, **kwargs: Any) -> Resource:
        return Resource(phase=v2_core_execution.TaskExecution.SUCCEEDED)

    async def delete(self, resource_meta: LogsMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(LoggingConnector())
