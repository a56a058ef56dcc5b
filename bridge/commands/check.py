"""``flyte-bridge check``: hold connectors to the rules FlytePropeller and the Flyte 2 executor rely on.

    flyte-bridge check --modules my_connector
    flyte-bridge check --modules my_connector --template task.json --inputs '{"x": 1}' --format json

For each connector registered by ``--modules`` (or named by ``--category``, or the one the
``--template`` is for), a task (the template given, else a minimal one of its category) runs on a
bridge in this process, both generations' clients driving it; the ``resource_meta`` also goes to a
second bridge in a fresh process. One PASS/FAIL/SKIP row per rule (see :mod:`bridge.kit.rules`):
metadata, succeeds, deadline, loop, cancellation, stateless, repeatable, delete, errors, generations.
``--modules`` picks the connectors those modules registered (discovery records it per module).

Exit codes: 0 no rule failed (SKIP is not a failure); 1 a rule failed; 2 bad usage (no connector
found, bad template or inputs, the second process did not start).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_check_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``flyte-bridge check``."""
    p.add_argument("--modules", action="extend", nargs="+", default=[], metavar="MODULE",
                   help="connector modules to import and check (as serve --modules)")
    p.add_argument("--category", action="append", default=[], metavar="NAME",
                   help="check only (or also, without --modules) the connectors of this task category; repeatable")
    p.add_argument("--template", default=None, help="a TaskTemplate file to run instead of the minimal one")
    p.add_argument("--inputs", default=None, help="native inputs for --template: a JSON object or @file.json")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format. Default text.")
    p.add_argument("--deadline", type=float, default=3.0,
                   help="per-call deadline in seconds. Default 3 (FlytePropeller's default agent timeout; "
                        "the Flyte 2 executor's is 10).")
    p.add_argument("--expect-phase", default="SUCCEEDED", type=str.upper,
                   choices=("SUCCEEDED", "FAILED", "RETRYABLE_FAILED", "ABORTED"),
                   help="the phase the task should end in (the succeeds rule). Default SUCCEEDED.")
    p.add_argument("--same-outputs", action="store_true",
                   help="the generations rule also compares output values (by default names and types only: "
                        "each generation runs its own job, so ids and times differ).")
    p.add_argument("--max-loop-lag", type=float, default=0.5,
                   help="seconds the event loop may stand still before the loop rule fails. Default 0.5.")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a task may take to end. Default 60.")
    p.add_argument("--poll", type=float, default=0.2, help="seconds between GetTask calls. Default 0.2.")
    p.add_argument("--entry-points", action=argparse.BooleanOptionalAction, default=True,
                   help="load connectors from the entry-point groups too. Default on.")
    p.add_argument("--log-level", default="CRITICAL", help="the bridge's log level. Default CRITICAL (quiet).")


def select(registry: Any, report: Any, modules: list[str], categories: list[str]) -> list[Any]:
    """The registry entries to check: those ``modules`` registered (per discovery's ``report``), then
    filtered by ``categories``; without modules, the categories' (or every) entry."""
    entries = registry.entries()
    if modules:
        picked = report.categories(modules)
        entries = [e for e in entries if e.category in picked]
    if categories:
        entries = [e for e in entries if e.category[0] in categories]
    return entries


def _report(results: list[tuple[Any, list[Any]]], fmt: str, out: TextIO) -> None:
    from bridge.table import _grid

    if fmt == "json":
        doc = {
            "passed": all(r.passed for _, rows in results for r in rows),
            "connectors": [
                {"name": s.name, "source": s.source, "category": {"name": s.category[0], "version": s.category[1]},
                 "sync": s.is_sync, "rules": [{"rule": r.rule, "status": r.status, "reason": r.reason} for r in rows]}
                for s, rows in results
            ],
        }
        print(json.dumps(doc, indent=2), file=out)
        return
    table = [[s.label, f"{s.category[0]} v{s.category[1]}", r.rule, r.status, r.reason] for s, rows in results for r in rows]
    for line in _grid(["connector", "category", "rule", "result", "reason"], table):
        print(line, file=out)
    failed = sum(r.status == "FAIL" for _, rows in results for r in rows)
    skipped = sum(r.status == "SKIP" for _, rows in results for r in rows)
    print(f"{len(results)} connector(s), {len(table) - failed - skipped} passed, {failed} failed, {skipped} skipped",
          file=out)


def check_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``flyte-bridge check`` with parsed ``args``; see the module docstring for exit codes."""
    out, err = out or sys.stdout, err or sys.stderr
    import modern
    from bridge.discovery import discover
    from bridge.kit.fresh import FreshBridge, FreshBridgeError
    from bridge.kit.probe import LoopMonitor, Probe
    from bridge.kit.rules import Checker, Options, subject_for
    from bridge.kit.served import ServedBridge
    from bridge.kit.tasks import TargetError, load_target
    from bridge.kit.values import InputsError, read_inputs
    from bridge.server.logs import configure_logging

    configure_logging(args.log_level, "text")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    registry = modern.default_registry()
    # Checked connectors are inspected as local entries: flytekit's built-ins are imported, not deferred.
    report = discover(registry, args.modules, entry_point_groups=args.entry_points, defer_sdks=False)
    for failure in report.failed:
        print(f"flyte-bridge check: skipped {failure.name} ({failure.source}): {failure.error}", file=err)
    try:
        template = load_target(args.template) if args.template else None
        inputs = read_inputs(args.inputs)
    except (TargetError, InputsError) as exc:
        print(f"flyte-bridge check: {exc}", file=err)
        return EXIT_USAGE
    if template is not None:
        entries = [e for e in registry.entries() if e.category == (template.type, template.task_type_version)]
    else:
        entries = select(registry, report, args.modules, args.category)
    if not entries:
        print("flyte-bridge check: no connector to check (give --modules, --category or --template)", file=err)
        return EXIT_USAGE
    probe = Probe()
    probed = modern.ConnectorRegistry()
    for e in registry.entries():
        probed.register(probe.wrap(e.connector))
    options = Options(poll=args.poll, deadline=args.deadline, timeout=args.timeout, expect_phase=args.expect_phase,
                      same_outputs=args.same_outputs, max_loop_lag=args.max_loop_lag)
    results = []
    monitor = LoopMonitor(probe)
    with FreshBridge(args.modules, entry_points=args.entry_points) as fresh, \
            ServedBridge(registry=probed) as bridge, tempfile.TemporaryDirectory(prefix="flyte-bridge-check-") as scratch:
        watching = bridge.watch(monitor.run())
        checker = Checker(bridge.channel, fresh.wait_ready, probe, options, monitor)
        try:
            for entry in entries:
                try:
                    subject = subject_for(entry, template, inputs, Path(scratch))
                except InputsError as exc:
                    print(f"flyte-bridge check: {exc}", file=err)
                    return EXIT_USAGE
                results.append((subject, checker.check(subject)))
        except FreshBridgeError as exc:
            print(f"flyte-bridge check: {exc}", file=err)
            return EXIT_USAGE
        finally:
            checker.close()
            probe.wait_idle(None, options.deadline + options.cancel_grace)  # let overrunning calls end first
            watching.cancel()
    _report(results, args.format, out)
    return EXIT_OK if all(r.status != "FAIL" for _, rows in results for r in rows) else EXIT_FAILED


__all__ = ["add_check_flags", "check_command", "select"]
