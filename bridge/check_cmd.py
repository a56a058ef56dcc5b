"""``flyte-bridge check``: hold connectors to the rules FlytePropeller and the Flyte 2 executor rely on.

    flyte-bridge check --modules my_connector
    flyte-bridge check --modules my_connector --template task.json --inputs '{"x": 1}' --format json

For each connector registered by ``--modules`` (or named by ``--category``, or the one the
``--template`` is for), a task (the template given, else a minimal one of its category) runs on a
bridge in this process, both generations' clients driving it; the ``resource_meta`` also goes to a
second bridge in a fresh process. One PASS/FAIL row per rule (see :mod:`bridge.kit.rules`):
metadata, stateless, repeatable, delete, errors, deadline, generations.

Exit codes: 0 every rule passed; 1 a rule failed; 2 bad usage (no connector found, bad template or
inputs, the second process did not start).
"""

from __future__ import annotations

import argparse
import importlib
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
    p.add_argument("--deadline", type=float, default=5.0, help="per-call deadline in seconds. Default 5.")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a task may take to end. Default 60.")
    p.add_argument("--poll", type=float, default=0.2, help="seconds between GetTask calls. Default 0.2.")
    p.add_argument("--entry-points", action=argparse.BooleanOptionalAction, default=True,
                   help="load connectors from the entry-point groups too. Default on.")
    p.add_argument("--log-level", default="CRITICAL", help="the bridge's log level. Default CRITICAL (quiet).")


def _origin(connector: Any) -> str:
    # An SDK adapter's connector came from the module of the SDK connector it wraps.
    inner = getattr(connector, "flytekit_connector", None) or getattr(connector, "sdk_connector", None) or connector
    return type(inner).__module__


def _import_attributed(registry: Any, modules: list[str]) -> set[tuple[str, int]]:
    """Import ``modules`` one by one; the categories each import registered are that module's."""
    found: set[tuple[str, int]] = set()
    for module in modules:
        before = {e.category for e in registry.entries()}
        try:
            importlib.import_module(module)
        except Exception:  # discovery reports it below, in one line
            continue
        found |= {e.category for e in registry.entries()} - before
    return found


def select(registry: Any, modules: list[str], categories: list[str], attributed: set[tuple[str, int]]) -> list[Any]:
    """The registry entries to check."""
    entries = registry.entries()
    if modules:
        picked = [e for e in entries if e.category in attributed
                  or any(_origin(e.connector) == m or _origin(e.connector).startswith(m + ".") for m in modules)]
        if categories:
            picked = [e for e in picked if e.category[0] in categories]
        return picked
    if categories:
        return [e for e in entries if e.category[0] in categories]
    return entries


def _report(results: list[tuple[Any, list[Any]]], fmt: str, out: TextIO) -> None:
    from bridge.table import _grid

    if fmt == "json":
        doc = {
            "passed": all(r.passed for _, rows in results for r in rows),
            "connectors": [
                {"name": s.name, "category": {"name": s.category[0], "version": s.category[1]},
                 "sync": s.is_sync, "rules": [{"rule": r.rule, "status": r.status, "reason": r.reason} for r in rows]}
                for s, rows in results
            ],
        }
        print(json.dumps(doc, indent=2), file=out)
        return
    table = [[s.name, f"{s.category[0]} v{s.category[1]}", r.rule, r.status, r.reason] for s, rows in results for r in rows]
    for line in _grid(["connector", "category", "rule", "result", "reason"], table):
        print(line, file=out)
    failed = sum(not r.passed for _, rows in results for r in rows)
    print(f"{len(results)} connector(s), {len(table) - failed} passed, {failed} failed", file=out)


def check_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``flyte-bridge check`` with parsed ``args``; see the module docstring for exit codes."""
    out, err = out or sys.stdout, err or sys.stderr
    import modern
    from bridge.discovery import discover
    from bridge.kit.fresh import FreshBridge, FreshBridgeError
    from bridge.kit.probe import Probe
    from bridge.kit.rules import Checker, Options, subject_for
    from bridge.kit.served import ServedBridge
    from bridge.kit.tasks import TargetError, load_target
    from bridge.kit.values import InputsError, read_inputs
    from bridge.logs import configure_logging

    configure_logging(args.log_level, "text")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    registry = modern.default_registry()
    attributed = _import_attributed(registry, args.modules)
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
        entries = select(registry, args.modules, args.category, attributed)
    if not entries:
        print("flyte-bridge check: no connector to check (give --modules, --category or --template)", file=err)
        return EXIT_USAGE
    probe = Probe()
    probed = modern.ConnectorRegistry()
    for e in registry.entries():
        probed.register(probe.wrap(e.connector))
    options = Options(poll=args.poll, deadline=args.deadline, timeout=args.timeout)
    results = []
    with FreshBridge(args.modules, entry_points=args.entry_points) as fresh, \
            ServedBridge(registry=probed) as bridge, tempfile.TemporaryDirectory(prefix="flyte-bridge-check-") as scratch:
        checker = Checker(bridge.channel, fresh.wait_ready, probe, options)
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
    _report(results, args.format, out)
    return EXIT_OK if all(r.passed for _, rows in results for r in rows) else EXIT_FAILED


__all__ = ["add_check_flags", "check_command", "select"]
