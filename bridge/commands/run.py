"""``flyte-bridge run``: one task through the connector, as FlytePropeller and the Flyte 2 executor run it.

    flyte-bridge run --template task.json --inputs '{"x": 1}'
    flyte-bridge run my_tasks.py:my_task --inputs @inputs.json --modules my_connector --generation both

The target is a TaskTemplate file (either generation, JSON or binary) or ``FILE.py:TASK`` (a
flytekit or flyte-sdk task object, serialized by its own SDK). A bridge with the connectors found
(built-ins, entry points, ``--modules``) serves on a free loopback port in this process; each
generation's client drives the task over real gRPC (:mod:`bridge.kit.clients`) while a live line
shows its phase, elapsed time, message and log links. The end shows the outputs as native values,
side by side, and any difference between the generations.

Exit codes:
    0  every generation asked reached SUCCEEDED, with equal outputs
    1  a generation did not succeed (failed, aborted, not routed, create or get errors)
    2  bad usage: target, template, inputs or flags
    3  every generation succeeded but their outputs differ
    4  ``--timeout`` passed (DeleteTask was sent)
    130  interrupted (Ctrl-C): DeleteTask was sent for every started task
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import tempfile
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIFFERENT, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``flyte-bridge run``."""
    p.add_argument("target", nargs="?", help="FILE.py:TASK, a flytekit or flyte-sdk task object")
    p.add_argument("--template", type=Path, help="a TaskTemplate file of either generation (JSON or binary)")
    p.add_argument("--inputs", default=None, help="native inputs as a JSON object, or @file.json")
    p.add_argument("--modules", action="extend", nargs="+", default=[], metavar="MODULE",
                   help="connector modules to import (as serve --modules)")
    p.add_argument("--generation", choices=("v1", "v2", "both"), default="both",
                   help="which client runs the task: v1 (FlytePropeller), v2 (Flyte 2 executor), both. Default both.")
    p.add_argument("--poll", type=float, default=1.0,
                   help="seconds between GetTask calls (propeller resyncs every 30 s). Default 1.")
    p.add_argument("--deadline", type=float, default=10.0,
                   help="per-call deadline in seconds (the connector-service default is 10). Default 10.")
    p.add_argument("--timeout", type=float, default=None,
                   help="abort (DeleteTask) after this many seconds. Default: wait for the end.")
    p.add_argument("--output-prefix", default=None,
                   help="output_prefix sent to the connector. Default: a fresh local directory per generation.")
    p.add_argument("--entry-points", action=argparse.BooleanOptionalAction, default=True,
                   help="load connectors from the entry-point groups. Default on.")
    p.add_argument("--log-level", default="WARNING", help="the bridge's log level (connector tracebacks are ERROR).")


def _summary(outcomes: list, out: TextIO) -> int:
    from bridge.kit.live import outputs_table, status_line

    print("", file=out)
    for o in outcomes:
        print(status_line(o), file=out)
    lines, diffs = outputs_table(outcomes)
    for line in lines:
        print(line, file=out)
    if diffs:
        print("differences between the generations:", file=out)
        for d in diffs:
            print(f"  {d}", file=out)
    if not all(o.succeeded for o in outcomes):
        return EXIT_FAILED
    return EXIT_DIFFERENT if diffs else EXIT_OK


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``flyte-bridge run`` with parsed ``args``; see the module docstring for exit codes."""
    out, err = out or sys.stdout, err or sys.stderr
    from bridge.kit.clients import generations_of
    from bridge.kit.tasks import TargetError, load_target
    from bridge.kit.values import InputsError, read_inputs, to_inputs
    from bridge.server.logs import configure_logging

    if (args.target is None) == (args.template is None):
        print("flyte-bridge run: give exactly one of FILE.py:TASK or --template FILE", file=err)
        return EXIT_USAGE
    try:
        configure_logging(args.log_level, "text")
        template = load_target(args.template if args.template is not None else args.target)
        inputs = to_inputs(read_inputs(args.inputs), template)
    except (TargetError, InputsError, ValueError) as exc:
        print(f"flyte-bridge run: {exc}", file=err)
        return EXIT_USAGE
    generations = generations_of(args.generation)
    _interruptible()
    with tempfile.TemporaryDirectory(prefix="flyte-bridge-run-") as scratch:
        return _run(args, template, inputs, generations, Path(scratch), out)


def _interruptible() -> None:
    """Ctrl-C must reach ``run`` (it sends DeleteTask), even when SIGINT was ignored by whoever started it.

    A Python started with SIGINT ignored (inherited, e.g. from a test runner or a non-interactive shell)
    never raises KeyboardInterrupt; ``run`` promises it does.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(args: argparse.Namespace, template, inputs, generations: list[str], scratch: Path, out: TextIO) -> int:  # type: ignore[no-untyped-def]
    from bridge.kit.clients import TIMED_OUT, drive, make_drivers
    from bridge.kit.live import LiveLines
    from bridge.kit.served import ServedBridge

    with ServedBridge(args.modules, entry_points=args.entry_points) as bridge:
        print(f"flyte-bridge run: {template.type} v{template.task_type_version} "
              f"({template.id.name or 'unnamed'}) on a bridge at {bridge.address}", file=out, flush=True)
        live = LiveLines(out, generations)
        drivers = make_drivers(bridge.channel, template, inputs, args.generation, scratch,
                               output_prefix=args.output_prefix, deadline=args.deadline, on_update=live.update)
        try:
            drive(drivers, poll=args.poll, timeout=args.timeout, sleep=live.sleep)
        except KeyboardInterrupt:
            for d in drivers:
                d.abort()
            _summary([d.outcome for d in drivers], out)
            print("interrupted: DeleteTask sent for every started task", file=out, flush=True)
            return EXIT_INTERRUPTED
        code = _summary([d.outcome for d in drivers], out)
        if any(d.outcome.phase == TIMED_OUT for d in drivers):
            return EXIT_TIMEOUT
        return code


__all__ = ["add_run_flags", "run_command"]
