"""A bridge served in this process on a free loopback port, for the kit's commands and the pytest plugin.

``ServedBridge(modules=...)`` imports the connectors as ``flyte-bridge serve`` does
(:func:`bridge.discovery.discover`: built-ins, entry points, ``modules``), builds the same server
(:func:`bridge.server.assembly.build_server`) on ``127.0.0.1:0`` and runs it on its own event loop in a daemon
thread, so the caller's thread is free to act as a client with blocking stubs (and to receive
Ctrl-C). ``registry`` serves another registry instead of the process-wide one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from translators._gen import v1_grpc, v2_grpc

START_TIMEOUT = 60.0


class Stubs:
    """Generated stubs of one generation on one channel (``async_``, ``metadata`` and, v1, ``sync``)."""

    def __init__(self, channel: grpc.Channel, generation: str) -> None:
        if generation == "v1":
            self.async_ = v1_grpc.AsyncAgentServiceStub(channel)
            self.sync = v1_grpc.SyncAgentServiceStub(channel)
            self.metadata = v1_grpc.AgentMetadataServiceStub(channel)
        else:
            self.async_ = v2_grpc.AsyncConnectorServiceStub(channel)
            self.metadata = v2_grpc.ConnectorMetadataServiceStub(channel)


def serve_only(target: Any, source: Any, categories: set[tuple[str, int]]) -> None:
    """Make registry ``target`` hold exactly ``source``'s implementations of ``categories``.

    The bridge serves its registry live, so the next call sees the change.
    """
    wanted = [i for i in source.all_implementations() if i.category in categories]
    keep = {id(i) for i in wanted}
    for impl in target.all_implementations():
        if id(impl) not in keep:
            target.remove(impl)
    present = {id(i) for i in target.all_implementations()}
    for impl in wanted:
        if id(impl) not in present:
            target.add(impl, override=True)


class ServedBridge:
    """The bridge's gRPC server (both generations) on ``127.0.0.1:<free port>`` in this process.

    Args:
        modules: Connector modules to import (``--modules``).
        entry_points: Whether to load the entry-point groups too.
        registry: Serve this ``modern.ConnectorRegistry`` (no discovery) instead of the default one.
        worker: Threads for blocking connector methods (``--worker``).
    """

    def __init__(
        self,
        modules: Sequence[str] = (),
        *,
        entry_points: bool = True,
        registry: Any = None,
        worker: int = 10,
    ) -> None:
        self.modules = tuple(modules)
        self.entry_points = entry_points
        self.registry = registry
        self.worker = worker
        self.report: Any = None
        #: The categories always served (the pytest plugin's session bridge sets it).
        self.base: set[tuple[str, int]] = set()
        self.port = 0
        self.channel: grpc.Channel | None = None
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def stubs(self, generation: str) -> Stubs:
        """Stubs of ``generation`` (``v1`` or ``v2``) on the bridge's channel."""
        if self.channel is None:
            raise RuntimeError("the bridge is not started")
        return Stubs(self.channel, generation)

    def start(self) -> ServedBridge:
        """Discover connectors, start the server, open a channel to it."""
        import modern
        from bridge.discovery import discover
        from modern.shared_loop import SharedLoop

        if self.registry is None:
            self.registry = modern.default_registry()
            self.report = discover(self.registry, self.modules, entry_point_groups=self.entry_points)
        self._loop = SharedLoop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="flyte-bridge-kit", daemon=True)
        self._thread.start()
        self.port = self._run(self._start())
        self.channel = grpc.insecure_channel(self.address)
        grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT)
        return self

    async def _start(self) -> int:
        import modern
        from bridge.server.assembly import ServerOptions, build_server

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=self.worker, thread_name_prefix="flyte-bridge-kit-blocking")
        )
        # No Prometheus collectors: nothing scrapes this bridge, and flyte-sdk's server module registers
        # the same metric names when it is imported later (a test importing flyte.connectors).
        hub = modern.Hub(self.registry, metrics=False)
        self._server = build_server(hub, ServerOptions(host="127.0.0.1", port=0, reflection=False, grace=1.0))
        await self._server.start()
        return int(self._server.port)

    def _run(self, coro: Any, timeout: float = START_TIMEOUT, loop: asyncio.AbstractEventLoop | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop or self._loop).result(timeout)  # type: ignore[arg-type]

    def watch(self, coro: Any) -> Any:
        """Run ``coro`` on the bridge's event loop in the background (a ``concurrent.futures.Future``)."""
        if self._loop is None:
            raise RuntimeError("the bridge is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self) -> None:
        """Close the channel, stop the server (1 s grace) and its loop."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        loop, self._loop = self._loop, None
        if loop is None:
            return
        server, self._server = self._server, None
        try:
            if server is not None:
                self._run(server.stop(1.0), timeout=10.0, loop=loop)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            if not loop.is_running():
                loop.close()

    def __enter__(self) -> ServedBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["ServedBridge", "Stubs", "serve_only"]
