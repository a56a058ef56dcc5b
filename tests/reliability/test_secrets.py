"""v2 connection secrets never reach logs, status details or metric labels.

Decision (documented here and in the report): the hub knows the secret values of each request
(``connection.secrets``) and redacts them, as ``***``, from status details *and* from what it logs,
including the traceback of a connector exception whose message echoes the secret.
"""

from __future__ import annotations

import logging
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import prometheus_client
import pytest

from tests.bridge._helpers import start_serve
from tests.modern._connectors import create_request, template
from tests.reliability._harness import V1_ASYNC, V2_ASYNC, InProcessBridge, count, standard_registry
from tests.reliability.conn_faults import FaultConnector, FaultMeta
from translators._gen import v2

pytestmark = pytest.mark.timeout(60)


def _secret() -> str:
    return f"s3cr3t-{uuid.uuid4().hex}"


def _calls(channel: grpc.Channel, secret: str) -> list[str]:
    """Calls carrying ``secret`` (success, a leaking create, a leaking get); returns status details."""
    details = []
    for mode in ("ok", "leak", "raise"):
        req = create_request(template("fault", {"mode": mode}), secrets={"token": secret}, configs={"region": "eu"})
        try:
            channel.unary_unary(f"/{V2_ASYNC}/CreateTask")(req.SerializeToString(), timeout=10)
        except grpc.RpcError as exc:
            details.append(exc.details() or "")
        count("calls carrying secrets")
    get = v2.GetTaskRequest(resource_meta=FaultMeta(mode="leak").encode())
    get.task_category.name = "fault"
    get.connection.secrets["token"] = secret
    for svc in (V2_ASYNC, V1_ASYNC):
        try:
            channel.unary_unary(f"/{svc}/GetTask")(get.SerializeToString(), timeout=10)
        except grpc.RpcError as exc:
            details.append(exc.details() or "")
        count("calls carrying secrets")
    return details


@pytest.fixture
def bridge() -> Iterator[InProcessBridge]:
    with InProcessBridge(standard_registry(FaultConnector()), metrics=None) as b:
        yield b


def test_secrets_absent_from_details_logs_and_metrics_in_process(bridge: InProcessBridge, caplog: pytest.LogCaptureFixture) -> None:
    secret = _secret()
    with caplog.at_level(logging.DEBUG):
        details = _calls(bridge.channel, secret)  # type: ignore[arg-type]
    assert len(details) == 4, details  # leak create, raise create, two leaking gets
    assert any("***" in d for d in details), details  # redacted, not silently dropped
    for d in details:
        assert secret not in d
    logged = "\n".join(r.getMessage() + "\n" + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
                       for r in caplog.records)
    assert "login refused" in logged or "expired" in logged, "the failure must still be logged"
    assert secret not in logged
    assert secret not in caplog.text
    assert secret.encode() not in prometheus_client.generate_latest()


def test_secrets_absent_from_a_served_subprocess_stderr_and_metrics(tmp_path: Path) -> None:
    secret = _secret()
    served = start_serve(tmp_path, "--modules", "tests.reliability.conn_faults", "--log-level", "debug", "--no-entry-points")
    try:
        with grpc.insecure_channel(served.target) as channel:
            details = _calls(channel, secret)
        with urllib.request.urlopen(f"http://127.0.0.1:{served.prometheus_port}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
    finally:
        rc = served.stop()
    assert rc == 0
    assert len(details) == 4 and all(secret not in d for d in details), details
    assert "flyte_connector" in metrics
    assert secret not in metrics
    log = served.log()
    assert "Fault Connector" in log  # the failures were logged...
    assert secret not in log  # ...without the secret
