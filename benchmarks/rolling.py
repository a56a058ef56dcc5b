"""Rolling updates, measured: replicas behind one ``round_robin`` channel, restarted one by one under load.

``python -m benchmarks --figure rolling`` (or ``python -m benchmarks.rolling``) starts ``replicas``
``flyte-bridge serve`` processes on loopback and, for each generation, one client channel over all of
their addresses with the service config FlytePropeller's default connector entry uses
(``{"loadBalancingConfig":[{"round_robin":{}}]}``, no retry policy). Client threads of both generations
(the generated v1 ``AsyncAgentService`` and v2 ``AsyncConnectorService`` stubs) run create ->
get-until-terminal loops with the real clients' deadlines (3 s: propeller's default agent; 10 s: its
default connector and the Flyte 2 executor), while each replica in turn gets SIGTERM, exits, is started
again on its port and is waited for until SERVING, as a rolling update does.

Counted: every call and its status code, every task created and whether it reached a terminal phase,
and how many tasks finished on a replica other than the one that created them. The target is no failed
call and no lost task. ``retry=True`` adds a gRPC retry policy on UNAVAILABLE to the service config (the
real clients have none; reported apart).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks.rolling_connector import TASK_TYPE

REPO = Path(__file__).resolve().parents[1]

ROUND_ROBIN = {"loadBalancingConfig": [{"round_robin": {}}]}
RETRY_ON_UNAVAILABLE = {
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "1s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
    }]
}
#: Client-side health checking (gRFC A17): round_robin stops picking a replica once it reports NOT_SERVING.
HEALTH_CHECK = {"healthCheckConfig": {"serviceName": ""}}
#: A call slower than this is listed in the record (``slow_calls``).
SLOW_S = 1.0
#: FlytePropeller's default agent deadline (v1 clients) and its default connector's / the executor's (v2).
DEADLINES = {"v1": 3.0, "v2": 10.0}


@dataclass
class RollingPlan:
    """What one run does."""

    replicas: int = 3
    restarts: int = 6
    clients: int = 4  # threads per generation, each one create -> get loop at a time
    poll_s: float = 0.05  # wait between two GetTask calls of one task
    task_seconds: float = 1.5  # how long a task stays RUNNING
    settle_s: float = 2.0  # load before the first restart and after each replica is SERVING again
    grace: float = 10.0  # --grace of every replica
    drain_s: float | None = None  # --drain-delay of every replica (None: the server's default)
    retry: bool = False  # add a retry policy on UNAVAILABLE (the real clients have none)
    health_check: bool = False  # add client-side health checking to the service config
    task_timeout_s: float = 30.0  # a task not terminal this long after its create is lost
    extra_args: tuple[str, ...] = ()


@dataclass
class Tally:
    """Everything the clients saw (shared by their threads under a lock)."""

    calls: Counter[str] = field(default_factory=Counter)  # "v1 CreateTask OK"
    failures: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    terminal: int = 0
    lost: list[dict[str, Any]] = field(default_factory=list)
    elsewhere: int = 0  # tasks whose terminal answer came from another process than the creator
    slow: list[dict[str, Any]] = field(default_factory=list)  # calls that took more than SLOW_S
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, gen: str, method: str, code: grpc.StatusCode, details: str = "", at: float = 0.0,
             took: float = 0.0) -> None:
        with self.lock:
            self.calls[f"{gen} {method} {code.name}"] += 1
            if took > SLOW_S:
                self.slow.append({"gen": gen, "method": method, "code": code.name, "started_s": round(at - took, 3),
                                  "took_s": round(took, 3)})
            if code is not grpc.StatusCode.OK:
                self.failures.append({"gen": gen, "method": method, "code": code.name,
                                      "details": details[:300], "at_s": round(at, 3)})


class Replica:
    """One ``python -m bridge serve`` process on a fixed port, restartable."""

    def __init__(self, index: int, port: int, prometheus_port: int, plan: RollingPlan, logs: Path) -> None:
        self.index, self.port, self.prometheus_port, self.plan, self.logs = index, port, prometheus_port, plan, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = logs / f"replica-{index}-0.log"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--prometheus_port", str(self.prometheus_port), "--grace", str(self.plan.grace),
                "--modules", "benchmarks.rolling_connector", "--no-entry-points", "--no-reflection"]
        if self.plan.drain_s is not None:
            argv += ["--drain-delay", str(self.plan.drain_s)]
        return [*argv, *self.plan.extra_args]

    def start(self) -> None:
        self.starts += 1
        self.log_path = self.logs / f"replica-{self.index}-{self.starts}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(self.argv(), cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)

    def wait_serving(self, timeout: float = 60.0) -> float:
        """Seconds until health says SERVING for ``""``."""
        began = time.monotonic()
        with grpc.insecure_channel(self.target) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while time.monotonic() - began < timeout:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    tail = self.log_path.read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"replica {self.index} exited with {self.proc.returncode}:\n{tail}")
                try:
                    if stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status == 1:
                        return time.monotonic() - began
                except grpc.RpcError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"replica {self.index} not SERVING after {timeout}s")

    def stop(self, timeout: float) -> tuple[int, float]:
        """SIGTERM, then wait: (exit code, seconds it took)."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        return rc, time.monotonic() - began


def channel(targets: list[str], retry: bool = False, health_check: bool = False) -> grpc.Channel:
    """One client channel over every replica, as FlytePropeller's default connector entry dials it."""
    config = dict(ROUND_ROBIN, **(RETRY_ON_UNAVAILABLE if retry else {}), **(HEALTH_CHECK if health_check else {}))
    target = "ipv4:" + ",".join(targets)
    return grpc.insecure_channel(target, options=[("grpc.service_config", json.dumps(config))])


def _v1_stub(ch: grpc.Channel) -> Any:
    from translators._gen import v1_grpc

    return v1_grpc.AsyncAgentServiceStub(ch)


def _v2_stub(ch: grpc.Channel) -> Any:
    from translators._gen import v2_grpc

    return v2_grpc.AsyncConnectorServiceStub(ch)


def create_request(gen: str, n: int, seconds: float) -> Any:
    """A CreateTask request of generation ``gen`` for task ``n`` (with the metadata the clients send)."""
    from google.protobuf import struct_pb2

    from translators._gen import v1, v1_core_tasks, v2, v2_core_tasks

    custom = struct_pb2.Struct()
    custom.update({"seconds": seconds})
    if gen == "v1":
        req = v1.CreateTaskRequest(output_prefix=f"s3://bucket/rolling/{n}")
        req.template.CopyFrom(v1_core_tasks.TaskTemplate(type=TASK_TYPE, custom=custom))
    else:
        req = v2.CreateTaskRequest(output_prefix=f"s3://bucket/rolling/{n}")
        req.template.CopyFrom(v2_core_tasks.TaskTemplate(type=TASK_TYPE, custom=custom))
    tid = req.task_execution_metadata.task_execution_id
    tid.node_execution_id.execution_id.project = "flytesnacks"
    tid.node_execution_id.execution_id.domain = "development"
    tid.node_execution_id.execution_id.name = f"rolling-{gen}-{n}"
    tid.node_execution_id.node_id = "n0"
    req.task_execution_metadata.namespace = "flytesnacks-development"
    return req


def get_request(gen: str, meta: bytes) -> Any:
    from translators._gen import v1, v2

    if gen == "v1":
        req = v1.GetTaskRequest(task_type=TASK_TYPE, resource_meta=meta)
    else:
        req = v2.GetTaskRequest(resource_meta=meta)
    req.task_category.name = TASK_TYPE
    if "output_prefix" in req.DESCRIPTOR.fields_by_name:  # v1 GetTaskRequest has it from flyteidl 1.15.2
        req.output_prefix = "s3://bucket/rolling"
    return req


_TERMINAL = {3, 5, 6, 8}  # SUCCEEDED, FAILED, ABORTED, RETRYABLE_FAILED (same numbers in both generations)


def client_loop(gen: str, stub: Any, plan: RollingPlan, tally: Tally, stop: threading.Event, began: float,
                ids: Any) -> None:
    """Create -> get-until-terminal, again and again until ``stop``; the task in hand is always finished."""
    deadline = DEADLINES[gen]
    while not stop.is_set():
        n = next(ids)
        sent = time.monotonic()
        try:
            created = stub.CreateTask(create_request(gen, n, plan.task_seconds), timeout=deadline)
        except grpc.RpcError as exc:
            now = time.monotonic()
            tally.call(gen, "CreateTask", exc.code(), exc.details() or "", now - began, now - sent)
            continue  # a failed Create costs the user a retry: the next loop is that retry
        now = time.monotonic()
        tally.call(gen, "CreateTask", grpc.StatusCode.OK, "", now - began, now - sent)
        with tally.lock:
            tally.created += 1
        meta = created.resource_meta
        creator = json.loads(meta).get("created_by") if meta.startswith(b"{") else None
        give_up = time.monotonic() + plan.task_timeout_s
        request = get_request(gen, meta)
        while True:
            sent = time.monotonic()
            try:
                resource = stub.GetTask(request, timeout=deadline).resource
            except grpc.RpcError as exc:
                now = time.monotonic()
                tally.call(gen, "GetTask", exc.code(), exc.details() or "", now - began, now - sent)
                resource = None
            else:
                now = time.monotonic()
                tally.call(gen, "GetTask", grpc.StatusCode.OK, "", now - began, now - sent)
            if resource is not None and resource.phase in _TERMINAL:
                pid = dict(resource.custom_info).get("pid")
                with tally.lock:
                    tally.terminal += 1
                    if creator is not None and pid is not None and int(pid) != int(creator):
                        tally.elsewhere += 1
                break
            if time.monotonic() > give_up:
                with tally.lock:
                    tally.lost.append({"gen": gen, "task": n})
                break
            time.sleep(plan.poll_s)


def free_ports(n: int) -> list[int]:
    """``n`` ports free on 127.0.0.1 now."""
    import socket

    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run(plan: RollingPlan, logs: Path) -> dict[str, Any]:
    """One rolling-update run; returns the record (calls, failures by code, tasks, restarts)."""
    import itertools

    logs.mkdir(parents=True, exist_ok=True)
    ports = free_ports(2 * plan.replicas)
    replicas = [Replica(i, ports[2 * i], ports[2 * i + 1], plan, logs) for i in range(plan.replicas)]
    tally, stop = Tally(), threading.Event()
    restarts: list[dict[str, Any]] = []
    channels: list[grpc.Channel] = []
    threads: list[threading.Thread] = []
    began = elapsed = 0.0
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_serving()
        targets = [r.target for r in replicas]
        ids = itertools.count()
        began = time.monotonic()
        for gen, make in (("v1", _v1_stub), ("v2", _v2_stub)):
            ch = channel(targets, plan.retry, plan.health_check)
            channels.append(ch)
            stub = make(ch)
            for i in range(plan.clients):
                t = threading.Thread(target=client_loop, args=(gen, stub, plan, tally, stop, began, ids),
                                     name=f"rolling-{gen}-{i}", daemon=True)
                t.start()
                threads.append(t)
        time.sleep(plan.settle_s)
        for k in range(plan.restarts):
            r = replicas[k % plan.replicas]
            at = time.monotonic() - began
            rc, stop_s = r.stop(plan.grace + 10)
            r.start()
            ready_s = r.wait_serving()
            restarts.append({"replica": r.index, "at_s": round(at, 2), "exit_code": rc,
                             "stop_s": round(stop_s, 2), "ready_s": round(ready_s, 2)})
            time.sleep(plan.settle_s)
        stop.set()
        for t in threads:
            t.join(plan.task_timeout_s + 15)
        elapsed = time.monotonic() - began
    finally:
        stop.set()
        for ch in channels:
            ch.close()
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                r.stop(plan.grace + 10)
    by_code: Counter[str] = Counter(f["code"] for f in tally.failures)
    total = sum(tally.calls.values())
    return {
        "plan": {k: v for k, v in asdict(plan).items()},
        "calls": total,
        "calls_by_method": dict(sorted(tally.calls.items())),
        "failed": len(tally.failures),
        "failures_by_code": dict(by_code),
        "failures": tally.failures[:50],
        "tasks_created": tally.created,
        "tasks_terminal": tally.terminal,
        "tasks_lost": len(tally.lost),
        "tasks_finished_elsewhere": tally.elsewhere,
        "restarts": restarts,
        "slow_calls": tally.slow[:50],
        "elapsed_s": round(elapsed, 1),
    }


def summary(record: dict[str, Any]) -> str:
    """One line for a terminal."""
    codes = ", ".join(f"{k} {v}" for k, v in sorted(record["failures_by_code"].items())) or "none"
    return (f"{record['calls']} calls, {len(record['restarts'])} restarts, {record['failed']} failed ({codes}); "
            f"{record['tasks_created']} tasks created, {record['tasks_terminal']} terminal, {record['tasks_lost']} lost, "
            f"{record['tasks_finished_elsewhere']} finished on another replica; {record['elapsed_s']} s")


#: The figure's client configurations: FlytePropeller's default, the same with a retry policy (the
#: real clients have none), and with client-side health checking against replicas with --drain-delay 1.
CONFIGS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("round_robin (FlytePropeller default)", {}),
    ("round_robin + retry on UNAVAILABLE", {"retry": True}),
    ("round_robin + healthCheckConfig, --drain-delay 1", {"health_check": True, "drain_s": 1.0}),
)
#: The figure's load: more than a propeller sends, so that restarts meet calls in flight.
FIGURE = RollingPlan(clients=8, poll_s=0.02, settle_s=1.5)


def render(records: list[dict[str, Any]]) -> str:
    """The figure as a markdown table."""
    lines = ["| client configuration | calls | restarts | failed (by code) | calls > 1 s | tasks created | lost "
             "| finished on another replica |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for r in records:
        codes = ", ".join(f"{k} {v}" for k, v in sorted(r["failures_by_code"].items())) or "0"
        lines.append(f"| {r['config']} | {r['calls']:,} | {len(r['restarts'])} | {r['failed']} ({codes}) "
                     f"| {len(r.get('slow_calls', []))} "
                     f"| {r['tasks_created']:,} | {r['tasks_lost']} | {r['tasks_finished_elsewhere']:,} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the figure (every configuration, ``--runs`` times), print it and write its JSON and markdown."""
    import tempfile

    p = argparse.ArgumentParser(prog="python -m benchmarks.rolling", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="3 restarts instead of 6")
    p.add_argument("--runs", type=int, default=1, help="runs per configuration")
    p.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    args = p.parse_args(argv)
    base = replace(FIGURE, restarts=3) if args.quick else FIGURE
    records = []
    with tempfile.TemporaryDirectory(prefix="rolling-") as tmp:
        for label, changes in CONFIGS:
            for i in range(args.runs):
                record = run(replace(base, **changes), Path(tmp) / f"{len(records)}")
                record["config"] = label
                records.append(record)
                print(f"{label}: {summary(record)}", flush=True)
    stem = "rolling-quick" if args.quick else "rolling"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"results-{stem}.json").write_text(json.dumps(records, indent=1) + "\n")
    (args.out_dir / f"RESULTS-{stem}.md").write_text(
        "# Rolling restarts\n\n" + f"`python -m benchmarks.rolling --runs {args.runs}{' --quick' if args.quick else ''}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}.\n\n"
        + render(records))
    print(render(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
