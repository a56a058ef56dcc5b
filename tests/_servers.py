"""Real bridge servers for tests: the bridge's gRPC server on 127.0.0.1:0 serving both generations.

Two shapes, both reusable from any test area:

- ``serving(registry, ...)``: an async context manager for tests that run their own event loop
  (``asyncio.run``); yields ``Served`` with ``grpc.aio`` stubs of both generations.
- ``ThreadedServer(registry, ...)``: a plain context manager whose connectors run on an event loop
  in a background thread, for synchronous tests; yields ``Served`` with blocking stubs.

Each server has its own ``Hub`` over the registry given (an isolated ``ConnectorRegistry`` by
default) and is stopped on exit: no server outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc

import legacy
import modern
from bridge.server.assembly import stop_server
from modern import ConnectorRegistry, Hub
from modern.face import LoopRunner
from modern.shared_loop import SharedLoop
from modern.shared_loop import run as run_shared
from translators._gen import v1_grpc, v2_grpc


@dataclass
class V1Stubs:
    """The three Flyte 1 service stubs."""

    async_: Any
    sync: Any
    metadata: Any


@dataclass
class V2Stubs:
    """The two Flyte 2 service stubs."""

    async_: Any
    metadata: Any


@dataclass
class Served:
    """A running server: where it listens, its hub and stubs of both generations."""

    address: str
    hub: Hub
    channel: Any
    v1: V1Stubs
    v2: V2Stubs


def stubs(channel: Any) -> tuple[V1Stubs, V2Stubs]:
    """Generated stubs of both generations on ``channel`` (aio or blocking)."""
    return (
        V1Stubs(
            v1_grpc.AsyncAgentServiceStub(channel),
            v1_grpc.SyncAgentServiceStub(channel),
            v1_grpc.AgentMetadataServiceStub(channel),
        ),
        V2Stubs(v2_grpc.AsyncConnectorServiceStub(channel), v2_grpc.ConnectorMetadataServiceStub(channel)),
    )


async def start_server(
    registry: ConnectorRegistry | None = None,
    *,
    retryable_as_permanent: bool = False,
    **hub_options: Any,
) -> tuple[grpc.Server, Hub, str]:
    """Start a bridge server on 127.0.0.1:0 whose connectors run on the running loop.

    Args:
        registry: The connectors (default: a new empty isolated registry).
        retryable_as_permanent: The v1 face option.
        **hub_options: Passed to ``Hub`` (``max_sync_resource_bytes``, ``poll_initial`` ...).

    Returns:
        (server, hub, "127.0.0.1:<port>").
    """
    hub = Hub(registry if registry is not None else ConnectorRegistry(), **hub_options)
    server = grpc.server(ThreadPoolExecutor(max_workers=16))
    runner = LoopRunner()
    modern.add_to_server(server, hub, runner)
    legacy.add_to_server(server, hub, runner, retryable_as_permanent=retryable_as_permanent)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, hub, f"127.0.0.1:{port}"



@contextlib.asynccontextmanager
async def serving(registry: ConnectorRegistry | None = None, **options: Any) -> AsyncIterator[Served]:
    """Serve ``registry`` for the duration of the block, with aio stubs (see ``start_server``)."""
    server, hub, address = await start_server(registry, **options)
    channel = grpc.aio.insecure_channel(address)
    try:
        s1, s2 = stubs(channel)
        yield Served(address, hub, channel, s1, s2)
    finally:
        await channel.close()
        await stop_server(server, None)


class ThreadedServer:
    """A bridge server on its own event loop in a daemon thread, for synchronous tests.

    Use as ``with ThreadedServer(registry) as served: served.v2.async_.CreateTask(...)``.
    """

    def __init__(self, registry: ConnectorRegistry | None = None, **options: Any) -> None:
        self._registry = registry
        self._options = options
        self._loop = SharedLoop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bridge-test-server", daemon=True)
        self._server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> Served:
        self._thread.start()
        self._server, hub, address = self.run(start_server(self._registry, **self._options))
        self._channel = grpc.insecure_channel(address)
        s1, s2 = stubs(self._channel)
        return Served(address, hub, self._channel, s1, s2)

    def __exit__(self, *exc: object) -> None:
        try:
            if self._channel is not None:
                self._channel.close()
            if self._server is not None:
                self.run(stop_server(self._server, None))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


@contextlib.contextmanager
def threaded_server(registry: ConnectorRegistry | None = None, **options: Any) -> Iterator[Served]:
    """Function form of ``ThreadedServer``."""
    with ThreadedServer(registry, **options) as served:
        yield served


def run(coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
    """``asyncio.run`` with an overall time limit, for async test bodies, on the loop ``flyte-bridge serve`` runs."""
    return run_shared(asyncio.wait_for(coro, timeout))


__all__ = ["Served", "ThreadedServer", "V1Stubs", "V2Stubs", "run", "serving", "start_server", "stubs", "threaded_server"]
