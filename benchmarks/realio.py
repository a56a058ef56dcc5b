"""The ``real-io`` figure: flytekit's webhook connector calling a remote API on loopback.

A local HTTP server (:mod:`benchmarks.http_upstream`, core 0 beside the driver) answers every request
after ``delay_ms`` (20 ms: a fast real API). Each server, pinned to core 1, serves flytekit's own
``WebhookConnector`` (``flytekit.extras.webhook``: an ``httpx.AsyncClient`` POST per call):

* v1 ``ExecuteTaskSync`` (header, then inputs; what FlytePropeller sends a sync connector) through the
  bridge (default mode and ``--server-mode aio``) and through ``pyflyte serve connector``;
* v2 ``CreateTask`` then ``GetTask`` through the bridge (a sync connector's result rides in
  ``resource_meta``). ``c0`` cannot serve it: flyte-sdk's server loads only flyte-sdk connectors
  (``flyte.connectors``), and the webhook connector is written against flytekit's API.

The closed-loop driver keeps 1/16/64 calls in flight and checks every answer (SUCCEEDED, output
``info``); the HTTP server's own count must grow by one request per call. The *floor* is the same
connector's ``do`` called in a plain asyncio loop pinned to core 1, with no gRPC server at all: what any
server around this connector can reach at most.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks import closed_loop, servers
from translators import _gen

TARGET_VS_PYFLYTE = 1.5


@dataclasses.dataclass(frozen=True)
class RealIOPlan:
    """How much to measure (``QUICK`` for the smoke run)."""

    concurrency: tuple[int, ...] = (1, 16, 64)
    delay_ms: float = 20.0
    warmup_s: float = 1.5
    measure_s: float = 5.0
    repetitions: int = 3
    floor: bool = True


QUICK = RealIOPlan(concurrency=(1, 8), warmup_s=0.3, measure_s=0.8, repetitions=1)


def specs() -> list[servers.ServerSpec]:
    """The bridge (default mode and aio) and pyflyte, each with only what it serves by default."""
    flags = ("--port", "{port}", "--prometheus_port", "{metrics_port}")
    bridge = (servers._bin("flyte-bridge"), "serve", *flags)
    return [
        servers.ServerSpec("bridge", "bridge (default mode, pinned)", bridge, ("v1", "v2"), section="real-io"),
        servers.ServerSpec("bridge-aio", "bridge --server-mode aio", (*bridge, "--server-mode", "aio"), ("v1", "v2"),
                           section="real-io"),
        servers.ServerSpec("flytekit", "flytekit pyflyte serve connector",
                           (servers._bin("pyflyte"), "serve", "connector", *flags), ("v1",), section="real-io"),
    ]


def webhook_request_v1(url: str) -> Any:
    """A v1 CreateTaskRequest for a webhook task as flytekit's ``WebhookTask`` serializes it."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from google.protobuf import struct_pb2

    req = _gen.v1.CreateTaskRequest(output_prefix="s3://bench-bucket/metadata/webhook/n0/0")
    t = req.template
    t.id.resource_type, t.id.project, t.id.domain = 1, "bench-project", "development"
    t.id.name, t.id.version, t.type = "benchmarks.webhook_task", "v1", "webhook"
    t.interface.inputs.variables["message"].type.CopyFrom(TypeEngine.to_literal_type(str).to_flyte_idl())
    t.interface.outputs.variables["info"].type.CopyFrom(TypeEngine.to_literal_type(dict).to_flyte_idl())
    custom = struct_pb2.Struct()
    custom.update({"url": url, "method": "POST", "headers": {"content-type": "application/json"},
                   "data": {"text": "{inputs.message}", "source": "flyte"}, "show_data": False,
                   "show_url": False, "timeout_sec": 10})
    t.custom.CopyFrom(custom)
    ctx = FlyteContextManager.current_context()
    req.inputs.literals["message"].CopyFrom(TypeEngine.to_literal(ctx, "hello from the bench", str,
                                                                  TypeEngine.to_literal_type(str)).to_flyte_idl())
    return req


def write_requests(url: str, work: Path) -> dict[str, Path]:
    """The framed-free request bytes the driver sends: ExecuteTaskSync header and inputs, v2 CreateTask."""
    import translators

    req = webhook_request_v1(url)
    header = _gen.v1.ExecuteTaskSyncRequest(header=_gen.v1.CreateRequestHeader(template=req.template,
                                                                               output_prefix=req.output_prefix))
    inputs = _gen.v1.ExecuteTaskSyncRequest(inputs=req.inputs)
    v2 = translators.to_v2(req, mark=False)
    paths = {"header": work / "webhook-header.bin", "inputs": work / "webhook-inputs.bin",
             "create_v2": work / "webhook-create-v2.bin", "create_v1": work / "webhook-create-v1.bin"}
    paths["header"].write_bytes(header.SerializeToString())
    paths["inputs"].write_bytes(inputs.SerializeToString())
    paths["create_v2"].write_bytes(v2.SerializeToString())
    paths["create_v1"].write_bytes(req.SerializeToString())
    return paths


class Upstream:
    """The local HTTP API, started pinned to ``cpus``; ``count()`` is how many hooks it answered."""

    def __init__(self, delay_ms: float, cpus: str = "0") -> None:
        self.proc = subprocess.Popen(["taskset", "-c", cpus, sys.executable, "-m", "benchmarks.http_upstream",
                                      "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).resolve().parent.parent)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the HTTP upstream did not start")
        self.port = int(json.loads(line)["port"])
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def count(self) -> int:
        """Hooks answered so far."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=10) as r:
            return int(json.loads(r.read())["count"])

    def stop(self) -> None:
        """Terminate it."""
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()  # type: ignore[union-attr]


def _driver_spec(workload: str, paths: dict[str, Path], conc: int, plan: RealIOPlan) -> dict[str, Any]:
    spec: dict[str, Any] = {"workload": workload, "concurrency": conc, "warmup_s": plan.warmup_s,
                            "measure_s": plan.measure_s, "outputs": ["info"], "deadline_s": 60}
    if workload == "execute-sync":
        spec.update(generation="v1", requests=[str(paths["header"]), str(paths["inputs"])])
    else:
        spec.update(generation="v2", request=str(paths["create_v2"]), task_type="webhook")
    return spec


def _floor_run(paths: dict[str, Path], conc: int, plan: RealIOPlan, work: Path, tag: str) -> dict[str, Any]:
    """The webhook connector's ``do`` alone in an asyncio loop on core 1 (no gRPC)."""
    out = work / f"{tag}.out.json"
    spec = {"request": str(paths["create_v1"]), "concurrency": conc, "warmup_s": plan.warmup_s,
            "measure_s": plan.measure_s}
    (work / f"{tag}.spec.json").write_text(json.dumps(spec))
    proc = subprocess.run(["taskset", "-c", "1", sys.executable, "-m", "benchmarks.realio",
                           str(work / f"{tag}.spec.json"), str(out)], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"floor failed: {(proc.stdout + proc.stderr)[-800:]}")
    res: dict[str, Any] = json.loads(out.read_text())
    res["verified"] = res["errors"] == 0
    return res


def run(plan: RealIOPlan, work: Path, log_dir: Path, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Measure every server (or those in ``only``) and workload, interleaved; returns ``{"plan", "servers", "floor"}``."""
    chosen = [s for s in specs() if only is None or s.key in only]
    records = {s.key: {"server": s.key, "label": s.label, "cpus": s.cpus, "rows": []} for s in chosen}
    floor_rows: list[dict[str, Any]] = []
    print(f"== real-io: webhook connector, HTTP API answering after {plan.delay_ms:g} ms, interleaved", flush=True)
    upstream = Upstream(plan.delay_ms)
    try:
        paths = write_requests(upstream.url, work)
        with closed_loop.started(chosen, log_dir, records) as up:
            for workload, gen in (("execute-sync", "v1"), ("create-get", "v2")):
                serving = [s for s in up if gen in s.spec.generations]
                for conc in plan.concurrency:
                    rows = {s.spec.key: {"workload": workload, "generation": gen, "concurrency": conc, "runs": []}
                            for s in serving}
                    floor = {"workload": "connector alone", "concurrency": conc, "runs": []}
                    for rep in range(plan.repetitions):
                        first = rep % max(1, len(serving))
                        for server in serving[first:] + serving[:first]:
                            tag = f"realio-{server.spec.key}-{workload}-{conc}-{rep}"
                            rows[server.spec.key]["runs"].append(
                                _one(server, upstream, _driver_spec(workload, paths, conc, plan), work, tag,
                                     2 if workload == "create-get" else 1))
                        if plan.floor and gen == "v1":
                            try:
                                floor["runs"].append(_floor_run(paths, conc, plan, work, f"realio-floor-{conc}-{rep}"))
                            except Exception as exc:  # the floor is context, not a result: note it
                                floor["runs"].append({"verified": False, "note": str(exc)[:400]})
                    for s in serving:
                        row = rows[s.spec.key]
                        _summarize(row)
                        records[s.spec.key]["rows"].append(row)
                        _print(s.spec.key, row)
                    if floor["runs"]:
                        _summarize(floor)
                        floor_rows.append(floor)
                        _print("floor", floor)
    finally:
        upstream.stop()
    return {"plan": dataclasses.asdict(plan), "servers": [records[s.key] for s in chosen], "floor": floor_rows}


def _one(server: servers.RunningServer, upstream: Upstream, spec: dict[str, Any], work: Path, tag: str,
         per_call: int) -> dict[str, Any]:
    try:
        before = upstream.count()
        res = closed_loop.run_driver(server, spec, work, tag, per_call=per_call)
        res["upstream_counted"] = upstream.count() - before
        if res["verified"] and res["upstream_counted"] != res["ok"]:
            res["verified"] = False
            res["note"] = f"the HTTP API saw {res['upstream_counted']} requests for {res['ok']} calls"
        return res
    except Exception as exc:  # one broken run costs its row
        return {"verified": False, "note": f"{type(exc).__name__}: {str(exc)[:600]}"}


def _summarize(row: dict[str, Any]) -> None:
    runs = row["runs"]
    if runs and all(r.get("verified") for r in runs):
        row["status"] = "ok"
        row["median"] = closed_loop.median_of(runs, ("rps", "p50_ms", "p99_ms", "driver_cpu_util", "server_cpu_s",
                                                     "cpu_util", "cpu_ms_per_call"))
        row["median"]["driver_busy"] = any(r.get("driver_busy") for r in runs)
    else:
        row["status"] = "failed"
        row["note"] = next((r.get("note") for r in runs if not r.get("verified")), "no runs")


def _print(key: str, row: dict[str, Any]) -> None:
    med = row.get("median", {})
    print(f"  {key:<11} {row['workload']:<16} c={row['concurrency']:<3} {row['status']:<6} "
          f"{med.get('rps', float('nan')):8.1f}/s p50 {med.get('p50_ms', float('nan')):7.2f} ms "
          f"p99 {med.get('p99_ms', float('nan')):7.2f} ms", flush=True)


async def _floor(spec: dict[str, Any]) -> dict[str, Any]:
    """K workers calling the webhook connector's ``do`` directly, as :mod:`benchmarks.driver` calls a server."""
    from flytekit.extras.webhook.connector import WebhookConnector
    from flytekit.models.literals import LiteralMap
    from flytekit.models.task import TaskTemplate

    from benchmarks.driver import percentile

    req = _gen.v1.CreateTaskRequest.FromString(Path(spec["request"]).read_bytes())
    connector = WebhookConnector()
    k, warmup, measure = int(spec["concurrency"]), float(spec["warmup_s"]), float(spec["measure_s"])
    samples: list[tuple[float, float]] = []
    errors: list[str] = []
    t0 = time.perf_counter()
    stop_at = t0 + warmup + measure

    async def worker() -> None:
        while (start := time.perf_counter()) < stop_at:
            # What a server does per call besides gRPC: the flytekit models, the call, the outputs' literals.
            res = await connector.do(task_template=TaskTemplate.from_flyte_idl(req.template),
                                     inputs=LiteralMap.from_flyte_idl(req.inputs), output_prefix=req.output_prefix)
            await res.to_flyte_idl()
            if res.phase != 3 or "info" not in (res.outputs or {}):
                errors.append(str(res.message)[:200])
            samples.append((start - t0, time.perf_counter() - t0))

    cpu0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(k)))
    lo, hi = warmup, warmup + measure
    lat = sorted(e - s for s, e in samples if lo <= s < hi)
    return {"calls": len(samples), "ok": len(samples) - len(errors), "errors": len(errors), "error_samples": errors[:3],
            "rps": sum(1 for _, e in samples if lo <= e < hi) / measure, "p50_ms": percentile(lat, 50) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3, "cpu_util": (time.process_time() - cpu0) / (time.perf_counter() - t0),
            "cpu_ms_per_call": (time.process_time() - cpu0) / max(1, len(samples)) * 1e3}


if __name__ == "__main__":  # the floor process: python -m benchmarks.realio SPEC.json OUT.json
    spec_in = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(asyncio.run(_floor(spec_in))))
