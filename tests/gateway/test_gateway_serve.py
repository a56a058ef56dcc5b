"""``flyte-bridge serve --upstream``: the command itself in front of a real ``c0``, and of an upstream
that is down at start; both server modes."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytest.importorskip("flyte")

from tests.bridge._helpers import free_port, start_serve  # noqa: E402
from tests.gateway._upstreams import SdkServer, c0  # noqa: E402
from tests.interop._sdk_connectors import SDK_TYPE  # noqa: E402
from tests.modern._connectors import Phase, create_request, literal_type, template  # noqa: E402
from translators import create_task_request_to_v1  # noqa: E402
from translators._gen import v1, v1_grpc, v2_types  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[SdkServer]:
    server = c0(tmp_path).start()
    yield server
    server.stop()


def _create(stub: v1_grpc.AsyncAgentServiceStub, task_type: str) -> bytes:
    floats = v2_types.LiteralType(collection_type=literal_type(v2_types.SimpleType.FLOAT))
    req = create_request(template(task_type, inputs={"xs": floats}), {"xs": [1.0, 2.0]})
    req.ClearField("connection")
    return stub.CreateTask(create_task_request_to_v1(req, mark=False), timeout=10).resource_meta


def _get(stub: v1_grpc.AsyncAgentServiceStub, meta: bytes) -> v1.Resource:
    req = v1.GetTaskRequest(task_category=v1.TaskCategory(name=SDK_TYPE), resource_meta=meta)
    return stub.GetTask(req, timeout=10).resource


@pytest.mark.parametrize("mode", ["aio", "threads"])
def test_serve_in_front_of_c0_and_a_down_upstream(upstream: SdkServer, tmp_path: Path, mode: str) -> None:
    dead = f"127.0.0.1:{free_port()}"
    served = start_serve(tmp_path, "--server-mode", mode, "--upstream", upstream.address, "--upstream", f"v1://{dead}")
    try:
        log = served.log()
        assert "Upstreams:" in log
        rows = {line.split("|")[1].strip(): line for line in log.splitlines() if line.startswith("| ") and "127.0.0.1" in line}
        assert "| v2 " in rows[upstream.address] and "| up " in rows[upstream.address]
        assert f"{SDK_TYPE} (v0)" in rows[upstream.address]
        assert "| v1 " in rows[f"v1://{dead}"] and "| down " in rows[f"v1://{dead}"]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{served.prometheus_port}/metrics", timeout=10).read().decode()
        assert f'flyte_bridge_upstream_up{{upstream="{upstream.address}"}} 1.0' in metrics
        assert f'flyte_bridge_upstream_up{{upstream="{dead}"}} 0.0' in metrics

        with grpc.insecure_channel(served.target) as ch:
            agents = v1_grpc.AgentMetadataServiceStub(ch).ListAgents(v1.ListAgentsRequest(), timeout=10).agents
            assert SDK_TYPE in [c.name for a in agents for c in a.supported_task_categories]
            stub = v1_grpc.AsyncAgentServiceStub(ch)
            # The down upstream has never answered: an unknown category may be its, so UNAVAILABLE.
            with pytest.raises(grpc.RpcError) as err:
                _create(stub, "nobody_serves_this")
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and f"upstream:{dead}" in err.value.details()

            meta = _create(stub, SDK_TYPE)
            upstream.stop()
            with pytest.raises(grpc.RpcError) as err:
                _get(stub, meta)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and upstream.address in err.value.details()
            health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING

            upstream.start()
            deadline = time.monotonic() + 30
            while True:  # the channel reconnects within its (bounded) backoff
                try:
                    assert _get(stub, meta).phase == Phase.SUCCEEDED
                    break
                except grpc.RpcError as exc:
                    assert exc.code() == grpc.StatusCode.UNAVAILABLE
                    assert time.monotonic() < deadline, "the upstream's task did not answer after its restart"
                    time.sleep(0.2)
            assert _get(stub, meta).outputs.literals["total"].scalar.primitive.float_value == 3.0
    finally:
        assert served.stop() == 0
