"""Translation micro-benchmarks: the cost of ``translators`` against one protobuf parse.

For a realistic ``CreateTaskRequest`` (a ~2 KB task template with a container and ten typed inputs,
a ten-literal input map) and a ``GetTaskResponse`` (SUCCEEDED, two outputs), in both directions:

* ``parse``: one ``FromString`` of the source bytes into the source generation's class (the unit);
* ``bytes -> msg``: ``<message>_to_vN_from_wire(bytes)``; target: within 1.2x one parse;
* ``msg -> msg``: ``<message>_to_vN(message)``; target: within 2.5x one parse.

Times are ``timeit`` minima over repeats (the least-disturbed run), per call.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from benchmarks import payloads

TARGET_WIRE = 1.2
TARGET_MSG = 2.5


def _best(fn: Callable[[], Any], repeats: int, budget_s: float) -> float:
    """Minimum seconds per call over ``repeats`` timing runs of about ``budget_s`` each."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * budget_s / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def _cases() -> list[tuple[str, str, Any, Any]]:
    """(message name, function stem, v1 message, v2 message) for each measured message."""
    return [
        ("CreateTaskRequest", "create_task_request", payloads.create_task_request_v1(),
         payloads.create_task_request_v2()),
        ("GetTaskResponse", "get_task_response", payloads.get_task_response_v1(), payloads.get_task_response_v2()),
    ]


def run(quick: bool = False) -> dict[str, Any]:
    """Time every case; missing translator functions are reported, not fatal.

    Args:
        quick: fewer, shorter repeats (smoke runs).

    Returns:
        ``{"rows": [...], "missing": [...], "targets": {...}}`` with times in microseconds.
    """
    import translators

    repeats, budget = (3, 0.05) if quick else (7, 0.2)
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for name, stem, m1, m2 in _cases():
        for src, dst, msg in (("v1", "v2", m1), ("v2", "v1", m2)):
            data = msg.SerializeToString()
            src_cls = type(msg)
            parse_s = _best(lambda: src_cls.FromString(data), repeats, budget)
            row: dict[str, Any] = {"message": name, "direction": f"{src} -> {dst}", "bytes": len(data),
                                   "parse_us": parse_s * 1e6}
            for kind, fname, arg in (("wire", f"{stem}_to_{dst}_from_wire", data), ("msg", f"{stem}_to_{dst}", msg)):
                fn = getattr(translators, fname, None)
                if fn is None:
                    missing.append(fname)
                    continue
                fn(arg)  # fail loudly here, not inside timeit, if the translator rejects the message
                t = _best(lambda fn=fn, arg=arg: fn(arg), repeats, budget)
                row[f"{kind}_us"] = t * 1e6
                row[f"{kind}_ratio"] = t / parse_s
            rows.append(row)
    return {"rows": rows, "missing": missing, "targets": {"wire": TARGET_WIRE, "msg": TARGET_MSG}}
