"""End-to-end: ``python -m bridge serve`` as a subprocess, called with the real generated stubs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bridge.server.aliases import BETA_SERVICE_NAMES
from bridge.server.assembly import V1_SERVICE_NAMES, V2_SERVICE_NAMES
from tests.bridge._helpers import REPO, Served, channel, free_port, make_pki, start_serve
from translators import _gen
from translators._protobuf_compat import known_fields

pytestmark = pytest.mark.timeout(60)

INPUTS = {"n": 7, "word": "hi"}


def _v1_inputs() -> object:
    lits = _gen.v1_core_literals
    return lits.LiteralMap(
        literals={
            "n": lits.Literal(scalar=lits.Scalar(primitive=lits.Primitive(integer=7))),
            "word": lits.Literal(scalar=lits.Scalar(primitive=lits.Primitive(string_value="hi"))),
        }
    )


def _native(lit: object) -> object:
    prim = lit.scalar.primitive  # type: ignore[attr-defined]
    return getattr(prim, prim.WhichOneof("value"))


# Both gRPC servers the bridge runs (--server-mode auto picks aio; threads is an opt-in).
SERVER_MODES = ["aio", "threads"]


@pytest.fixture(scope="module", params=SERVER_MODES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    s = start_serve(tmp, "--server-mode", request.param, "--modules", "tests.bridge.conn_slow", "tests.bridge.conn_broken")
    try:
        kind = "grpc.aio" if request.param == "aio" else "thread-pool"
        assert f"{kind} server)" in s.log(), s.log()
        yield s
    finally:
        assert s.stop() == 0, s.log()


def test_health_serving_for_every_service(served: Served) -> None:
    with channel(served.target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in ["", *V1_SERVICE_NAMES, *V2_SERVICE_NAMES, *BETA_SERVICE_NAMES]:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING, name
        with pytest.raises(grpc.RpcError) as err:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_agents_and_list_connectors_agree(served: Served) -> None:
    with channel(served.target) as ch:
        agents = _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=5)
        conns = _gen.v2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(
            _gen.v2.ListConnectorsRequest(), timeout=5
        )
    v1 = {(a.name, c.name, c.version) for a in agents.agents for c in a.supported_task_categories}
    v2 = {(c.name, t.name, t.version) for c in conns.connectors for t in c.supported_task_categories}
    assert v1 == v2
    categories = {cat for _, cat, _ in v2}
    assert {"echo", "slow", "sensor"} <= categories


def test_failed_module_is_reported_and_others_serve(served: Served) -> None:
    log = served.log()
    assert "tests.bridge.conn_broken" in log
    assert "Skipped" in log and "no_such_dependency" in log
    assert "Traceback" not in log
    assert "Slow Connector" in log  # the module after it still loaded


def test_objects_made_at_start_are_kept_out_of_full_collections(served: Served) -> None:
    # Full collections walking the imported SDKs' objects were the p99 at 64 streams (bridge.commands.serve).
    found = re.search(r"(\d+) objects made at start kept out of the cyclic GC", served.log())
    assert found and int(found.group(1)) > 10_000, served.log()


def test_create_get_through_v1(served: Served) -> None:
    template = _gen.v1_core_tasks.TaskTemplate(type="echo")
    with channel(served.target) as ch:
        stub = _gen.v1_grpc.AsyncAgentServiceStub(ch)
        created = stub.CreateTask(
            _gen.v1.CreateTaskRequest(inputs=_v1_inputs(), template=template, output_prefix="/tmp/o"), timeout=10
        )
        got = stub.GetTask(
            _gen.v1.GetTaskRequest(
                task_type="echo", task_category=_gen.v1.TaskCategory(name="echo", version=0),
                resource_meta=created.resource_meta,
                **known_fields(_gen.v1.GetTaskRequest, output_prefix="/tmp/o"),
            ),
            timeout=10,
        )
    assert got.resource.phase == _gen.v1_core_execution.TaskExecution.SUCCEEDED
    assert got.resource.state == _gen.v1.SUCCEEDED
    assert {k: _native(v) for k, v in got.resource.outputs.literals.items()} == INPUTS


def test_create_get_through_v2(served: Served) -> None:
    inputs = _gen.v2_task_common.Inputs()
    for name, lit in sorted(_v1_inputs().literals.items()):  # type: ignore[attr-defined]
        inputs.literals.add(name=name, value=_gen.v2_core_literals.Literal.FromString(lit.SerializeToString()))
    template = _gen.v2_core_tasks.TaskTemplate(type="echo")
    template.custom.update({})
    with channel(served.target) as ch:
        stub = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
        created = stub.CreateTask(
            _gen.v2.CreateTaskRequest(
                inputs=inputs, template=template, output_prefix="/tmp/o",
                connection=_gen.v2_security.Connection(task_type="echo"),
            ),
            timeout=10,
        )
        got = stub.GetTask(
            _gen.v2.GetTaskRequest(
                task_category=_gen.v2.TaskCategory(name="echo", version=0),
                resource_meta=created.resource_meta, output_prefix="/tmp/o",
            ),
            timeout=10,
        )
    assert got.resource.phase == _gen.v2_core_execution.TaskExecution.SUCCEEDED
    assert {n.name: _native(n.value) for n in got.resource.outputs.literals} == INPUTS


def test_unknown_category_is_not_found(served: Served) -> None:
    with channel(served.target) as ch:
        stub = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetTask(
                _gen.v2.GetTaskRequest(task_category=_gen.v2.TaskCategory(name="nope"), resource_meta=b"{}"),
                timeout=5,
            )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(err.value.details() or "") <= 1024


def test_beta_service_names_answer(served: Served) -> None:
    with channel(served.target) as ch:
        call = ch.unary_unary(
            "/flyteidl2.service.ConnectorMetadataService/ListConnectors",
            request_serializer=_gen.v2.ListConnectorsRequest.SerializeToString,
            response_deserializer=_gen.v2.ListConnectorsResponse.FromString,
        )
        resp = call(_gen.v2.ListConnectorsRequest(), timeout=5)
    assert "echo" in {t.name for c in resp.connectors for t in c.supported_task_categories}


def test_reflection_lists_both_generations(served: Served) -> None:
    with channel(served.target) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        names = {s.name for r in responses for s in r.list_services_response.service}
    assert set(V1_SERVICE_NAMES) <= names and set(V2_SERVICE_NAMES) <= names


def test_prometheus_endpoint(served: Served) -> None:
    body = urllib.request.urlopen(f"http://127.0.0.1:{served.prometheus_port}/metrics", timeout=5).read().decode()
    assert "process_cpu_seconds_total" in body
    assert "flyte_connector_requests_success_total" in body


@pytest.mark.parametrize("mode", SERVER_MODES)
def test_sigterm_lets_in_flight_call_finish_then_exits_0(tmp_path: Path, mode: str) -> None:
    s = start_serve(tmp_path, "--server-mode", mode, "--modules", "tests.bridge.conn_slow")
    result: dict[str, object] = {}
    try:
        with channel(s.target) as ch:
            stub = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
            meta = b'{"seconds": 2.0}'

            def _call() -> None:
                try:
                    result["resp"] = stub.GetTask(
                        _gen.v2.GetTaskRequest(task_category=_gen.v2.TaskCategory(name="slow"), resource_meta=meta),
                        timeout=20,
                    )
                except grpc.RpcError as exc:
                    result["err"] = exc

            t = threading.Thread(target=_call)
            t.start()
            time.sleep(0.7)  # the call is now sleeping inside the connector
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            with channel(s.target) as fresh, pytest.raises(grpc.RpcError) as err:
                _gen.v2_grpc.ConnectorMetadataServiceStub(fresh).ListConnectors(
                    _gen.v2.ListConnectorsRequest(), timeout=3
                )
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            t.join(20)
        assert "err" not in result, result.get("err")
        assert result["resp"].resource.phase == _gen.v2_core_execution.TaskExecution.SUCCEEDED  # type: ignore[attr-defined]
        assert s.proc.wait(20) == 0, s.log()
    finally:
        s.stop()


def test_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    creds = grpc.ssl_channel_credentials(root_certificates=pki.ca_pem)
    s = start_serve(tmp_path, "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key), credentials=creds)
    try:
        with channel(s.target, creds) as ch:
            resp = _gen.v2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(
                _gen.v2.ListConnectorsRequest(), timeout=5
            )
        assert resp.connectors
        with channel(s.target) as plain, pytest.raises(grpc.RpcError) as err:
            _gen.v1_grpc.AgentMetadataServiceStub(plain).ListAgents(_gen.v1.ListAgentsRequest(), timeout=3)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert s.stop() == 0


def test_mutual_tls_requires_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with_cert = grpc.ssl_channel_credentials(pki.ca_pem, pki.client_key, pki.client_cert)
    without = grpc.ssl_channel_credentials(root_certificates=pki.ca_pem)
    s = start_serve(
        tmp_path, "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        "--tls-client-ca", str(pki.ca), credentials=with_cert,
    )
    try:
        with channel(s.target, with_cert) as ch:
            assert _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=5).agents
        with channel(s.target, without) as ch, pytest.raises(grpc.RpcError) as err:
            _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=3)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        assert s.stop() == 0


@pytest.mark.parametrize("pin", [False, True])
def test_two_workers_share_the_port(tmp_path: Path, pin: bool) -> None:
    port = free_port()
    pport = free_port(consecutive=2)
    s = start_serve(tmp_path, "--workers", "2", *(["--pin-workers"] if pin else []), port=port, prometheus_port=pport)
    try:
        for i in range(2):  # worker i exposes its own metrics on pport + i
            deadline = time.monotonic() + 20
            while True:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{pport + i}/metrics", timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"worker {i} metrics never came up; log:\n{s.log()}") from None
                    time.sleep(0.1)
            assert b"process_start_time_seconds" in body
        for _ in range(4):  # fresh connections land on either worker; all are served
            with channel(s.target) as ch:
                assert _gen.v2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(
                    _gen.v2.ListConnectorsRequest(), timeout=5
                ).connectors
        # Each worker starts its metrics before its server: wait for both "ready" lines before reading the log.
        deadline = time.monotonic() + 30
        while not all(f"(worker {i})" in s.log() for i in range(2)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "(worker 0)" in s.log() and "(worker 1)" in s.log(), s.log()
        # Pinned or not, auto serves with grpc.aio: the thread-pool server would cap calls in flight.
        assert s.log().count("grpc.aio server)") == 2 and "thread-pool server)" not in s.log(), s.log()
        if pin:
            assert "worker 0 pinned to CPU" in s.log() and "worker 1 pinned to CPU" in s.log()
    finally:
        assert s.stop() == 0, s.log()


def test_pin_to_one_cpu_round_robins_over_allowed_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.commands.serve import pin_to_one_cpu

    pinned: list[set[int]] = []
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {2, 5, 7})
    monkeypatch.setattr("os.sched_setaffinity", lambda pid, cpus: pinned.append(set(cpus)))
    assert [pin_to_one_cpu(i) for i in range(4)] == [2, 5, 7, 2]
    assert pinned == [{2}, {5}, {7}, {2}]

    def refuse(pid: int, cpus: object) -> None:
        raise PermissionError("not permitted")

    monkeypatch.setattr("os.sched_setaffinity", refuse)
    assert pin_to_one_cpu(0) is None


def test_compat_command_output() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "compat"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for pkg in ("flyteidl ", "flyteidl2", "protobuf", "grpcio"):
        assert pkg in out.stdout
    assert "collision=0" in out.stdout


@pytest.mark.interop
def test_sdk_connectors_are_adapted_and_cross_served_with_json_logs(tmp_path: Path) -> None:
    pytest.importorskip("flytekit")
    pytest.importorskip("flyte")
    s = start_serve(tmp_path, "--modules", "tests.bridge.conn_sdks", "--log-format", "json")
    try:
        with channel(s.target) as ch:
            agents = _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=5)
            assert {"kit_task", "sdk_task"} <= {c.name for a in agents.agents for c in a.supported_task_categories}
            # The flyte-sdk connector, called as FlytePropeller would.
            v1 = _gen.v1_grpc.AsyncAgentServiceStub(ch)
            created = v1.CreateTask(
                _gen.v1.CreateTaskRequest(template=_gen.v1_core_tasks.TaskTemplate(type="sdk_task"), output_prefix="/o"),
                timeout=10,
            )
            got1 = v1.GetTask(
                _gen.v1.GetTaskRequest(
                    task_type="sdk_task", task_category=_gen.v1.TaskCategory(name="sdk_task"),
                    resource_meta=created.resource_meta,
                ),
                timeout=10,
            )
            # The flytekit connector, called as the Flyte 2 executor would.
            v2 = _gen.v2_grpc.AsyncConnectorServiceStub(ch)
            template = _gen.v2_core_tasks.TaskTemplate(type="kit_task")
            template.custom.update({})
            created2 = v2.CreateTask(_gen.v2.CreateTaskRequest(template=template, output_prefix="/o"), timeout=10)
            got2 = v2.GetTask(
                _gen.v2.GetTaskRequest(
                    task_category=_gen.v2.TaskCategory(name="kit_task"), resource_meta=created2.resource_meta
                ),
                timeout=10,
            )
        assert got1.resource.phase == _gen.v1_core_execution.TaskExecution.SUCCEEDED
        assert got2.resource.phase == _gen.v2_core_execution.TaskExecution.SUCCEEDED
    finally:
        assert s.stop() == 0, s.log()
    lines = [ln for ln in s.log().splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]  # every line is one JSON object
    assert any("Kit Connector" in r["msg"] and "Sdk Connector" in r["msg"] for r in records)
    assert any("adapted" in r["msg"] and "flytekit" in r["msg"] for r in records)


def test_demo_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "demo"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ListAgents()" in out.stdout and "ListConnectors()" in out.stdout
    assert out.stdout.count("phase SUCCEEDED") == 2
    assert out.stdout.count("n: 7") >= 4  # sent and got back, by both generations
