"""Logs an operator can search: with ``--log-format json`` every line written during a call carries the
call's fields (method, generation, task execution identity, category, implementation, code, duration),
and every failed call gets one access line; never a secret.

A real ``flyte-bridge serve`` on loopback, in both server modes, called through the generated v1 and v2
stubs; the connector (tests.bridge.conn_logging) writes lines of its own, in the loop and from a thread.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from tests.bridge._helpers import Served, start_serve
from translators._gen import v1, v1_core_tasks, v1_grpc, v2, v2_core_tasks, v2_grpc

pytestmark = pytest.mark.timeout(60)

SECRET = f"s3cr3t-{uuid.uuid4().hex}"
V1_CREATE = "/flyteidl.service.AsyncAgentService/CreateTask"
V1_GET = "/flyteidl.service.AsyncAgentService/GetTask"
V2_CREATE = "/flyteidl2.connector.AsyncConnectorService/CreateTask"


def _identify(req: Any, execution: str, retry: int = 1) -> None:
    tid = req.task_execution_metadata.task_execution_id
    tid.node_execution_id.execution_id.project = "flytesnacks"
    tid.node_execution_id.execution_id.domain = "development"
    tid.node_execution_id.execution_id.name = execution
    tid.node_execution_id.node_id = "n2"
    tid.task_id.name = "wf.bars"
    tid.retry_attempt = retry
    req.task_execution_metadata.namespace = "flytesnacks-development"


def _custom(**values: Any) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def _lines(served: Served) -> list[dict[str, Any]]:
    out = []
    for raw in served.log().splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            out.append(json.loads(raw))
    return out


@pytest.fixture(scope="module", params=["aio", "threads"])
def logged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict[str, Any]], str]]:
    """Serve, make the calls, stop; yield (mode, the JSON lines, the whole log text)."""
    mode = request.param
    served = start_serve(tmp_path_factory.mktemp(f"logs-{mode}"), "--modules", "tests.bridge.conn_logging",
                         "--no-entry-points", "--log-format", "json", "--server-mode", mode)
    try:
        with grpc.insecure_channel(served.target) as ch:
            a1, a2 = v1_grpc.AsyncAgentServiceStub(ch), v2_grpc.AsyncConnectorServiceStub(ch)
            # 1. v1 create that fails in the connector, with the execution's identity.
            req1 = v1.CreateTaskRequest(output_prefix="s3://b/o")
            req1.template.CopyFrom(v1_core_tasks.TaskTemplate(type="logs", custom=_custom(fail="Bars Boom")))
            _identify(req1, "abc123")
            with pytest.raises(grpc.RpcError) as err:
                a1.CreateTask(req1, timeout=10)
            assert err.value.code() == grpc.StatusCode.INTERNAL
            # 2. v2 create with connection secrets, failing with the secret in the exception's message.
            req2 = v2.CreateTaskRequest(output_prefix="s3://b/o")
            req2.template.CopyFrom(v2_core_tasks.TaskTemplate(type="logs", custom=_custom(echo_secret=True)))
            req2.connection.secrets["token"] = SECRET
            req2.connection.configs["region"] = "eu-west-1"
            _identify(req2, "def456", retry=0)
            with pytest.raises(grpc.RpcError) as err:
                a2.CreateTask(req2, timeout=10)
            assert SECRET not in (err.value.details() or "")
            # 3. v1 get with a broken handle (no identity in a GetTask).
            get = v1.GetTaskRequest(task_type="logs", resource_meta=b"\xff not json")
            get.task_category.name = "logs"
            with pytest.raises(grpc.RpcError) as err:
                a1.GetTask(get, timeout=10)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            # 4. a v2 create that succeeds.
            req4 = v2.CreateTaskRequest(output_prefix="s3://b/o")
            req4.template.CopyFrom(v2_core_tasks.TaskTemplate(type="logs", custom=_custom()))
            req4.connection.secrets["token"] = SECRET
            _identify(req4, "ok789")
            assert a2.CreateTask(req4, timeout=10).resource_meta
        assert served.stop() == 0
        time.sleep(0.1)
        yield mode, _lines(served), served.log()
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.wait(5)


def _of(lines: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [line for line in lines if all(line.get(k) == v for k, v in match.items())]


def test_every_line_is_json(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    _, lines, text = logged
    assert len(lines) == len([raw for raw in text.splitlines() if raw.strip()]), text[-2000:]


def test_connector_failure_line_names_the_execution_and_the_call(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    _, lines, _ = logged
    [failure] = [ln for ln in _of(lines, logger="modern.hub", execution_name="abc123") if "failed in create" in ln["msg"]]
    assert failure["level"] == "ERROR"
    assert "Bars Boom" in failure["exc"]
    expected = {
        "method": V1_CREATE, "generation": "v1", "project": "flytesnacks", "domain": "development",
        "execution_name": "abc123", "node_id": "n2", "task_name": "wf.bars", "retry_attempt": 1,
        "category": "logs", "category_version": 0, "connector": "Logging Connector", "source": "bridge",
        "code": "INTERNAL",
    }
    assert {k: failure.get(k) for k in expected} == expected
    assert isinstance(failure["duration_ms"], (int, float)) and failure["duration_ms"] >= 0
    assert "upstream" not in failure  # a local connector


def test_one_access_line_per_failed_call(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    _, lines, _ = logged
    access = _of(lines, logger="modern.access")
    assert [(a["method"], a["code"]) for a in access] == [
        (V1_CREATE, "INTERNAL"), (V2_CREATE, "INTERNAL"), (V1_GET, "INVALID_ARGUMENT")
    ], access
    first, second, third = access
    assert first["level"] == "WARNING" and first["execution_name"] == "abc123" and first["generation"] == "v1"
    assert V1_CREATE in first["msg"] and "INTERNAL" in first["msg"] and "Bars Boom" in first["msg"]
    assert first["duration_ms"] >= 0
    assert second["execution_name"] == "def456" and second["generation"] == "v2" and second["retry_attempt"] == 0
    # A GetTask carries no execution identity: category and implementation only.
    assert third["category"] == "logs" and third["generation"] == "v1"
    assert not {"execution_name", "project", "node_id"} & set(third)
    assert not _of(lines, logger="modern.access", execution_name="ok789")  # OK calls: DEBUG only


def test_connector_own_lines_carry_the_call(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    _, lines, _ = logged
    own = _of(lines, logger="conn_logging", execution_name="abc123")
    assert sorted(ln["msg"] for ln in own) == ["connector's own line from a thread", "connector's own line in the loop"]
    assert all(ln["method"] == V1_CREATE and ln["category"] == "logs" for ln in own)
    assert all("code" not in ln for ln in own)  # written before the call's outcome was known


def test_query_for_one_execution_finds_its_failures(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    """What ``jq 'select(.execution_name=="abc123" and (.level=="ERROR" or .level=="WARNING"))'`` returns."""
    _, lines, _ = logged
    found = [ln for ln in lines if ln.get("execution_name") == "abc123" and ln["level"] in ("ERROR", "WARNING")]
    loggers = sorted({ln["logger"] for ln in found})
    assert loggers == ["conn_logging", "modern.access", "modern.hub"], found
    assert len(found) == 4, found  # the connector's two lines, its failure with the traceback, the access line


def test_no_secret_in_any_line(logged: tuple[str, list[dict[str, Any]], str]) -> None:
    _, lines, text = logged
    assert SECRET not in text
    v2_failure = [ln for ln in _of(lines, logger="modern.hub", execution_name="def456") if "failed in create" in ln["msg"]]
    assert len(v2_failure) == 1 and "***" in v2_failure[0]["msg"]
    assert "eu-west-1" not in text  # connection configs are not logged either
