"""Rolling updates lose nothing: 3 served replicas behind one ``round_robin`` channel per client
generation, each replica in turn sent SIGTERM and started again while v1 and v2 clients run
create -> get-until-terminal loops (``benchmarks.rolling`` drives it; its figure reports the same
numbers on a longer run).

- With the client-side health checking an operator adds to FlytePropeller's ``defaultServiceConfig``
  (``"healthCheckConfig": {"serviceName": ""}``) and the replicas' ``--drain-delay``: not one failed
  call, not one lost task.
- With FlytePropeller's default service config exactly (round_robin, no retry, no health checking):
  not one lost task, and the only failures are the class gRPC core itself makes when a server stops
  (calls it had queued and not handed over, or still on the wire at the GOAWAY: CANCELLED, never
  seen by the bridge), a few per restart at most. Before the fix the bridge itself answered
  UNAVAILABLE "server is draining" to calls gRPC had handed over (bridge.server.drain).

Fast: 3 restarts per test (~15 s each); FULL=1: 6 restarts with twice the clients.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.rolling import RollingPlan, run, summary
from tests.conftest import FULL
from tests.reliability._harness import count

pytestmark = pytest.mark.timeout(240 if FULL else 90)

RESTARTS = 6 if FULL else 3
CLIENTS = 8 if FULL else 4


def _plan(**kw: object) -> RollingPlan:
    return RollingPlan(restarts=RESTARTS, clients=CLIENTS, settle_s=1.0, task_seconds=1.5, poll_s=0.05,
                       grace=10.0, **kw)  # type: ignore[arg-type]


def _check_common(record: dict[str, object]) -> None:
    print("\n" + summary(record))  # type: ignore[arg-type]
    count("rolling restarts", len(record["restarts"]))  # type: ignore[arg-type]
    count("calls during rolling restarts", int(record["calls"]))  # type: ignore[call-overload]
    restarts = record["restarts"]
    assert len(restarts) == RESTARTS  # type: ignore[arg-type]
    assert all(r["exit_code"] == 0 for r in restarts), restarts  # type: ignore[index, union-attr]
    assert record["tasks_created"] > 10 * RESTARTS, record  # type: ignore[operator]
    # Every task created reached a terminal phase, many of them on another replica than their creator.
    assert record["tasks_lost"] == 0, record
    assert record["tasks_terminal"] == record["tasks_created"], record
    assert record["tasks_finished_elsewhere"] > 0, record
    methods = " ".join(record["calls_by_method"])  # type: ignore[arg-type]
    for gen in ("v1", "v2"):
        assert f"{gen} CreateTask OK" in methods and f"{gen} GetTask OK" in methods, methods


def test_rolling_restart_with_client_health_checking_fails_no_call(tmp_path: Path) -> None:
    record = run(_plan(health_check=True, drain_s=1.0), tmp_path)
    _check_common(record)
    assert record["failed"] == 0, record["failures"]


def test_rolling_restart_with_propeller_default_config_loses_no_task(tmp_path: Path) -> None:
    record = run(_plan(), tmp_path)
    _check_common(record)
    failures = record["failures"]
    # Only gRPC core's own class at server stop: never the bridge refusing a call it was handed.
    assert all(f["code"] == "CANCELLED" for f in failures), failures  # type: ignore[union-attr, index]
    assert not any("draining" in f["details"] for f in failures), failures  # type: ignore[union-attr, index]
    # At most about the calls one replica has in flight when it stops (2 * CLIENTS threads over 3 replicas).
    assert record["failed"] <= 3 * RESTARTS, failures  # type: ignore[operator]


def test_calls_during_drain_delay_are_served_and_health_says_not_serving(tmp_path: Path) -> None:
    """After SIGTERM with ``--drain-delay``: health NOT_SERVING at once, yet every call on an open
    connection is still answered (the bridge never refuses a call gRPC hands it), then exit 0."""
    import signal
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from benchmarks.rolling import create_request, get_request
    from tests.bridge._helpers import start_serve
    from translators._gen import v1_grpc, v2_grpc

    served = start_serve(tmp_path, "--modules", "benchmarks.rolling_connector", "--no-entry-points",
                         "--drain-delay", "2", "--grace", "5")
    try:
        with grpc.insecure_channel(served.target) as ch:
            v1, v2 = v1_grpc.AsyncAgentServiceStub(ch), v2_grpc.AsyncConnectorServiceStub(ch)
            meta = v2.CreateTask(create_request("v2", 1, 0.0), timeout=10).resource_meta
            sent = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            health = health_pb2_grpc.HealthStub(ch)
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=3).status
            while status == health_pb2.HealthCheckResponse.SERVING and time.monotonic() - sent < 1:
                status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=3).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
            answered = 0
            while time.monotonic() - sent < 1.5:  # well inside the 2 s drain delay
                assert v1.GetTask(get_request("v1", meta), timeout=3).resource.phase == 3  # SUCCEEDED
                assert v2.CreateTask(create_request("v2", 2, 0.0), timeout=10).resource_meta
                answered += 2
        rc = served.proc.wait(15)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(5)
    count("calls during drain delay", answered)
    assert rc == 0, served.log()[-2000:]
    assert answered > 10
    assert "still serving for 2.0s" in served.log()
