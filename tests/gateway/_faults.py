"""Misbehaving upstreams for the gateway's fault tests: what real servers do not do on demand.

``FaultUpstream`` is a Flyte 2 connector server (``grpc.aio``, generic handlers, raw bytes) that lists
one connector with the categories below and misbehaves according to the category a call names:

- ``ok``: answers at once (GetTask SUCCEEDED, logs: two pages);
- ``hang``: accepts the call and never answers; counts the calls gRPC cancelled (``cancelled``);
- ``slow``: answers after ``slow_seconds``;
- ``big``: GetTask answers a Resource whose message has ``int(resource_meta)`` characters;
- ``huge_status``: fails INTERNAL with ``int(resource_meta)`` characters of status details;
- ``reset``: GetTaskLogs sends one page, then calls ``on_logs_page`` (the test resets the connection).

``ResetProxy`` is a TCP proxy in front of it whose ``reset()`` ends every connection with a TCP RST, as a
crashed pod or a dropped NAT entry does. ``FaultUpstream.restart_every`` makes it flap: stopped and
started again on its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from tests.bridge._helpers import free_port
from tests.modern._connectors import Phase
from translators._gen import v2

CATEGORIES = ("ok", "hang", "slow", "big", "huge_status", "reset")
NAME = "Fault Upstream"
_ASYNC = "flyteidl2.connector.AsyncConnectorService"
_META = "flyteidl2.connector.ConnectorMetadataService"


def _done(message: str) -> bytes:
    return v2.GetTaskResponse(resource=v2.Resource(phase=Phase.SUCCEEDED, message=message)).SerializeToString()


class FaultUpstream:
    """The fault server on 127.0.0.1:``port`` (a free one by default).

    Args:
        slow_seconds: How long ``slow`` takes.
        prefix: Put before every category name (two fault servers side by side list different ones).

    ``on_logs_page`` is called after ``reset``'s first page went out (the test's ``ResetProxy.reset``).
    """

    def __init__(self, slow_seconds: float = 2.0, prefix: str = "") -> None:
        self.port = free_port()
        self.prefix = prefix
        self.slow_seconds = slow_seconds
        self.on_logs_page: Callable[[], None] | None = None
        self.started: dict[str, int] = {}  # calls begun, by category
        self.cancelled: dict[str, int] = {}  # calls gRPC cancelled (deadline or caller), by category
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._server is not None

    def _handlers(self) -> grpc.GenericRpcHandler:
        unary = grpc.unary_unary_rpc_method_handler
        return grpc.method_handlers_generic_handler(_ASYNC, {
            "CreateTask": unary(self._create),
            "GetTask": unary(self._get),
            "DeleteTask": unary(self._delete),
            "GetTaskMetrics": unary(self._metrics),
            "GetTaskLogs": grpc.unary_stream_rpc_method_handler(self._logs),
        })

    async def start(self) -> FaultUpstream:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers((
            self._handlers(),
            grpc.method_handlers_generic_handler(_META, {"ListConnectors": grpc.unary_unary_rpc_method_handler(self._list)}),
        ))
        server.add_insecure_port(self.address)
        await server.start()
        self._server = server
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(None)

    async def restart_every(self, seconds: float, until: float) -> None:
        """Flap: down for ``seconds``, up for ``seconds``, ... until the loop's time ``until``."""
        loop = asyncio.get_running_loop()
        while loop.time() < until:
            await asyncio.sleep(seconds)
            if self.up:
                await self.stop()
            else:
                await self.start()
        if not self.up:
            await self.start()

    async def _list(self, raw: bytes, context: Any) -> bytes:
        connector = v2.Connector(name=NAME)
        for category in CATEGORIES:
            connector.supported_task_categories.add(name=self.prefix + category)
        return v2.ListConnectorsResponse(connectors=[connector]).SerializeToString()

    async def _behave(self, category: str, meta: bytes, context: Any) -> None:
        """What every method does first, for ``category``."""
        category = category[len(self.prefix):]
        self.started[category] = self.started.get(category, 0) + 1
        if category == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled[category] = self.cancelled.get(category, 0) + 1
                raise
        elif category == "slow":
            await asyncio.sleep(self.slow_seconds)
        elif category == "huge_status":
            await context.abort(grpc.StatusCode.INTERNAL, "huge: " + "x" * int(meta or b"0"))

    async def _create(self, raw: bytes, context: Any) -> bytes:
        req = v2.CreateTaskRequest.FromString(raw)
        await self._behave(req.template.type, b"0", context)
        return v2.CreateTaskResponse(resource_meta=b"0").SerializeToString()

    async def _get(self, raw: bytes, context: Any) -> bytes:
        req = v2.GetTaskRequest.FromString(raw)
        category = req.task_category.name
        await self._behave(category, req.resource_meta, context)
        return _done("x" * int(req.resource_meta or b"0") if category == self.prefix + "big" else "done")

    async def _delete(self, raw: bytes, context: Any) -> bytes:
        req = v2.DeleteTaskRequest.FromString(raw)
        await self._behave(req.task_category.name, b"0", context)
        return v2.DeleteTaskResponse().SerializeToString()

    async def _metrics(self, raw: bytes, context: Any) -> bytes:
        req = v2.GetTaskMetricsRequest.FromString(raw)
        await self._behave(req.task_category.name, b"0", context)
        return v2.GetTaskMetricsResponse().SerializeToString()

    async def _logs(self, raw: bytes, context: Any) -> AsyncIterator[bytes]:
        req = v2.GetTaskLogsRequest.FromString(raw)
        await self._behave(req.task_category.name, b"0", context)
        yield v2.GetTaskLogsResponse(header=v2.GetTaskLogsResponseHeader(token="page-1")).SerializeToString()
        if req.task_category.name == self.prefix + "reset":
            if self.on_logs_page is not None:
                self.on_logs_page()
            await asyncio.sleep(3600)  # the reset ends it
        yield v2.GetTaskLogsResponse(header=v2.GetTaskLogsResponseHeader(token="page-2")).SerializeToString()


class ResetProxy:
    """A TCP proxy on 127.0.0.1 (a free port) to ``target``; ``reset()`` ends every connection with an RST."""

    def __init__(self, target: str) -> None:
        self.host, port = target.rsplit(":", 1)
        self.target_port = int(port)
        self.port = free_port()
        self.resets = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> ResetProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def reset(self) -> None:
        """RST every open connection, both sides (SO_LINGER 0, then close)."""
        for writer in self._writers:
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        self.resets += 1
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
