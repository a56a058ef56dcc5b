"""Connectors that misbehave on request, for the fault, soak and secret tests.

Loadable by a served subprocess (``--modules tests.reliability.conn_faults``: registers on the
default registry at import) and usable in-process (``FaultConnector()`` on an isolated registry).

The template's ``custom.mode`` picks the fault in ``create``: ``ok``, ``raise``, ``hang`` (sleeps an
hour), ``slow`` (``custom.seconds``), ``no_phase`` and ``bad_outputs`` (a malformed Resource from
``get``), ``leak`` (raises an exception whose message holds the connection secret ``token``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta
from translators._gen import v2_core_execution

Phase = v2_core_execution.TaskExecution


@dataclass
class FaultMeta(ResourceMeta):
    """What ``get`` must do, carried in the meta (any replica can answer)."""

    mode: str = "ok"
    seconds: float = 0.0
    secret_echo: str = ""


class FaultConnector(AsyncConnector):
    """Task type ``fault``: misbehaves as the template's ``custom.mode`` says."""

    name = "Fault Connector"
    task_type_name = "fault"
    metadata_type = FaultMeta

    def __init__(self) -> None:
        self.cancelled: asyncio.Event | None = None  # set when a hang is cancelled (created lazily per loop)
        self.cancellations = 0

    async def create(self, task_template: Any, output_prefix: str, inputs: Any = None, **kwargs: Any) -> FaultMeta:
        custom = json_format.MessageToDict(task_template.custom) if task_template.HasField("custom") else {}
        mode = str(custom.get("mode", "ok"))
        seconds = float(custom.get("seconds", 0.0))
        if mode == "raise":
            raise RuntimeError("injected failure in create")
        if mode == "leak":
            # A careless connector echoing its credential: the hub must redact it.
            raise PermissionError(f"login refused for token={kwargs.get('token', '')}")
        if mode == "hang":
            await self._wait(3600.0)
        if mode == "slow":
            await asyncio.sleep(seconds)
        return FaultMeta(mode=mode, seconds=seconds)

    async def _wait(self, seconds: float) -> None:
        if self.cancelled is None:
            self.cancelled = asyncio.Event()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            # The event a test waits for: the client's cancellation reached this coroutine.
            self.cancellations += 1
            self.cancelled.set()
            raise

    async def get(self, resource_meta: FaultMeta, **kwargs: Any) -> Resource:
        if resource_meta.mode == "slow_get":
            await asyncio.sleep(resource_meta.seconds)
        if resource_meta.mode == "no_phase":
            return Resource(phase=None)  # type: ignore[arg-type]
        if resource_meta.mode == "bad_outputs":
            return Resource(phase=Phase.SUCCEEDED, outputs={"o": object()})
        if resource_meta.mode == "leak":
            raise PermissionError(f"token {kwargs.get('token', '')} expired")
        return Resource(phase=Phase.SUCCEEDED, outputs={"o": 1}, message="ok")

    async def delete(self, resource_meta: FaultMeta, **kwargs: Any) -> None:
        return None


ConnectorRegistry.register(FaultConnector())
