"""The ``payload`` figure: how a server's CPU per CreateTask grows with the size of the inputs.

CreateTask requests of about 1 KB, 64 KB, 1 MB and 3.5 MB (the largest under the SDK servers' 4 MiB
default receive limit) carry five inputs: ``n`` (int), ``items`` (``List[int]`` of n), ``labels``
(``Dict[str, str]`` of n), ``record`` (a dataclass with a list of n floats: a msgpack binary literal) and
``table`` (a ``StructuredDataset`` literal). Each generation's literals are built by its own SDK's type
engine (flytekit for v1, flyte-sdk for v2), as :mod:`benchmarks.payloads` builds the main figure's.

Every server (pinned to core 1) serves task type ``payload`` (the bench connector modules), whose
``create`` reads every native input and checks its size and values (``benchmarks._inputs.check_payload``);
h2load (core 0) sends the same bytes, 4 streams in flight, each run verified by the server's counter.
*CPU per call* is the server's CPU time (``/proc``) over the run divided by the calls; it is set against one
protobuf parse of the same request (``FromString``, timed in the harness).

The in-process micro figures split the bridge's cost: *translation* (the request bytes to the other
generation, ``translators.create_task_request_to_vN_from_wire(mark=False)``, what the servers do) and
*native decoding* (``translators.inputs_to_native`` with the declared interface: the connector API's
cost, which the SDK servers pay in their own type engines), each over one parse of the same bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
import typing
from pathlib import Path
from typing import Any

from benchmarks import h2load, payloads, runner, servers
from benchmarks._inputs import TABLE_URI, Record
from translators import _gen

SIZES = {"1KB": 1_000, "64KB": 64_000, "1MB": 1_000_000, "3.5MB": 3_500_000}
TARGET_TRANSLATION = 1.5
TABLE_COLUMNS = (("order_id", 1), ("amount", 2), ("customer", 3))  # SimpleType INTEGER, FLOAT, STRING


@dataclasses.dataclass(frozen=True)
class PayloadPlan:
    """How much to measure (``QUICK`` for the smoke run)."""

    sizes: tuple[str, ...] = tuple(SIZES)
    seconds: float = 2.0
    min_calls: int = 5
    repetitions: int = 2
    concurrency: int = 4
    micro_budget_s: float = 0.05
    micro_repeats: int = 7


QUICK = PayloadPlan(sizes=("1KB", "64KB"), seconds=0.3, min_calls=3, repetitions=1, micro_budget_s=0.005,
                    micro_repeats=2)


def values(n: int) -> dict[str, Any]:
    """The native inputs for scale ``n`` (what ``check_payload`` expects back)."""
    return {"n": n, "items": list(range(n)), "labels": {f"k{i:07d}": f"value-{i:07d}" for i in range(n)},
            "record": Record(name="record", values=[0.5] * n)}


TYPES: dict[str, Any] = {"n": int, "items": typing.List[int], "labels": typing.Dict[str, str], "record": Record}


def _table(literal: Any, literal_type: Any) -> None:
    """Fill a StructuredDataset literal and its type (same field names in both generations)."""
    sd = literal.scalar.structured_dataset
    sd.uri = TABLE_URI
    sd.metadata.structured_dataset_type.format = "parquet"
    literal_type.structured_dataset_type.format = "parquet"
    for name, simple in TABLE_COLUMNS:
        for target in (sd.metadata.structured_dataset_type, literal_type.structured_dataset_type):
            col = target.columns.add()
            col.name = name
            col.literal_type.simple = simple


def _v1_request(n: int) -> Any:
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    literals, in_types = {}, {}
    for name, value in values(n).items():
        lt = TypeEngine.to_literal_type(TYPES[name])
        in_types[name] = lt.to_flyte_idl()
        literals[name] = TypeEngine.to_literal(ctx, value, TYPES[name], lt).to_flyte_idl()
    literals["table"], in_types["table"] = _gen.v1_core_literals.Literal(), _gen.v1_types.LiteralType()
    _table(literals["table"], in_types["table"])
    req = _gen.v1.CreateTaskRequest(output_prefix=payloads.OUTPUT_PREFIX)
    out_types = {k: TypeEngine.to_literal_type(t).to_flyte_idl() for k, t in payloads.OUTPUT_TYPES.items()}
    payloads._fill_template(req.template, in_types, out_types)
    req.template.type = "payload"
    for name, lit in literals.items():
        req.inputs.literals[name].CopyFrom(lit)
    payloads._fill_metadata(req.task_execution_metadata)
    return req


def _v2_request(n: int) -> Any:
    from flyte.types import TypeEngine

    async def build() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        literals, in_types = {}, {}
        for name, value in values(n).items():
            lt = TypeEngine.to_literal_type(TYPES[name])
            in_types[name] = lt
            literals[name] = await TypeEngine.to_literal(value, TYPES[name], lt)
        out_types = {k: TypeEngine.to_literal_type(t) for k, t in payloads.OUTPUT_TYPES.items()}
        return literals, in_types, out_types

    literals, in_types, out_types = asyncio.run(build())
    literals["table"], in_types["table"] = _gen.v2_core_literals.Literal(), _gen.v2_types.LiteralType()
    _table(literals["table"], in_types["table"])
    req = _gen.v2.CreateTaskRequest(output_prefix=payloads.OUTPUT_PREFIX)
    payloads._fill_template(req.template, in_types, out_types)
    req.template.type = "payload"
    for name, lit in literals.items():
        named = req.inputs.literals.add()
        named.name = name
        named.value.CopyFrom(lit)
    payloads._fill_metadata(req.task_execution_metadata)
    return req


@functools.lru_cache(maxsize=None)
def request(generation: str, size: str) -> Any:
    """The CreateTaskRequest of ``generation`` closest to ``SIZES[size]`` bytes (scale found from two builds)."""
    build = _v1_request if generation == "v1" else _v2_request
    target = SIZES[size]
    base, probe = len(build(0).SerializeToString()), len(build(1000).SerializeToString())
    n = max(1, round((target - base) / ((probe - base) / 1000)))
    return build(n)


def specs() -> list[servers.ServerSpec]:
    """The main figure's bridge and SDK servers (their bench modules serve task type ``payload``)."""
    wanted = {"bridge", "flytekit", "flyte-sdk"}
    return [dataclasses.replace(s, section="payload") for s in servers.all_specs() if s.key in wanted]


def parse_us(msg: Any, budget_s: float = 0.05, repeats: int = 7) -> float:
    """One ``FromString`` of ``msg``'s bytes, in microseconds (minimum thread CPU over repeats)."""
    from benchmarks.micro import _best

    data = msg.SerializeToString()
    cls = type(msg)
    return _best(lambda: cls.FromString(data), repeats, budget_s) * 1e6


def micro(plan: PayloadPlan) -> list[dict[str, Any]]:
    """Translation alone and native decoding, each against one parse, per size and direction."""
    import translators
    from benchmarks.micro import _Timer

    rows = []
    for size in plan.sizes:
        for src, dst in (("v1", "v2"), ("v2", "v1")):
            msg = request(src, size)
            data = msg.SerializeToString()
            cls = type(msg)
            translate = getattr(translators, f"create_task_request_to_{dst}_from_wire")
            timer = _Timer(plan.micro_repeats, plan.micro_budget_s)
            timer.add("parse", lambda cls=cls, data=data: cls.FromString(data))
            timer.add("translate", lambda f=translate, data=data: f(data, mark=False))
            timer.add("native", lambda cls=cls, data=data: translators.inputs_to_native(
                cls.FromString(data).inputs, cls.FromString(data).template.interface.inputs))
            t = timer.run()
            # native decoding includes two parses (inputs and interface read from fresh messages): take them off.
            native = max(0.0, t["native"] - 2 * t["parse"])
            rows.append({"size": size, "bytes": len(data), "direction": f"{src} -> {dst}", "parse_us": t["parse"] * 1e6,
                         "translate_us": t["translate"] * 1e6, "translate_ratio": t["translate"] / t["parse"],
                         "native_us": native * 1e6, "native_ratio": native / t["parse"]})
            print(f"  micro {size:<6} {src}->{dst} {len(data):>9,} B parse {t['parse'] * 1e6:9.1f} us translate "
                  f"{t['translate'] / t['parse']:5.2f}x native decode {native / t['parse']:6.2f}x", flush=True)
    return rows


def run(plan: PayloadPlan, h2: str, work: Path, log_dir: Path, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Every server (or those in ``only``) and size, interleaved; then the micro figures."""
    chosen = [s for s in specs() if only is None or s.key in only]
    records = {s.key: {"server": s.key, "label": s.label, "cpus": s.cpus, "rows": []} for s in chosen}
    print("== payload: CreateTask of " + ", ".join(plan.sizes) + ", interleaved", flush=True)
    parse = {(g, size): parse_us(request(g, size), plan.micro_budget_s, plan.micro_repeats)
             for g in ("v1", "v2") for size in plan.sizes}
    from benchmarks import closed_loop

    with closed_loop.started(chosen, log_dir, records) as up:
        for size in plan.sizes:
            for gen in ("v1", "v2"):
                serving = [s for s in up if gen in s.spec.generations]
                data = work / f"payload-{gen}-{size}.bin"
                data.write_bytes(payloads.grpc_frame(request(gen, size).SerializeToString()))
                url_path = payloads.rpc_path(gen, "CreateTask")
                rows = {}
                for s in serving:
                    rows[s.spec.key] = {"size": size, "generation": gen, "bytes": data.stat().st_size - 5,
                                        "parse_us": parse[(gen, size)], "runs": []}
                    try:  # pilot: warms up and sizes the runs
                        pilot = _h2(s, h2, data, url_path, max(plan.min_calls, plan.concurrency), plan, work,
                                    f"payload-{s.spec.key}-{gen}-{size}-pilot")
                        n = max(plan.min_calls, int(pilot["rps"] * plan.seconds)) if pilot["verified"] else 0
                        rows[s.spec.key]["n"] = n
                        if not pilot["verified"]:
                            rows[s.spec.key]["note"] = runner._unverified(pilot, s)
                    except Exception as exc:  # one broken server costs its row
                        rows[s.spec.key].update(n=0, note=f"{type(exc).__name__}: {str(exc)[:500]}")
                for rep in range(plan.repetitions):
                    first = rep % max(1, len(serving))
                    for s in serving[first:] + serving[:first]:
                        row = rows[s.spec.key]
                        if row["n"]:
                            row["runs"].append(_h2(s, h2, data, url_path, row["n"], plan, work,
                                                   f"payload-{s.spec.key}-{gen}-{size}-{rep}"))
                for s in serving:
                    row = rows[s.spec.key]
                    ok = bool(row["runs"]) and all(r["verified"] for r in row["runs"])
                    row["status"] = "ok" if ok else "failed"
                    if not ok and "note" not in row:
                        row["note"] = next((runner._unverified(r, s) for r in row["runs"] if not r["verified"]), "")
                    if ok:
                        cpu = min(r["cpu_us_per_req"] for r in row["runs"])  # least disturbed run
                        row["cpu_us_per_call"] = cpu
                        row["cpu_vs_parse"] = cpu / row["parse_us"]
                        row["rps"] = max(r["rps"] for r in row["runs"])
                    records[s.spec.key]["rows"].append(row)
                    print(f"  {s.spec.key:<9} {gen} {size:<6} {row['bytes']:>9,} B {row['status']:<6} "
                          f"CPU {row.get('cpu_us_per_call', float('nan')):10.0f} us/call "
                          f"({row.get('cpu_vs_parse', float('nan')):7.1f}x one parse)", flush=True)
    return {"plan": dataclasses.asdict(plan), "servers": [records[s.key] for s in chosen], "micro": micro(plan)}


def _h2(server: servers.RunningServer, h2: str, data: Path, url_path: str, n: int, plan: PayloadPlan, work: Path,
        tag: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{server.port}{url_path}"
    res = runner._measure_once(server, h2, url, data, n, min(plan.concurrency, n), work / f"{tag}.log", "0")
    res["started"] = time.time()
    return res
