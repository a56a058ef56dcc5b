"""Assemble the one gRPC server: both generations, health and reflection on one port.

``build_server(hub, options)`` registers, on a single gRPC server:

- the three v1 services (``legacy.add_to_server``): AsyncAgentService, SyncAgentService,
  AgentMetadataService;
- the two v2 services (``modern.add_to_server``), also answered under their flyteidl2 beta names
  (:mod:`bridge.server.aliases`);
- ``grpc.health.v1.Health`` (:mod:`bridge.server.health`) and, optionally, server reflection.

Channel options accept the Flyte 2 executor's keepalive pings (every 30 s during a call): gRPC
core's default would answer pings more often than every 5 minutes with a ``too_many_pings``
GOAWAY, which kills a long GetTask. The life cycle (signals, grace, timeout) is in
:mod:`bridge.server.runtime`.

Which server (``ServerOptions.mode``); the figures are in docs/_incoming/serving.md:

- ``aio`` (what ``auto`` picks, always): one ``grpc.aio`` server, as the SDKs run. A call that waits on
  its connector (a remote API, ``asyncio.sleep``) is a suspended coroutine on the loop and holds no
  thread, so thousands of calls wait at once (1,024 calls of a connector whose ``get`` awaits 1 s: all in
  flight together, on one core as on two).
- ``threads``: a thread-pool ``grpc.server`` whose handlers run the connectors' coroutines on one event
  loop (:class:`modern.face.LoopRunner`); on the :class:`modern.shared_loop.SharedLoop` that
  ``flyte-bridge serve`` runs, a coroutine starts in the gRPC thread while the loop is idle, so a call
  that never waits never leaves its thread. Confined to one core it answered trivial calls up to
  1.25-1.8x faster than ``aio`` at 16-64 streams, but grpc's thread-pool server cannot answer a call from any
  thread other than the one that received it, so a call holds its thread until the connector is done:
  at most ``--threads`` calls are served at once and the rest queue (128 calls/s with a 1 s connector,
  however many are sent). An opt-in for short calls only; :class:`bridge.server.call_pool.CallPool` warns when
  in-flight calls near the cap.
- ``auto`` (default): ``aio``. It used to pick ``threads`` when confined to one CPU, which capped a
  pinned replica (and ``--workers N --pin-workers``) at 128 waiting calls.

Blocking (non-async) connector methods run in ``--worker`` threads (:class:`bridge.server.saturation.BlockingPool`)
in either mode; the loop, and every async connector, goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_reflection.v1alpha import reflection

from bridge.server.aliases import BETA_SERVICE_NAMES, AliasHandler, RecordingServer
from bridge.server.call_pool import CallPool
from bridge.server.drain import drain
from bridge.server.health import HEALTH_SERVICE_NAME, BridgeHealth, settle
from modern.face import LoopRunner
from translators import _gen

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""Default receive/send limit; gRPC's own default receive limit is 4 MiB, too small for big literal maps."""

V1_SERVICE_NAMES: tuple[str, ...] = tuple(
    s.full_name for s in _gen.v1_service.DESCRIPTOR.services_by_name.values()
)
V2_SERVICE_NAMES: tuple[str, ...] = tuple(
    s.full_name for s in _gen.v2_service.DESCRIPTOR.services_by_name.values()
)


@dataclass
class ServerOptions:
    """How the gRPC server listens. Defaults match ``pyflyte serve connector`` and ``c0``."""

    host: str = "[::]"
    port: int = 8000
    worker: int = 10
    threads: int = 128
    mode: str = "auto"
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    grace: float = 20.0
    reflection: bool = True
    beta_names: bool = True
    reuse_port: bool = False
    credentials: grpc.ServerCredentials | None = None
    extra_options: Sequence[tuple[str, Any]] = field(default_factory=tuple)


MAX_PENDING_CALLS = 20_000
"""Calls gRPC core may hold before the server picks them up (its default sheds past 1,000)."""


def channel_options(options: ServerOptions) -> list[tuple[str, Any]]:
    """The grpc server channel arguments for ``options``.

    Args:
        options: The server options.

    Returns:
        A list of (name, value) grpc channel arguments.
    """
    return [
        ("grpc.max_receive_message_length", options.max_message_bytes),
        ("grpc.max_send_message_length", options.max_message_bytes),
        # Accept client pings every 10 s (the executor sends one every 30 s during a call) and
        # never count them as abuse; also accept pings on idle connections.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_ping_strikes", 0),
        ("grpc.keepalive_permit_without_calls", 1),
        # Our own pings find dead peers (e.g. a propeller pod that vanished mid-call).
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        # Calls that arrived and wait for the server to pick them up: gRPC core sheds those past 1,000
        # (hard limit 3,000) by default, so 4,096 calls started at once lost ~1,500 on an empty grpc.aio
        # server (benchmarks, "waiting" figure). Waiting calls cost memory, not threads: hold them.
        ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
        ("grpc.server.max_pending_requests_hard_limit", MAX_PENDING_CALLS),
        # A single process must fail loudly on a taken port; workers share it on purpose.
        ("grpc.so_reuseport", 1 if options.reuse_port else 0),
        *options.extra_options,
    ]


@dataclass
class BridgeServer:
    """A built, not yet started, bridge server."""

    server: Any  # grpc.Server or grpc.aio.Server
    health: BridgeHealth
    hub: Any
    port: int
    service_names: list[str]
    secure: bool
    pool: CallPool | None = None  # the thread-pool server's threads, ended after the server stops

    async def start(self) -> None:
        """Start listening and report SERVING for every service."""
        await self.health.not_serving_yet(self.service_names)
        await settle(self.server.start())
        await self.health.serving()
        log.info(
            "serving %d services on port %d (%s, %s server)",
            len(self.service_names), self.port, "TLS" if self.secure else "plaintext",
            "grpc.aio" if isinstance(self.server, grpc.aio.Server) else "thread-pool",
        )

    async def stop(self, grace: float | None, drain_delay: float = 0.0) -> None:
        """Drain and stop: NOT_SERVING, serve on for ``drain_delay``, then stop with ``grace`` (bridge.server.drain).

        Args:
            grace: Seconds in-flight calls may still run; None waits for them without limit.
            drain_delay: Seconds to keep serving every call after NOT_SERVING.
        """
        await drain(self.health, drain_delay)
        # Every call gRPC has handed over is served: the hub is never told to refuse them.
        await stop_server(self.server, grace)
        if self.pool is not None:
            self.pool.shutdown(wait=False)


async def stop_server(server: Any, grace: float | None) -> None:
    """Stop a ``grpc.aio`` or thread-pool server and wait until it has stopped.

    The thread-pool server's stop event is polled, never waited on: the calls being drained need
    this loop to finish (and a thread of the default executor may be taken by blocking connector work).
    """
    stopped = server.stop(grace)
    if isinstance(stopped, threading.Event):
        while not stopped.is_set():
            await asyncio.sleep(0.02)
    else:
        await stopped


def resolve_mode(mode: str) -> str:
    """``aio`` or ``threads`` for ``mode`` (``auto``: ``aio``, the one without a cap on calls in flight)."""
    if mode in ("aio", "threads"):
        return mode
    if mode != "auto":
        raise ValueError(f"unknown server mode {mode!r} (auto, aio, threads)")
    return "aio"


MALLOC_ARENAS = 2
"""glibc malloc arenas the thread-pool server allows itself (see :func:`bound_malloc_arenas`)."""

_M_ARENA_MAX = -8  # glibc's malloc.h


def bound_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before the thread-pool server starts its threads.

    glibc gives each new thread an arena of its own, up to eight per CPU, and an arena keeps what is freed
    into it for its own threads. With gRPC threads taking turns, every new connection's buffers landed in
    arenas whose free memory the others could not reuse: the server grew 5-13 bytes a call over 200,000
    calls (8 arenas, a new connection every 2,000 calls: 6.5 bytes a call in the second half of 80,000),
    while the one-threaded ``aio`` server stayed flat. Python's own objects did not grow (tracemalloc).
    With two arenas the same run grew 1.7 and levelled off (docs/performance.md, "Endurance"); one arena grew less but
    cost 9-24% of the requests per second (one malloc lock for gRPC's threads and the handlers). An
    operator's own ``MALLOC_ARENA_MAX`` wins; without glibc (musl, macOS) nothing changes.

    Returns:
        Whether the cap was set.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas) == 1)


def _add_v1(server: Any, hub: Any, runner: LoopRunner | None) -> None:
    import legacy

    legacy.add_to_server(server, hub, runner)


def _add_v2(server: Any, hub: Any, runner: LoopRunner | None) -> None:
    import modern

    modern.add_to_server(server, hub, runner)


def build_server(hub: Any, options: ServerOptions | None = None) -> BridgeServer:
    """Build the one gRPC server for ``hub`` (call inside the event loop connectors will run on).

    Args:
        hub: A ``modern.Hub``; both generations' servicers call it.
        options: Listening options; defaults as ``pyflyte serve connector``.

    Returns:
        The built server with its bound port (useful with ``port=0``).

    Raises:
        RuntimeError: When the address cannot be bound.
    """
    options = options or ServerOptions()
    server: Any
    runner: LoopRunner | None
    pool: CallPool | None = None
    if resolve_mode(options.mode) == "threads":
        bound_malloc_arenas()
        pool = CallPool(options.threads, name="bridge-grpc")
        server, runner = grpc.server(pool, options=channel_options(options)), LoopRunner()
    else:
        server, runner = grpc.aio.server(options=channel_options(options)), None
    _add_v1(server, hub, runner)
    recorder = RecordingServer(server)
    _add_v2(recorder, hub, runner)
    names = [*V1_SERVICE_NAMES, *V2_SERVICE_NAMES]
    if options.beta_names:
        server.add_generic_rpc_handlers((AliasHandler(BETA_SERVICE_NAMES, recorder.handlers),))
        names.extend(BETA_SERVICE_NAMES)
    health = BridgeHealth(aio=runner is None)
    health.add_to_server(server)
    if options.reflection:
        # Beta aliases have no descriptors of their own, so only real names are reflected.
        reflection.enable_server_reflection(
            [*V1_SERVICE_NAMES, *V2_SERVICE_NAMES, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME],
            server,
        )
    address = f"{options.host}:{options.port}"
    try:
        if options.credentials is not None:
            port = server.add_secure_port(address, options.credentials)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise RuntimeError(f"cannot listen on {address}: {exc}") from None
    if port == 0:
        raise RuntimeError(f"cannot listen on {address} (in use?)")
    return BridgeServer(
        server=server, health=health, hub=hub, port=port, service_names=names,
        secure=options.credentials is not None, pool=pool,
    )
