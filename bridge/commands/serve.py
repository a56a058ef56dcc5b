"""``flyte-bridge serve``: discovery, hub, server, metrics and the start table, in that order."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from bridge.commands.credentials import configure_secrets, secrets_section
from bridge.discovery import discover
from bridge.server.logs import configure_logging
from bridge.server.metrics import start_metrics, worker_port
from bridge.server.runtime import run_until_stopped
from bridge.server.saturation import BlockingPool
from bridge.server.assembly import BridgeServer, ServerOptions, build_server
from bridge.table import format_start_table, format_upstreams, routing_lines, served_rows
from bridge.server.tls import TlsConfigError, channel_credentials, server_credentials
from bridge.versions import outside_range
from bridge.server.workers import supervise
from modern import shared_loop

log = logging.getLogger(__name__)


def child_argv(argv: Sequence[str], index: int) -> list[str]:
    """The command line of worker ``index``: the parent's, with ``--workers 1`` and its index.

    Args:
        argv: The parent's arguments (starting with ``serve``).
        index: The 0-based worker index.

    Returns:
        A full argv for ``subprocess``.
    """
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        kept.append(arg)
    return [sys.executable, "-m", "bridge", *kept, "--workers", "1", "--worker-index", str(index)]


def metrics_address(host: str) -> str:
    """The address the metrics endpoint binds: the gRPC host, with ``[::]`` meaning all IPv4+IPv6.

    Args:
        host: The ``--host`` value.

    Returns:
        An address prometheus_client can bind.
    """
    if host in ("", "[::]", "::", "0.0.0.0"):
        return "0.0.0.0"
    return host.strip("[]")


def make_hub(registry: Any) -> Any:
    """The hub every face calls.

    Args:
        registry: The connector registry.

    Returns:
        A ``modern.Hub``.
    """
    import modern

    return modern.Hub(registry)


def pin_to_one_cpu(index: int) -> int | None:
    """Confine this process to the ``index``-th CPU it may run on (round robin); return that CPU.

    Each worker then keeps its core's caches to itself; it serves with ``grpc.aio`` like any other
    (``--server-mode auto``, see bridge.server.assembly). Returns None where CPU affinity is not available.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
        cpu = cpus[index % len(cpus)]
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):  # not Linux, or not permitted
        log.warning("--pin-workers: cannot set CPU affinity here; worker %d stays unpinned", index)
        return None
    log.info("worker %d pinned to CPU %d", index, cpu)
    return cpu


def freeze_start_objects() -> int:
    """Collect the start's garbage, then take every object the start made out of the cyclic GC's sight.

    With flytekit imported (the webhook connector, flytekit plugins) a process holds about 100,000
    objects before its first call, and a full collection walks them all: 25-70 ms with the GIL held.
    Under load, objects of calls in flight live long enough to be promoted, so full collections come
    every few thousand calls, and every call in flight waits for one: that was the p99 at 64 streams
    (measured in thread-pool mode, v1/v2 GetTask: p99 3.3-4.1x p50 before, 1.5-1.8x after; a full
    collection 64-69 ms before, 0.3-0.5 ms after). Objects made at start live as long as the process,
    so the collector has nothing to find among them.

    Returns:
        How many objects are now out of the collector's sight.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def serve_command(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run ``serve`` with parsed ``args``.

    Args:
        args: Parsed flags.
        argv: The raw arguments (to start workers with the same flags).

    Returns:
        The process exit code (0 after a clean stop, 2 on bad flags, 1 on other failures).
    """
    try:
        configure_logging(args.log_level, args.log_format)
    except ValueError as exc:
        print(f"flyte-bridge: {exc}", file=sys.stderr)
        return 2
    if args.worker_index is None:  # once per start, not once per worker
        for line in outside_range():
            log.warning("%s", line)
    try:
        credentials = server_credentials(args.tls_cert, args.tls_key, args.tls_client_ca)
        upstream_credentials = channel_credentials(args.upstream_tls_ca, args.upstream_tls_cert, args.upstream_tls_key)
    except TlsConfigError as exc:
        log.error("%s", exc)
        return 2
    if args.workers > 1:
        if args.port == 0:
            log.error("--workers needs a fixed --port (port 0 would give every worker its own port)")
            return 2
        return supervise(args.workers, lambda i: child_argv(argv, i), grace=args.grace + args.drain_delay)
    if args.pin_workers and args.worker_index is not None:
        pin_to_one_cpu(args.worker_index)
    try:
        # Thread-pool mode lends gRPC threads the loop (modern.shared_loop); grpc.aio runs on it unchanged.
        return shared_loop.run(_serve(args, credentials, upstream_credentials))
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    except RuntimeError as exc:
        log.error("cannot start: %s", exc)
        return 1


async def start_upstreams(
    registry: Any, args: argparse.Namespace, credentials: grpc.ChannelCredentials | None
) -> Any:
    """The ``--upstream`` servers, asked once (a short timeout each) and then refreshed; None without any."""
    if not args.upstream:
        return None
    from bridge.upstream import Upstreams

    size = args.max_message_bytes
    options = (("grpc.max_receive_message_length", size), ("grpc.max_send_message_length", size))
    upstreams = Upstreams(registry, args.upstream, credentials, channel_options=options)
    await upstreams.start()
    return upstreams


async def _serve(
    args: argparse.Namespace,
    credentials: grpc.ServerCredentials | None,
    upstream_credentials: grpc.ChannelCredentials | None = None,
) -> int:
    import modern

    registry = modern.default_registry()
    report = discover(registry, args.modules, entry_point_groups=args.entry_points)
    for category, source in args.prefer:
        registry.prefer(category, source)
    hub = make_hub(registry)
    secrets = configure_secrets(hub, args)  # --secret, --secrets-file, --upstream-forward-secrets
    upstreams = await start_upstreams(registry, args, upstream_credentials)
    # Blocking connector methods run in the loop's default executor (asyncio.to_thread): --worker sizes it.
    asyncio.get_running_loop().set_default_executor(BlockingPool(args.worker))
    options = ServerOptions(
        host=args.host,
        port=args.port,
        worker=args.worker,
        threads=args.threads,
        mode=args.server_mode,
        max_message_bytes=args.max_message_bytes,
        grace=args.grace,
        reflection=args.reflection,
        reuse_port=args.worker_index is not None,
        credentials=credentials,
    )
    index = args.worker_index or 0
    metrics = start_metrics(worker_port(args.prometheus_port, index), addr=metrics_address(args.host))
    try:
        bridge = build_server(hub, options)
        first = args.worker_index in (None, 0)
        log.info("%d objects made at start kept out of the cyclic GC's full collections", freeze_start_objects())

        def _announce(server: BridgeServer) -> None:
            if first:
                table = format_start_table(served_rows(registry), report, routing_lines(registry))
                if upstreams is not None:
                    table += "\n" + format_upstreams(upstreams.statuses())
                table += "\n" + secrets_section(registry, secrets)
                if args.log_format == "json":
                    log.info("%s", table)
                else:
                    print(table, file=sys.stderr, flush=True)
            log.info(
                "flyte-bridge ready on %s:%d%s", args.host, server.port,
                "" if args.worker_index is None else f" (worker {args.worker_index})",
            )

        return await run_until_stopped(
            bridge, grace=args.grace, timeout=args.timeout, on_started=_announce, drain_delay=args.drain_delay
        )
    finally:
        if metrics is not None:
            metrics.close()
        if upstreams is not None:
            await upstreams.close()
