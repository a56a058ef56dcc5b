"""Rendering the raw results (JSON) as ``RESULTS.md``: machine, ratios, absolute numbers, notes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

# Targets from issue 8, checked against the ratios of the same run.
TARGET_GET_VS_SDK = 1.6
TARGET_CREATE_VS_FLYTEKIT = 2.0
TARGET_CREATE_VS_FLYTE_SDK = 15.0
TARGET_P99_VS_FLOOR = 1.2
STARVED_UTIL = 0.9
# Targets from issue 15 (the gateway figure).
TARGET_GATEWAY_P50_ADDED_MS = 0.3
TARGET_GATEWAY_THROUGHPUT = 0.9


def _fmt(x: float | None, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def _index(results: dict[str, Any]) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """(server, generation, method, concurrency) -> medians, for verified points only."""
    out = {}
    for srv in results["servers"]:
        for p in srv.get("points", []):
            if p.get("status") == "ok":
                out[(p["server"], p["generation"], p["method"], p["concurrency"])] = p["median"]
    return out


def _any_gen(idx: dict, server: str, method: str, conc: int) -> dict[str, Any] | None:
    for gen in ("v2", "v1"):
        if (server, gen, method, conc) in idx:
            return idx[(server, gen, method, conc)]
    return None


def _machine(m: dict[str, Any]) -> list[str]:
    return [
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']} ({m['cores']} cores online)",
        f"- Python {m['python']}, grpcio {m['grpcio']}, protobuf {m['protobuf']} ({m['protobuf_impl']}), "
        f"h2load {m.get('h2load', '-')}",
        f"- flytekit {m.get('flytekit', '-')}, flyte-sdk {m.get('flyte', '-')}, flyteidl {m.get('flyteidl', '-')}, "
        f"flyteidl2 {m.get('flyteidl2', '-')}",
        f"- date: {m['date']}; mode: {m['mode']}; git: {m.get('git', '-')}",
        f"- load average (1/5/15 min) at start: {m.get('loadavg_start', '-')}, at end: {m.get('loadavg_end', '-')} "
        "(the harness does not own the machine; anything above ~0.1 at start means other work ran alongside)",
        "",
    ]


# The servers the bridge is compared with, as (key, column header), in table order.
OTHERS = (
    ("empty-aio", "empty aio"),
    ("empty-threadpool", "empty thread pool"),
    ("empty-loopthread", "empty pool + hand-off"),
    ("empty-sharedloop", "empty pool + shared loop"),
    ("flytekit", "flytekit"),
    ("flyte-sdk", "flyte-sdk"),
)


def _bridge_points(plan: dict[str, Any], idx: dict) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(method, concurrency, generation, median) of every measured bridge point, in table order."""
    for method in plan["methods"]:
        for conc in plan["concurrency"]:
            for gen in ("v1", "v2"):
                b = idx.get(("bridge", gen, method, conc))
                if b is not None:
                    yield method, conc, gen, b


def _ratio_table(results: dict[str, Any], idx: dict) -> list[str]:
    plan = results["plan"]
    lines = [
        "## Bridge throughput as a ratio (req/s of the bridge / req/s of the other server, same run)",
        "",
        "Above 1 means the bridge is faster. `p99 / floor` is the bridge's p99 over the empty grpc.aio servicer's.",
        "",
        "| method | conc | bridge API | " + " | ".join(f"vs {h}" for _, h in OTHERS) + " | p99 / floor |",
        "|---|---|---|" + "---|" * (len(OTHERS) + 1),
    ]
    for method, conc, gen, b in _bridge_points(plan, idx):
        cells = []
        for other, _ in OTHERS:
            o = _any_gen(idx, other, method, conc)
            cells.append(_fmt(_ratio(b["rps"], o["rps"] if o else None), 2))
        floor = _any_gen(idx, "empty-aio", method, conc)
        cells.append(_fmt(_ratio(b["p99_ms"], floor["p99_ms"] if floor else None), 2))
        lines.append(f"| {method} | {conc} | {gen} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _cpu_table(results: dict[str, Any], idx: dict) -> list[str]:
    """CPU per request: less sensitive than req/s to other work stealing the server's core."""
    plan = results["plan"]
    lines = [
        "## Server CPU per request: other server / bridge (same run)",
        "",
        "CPU time the server's processes spent per request (utime+stime from /proc). It does not count time "
        "the server waited for a core, so it is the steadier figure when the machine is shared. Above 1 means "
        "the other server spends more CPU per request than the bridge; the empty servicers are the floor "
        "(below 1).",
        "",
        "| method | conc | bridge API | bridge us/req | " + " | ".join(h for _, h in OTHERS) + " |",
        "|---|---|---|---|" + "---|" * len(OTHERS),
    ]
    for method, conc, gen, b in _bridge_points(plan, idx):
        cells = []
        for other, _ in OTHERS:
            o = _any_gen(idx, other, method, conc)
            cells.append(_fmt(_ratio(o["cpu_us_per_req"] if o else None, b["cpu_us_per_req"]), 2))
        lines.append(f"| {method} | {conc} | {gen} | {_fmt(b['cpu_us_per_req'])} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


EMPTY = ("empty-aio", "empty-threadpool")
"""The empty servicers: what a Python gRPC server answers when it does nothing."""


def _ceiling(idx: dict, method: str, conc: int, other: dict[str, Any] | None) -> float | None:
    """The best req/s of an empty servicer over ``other``'s: no Python server beats that ratio here."""
    best = max((p["rps"] for p in (_any_gen(idx, e, method, conc) for e in EMPTY) if p), default=None)
    return _ratio(best, other["rps"]) if other else None


def _starved(point: dict[str, Any] | None, conc: int) -> bool:
    """A one-core server that used under 90% of its core at 16+ streams was not the bottleneck."""
    return point is not None and conc >= 16 and point["cpu_util"] < STARVED_UTIL


def _verdict(
    value: float | None, target: float, reach: float | None, higher_is_better: bool = True, starved: bool = False
) -> str:
    if value is None:
        return "not measured"
    if starved:
        return "not valid (a server was not the bottleneck: `*` below)"
    if (value >= target) if higher_is_better else (value <= target):
        return "met"
    if reach is not None and ((reach < target) if higher_is_better else (reach > target)):
        return "**missed** (beyond what the empty server reaches)"
    return "**missed**"


def _targets(results: dict[str, Any], idx: dict) -> list[str]:
    """Issue 8's targets, each as met / missed / not measured, beside what an empty server reaches.

    For a throughput target the reference is the best empty servicer's req/s over the other server's;
    for the p99 target it is the bridge's own architecture with nothing in it (empty pool + shared loop)
    over the empty grpc.aio servicer. A target beyond its reference cannot be met by this server design.
    """
    plan = results["plan"]
    checks: list[tuple[str, float | None, float, float | None, bool]] = []
    for conc in plan["concurrency"]:
        for gen in ("v1", "v2"):
            for method, targets in (
                ("GetTask", (("flytekit", TARGET_GET_VS_SDK), ("flyte-sdk", TARGET_GET_VS_SDK))),
                ("CreateTask", (("flytekit", TARGET_CREATE_VS_FLYTEKIT), ("flyte-sdk", TARGET_CREATE_VS_FLYTE_SDK))),
            ):
                b = idx.get(("bridge", gen, method, conc))
                for sdk, target in targets:
                    o = _any_gen(idx, sdk, method, conc)
                    checks.append((f"{method} c={conc} bridge {gen} vs {sdk} >= {target}x",
                                   _ratio(b["rps"], o["rps"]) if b and o else None, target, _ceiling(idx, method, conc, o),
                                   _starved(b, conc) or _starved(o, conc)))
    lines = [
        "## Targets (issue 8)", "",
        "*empty server reaches*: for a throughput target, the best empty servicer's req/s over the other "
        "server's (no Python server can lead by more here); for the p99 target, the bridge's architecture with "
        "nothing in it (`empty pool + shared loop`) over the empty grpc.aio servicer.", "",
        "| target | measured | empty server reaches | |", "|---|---|---|---|",
    ]
    for name, value, target, reach, starved in checks:
        lines.append(f"| {name} | {_fmt(value, 2)} | {_fmt(reach, 2)} | {_verdict(value, target, reach, starved=starved)} |")
    for gen in ("v1", "v2"):
        for method in plan["methods"]:
            b, f = idx.get(("bridge", gen, method, 64)), _any_gen(idx, "empty-aio", method, 64)
            r = _ratio(b["p99_ms"], f["p99_ms"]) if b and f else None
            shared = _any_gen(idx, "empty-sharedloop", method, 64)
            reach = _ratio(shared["p99_ms"], f["p99_ms"]) if shared and f else None
            starved = _starved(b, 64) or _starved(f, 64)
            lines.append(f"| {method} c=64 bridge {gen} p99 <= {TARGET_P99_VS_FLOOR}x floor | {_fmt(r, 2)} | "
                         f"{_fmt(reach, 2)} | {_verdict(r, TARGET_P99_VS_FLOOR, reach, False, starved)} |")
    mem = {s["server"]: s.get("idle_rss_mib") for s in results["servers"]}
    if mem.get("bridge") and mem.get("flytekit") and mem.get("flyte-sdk"):
        ok = mem["bridge"] < min(mem["flytekit"], mem["flyte-sdk"])
        lines.append(f"| idle RSS below both SDKs | {_fmt(mem['bridge'], 1)} MiB | - | {'met' if ok else '**missed**'} |")
    lines.append("")
    return lines


def _absolute(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Absolute numbers (medians of the repetitions)",
        "",
        "Server CPU is utime+stime of the server's process tree over the run (1.00 = one core busy). "
        "A `*` marks a point where the server used under 90% of its core at 16+ streams: it was not the "
        "bottleneck (the load generator's core or other work on the machine was), so its req/s understates it.",
        "",
        "| server | API | method | conc | req/s | p50 ms | p99 ms | server CPU | CPU us/req |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for srv in results["servers"]:
        for p in srv.get("points", []):
            if p.get("status") != "ok":
                continue
            m = p["median"]
            starved = "*" if srv.get("workers", 1) == 1 and _starved(m, p["concurrency"]) else ""
            lines.append(
                f"| {srv['label']} | {p['generation']} | {p['method']} | {p['concurrency']} | {_fmt(m['rps'])}{starved} | "
                f"{_fmt(m['p50_ms'], 2)} | {_fmt(m['p99_ms'], 2)} | {_fmt(m['cpu_util'], 2)} | "
                f"{_fmt(m['cpu_us_per_req'])} |"
            )
    lines += ["", "## Servers", "", "| server | cores (taskset) | start-up s | idle RSS MiB | peak RSS MiB |",
              "|---|---|---|---|---|"]
    for srv in results["servers"]:
        lines.append(f"| {srv['label']} | {srv['cpus']} | {_fmt(srv.get('startup_s'), 1)} | "
                     f"{_fmt(srv.get('idle_rss_mib'), 1)} | {_fmt(srv.get('peak_rss_mib'), 1)} |")
    lines.append("")
    return lines


def _scaling(results: dict[str, Any]) -> list[str]:
    if not results.get("scaling"):
        return []
    idx = _index({"servers": results["scaling"]})
    plan = results["scaling_plan"]
    lines = ["## Scaling: `--workers 2` (both cores) against one worker (one core)", "",
             f"{plan['connections']} HTTP/2 connections, 64 streams in flight in all (SO_REUSEPORT spreads whole "
             "connections, never streams, over the workers). The 1-worker bridge is pinned to core 1 and h2load "
             "to core 0; the 2-worker bridges get cores 0 and 1, so **h2load shares core 0 with them** and the "
             "figure understates what two dedicated cores give. Unpinned workers run `grpc.aio` (`auto`); with "
             "`--pin-workers` each is confined to one core and runs the thread-pool server.", "",
             "| method | API | 1 worker req/s | 2 workers req/s | ratio | 2 pinned workers req/s | ratio | "
             "p99 ms: 1 / 2 / 2 pinned |",
             "|---|---|---|---|---|---|---|---|"]
    for method in plan["methods"]:
        for gen in ("v1", "v2"):
            one, two, pin = (idx.get((key, gen, method, 64)) for key in ("bridge", "bridge-2w", "bridge-2w-pin"))
            if one or two or pin:
                p99 = " / ".join(_fmt(p and p["p99_ms"], 1) for p in (one, two, pin))
                lines.append(f"| {method} | {gen} | {_fmt(one and one['rps'])} | {_fmt(two and two['rps'])} | "
                             f"{_fmt(_ratio(two and two['rps'], one and one['rps']), 2)} | "
                             f"{_fmt(pin and pin['rps'])} | {_fmt(_ratio(pin and pin['rps'], one and one['rps']), 2)} | "
                             f"{p99} |")
    lines.append("")
    return lines


def _modes(results: dict[str, Any]) -> list[str]:
    """The serving-architecture figure: why --server-mode auto picks what it picks."""
    if not results.get("modes"):
        return []
    idx = _index({"servers": results["servers"] + results["modes"]})
    cols = (("bridge", "threads, one core (auto)"), ("bridge-aio", "aio, one core"),
            ("bridge-aio-2c", "aio, free on 2 cores (auto)"), ("bridge-threads-2c", "threads, free on 2 cores"))
    lines = ["## Serving architecture: `--server-mode` on one core and free on two", "",
             "req/s at 64 streams on one connection (CPU us/request in brackets). *one core*: the server is "
             "pinned to core 1 and h2load to core 0; *free on 2 cores*: the server may run on both and shares core "
             "0 with h2load. `auto` takes the thread pool only when the process may run on one CPU: free on "
             "several cores, its threads hand the GIL to each other across cores and it loses to `grpc.aio`.", "",
             "| method | API | " + " | ".join(h for _, h in cols) + " |", "|---|---|" + "---|" * len(cols)]
    for method in results["mode_plan"]["methods"]:
        for gen in ("v1", "v2"):
            cells = []
            for key, _ in cols:
                p = idx.get((key, gen, method, 64))
                cells.append("-" if p is None else f"{_fmt(p['rps'])} ({_fmt(p['cpu_us_per_req'])})")
            lines.append(f"| {method} | {gen} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


RELAYS = ("relay-threadpool", "relay-aio")


def _floor_relay(idx: dict, method: str, conc: int) -> dict[str, Any] | None:
    """The faster empty relay's point here (the floor of a Python gRPC gateway), or None."""
    found = [p for p in (idx.get((k, "v1", method, conc)) for k in RELAYS) if p and p.get("rps")]
    return max(found, key=lambda p: p["rps"]) if found else None


def _gateway(results: dict[str, Any]) -> list[str]:
    """The gateway figure: the bridge forwarding to pyflyte serve connector, against that server directly
    and against the empty relays (the floor: one Python gRPC server call plus one client call)."""
    if not results.get("gateway"):
        return []
    idx = _index({"servers": results["gateway"]})
    when = results.get("gateway_machine", {})
    lines = ["## Gateway: the bridge in front of `pyflyte serve connector` (issue 15)", "",
             "The flytekit server is pinned to core 1 and measured directly (v1, its only API), through the "
             "bridge (`--upstream v1://...`), and through the two **empty relays** of `benchmarks/empty_server.py "
             "--upstream` (a `grpc.aio` server awaiting a `grpc.aio` channel; a thread-pool server making a "
             "blocking call), which forward each call's bytes unchanged and do nothing else: no Python gRPC "
             "gateway can do less. Every request carries a 10 s deadline (`grpc-timeout`), as FlytePropeller's and the Flyte 2 executor's do. All interleaved; the bridge and the relays are pinned to core 0, **which "
             "they share with h2load**. Through the bridge, a v2 call is translated to v1 on the way up and back "
             "(a Flyte 2 executor reaching a Flyte 1 agent); the v2 points run after the v1 ones, so their ratio "
             "compares runs of different minutes.", "",
             f"Targets: at most {TARGET_GATEWAY_P50_ADDED_MS} ms added to p50 at 1 stream, at least "
             f"{TARGET_GATEWAY_THROUGHPUT}x the upstream's own req/s at 16 streams. *floor*: what the faster "
             "empty relay reaches at that point; a target beyond it cannot be met by a gateway written in Python."
             + (f" Run on its own (`--figure gateway`) on {when.get('date', '-')}, git {when.get('git', '-')}, "
                f"load average {when.get('loadavg_start', '-')}." if when else ""),
             "",
             "| method | conc | direct req/s | p50 ms | floor relay req/s | p50 ms | via bridge v1 req/s | p50 ms | "
             "ratio | vs floor | via bridge v2 req/s | p50 ms | ratio | target |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for method in results["plan"]["methods"]:
        for conc in results["plan"]["concurrency"]:
            direct = idx.get(("flytekit", "v1", method, conc))
            floor = _floor_relay(idx, method, conc)
            v1, v2 = (idx.get(("gateway", gen, method, conc)) for gen in ("v1", "v2"))
            d_rps = direct and direct["rps"]
            cells = [_fmt(d_rps), _fmt(direct and direct["p50_ms"], 2),
                     _fmt(floor and floor["rps"]), _fmt(floor and floor["p50_ms"], 2),
                     _fmt(v1 and v1["rps"]), _fmt(v1 and v1["p50_ms"], 2), _fmt(_ratio(v1 and v1["rps"], d_rps), 2),
                     _fmt(_ratio(v1 and v1["rps"], floor and floor["rps"]), 2),
                     _fmt(v2 and v2["rps"]), _fmt(v2 and v2["p50_ms"], 2), _fmt(_ratio(v2 and v2["rps"], d_rps), 2)]
            verdict = "-"
            if conc == 1 and direct and v1:
                added = v1["p50_ms"] - direct["p50_ms"]
                floor_added = floor["p50_ms"] - direct["p50_ms"] if floor else None
                verdict = f"+{_fmt(added, 2)} ms p50: " + _verdict(added, TARGET_GATEWAY_P50_ADDED_MS, floor_added, False)
                if floor_added is not None:
                    verdict += f" (floor +{_fmt(floor_added, 2)} ms)"
            elif conc == 16 and direct and v1:
                reach = _ratio(floor and floor["rps"], d_rps)
                verdict = _verdict(_ratio(v1["rps"], d_rps), TARGET_GATEWAY_THROUGHPUT, reach)
                if reach is not None:
                    verdict += f" (floor {_fmt(reach, 2)}x)"
            lines.append(f"| {method} | {conc} | " + " | ".join(cells) + f" | {verdict} |")
    lines.append("")
    return lines


def _engine(first: dict[str, Any], last: dict[str, Any]) -> str:
    if "engine_threads" not in first:
        return ""
    return f" (+ gRPC engine {first['engine_threads']} -> {last['engine_threads']})"


def _endurance(results: dict[str, Any]) -> list[str]:
    """The endurance figure: RSS, threads and asyncio tasks after the warm-up and after every batch."""
    records = results.get("endurance")
    if not records:
        return []
    from benchmarks.endurance import TARGET_BYTES_PER_CALL

    plan = results.get("endurance_plan", {})
    when = results.get("endurance_machine", {})
    calls = plan.get("batch", 0) * plan.get("batches", 0)
    lines = [f"## Endurance: memory over {_fmt(calls)} calls per row", "",
             f"A fresh bridge per row, pinned to core 1, h2load on core 0, {plan.get('concurrency', '-')} streams on "
             f"one connection per batch (a new connection each): {_fmt(plan.get('warmup'))} calls of warm-up, then "
             f"{plan.get('batches', '-')} verified batches of {_fmt(plan.get('batch'))} calls, sampled one second "
             "after each. *growth*: least-squares "
             f"slope of RSS over the calls after the warm-up (end to end in brackets); target at most "
             f"{TARGET_BYTES_PER_CALL:g} bytes per call, and no growth of threads or asyncio tasks (gRPC core's "
             "event-engine workers, which gRPC adds and retires with the load, counted apart)."
             + (f" Run on its own (`--figure endurance`) on {when.get('date', '-')}, git {when.get('git', '-')}, "
                f"load average {when.get('loadavg_start', '-')}." if when else ""), "",
             "| mode | API | method | calls | RSS after warm-up MiB | RSS at end MiB | growth B/call | threads | "
             "asyncio tasks | req/s | RSS after each batch MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        samples = r.get("samples", [])
        if r.get("status") != "ok" or len(samples) < 2:
            lines.append(f"| {r['mode']} | {r['generation']} | {r['method']} | - | - | - | failed: "
                         f"{r.get('note', 'no samples')[:200]} | | | | |")
            continue
        first, last = samples[0], samples[-1]
        grown = r["slope_bytes_per_call"]
        verdict = "" if grown <= TARGET_BYTES_PER_CALL else " (**over target**)"
        rps = [s["rps"] for s in samples[1:] if "rps" in s]
        lines.append(
            f"| {r['mode']} | {r['generation']} | {r['method']} | {_fmt(last['calls'])} | {first['rss_kib'] / 1024:.1f} | "
            f"{last['rss_kib'] / 1024:.1f} | {grown:.2f} ({r['end_bytes_per_call']:.2f}){verdict} | "
            f"{first['threads']} -> {last['threads']}{_engine(first, last)} | {_fmt(first['tasks'])} -> "
            f"{_fmt(last['tasks'])} | "
            f"{_fmt(sum(rps) / len(rps) if rps else None)} | "
            + ", ".join(f"{s['rss_kib'] / 1024:.1f}" for s in samples[1:]) + " |")
    lines.append("")
    return lines


def _micro(micro: dict[str, Any] | None) -> list[str]:
    if not micro:
        return ["## Translation micro-benchmarks", "", "Not run.", ""]
    t = micro["targets"]
    targets = {"wire": t["wire"], "msg": t["msg"]}
    lines = ["## Translation micro-benchmarks (translators vs one protobuf parse of the same bytes)", "",
             f"Targets: bytes -> other generation within {t['wire']}x one parse of the source bytes; message -> "
             f"message within {t['msg']}x. Per call, {micro.get('timer', 'timeit, minimum over repeats')}. Paths: "
             "*library default* (marked for a lossless round trip, ordered); *server*, what `legacy/_servicer.py` "
             "passes (`mark=False`; requests stay ordered); `mark=False, ordered=False` (re-parse and fix-ups "
             "alone). *floor*: the same bytes parsed into the target class plus only what no translation of that "
             "message can skip, done the cheapest way known (listed below the table); a target under its floor "
             "cannot be met by Python code on upb.", "",
             "| message | direction | bytes | parse us | path | bytes->msg us | ratio | floor | "
             "msg->msg us | ratio | floor |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def verdict(ratio: float | None, floor: float | None, target: float) -> str:
        if ratio is None:
            return ""
        if ratio <= target:
            return " (met)"
        if floor is not None and floor > target:
            return " (missed: floor above target)"
        return " (**missed**)"

    notes = []
    for r in micro["rows"]:
        paths = r.get("paths") or [{"label": "library default", **{k: r.get(k) for k in
                                                                    ("wire_us", "wire_ratio", "msg_us", "msg_ratio")}}]
        for p in paths:
            cells = []
            for kind in ("wire", "msg"):
                ratio, floor = p.get(f"{kind}_ratio"), p.get(f"floor_{kind}_ratio")
                cells.append(f"{_fmt(p.get(f'{kind}_us'), 2)} | {_fmt(ratio, 2)}{verdict(ratio, floor, targets[kind])} | "
                             f"{_fmt(floor, 2)}")
            lines.append(f"| {r['message']} | {r['direction']} | {r['bytes']} | {_fmt(r['parse_us'], 2)} | "
                         f"{p.get('label', p.get('path', ''))} | {cells[0]} | {cells[1]} |")
        if r.get("floor_note"):
            steps = r.get("steps")
            measured = "" if not steps else (
                f" Measured: target-class parse {_fmt(steps['target_parse_us'], 2)} us, fix-up "
                f"{_fmt(steps['fixup_us'], 2)} us, check {_fmt(steps['check_us'], 2)} us; the {t['wire']}x target "
                f"leaves {_fmt(steps['wire_budget_us'], 2)} us beyond the target-class parse.")
            notes.append(f"- {r['message']} {r['direction']}: the parse into the target class; {r['floor_note']}; "
                         f"msg -> msg adds `SerializeToString`.{measured}")
    if notes:
        lines += ["", "Floors:", "", *notes]
    if micro["missing"]:
        lines.append(f"\nTranslator functions not found: {', '.join(sorted(set(micro['missing'])))}.")
    lines.append("")
    return lines


def _notes(results: dict[str, Any]) -> list[str]:
    notes = list(results.get("notes", []))
    for srv in results["servers"] + results.get("scaling", []) + results.get("gateway", []):
        if srv.get("error"):
            notes.append(f"{srv['label']}: did not start: `{srv['error'][-300:].strip()}`")
        for p in srv.get("points", []):
            if p.get("status") != "ok":
                notes.append(f"{srv['label']} {p['generation']} {p['method']} c={p['concurrency']}: "
                             f"{p.get('note', '')[:300]}")
    if not notes:
        return []
    return ["## Skipped or failed points", "", *[f"- {n}" for n in notes], ""]


def render(results: dict[str, Any]) -> str:
    """The whole RESULTS.md text for one run.

    Args:
        results: the raw results as written to the JSON file.

    Returns:
        Markdown.
    """
    from benchmarks import report_work  # it imports this module's helpers

    idx = _index(results)
    plan = results["plan"]
    head = [
        "# Benchmarks" + (" (quick smoke run: not representative)" if results["machine"]["mode"] == "quick" else ""),
        "",
        "Regenerated by `make bench` (`python -m benchmarks`); raw numbers in the JSON file next to this one.",
        f"Each server is pinned to core 1 (`taskset -c 1`) and `h2load` to core 0; every point is one HTTP/2 "
        f"connection with 1, 16 or 64 streams in flight, {plan['repetitions']} verified repetitions of about "
        f"{plan['seconds']} s, medians reported. A point counts only if the server's own "
        "`flyte_connector_requests_success_total` grew by exactly the number of requests sent. All servers serve "
        "the same trivial connector (task type `bench`; CreateTask reads and checks all ten native inputs; GetTask "
        "answers SUCCEEDED with two outputs). v1 requests are built with flytekit's TypeEngine, v2 with "
        "flyte-sdk's. The empty servicers answer constant bytes without parsing (measured with v2 requests); "
        "`empty pool + shared loop` is the bridge's own architecture with nothing in it (a thread-pool "
        "`grpc.server` whose handlers run a coroutine on one `SharedLoop`, starting it in the handler's thread "
        "while the loop is idle); `empty pool + hand-off` is the same with every coroutine handed to the loop's "
        "thread (`run_coroutine_threadsafe`), what the bridge did before. "
        "flytekit hands its connector a LiteralMap, so the flytekit bench connector converts it with flytekit's "
        "TypeEngine from the template's interface (what flytekit's own connectors do through "
        "`literal_map_to_kwargs(literal_types=...)`); most of its CreateTask cost is that type guessing.",
        "",
    ]
    return "\n".join(head + _machine(results["machine"]) + _ratio_table(results, idx) + _cpu_table(results, idx)
                     + _targets(results, idx)
                     + _absolute(results) + _scaling(results) + _modes(results) + _gateway(results)
                     + _endurance(results) + report_work.sections(results) + _micro(results.get("micro"))
                     + _notes(results)) + "\n"
