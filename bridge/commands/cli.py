"""``flyte-bridge`` (and ``python -m bridge``): serve, compat, translate, demo.

``serve`` takes the flags of ``pyflyte serve connector`` and ``c0`` with their defaults
(``--port 8000 --prometheus_port 9090 --worker 10 --timeout --modules``) plus the bridge's own.
argparse only: the core has no click dependency.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bridge.server.assembly import DEFAULT_MAX_MESSAGE_BYTES


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


_SOURCES = ("bridge", "flytekit", "flyte-sdk", "upstream")


def _preference(text: str) -> tuple[str, str]:
    """``CATEGORY=SOURCE`` for ``--prefer``: SOURCE is bridge, flytekit, flyte-sdk, upstream or upstream:ADDRESS."""
    category, sep, source = text.partition("=")
    if not sep or not category or not source:
        raise argparse.ArgumentTypeError("expected CATEGORY=SOURCE, e.g. snowflake=flytekit")
    if source not in _SOURCES and not (source.startswith("upstream:") and len(source) > len("upstream:")):
        raise argparse.ArgumentTypeError(f"SOURCE must be one of {', '.join(_SOURCES)} or upstream:ADDRESS, not {source!r}")
    return category, source


def _add_serve_flags(p: argparse.ArgumentParser) -> None:
    sdk = p.add_argument_group("flags shared with pyflyte serve connector and c0")
    sdk.add_argument("--port", type=int, default=8000, help="gRPC port (both generations). Default 8000.")
    sdk.add_argument(
        "--prometheus_port", "--prometheus-port", dest="prometheus_port", type=int, default=9090,
        help="Prometheus port; 0 picks a free port, -1 disables. With --workers N, worker i uses port+i. Default 9090.",
    )
    sdk.add_argument("--worker", type=_positive_int, default=10,
                     help="Threads for blocking (non-async) connector methods. Default 10.")
    sdk.add_argument("--timeout", type=_seconds, default=None,
                     help="Stop after this many seconds (for tests). Default: run until signalled.")
    sdk.add_argument(
        "--modules", action="extend", nargs="+", default=[], metavar="MODULE",
        help="Connector modules to import; repeatable (--modules a --modules b) or several at once (--modules a b).",
    )
    own = p.add_argument_group("bridge flags")
    own.add_argument(
        "--prefer", action="append", type=_preference, default=[], metavar="CATEGORY=SOURCE",
        help="Pin the implementation of a task category that several sources serve: SOURCE is bridge, flytekit, "
             "flyte-sdk, upstream or upstream:ADDRESS. Repeatable. Default: route by the template's SDK, then the "
             "caller's generation (docs/routing-and-gateway.md).",
    )
    own.add_argument("--host", default="[::]", help="Address to bind. Default [::] (all).")
    own.add_argument("--threads", type=_positive_int, default=128,
                     help="With --server-mode threads: calls served at once, each holding a thread until its connector "
                          "answers; more wait in a queue (a WARNING says so). Default 128.")
    own.add_argument("--server-mode", choices=("auto", "aio", "threads"), default="auto",
                     help="gRPC server: aio (grpc.aio, no cap on calls in flight), threads (thread pool: faster on "
                          "short calls on one core, but at most --threads calls at once), auto (aio). Default auto.")
    own.add_argument("--workers", type=_positive_int, default=1,
                     help="Server processes sharing the port (SO_REUSEPORT). Default 1.")
    own.add_argument("--pin-workers", action="store_true",
                     help="With --workers N: confine worker i to the i-th allowed CPU (dedicated cores, e.g. a "
                          "Kubernetes pod with exclusive CPUs).")
    own.add_argument("--tls-cert", type=Path, default=None, help="Server certificate chain (PEM).")
    own.add_argument("--tls-key", type=Path, default=None, help="Server private key (PEM).")
    own.add_argument("--tls-client-ca", type=Path, default=None,
                     help="CA bundle for client certificates; enables mutual TLS (client cert required).")
    own.add_argument("--max-message-bytes", type=_positive_int, default=DEFAULT_MAX_MESSAGE_BYTES,
                     help=f"Receive and send size limit. Default {DEFAULT_MAX_MESSAGE_BYTES}.")
    own.add_argument("--grace", type=_seconds, default=20.0,
                     help="Seconds in-flight calls may finish after SIGTERM/SIGINT. Default 20.")
    own.add_argument("--drain-delay", type=_seconds, default=0.0,
                     help="Seconds to keep serving every call after SIGTERM, reporting NOT_SERVING, before the "
                          "server stops (as a preStop sleep does). Default 0.")
    own.add_argument("--reflection", action=argparse.BooleanOptionalAction, default=True,
                     help="Serve gRPC server reflection. Default on.")
    own.add_argument("--entry-points", action=argparse.BooleanOptionalAction, default=True,
                     help="Load connectors from the entry-point groups. Default on.")
    own.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR. Default INFO.")
    own.add_argument("--log-format", choices=("text", "json"), default="text",
                     help="text, or json (one JSON object per line). Default text.")
    gw = p.add_argument_group("gateway: serve what existing agent/connector servers (upstreams) serve")
    gw.add_argument(
        "--upstream", action="append", default=[], metavar="ADDRESS",
        help="A connector or agent server to forward its task categories to (repeatable): a gRPC target "
             "(host:port, dns:///name:port); a v1:// or v2:// prefix skips detecting its generation.",
    )
    gw.add_argument("--upstream-tls-ca", type=Path, default=None,
                    help="CA bundle (PEM) for upstream certificates; any --upstream-tls-* flag turns TLS on.")
    gw.add_argument("--upstream-tls-cert", type=Path, default=None, help="Client certificate (PEM) for mutual TLS.")
    gw.add_argument("--upstream-tls-key", type=Path, default=None, help="Client private key (PEM) for mutual TLS.")
    _add_credential_flags(p)
    # Set by the --workers supervisor for its children only.
    p.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)


def _version() -> str:
    import bridge

    return str(bridge.__version__)


def _add_credential_flags(p: argparse.ArgumentParser) -> None:
    from bridge.commands.credentials import add_secret_flags

    add_secret_flags(p)


def build_parser() -> argparse.ArgumentParser:
    """The ``flyte-bridge`` argument parser.

    Returns:
        The parser with the ``serve``, ``compat``, ``translate`` and ``demo`` subcommands.
    """
    parser = argparse.ArgumentParser(
        prog="flyte-bridge",
        description="One connector server for Flyte 1 (agent API) and Flyte 2 (connector API).",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="Serve connectors to both generations on one port.", allow_abbrev=False)
    _add_serve_flags(serve)
    sub.add_parser("compat", help="Installed versions, supported ranges and the v1/v2 compatibility table.")
    sub.add_parser("translate", help="Translate messages between v1 and v2 (see translate --help).", add_help=False)
    sub.add_parser("demo", help="Call the echo connector as FlytePropeller (v1) and as the Flyte 2 executor (v2).")
    _add_kit_commands(sub)
    return parser


def _add_kit_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bridge.commands import check, run

    run_parser = sub.add_parser("run", help="Run one task through your connector as both Flyte generations' clients do.",
                                allow_abbrev=False, description=run.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_run_flags(run_parser)
    check_parser = sub.add_parser("check", help="Check connectors against the rules the Flyte clients rely on.",
                                  allow_abbrev=False, description=check.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_check_flags(check_parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``flyte-bridge``.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["translate"]:
        # The lead's translator CLI owns its own flags; pass everything through untouched.
        from translators.cli_translate import run

        return int(run(argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from bridge.commands.serve import serve_command

        return serve_command(args, argv)
    if args.command == "compat":
        from bridge.commands.compat import compat_command

        return compat_command()
    if args.command in ("run", "check"):
        from bridge.commands.check import check_command
        from bridge.commands.run import run_command

        return (run_command if args.command == "run" else check_command)(args)
    if args.command == "demo":
        from bridge.commands.demo import demo_command

        return demo_command()
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
