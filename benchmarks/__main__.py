"""``python -m benchmarks``: measure every server and the translators, write RESULTS.md and its JSON.

``make bench`` runs this (full: three repetitions of ~2.5 s per point, < 15 min on 2 cores, then the
endurance figure: 8 x 1,050,000 calls, about 45 min more on 2 idle cores; ``--no-endurance`` skips it,
``--figure endurance`` runs it alone and merges it into the last results);
then the real-work figures (``real-io``, ``waiting``, ``payload``, ``jitter``: about 25 min more, each
skipped with ``--no-<figure>`` or run alone with ``--figure <figure>``), then the plots (``benchmarks/plots``);
``--quick`` is the CI smoke run (one short repetition per point) and writes ``RESULTS-quick.md`` /
``results-quick.json`` so the full results are never overwritten by a smoke run.
``--profile`` instead profiles the bridge with py-spy (see ``benchmarks.profile``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import endurance, h2load, report, runner, servers

HERE = Path(__file__).resolve().parent


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def machine_info(mode: str, h2: str | None) -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from google.protobuf.internal import api_implementation

    h2_version = "-"
    if h2:
        out = subprocess.run([h2, "--version"], capture_output=True, text=True).stdout.strip()
        h2_version = out.split()[-1] if out else "-"
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout
    return {
        "cpu_model": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "grpcio": _version("grpcio"), "protobuf": _version("protobuf"),
        "protobuf_impl": api_implementation.Type(), "flytekit": _version("flytekit"), "flyte": _version("flyte"),
        "flyteidl": _version("flyteidl"), "flyteidl2": _version("flyteidl2"), "h2load": h2_version,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": mode, "git": git.strip() or "-", "loadavg_start": _loadavg(),
    }


#: The deadline the gateway figure's requests carry: FlytePropeller and the Flyte 2 executor send one
#: with every call, and the gateway passes it on (and makes reads with one from the receiving thread).
GATEWAY_DEADLINE_S = 10.0


#: The figures of real work (issue 25), by ``--figure`` name; their results go under ``results[key]``.
WORK_FIGURES = ("real-io", "waiting", "payload", "jitter")


def result_key(figure: str) -> str:
    """The results JSON key of a figure (``real-io`` -> ``real_io``)."""
    return figure.replace("-", "_")


def run_work_figure(figure: str, quick: bool, h2: str, work: Path, repetitions: int | None = None,
                    seconds: float | None = None) -> dict[str, Any]:
    """Run one real-work figure in full or quick form; returns its record for ``results[result_key(figure)]``.

    ``repetitions`` and ``seconds`` (the measured window of one run), when given, replace the plan's.
    """
    from benchmarks import jitter, payload_size, realio, waiting

    def plan(base: Any, window: str) -> Any:
        changes = {k: v for k, v in (("repetitions", repetitions), (window, seconds)) if v is not None}
        return dataclasses.replace(base, **changes)

    logs = work / "logs"
    if figure == "real-io":
        return realio.run(plan(realio.QUICK if quick else realio.RealIOPlan(), "measure_s"), work, logs)
    if figure == "waiting":
        return waiting.run(plan(waiting.QUICK if quick else waiting.WaitPlan(), "measure_s"), work, logs)
    if figure == "payload":
        return payload_size.run(plan(payload_size.QUICK if quick else payload_size.PayloadPlan(), "seconds"), h2,
                                work, logs)
    if figure == "jitter":
        return jitter.run(plan(jitter.QUICK if quick else jitter.JitterPlan(), "seconds"), h2, work, logs)
    raise ValueError(figure)


def _loadavg() -> str:
    # Other work on the machine skews every number; record how busy it was.
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "-"


def _csv(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: one short repetition per point")
    p.add_argument("--servers", type=_csv, default=None,
                   help="comma list of servers to measure, in the main tables only (default: the main "
                        "tables' servers, then the scaling and serving-mode figures): "
                        + ",".join(s.key for s in servers.all_specs()))
    p.add_argument("--methods", type=_csv, default=runner.METHODS, help="GetTask,CreateTask")
    p.add_argument("--concurrency", type=lambda v: tuple(int(c) for c in _csv(v)), default=runner.CONCURRENCY)
    p.add_argument("--seconds", type=float, default=None, help="target seconds per measured run")
    p.add_argument("--repetitions", type=int, default=None)
    p.add_argument("--no-micro", action="store_true", help="skip the translation micro-benchmarks")
    p.add_argument("--no-scaling", action="store_true", help="skip the --workers 2 scaling figure")
    p.add_argument("--no-modes", action="store_true", help="skip the aio / thread-pool serving figure")
    p.add_argument("--no-gateway", action="store_true", help="skip the gateway (--upstream flytekit) figure")
    p.add_argument("--no-endurance", action="store_true", help="skip the endurance (memory over 1M calls) figure")
    for name in WORK_FIGURES:
        p.add_argument(f"--no-{name}", action="store_true", help=f"skip the {name} figure")
    p.add_argument("--figure", choices=("endurance", "gateway", "rolling", *WORK_FIGURES), default=None,
                   help="run only this figure and merge it into the existing results JSON and markdown")
    p.add_argument("--endurance-calls", type=int, default=None,
                   help="calls after the warm-up per endurance combination (default 1,000,000; quick 1,000)")
    p.add_argument("--note", default=None,
                   help="with --figure: a remark printed with that figure (e.g. 'provisional: shared machine')")
    p.add_argument("--out-dir", type=Path, default=HERE, help="where RESULTS*.md and the JSON go")
    p.add_argument("--profile", action="store_true", help="profile the bridge with py-spy instead")
    p.add_argument("--render-only", type=Path, default=None, metavar="JSON",
                   help="only re-render the markdown from an existing results JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the results.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 when results were written (failed points are listed in them), 2 on bad arguments.
    """
    args = parse_args(argv)
    if args.render_only:
        results = json.loads(args.render_only.read_text())
        stem = "RESULTS-quick" if results["machine"]["mode"] == "quick" else "RESULTS"
        (args.render_only.parent / f"{stem}.md").write_text(report.render(results))
        args.out_dir, args.quick = args.render_only.parent, results["machine"]["mode"] == "quick"
        _plots(results, args)
        return 0
    if args.profile:
        from benchmarks import profile

        return profile.main(args.out_dir)
    mode = "quick" if args.quick else "full"
    if args.figure == "rolling":  # no h2load: its own replicas and clients (benchmarks.rolling)
        from benchmarks import rolling
        return rolling.main(["--quick"] if args.quick else [])
    if args.figure:
        return figure_only(args, mode)
    plan = main_plan(args)
    all_specs = {s.key: s for s in servers.all_specs()}
    if args.servers:
        unknown = set(args.servers) - set(all_specs)
        if unknown:
            print(f"unknown server(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        specs = [s for s in all_specs.values() if s.key in args.servers and s.section != "gateway"]
    else:
        specs = [s for s in all_specs.values() if s.section == "servers"]
    # The scaling figure: SO_REUSEPORT spreads whole connections over workers, so it uses 8
    # connections x 8 streams (64 in flight) for both the 1-worker and the 2-worker bridge.
    # --servers limits the whole run to those servers: no scaling or modes figure then.
    scaling_specs = [] if args.no_scaling or args.servers else [
        all_specs["bridge"], all_specs["bridge-2w"], all_specs["bridge-2w-pin"]]
    scaling_plan = runner.Plan(seconds=plan.seconds, repetitions=plan.repetitions, methods=plan.methods,
                               concurrency=(64,), connections=8)
    # The serving-architecture figure: aio and thread-pool bridges, on one core and free on two, at 64
    # streams on one connection (the pinned thread-pool point is the main table's "bridge").
    mode_specs = [] if args.no_modes or args.servers else [s for s in all_specs.values() if s.section == "modes"]
    mode_plan = runner.Plan(seconds=plan.seconds, repetitions=plan.repetitions, methods=plan.methods,
                            concurrency=(64,), connections=1)
    # The gateway figure: the bridge forwarding to pyflyte serve connector against that server directly
    # and against the empty relays (the floor), interleaved, at the main plan's concurrencies.
    # --servers gateway runs this figure alone; --figure gateway also merges it into the last results.
    wanted = not args.no_gateway and (not args.servers or "gateway" in args.servers)
    gateway_specs = _gateway_specs() if wanted else []
    started = time.monotonic()
    h2 = h2load.ensure_h2load() if specs or scaling_specs or mode_specs or gateway_specs else None
    results: dict[str, Any] = {"machine": machine_info(mode, h2), "plan": plan.__dict__,
                               "scaling_plan": scaling_plan.__dict__, "mode_plan": mode_plan.__dict__,
                               "servers": [], "scaling": [], "modes": [], "gateway": [], "notes": []}
    if (specs or scaling_specs or mode_specs or gateway_specs) and h2 is None:
        results["notes"].append("h2load (Debian package nghttp2-client) is missing and could not be installed: "
                                "all server points skipped.")
        specs, scaling_specs, mode_specs, gateway_specs = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        sections = (("servers", specs, plan), ("scaling", scaling_specs, scaling_plan), ("modes", mode_specs, mode_plan),
                    ("gateway", gateway_specs, gateway_plan(plan)))
        for section, section_specs, section_plan in sections:
            if not section_specs:
                continue
            print(f"== {section}: {', '.join(s.key for s in section_specs)}, interleaved, "
                  f"{section_plan.connections} connection(s)", flush=True)
            try:
                results[section] = runner.measure_servers(section_specs, h2 or "", section_plan, work, work / "logs")
            except Exception as exc:  # one broken figure must not throw away the others' numbers
                results[section] = [{"server": s.key, "label": s.label, "cpus": s.cpus, "points": [],
                                     "error": f"{type(exc).__name__}: {str(exc)[:800]}"} for s in section_specs]
        if not (args.no_endurance or args.servers) and h2:
            long_plan = endurance_plan(args)
            results["endurance_plan"] = long_plan.__dict__
            results["endurance"] = endurance.run(long_plan, h2, work, work / "logs")
        for figure in WORK_FIGURES:
            if args.servers or getattr(args, f"no_{result_key(figure)}") or not h2:
                continue
            results[f"{result_key(figure)}_machine"] = machine_info(mode, h2)
            try:
                results[result_key(figure)] = run_work_figure(figure, args.quick, h2, work, args.repetitions,
                                                              args.seconds)
            except Exception as exc:  # one broken figure must not throw away the others' numbers
                results[result_key(figure)] = {"error": f"{type(exc).__name__}: {str(exc)[:800]}"}
            results[f"{result_key(figure)}_machine"]["loadavg_end"] = _loadavg()
    results["machine"]["loadavg_end"] = _loadavg()
    if not args.no_micro:
        print("== translation micro-benchmarks", flush=True)
        from benchmarks import micro

        results["micro"] = micro.run(quick=args.quick)
    results["elapsed_s"] = time.monotonic() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = "RESULTS-quick" if args.quick else "RESULTS"
    json_path = args.out_dir / ("results-quick.json" if args.quick else "results.json")
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    (args.out_dir / f"{stem}.md").write_text(report.render(results))
    _plots(results, args)
    print(f"wrote {args.out_dir / (stem + '.md')} and {json_path} in {results['elapsed_s']:.0f} s", flush=True)
    return 0


def _plots(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The figures' plots next to the results (``plots/``, or ``plots-quick/`` for a smoke run)."""
    from benchmarks import plots

    written = plots.write_all(results, args.out_dir / ("plots-quick" if args.quick else "plots"))
    if written:
        print(f"wrote {len(written)} plots into {written[0].parent}", flush=True)


def endurance_plan(args: argparse.Namespace) -> endurance.EndurancePlan:
    """The endurance plan for these arguments: 1,000,000 calls in 10 batches (``--quick``: a smoke run)."""
    base = endurance.QUICK if args.quick else endurance.EndurancePlan()
    calls = args.endurance_calls or base.batch * base.batches
    return dataclasses.replace(base, batch=max(1, calls // base.batches), methods=args.methods)


def main_plan(args: argparse.Namespace) -> runner.Plan:
    """The main tables' plan for these arguments."""
    return runner.Plan(
        seconds=args.seconds or (0.5 if args.quick else 2.5),
        repetitions=args.repetitions or (1 if args.quick else 3),
        methods=args.methods, concurrency=args.concurrency,
    )


def gateway_plan(plan: runner.Plan) -> runner.Plan:
    """The gateway figure's plan: the main one, every request carrying a deadline."""
    return dataclasses.replace(plan, deadline_s=GATEWAY_DEADLINE_S)


def _gateway_specs() -> list[servers.ServerSpec]:
    return [s for s in servers.all_specs() if s.key == "flytekit" or s.section == "gateway"]


def figure_only(args: argparse.Namespace, mode: str) -> int:
    """``--figure endurance|gateway``: run that figure alone, merged into the results of the last full
    (or quick) run, with the machine's state during it (``<figure>_machine``)."""
    h2 = h2load.ensure_h2load()
    if h2 is None:
        print("h2load (Debian package nghttp2-client) is missing and could not be installed", file=sys.stderr)
        return 1
    stem = "RESULTS-quick" if args.quick else "RESULTS"
    json_path = args.out_dir / ("results-quick.json" if args.quick else "results.json")
    results = json.loads(json_path.read_text()) if json_path.exists() else {
        "machine": machine_info(mode, h2), "plan": {"methods": [], "concurrency": [], "repetitions": 0, "seconds": 0},
        "servers": [], "scaling": [], "modes": [], "notes": []}
    figure = args.figure
    started = time.monotonic()
    results[f"{figure}_machine"] = machine_info(mode, h2)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    def write(records: list[dict[str, Any]]) -> None:  # after every row: an interrupted run keeps its rows
        results[figure] = records
        results[f"{figure}_machine"].update(elapsed_s=time.monotonic() - started, loadavg_end=_loadavg())
        json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
        (args.out_dir / f"{stem}.md").write_text(report.render(results))

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        if figure in WORK_FIGURES:
            try:
                results[result_key(figure)] = run_work_figure(figure, args.quick, h2, work, args.repetitions,
                                                              args.seconds)
            except Exception as exc:  # recorded, so the report says why the figure is missing
                results[result_key(figure)] = {"error": f"{type(exc).__name__}: {str(exc)[:800]}"}
            results[f"{result_key(figure)}_machine"] = results.pop(f"{figure}_machine")
            results[f"{result_key(figure)}_machine"].update(elapsed_s=time.monotonic() - started,
                                                              loadavg_end=_loadavg(), note=args.note)
            json_path.write_text(json.dumps(results, indent=1, default=str) + "\n")
            (args.out_dir / f"{stem}.md").write_text(report.render(results))
        elif figure == "endurance":
            plan = endurance_plan(args)
            results["endurance_plan"] = plan.__dict__
            endurance.run(plan, h2, work, work / "logs", on_record=write)
        else:  # the gateway table is laid out by the merged results' own methods and concurrencies
            merged = results.get("plan") or {}
            plan = main_plan(args)
            plan = dataclasses.replace(plan, methods=tuple(merged.get("methods") or plan.methods),
                                       concurrency=tuple(merged.get("concurrency") or plan.concurrency))
            if not merged.get("methods"):  # nothing to merge into: the table follows this run's plan
                results["plan"] = plan.__dict__
            write(runner.measure_servers(_gateway_specs(), h2, gateway_plan(plan), work, work / "logs"))
    _plots(results, args)
    print(f"wrote {args.out_dir / (stem + '.md')} and {json_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
