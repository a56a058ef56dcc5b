"""A closed-loop ``grpc.aio`` client: K calls always in flight, every answer checked.

h2load drives unary calls with constant bytes; this drives what it cannot: a v1 ``ExecuteTaskSync`` (a
bidi stream: header, then inputs), a v2 CreateTask followed by GetTask with the ``resource_meta`` the
CreateTask returned, and unary calls whose answers must be read to be trusted. The harness runs it as its
own process pinned to the client core (``python -m benchmarks.driver SPEC.json OUT.json``) and records its
CPU use, so a run where the driver, not the server, was the bottleneck is visible.

``concurrency`` workers each loop: start a call, check the answer, start the next. With ``ramp_s`` the
workers' first calls are spread over that many seconds, as a real client's polls are (a burst of a few
thousand calls started at the same instant on one ``grpc.aio`` channel is answered CANCELLED for a share of
them, whatever the server: measured against an empty ``grpc.aio`` server, 2,048 at once lost ~10%). Calls that start
before ``warmup_s`` are not measured; after ``warmup_s + measure_s`` no worker starts a new call and the
calls still in flight are waited for, so every call started is also finished and checked (the harness
compares the total with the server's own counter). Throughput is the calls completed inside the
measured window over its length; latency percentiles are over the calls started inside it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from translators import _gen

SUCCEEDED = 3  # TaskExecution.SUCCEEDED in both generations


class CheckFailed(Exception):
    """An answer that came back but is not what the workload expects."""


def _check_resource(resource: Any, outputs: tuple[str, ...]) -> None:
    if resource.phase != SUCCEEDED:
        raise CheckFailed(f"phase {resource.phase}, message {resource.message[:200]!r}")
    literals = resource.outputs.literals
    names = set(literals.keys()) if hasattr(literals, "keys") else {lit.name for lit in literals}
    if not set(outputs) <= names:
        raise CheckFailed(f"outputs {sorted(names)}, want {list(outputs)}")


def _unary(channel: grpc.aio.Channel, spec: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    """One unary call of constant bytes; the answer parsed and checked."""
    gen = _gen.v1 if spec["generation"] == "v1" else _gen.v2
    method = spec["path"].rsplit("/", 1)[1]
    call = channel.unary_unary(spec["path"], response_deserializer=getattr(gen, f"{method}Response").FromString)
    body = Path(spec["request"]).read_bytes()
    outputs = tuple(spec.get("outputs", ()))
    timeout = spec.get("deadline_s")

    async def once() -> None:
        resp = await call(body, timeout=timeout)
        if method == "GetTask":
            _check_resource(resp.resource, outputs)
        elif not resp.resource_meta:
            raise CheckFailed("CreateTask: empty resource_meta")

    return once


def _execute_sync(channel: grpc.aio.Channel, spec: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    """v1 ExecuteTaskSync: the header message, then the inputs message; one answer with the resource."""
    call = channel.stream_stream("/flyteidl.service.SyncAgentService/ExecuteTaskSync",
                                 response_deserializer=_gen.v1.ExecuteTaskSyncResponse.FromString)
    messages = [Path(p).read_bytes() for p in spec["requests"]]
    outputs = tuple(spec.get("outputs", ()))
    timeout = spec.get("deadline_s")

    async def once() -> None:
        answers = [r async for r in call(iter(messages), timeout=timeout)]
        resources = [a.header.resource for a in answers if a.HasField("header")]
        if len(resources) != 1:
            raise CheckFailed(f"{len(answers)} answers, {len(resources)} with a resource")
        _check_resource(resources[0], outputs)

    return once


def _create_get(channel: grpc.aio.Channel, spec: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    """v2 CreateTask, then GetTask with the ``resource_meta`` it returned, until a terminal phase."""
    prefix = "/flyteidl2.connector.AsyncConnectorService/"
    create = channel.unary_unary(prefix + "CreateTask", response_deserializer=_gen.v2.CreateTaskResponse.FromString)
    get = channel.unary_unary(prefix + "GetTask", request_serializer=_gen.v2.GetTaskRequest.SerializeToString,
                              response_deserializer=_gen.v2.GetTaskResponse.FromString)
    body = Path(spec["request"]).read_bytes()
    outputs = tuple(spec.get("outputs", ()))
    category = spec["task_type"]
    timeout = spec.get("deadline_s")

    async def once() -> None:
        meta = (await create(body, timeout=timeout)).resource_meta
        if not meta:
            raise CheckFailed("CreateTask: empty resource_meta")
        req = _gen.v2.GetTaskRequest(resource_meta=meta, output_prefix="s3://bench/out")
        req.task_category.name = category
        for _ in range(100):
            resource = (await get(req, timeout=timeout)).resource
            if resource.phase == SUCCEEDED or resource.phase >= 4:  # FAILED, ABORTED, ...: checked below
                break
            await asyncio.sleep(0.01)
        _check_resource(resource, outputs)

    return once


WORKLOADS = {"unary": _unary, "execute-sync": _execute_sync, "create-get": _create_get}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of an ascending list (NaN when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the closed loop of ``spec`` and return what it measured (see the module docstring)."""
    n_channels = max(1, int(spec.get("channels", 1)))
    # A distinct option per channel keeps gRPC from sharing one connection between them.
    channels = [grpc.aio.insecure_channel(spec["target"], options=[("bench.channel", i),
                                                                   ("grpc.max_receive_message_length", -1),
                                                                   ("grpc.max_send_message_length", -1)])
                for i in range(n_channels)]
    calls = [WORKLOADS[spec["workload"]](ch, spec) for ch in channels]
    await calls[0]()  # fail before measuring anything if the workload does not work at all
    k, warmup, measure = int(spec["concurrency"]), float(spec["warmup_s"]), float(spec["measure_s"])
    samples: list[tuple[float, float]] = []  # (start, end), relative to t0, of every call answered and checked
    errors: list[str] = []
    n_errors = 0
    by_code: dict[str, int] = {}  # failed calls by gRPC status ("CHECK" for a wrong answer)
    t0 = time.perf_counter()
    stop_at = t0 + warmup + measure

    ramp = float(spec.get("ramp_s", 0.0))

    async def worker(i: int) -> None:
        nonlocal n_errors
        once = calls[i % n_channels]
        await asyncio.sleep(i * ramp / k)  # spread the first calls: arrivals as steady as in the window
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            try:
                await once()
            except (grpc.aio.AioRpcError, CheckFailed) as exc:
                n_errors += 1
                code = exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else "CHECK"
                by_code[code] = by_code.get(code, 0) + 1
                if len(errors) < 5:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                continue
            samples.append((start - t0, time.perf_counter() - t0))

    cpu0, wall_cpu0 = time.process_time(), None
    tasks = [asyncio.create_task(worker(i)) for i in range(k)]
    await asyncio.sleep(max(0.0, warmup - (time.perf_counter() - t0)))
    cpu_w0, wall_cpu0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
    cpu_w1, wall_cpu1 = time.process_time(), time.perf_counter()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    for ch in channels:
        await ch.close()
    lo, hi = warmup, warmup + measure
    done_in_window = sum(1 for _, end in samples if lo <= end < hi)
    lat = sorted(end - start for start, end in samples if lo <= start < hi)
    out = {
        "calls": len(samples) + n_errors + 1, "ok": len(samples) + 1, "errors": n_errors, "error_samples": errors,
        "errors_by_code": by_code,
        "concurrency": k, "window_s": measure, "rps": done_in_window / measure,
        "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3,
        "max_ms": (lat[-1] * 1e3) if lat else float("nan"), "measured_calls": len(lat),
        "driver_cpu_util": (cpu_w1 - cpu_w0) / (wall_cpu1 - wall_cpu0) if wall_cpu0 else float("nan"),
        "driver_cpu_s": time.process_time() - cpu0, "elapsed_s": elapsed,
    }
    if spec.get("timeline"):
        out["timeline"] = [[round(s, 6), round(e - s, 6)] for s, e in samples]
    return out


def main(argv: list[str]) -> int:
    """``python -m benchmarks.driver SPEC.json OUT.json``."""
    spec = json.loads(Path(argv[0]).read_text())
    result = asyncio.run(drive(spec))
    result["pid"] = os.getpid()
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
