"""Process-level faults on served subprocesses (``python -m bridge serve``).

- SIGTERM with calls in flight: each call completes or gets UNAVAILABLE, none is lost silently, and
  the process exits 0 within the grace period.
- A replica killed (SIGKILL) between CreateTask and GetTask: another replica answers from
  ``resource_meta`` alone, across generations.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import grpc
import pytest

from tests.bridge._helpers import start_serve
from tests.modern._connectors import create_request, template
from tests.reliability._harness import V1_ASYNC, V2_ASYNC, count
from translators._gen import v1, v2

pytestmark = pytest.mark.timeout(60)
SC = grpc.StatusCode
GRACE = 6.0


def _get_request(task_type: str, meta: bytes) -> bytes:
    req = v2.GetTaskRequest(resource_meta=meta)
    req.task_category.name = task_type
    return req.SerializeToString()


def test_sigterm_with_calls_in_flight_loses_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = tmp_path / "started"
    monkeypatch.setenv("SLOW_CONNECTOR_STARTED", str(started))  # the connector notes each call it starts
    served = start_serve(tmp_path, "--modules", "tests.bridge.conn_slow", "--grace", str(GRACE), "--no-entry-points")
    outcomes: dict[str, int] = {}
    try:
        with grpc.insecure_channel(served.target) as channel:
            futures = []
            for i in range(24):
                svc = (V1_ASYNC, V2_ASYNC)[i % 2]
                meta = json.dumps({"seconds": 1.0}).encode()
                futures.append(channel.unary_unary(f"/{svc}/GetTask").future(_get_request("slow", meta), timeout=30))
            _wait_for_lines(started, 24, timeout=10)  # all are now inside the connector's sleep
            sent = time.monotonic()
            served.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            # Calls that arrive while draining: UNAVAILABLE (or refused at connect: also UNAVAILABLE).
            late = [
                channel.unary_unary(f"/{V2_ASYNC}/GetTask").future(_get_request("slow", b'{"seconds": 0}'), timeout=10)
                for _ in range(4)
            ]
            for fut in [*futures, *late]:
                try:
                    fut.result()
                    key = "OK"
                except grpc.RpcError as exc:
                    key = exc.code().name
                outcomes[key] = outcomes.get(key, 0) + 1
        rc = served.proc.wait(GRACE + 5)
        elapsed = time.monotonic() - sent
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(5)
    count("calls in flight at SIGTERM", 24)
    count("faults injected")
    print(f"\nSIGTERM: outcomes {outcomes}, exit {rc} after {elapsed:.2f}s")
    assert rc == 0, served.log()[-2000:]
    assert elapsed < GRACE + 3
    assert sum(outcomes.values()) == 28, outcomes  # none lost
    assert set(outcomes) <= {"OK", "UNAVAILABLE"}, outcomes
    assert outcomes.get("OK", 0) == 24, "calls in flight before SIGTERM must complete within the grace"


def _wait_for_lines(path: Path, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path.read_text().count(chr(10)) if path.exists() else 0} of {n} calls reached the connector")


def test_replica_killed_between_create_and_get(tmp_path: Path) -> None:
    args = ("--modules", "tests.reliability.conn_faults", "--no-entry-points")
    first = start_serve(tmp_path, *args)
    second = start_serve(tmp_path, *args)
    try:
        metas = []
        with grpc.insecure_channel(first.target) as channel:
            for svc in (V1_ASYNC, V2_ASYNC):
                req = create_request(template("fault", {"mode": "ok"}))
                raw = channel.unary_unary(f"/{svc}/CreateTask")(req.SerializeToString(), timeout=10)
                metas.append((svc, v2.CreateTaskResponse.FromString(raw).resource_meta))
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        count("faults injected")
        with grpc.insecure_channel(second.target) as channel:
            for created_on, meta in metas:
                for svc in (V1_ASYNC, V2_ASYNC):  # the other generation too
                    raw = channel.unary_unary(f"/{svc}/GetTask")(_get_request("fault", meta), timeout=10)
                    cls = v1.GetTaskResponse if svc == V1_ASYNC else v2.GetTaskResponse
                    resource = cls.FromString(raw).resource
                    assert resource.phase == 3, (created_on, svc, resource)  # SUCCEEDED
    finally:
        for s in (first, second):
            if s.proc.poll() is None:
                s.stop()
    assert second.proc.returncode == 0
