"""``flyte-bridge serve``: discovery, hub, server, metrics and the start table, in that order."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from bridge.discovery import discover
from bridge.logs import configure_logging
from bridge.metrics import start_metrics, worker_port
from bridge.runtime import run_until_stopped
from bridge.server import BridgeServer, ServerOptions, build_server
from bridge.table import format_start_table, served_rows
from bridge.tls import TlsConfigError, server_credentials
from bridge.versions import outside_range
from bridge.workers import supervise
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

    A worker confined to one CPU runs the thread-pool server under ``--server-mode auto`` (the faster
    one on one core, see bridge.server). Returns None where CPU affinity is not available.
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
    except TlsConfigError as exc:
        log.error("%s", exc)
        return 2
    if args.workers > 1:
        if args.port == 0:
            log.error("--workers needs a fixed --port (port 0 would give every worker its own port)")
            return 2
        return supervise(args.workers, lambda i: child_argv(argv, i), grace=args.grace)
    if args.pin_workers and args.worker_index is not None:
        pin_to_one_cpu(args.worker_index)
    try:
        # Thread-pool mode lends gRPC threads the loop (modern.shared_loop); grpc.aio runs on it unchanged.
        return shared_loop.run(_serve(args, credentials))
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    except RuntimeError as exc:
        log.error("cannot start: %s", exc)
        return 1


async def _serve(args: argparse.Namespace, credentials: grpc.ServerCredentials | None) -> int:
    import modern

    registry = modern.default_registry()
    report = discover(registry, args.modules, entry_point_groups=args.entry_points)
    hub = make_hub(registry)
    # Blocking connector methods run in the loop's default executor (asyncio.to_thread): --worker sizes it.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=args.worker, thread_name_prefix="bridge-blocking")
    )
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

        def _announce(server: BridgeServer) -> None:
            if first:
                table = format_start_table(served_rows(registry), report)
                if args.log_format == "json":
                    log.info("%s", table)
                else:
                    print(table, file=sys.stderr, flush=True)
            log.info(
                "flyte-bridge ready on %s:%d%s", args.host, server.port,
                "" if args.worker_index is None else f" (worker {args.worker_index})",
            )

        return await run_until_stopped(bridge, grace=args.grace, timeout=args.timeout, on_started=_announce)
    finally:
        if metrics is not None:
            metrics.close()
