"""Translation micro-benchmarks: the cost of ``translators`` against one protobuf parse.

For a realistic ``CreateTaskRequest`` (a ~2 KB task template with a container and ten typed inputs,
a ten-literal input map) and a ``GetTaskResponse`` (SUCCEEDED, two outputs), in both directions:

* ``parse``: one ``FromString`` of the source bytes into the source generation's class (the unit);
* ``bytes -> msg``: ``<message>_to_vN_from_wire(bytes)``; target: within 1.2x one parse;
* ``msg -> msg``: ``<message>_to_vN(message)``; target: within 2.5x one parse.

Each is timed on the paths callers take:

* ``default``: the library default (marked, ordered): a lossless round trip;
* ``server``: what ``legacy/_servicer.py`` passes, ``mark=False`` (its ``wire()`` for requests, its
  ``V1Renderers`` for responses); ``ordered`` keeps its default, so requests are still ordered;
* ``unordered`` (v1 -> v2 only): ``mark=False, ordered=False``, the re-parse and fix-ups alone.

And each path has a *floor*: the same bytes parsed into the target class plus only the steps no
translation of that message can skip, each done the cheapest way known (one attribute read to see
that ``phase`` is set, one read and write to set ``state``, the shadow-parse tests for order and
duplicate names, reading two output names to know they are sorted), plus ``SerializeToString`` for
``msg -> msg``. A target below its floor cannot be met by Python on upb; the report says so.

Times are minima over interleaved repeats of the calling thread's CPU time (``time.thread_time``),
so time the thread spends descheduled on a shared machine does not count; per call.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

from benchmarks import payloads

TARGET_WIRE = 1.2
TARGET_MSG = 2.5

#: (key, label, keyword arguments to_v2, keyword arguments to_v1 or None when not measured that way)
PATHS: tuple[tuple[str, str, dict[str, Any], dict[str, Any] | None], ...] = (
    ("default", "library default (marked, ordered)", {}, {}),
    ("server", "server (`mark=False`)", {"mark": False}, {"mark": False}),
    ("unordered", "`mark=False, ordered=False`", {"mark": False, "ordered": False}, None),
)


class _Timer:
    """Interleaved timing: every case is calibrated, then timed once per round, round after round,
    so slow phases of a shared machine hit all cases alike; the minimum per call is kept."""

    def __init__(self, repeats: int, budget_s: float) -> None:
        self.repeats = repeats
        self.budget_s = budget_s
        self.cases: dict[str, tuple[timeit.Timer, int]] = {}

    def add(self, key: str, fn: Callable[[], Any]) -> None:
        fn()  # fail loudly here, not inside timeit, if the callable rejects its input
        timer = timeit.Timer(fn, timer=time.thread_time)
        number, elapsed = timer.autorange()
        self.cases[key] = (timer, max(1, int(number * self.budget_s / max(elapsed, 1e-9))))

    def run(self) -> dict[str, float]:
        """Seconds per call for each case."""
        best = {key: float("inf") for key in self.cases}
        for _ in range(self.repeats):
            for key, (timer, number) in self.cases.items():
                best[key] = min(best[key], timer.timeit(number) / number)
        return best


def _best(fn: Callable[[], Any], repeats: int, budget_s: float) -> float:
    """Minimum seconds per call over ``repeats`` timing runs of about ``budget_s`` each."""
    t = _Timer(repeats, budget_s)
    t.add("x", fn)
    return t.run()["x"]


def _cases() -> list[tuple[str, str, Any, Any]]:
    """(message name, function stem, v1 message, v2 message) for each measured message."""
    return [
        ("CreateTaskRequest", "create_task_request", payloads.create_task_request_v1(),
         payloads.create_task_request_v2()),
        ("GetTaskResponse", "get_task_response", payloads.get_task_response_v1(), payloads.get_task_response_v2()),
    ]


def _floors(name: str, dst: str, msg: Any, data: bytes) -> tuple[dict[str, Callable[[], Any]], str]:
    """The floor callables of one row, by path kind ("checked": default and server; "bare":
    unordered), each ``wire`` and ``msg``; and what they consist of."""
    import translators
    from translators import tasks
    from translators._fixups import STATE_OF_PHASE

    pair = translators.pair_of(msg)
    target = pair.v2_cls if dst == "v2" else pair.v1_cls
    parse = target.FromString
    if name == "CreateTaskRequest" and dst == "v2":
        same_names = tasks._INPUTS_AS_DECLARED
        fix = None
        check = (lambda out, d, m: same_names(d)) if same_names is not None else None
        what = ("no fix-up; ordering (default and server paths): one shadow parse keeping only the 20 input "
                "and declared names, the two lists compared by upb")
    elif name == "CreateTaskRequest":
        lists = pair.map_lists
        fix = None
        check = lambda out, d, m: lists.same_counts(m, out) if m is not None else lists.same_counts_wire(d, out)  # noqa: E731
        what = ("no fix-up; duplicate names: the lengths of the 3 v2 lists (from bytes: one shadow parse) and "
                "of the 3 v1 maps they became")
    elif dst == "v2":
        fix = lambda out: out.resource.phase  # noqa: E731  (phase set: nothing to derive)
        check = lambda out, d, m: [e.name for e in out.resource.outputs.literals]  # noqa: E731
        what = ("one attribute read (`resource.phase` is set: nothing to derive); ordering (default and server "
                "paths): reading the 2 output names")
    else:
        states = dict(STATE_OF_PHASE)
        lists = pair.map_lists

        def fix(out: Any) -> None:
            res = out.resource
            res.state = states[res.phase]

        check = lambda out, d, m: lists.same_counts(m, out) if m is not None else lists.same_counts_wire(d, out)  # noqa: E731
        what = ("one attribute read and write (`resource.state` from `phase`); duplicate names: the output "
                "list's length (from bytes: one shadow parse) and the v1 map's")

    def make(with_check: bool, from_msg: bool) -> Callable[[], Any]:
        def floor(arg: Any) -> Any:  # called like a translator: one call, one argument
            d = arg.SerializeToString() if from_msg else arg
            out = parse(d)
            if fix is not None:
                fix(out)
            if with_check and check is not None:
                check(out, d, arg if from_msg else None)
            return out

        arg = msg if from_msg else data
        return lambda: floor(arg)

    fns = {"target_parse": lambda: parse(data), "checked_wire": make(True, False), "checked_msg": make(True, True),
           "bare_wire": make(False, False), "bare_msg": make(False, True)}
    return fns, what


def run(quick: bool = False) -> dict[str, Any]:
    """Time every case; missing translator functions are reported, not fatal.

    Args:
        quick: fewer, shorter repeats (smoke runs).

    Returns:
        ``{"rows": [...], "missing": [...], "targets": {...}, "paths": {...}}`` with times in
        microseconds. Each row keeps the library default's ``wire_us``/``msg_us`` (and ratios) at the
        top level and every path, with its floors, under ``paths``.
    """
    import translators

    repeats, budget = (3, 0.02) if quick else (40, 0.02)
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for name, stem, m1, m2 in _cases():
        for src, dst, msg in (("v1", "v2", m1), ("v2", "v1", m2)):
            data = msg.SerializeToString()
            src_cls = type(msg)
            timer = _Timer(repeats, budget)
            timer.add("parse", lambda src_cls=src_cls, data=data: src_cls.FromString(data))
            fns = {kind: getattr(translators, f"{stem}_to_{dst}{suffix}", None)
                   for kind, suffix in (("wire", "_from_wire"), ("msg", ""))}
            missing += [f"{stem}_to_{dst}{'_from_wire' if k == 'wire' else ''}" for k, f in fns.items() if f is None]
            measured = []
            for key, label, kw2, kw1 in PATHS:
                kwargs = kw2 if dst == "v2" else kw1
                if kwargs is None:
                    continue
                measured.append((key, label, kwargs))
                for kind, arg in (("wire", data), ("msg", msg)):
                    if fns[kind] is not None:
                        timer.add(f"{key}_{kind}", lambda fn=fns[kind], arg=arg, kw=kwargs: fn(arg, **kw))
            try:  # floors reach into translators' internals: report a failure, do not fail the run
                floors, floor_note = _floors(name, dst, msg, data)
                for key, fn in floors.items():
                    timer.add(f"floor_{key}", fn)
            except Exception as err:  # noqa: BLE001
                floor_note = f"floor not measured: {err!r}"
                timer.cases = {k: v for k, v in timer.cases.items() if not k.startswith("floor_")}
            t = timer.run()
            parse_s = t["parse"]
            row: dict[str, Any] = {"message": name, "direction": f"{src} -> {dst}", "bytes": len(data),
                                   "parse_us": parse_s * 1e6, "floor_note": floor_note, "paths": []}
            for key, label, kwargs in measured:
                p: dict[str, Any] = {"path": key, "label": label, "kwargs": kwargs}
                for kind in ("wire", "msg"):
                    if f"{key}_{kind}" in t:
                        p[f"{kind}_us"] = t[f"{key}_{kind}"] * 1e6
                        p[f"{kind}_ratio"] = t[f"{key}_{kind}"] / parse_s
                    floor = t.get(f"floor_{'bare' if key == 'unordered' else 'checked'}_{kind}")
                    if floor is not None:
                        p[f"floor_{kind}_us"] = floor * 1e6
                        p[f"floor_{kind}_ratio"] = floor / parse_s
                row["paths"].append(p)
            if "floor_target_parse" in t:  # the floor's parts: what is left for a fix-up and a check
                target_parse = t["floor_target_parse"]
                row["steps"] = {"target_parse_us": target_parse * 1e6,
                                "fixup_us": max(0.0, t["floor_bare_wire"] - target_parse) * 1e6,
                                "check_us": max(0.0, t["floor_checked_wire"] - t["floor_bare_wire"]) * 1e6,
                                "wire_budget_us": (TARGET_WIRE * parse_s - target_parse) * 1e6}
            default = row["paths"][0]
            for k in ("wire_us", "wire_ratio", "msg_us", "msg_ratio"):
                if k in default:
                    row[k] = default[k]
            rows.append(row)
    return {"rows": rows, "missing": missing, "targets": {"wire": TARGET_WIRE, "msg": TARGET_MSG},
            "timer": "time.thread_time, minimum over interleaved repeats"}
