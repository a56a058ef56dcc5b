"""flytekit and flyte-sdk connectors and flytekit's own sensor tasks, on one real server and one
registry, answered through the generated stubs of both generations."""

from __future__ import annotations

import collections
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

pytest.importorskip("flytekit")
pytest.importorskip("flyte")

from legacy.flytekit_adapter import import_flytekit_registry  # noqa: E402
from modern.flyte_sdk import import_flyte_registry  # noqa: E402
from modern.registry import ConnectorRegistry  # noqa: E402
from modern.sensors import ALLOWLIST_ENV, SensorEngine  # noqa: E402
from tests._servers import Served, ThreadedServer  # noqa: E402
from tests.interop import _flytekit_connectors as fk  # noqa: E402
from tests.interop import _sdk_connectors as sdk  # noqa: E402
from tests.interop._calls import GENERATIONS, create, delete, execute_sync, get, int_template, int_type, outputs  # noqa: E402
from translators._gen import v1, v2, v2_core_execution, v2_core_tasks  # noqa: E402
from translators.literals import inputs_to_native, native_to_inputs  # noqa: E402

pytestmark = pytest.mark.interop
PHASE = v2_core_execution.TaskExecution


def flytekit_file_sensor_template(timeout_s: int | None = None) -> v2_core_tasks.TaskTemplate:
    """A FileSensor task serialized by flytekit itself, as a v2 template (same bytes)."""
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.sensor.file_sensor import FileSensor
    from flytekit.tools.translator import get_serializable

    sensor = FileSensor(name=f"wait_{uuid.uuid4().hex[:6]}", timeout=timeout_s)
    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    v1_template = get_serializable(collections.OrderedDict(), settings, sensor).template.to_flyte_idl()
    return v2_core_tasks.TaskTemplate.FromString(v1_template.SerializeToString())


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One server, one registry: flytekit connectors, a flyte-sdk connector and the sensor engine."""
    fk.register_in_flytekit()
    sdk.register_in_sdk()
    registry = ConnectorRegistry()
    import_flytekit_registry(registry)
    import_flyte_registry(registry, entry_points=False)
    if not registry.has("sensor"):
        from modern.sensors.builtin import register_into

        register_into(registry)
    with ThreadedServer(registry, poll_initial=0.01) as s:
        yield s


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flytekit_file_sensor_running_then_succeeded(served: Served, gen: str, tmp_path: Path) -> None:
    template = flytekit_file_sensor_template()
    assert template.type == "sensor" and template.custom["sensor_name"] == "FileSensor"
    target = tmp_path / "arrives"
    meta = create(served, gen, template, {"path": str(target)})
    resource = get(served, gen, "sensor", meta)
    assert resource.phase == PHASE.RUNNING
    target.write_text("x")
    assert get(served, gen, "sensor", meta).phase == PHASE.SUCCEEDED
    if gen == "v1":
        assert get(served, gen, "sensor", meta).state == v1.SUCCEEDED  # old propellers read state


def test_sensor_engine_is_the_bridges(served: Served) -> None:
    entry = served.hub.registry.get_connector("sensor")
    assert isinstance(entry, SensorEngine)


@pytest.mark.parametrize("gen", GENERATIONS)
def test_sensor_timeout_through_server(served: Served, gen: str) -> None:
    import time

    meta = create(served, gen, flytekit_file_sensor_template(timeout_s=1), {"path": "/nonexistent/never"})
    assert get(served, gen, "sensor", meta).phase == PHASE.RUNNING
    time.sleep(1.1)
    resource = get(served, gen, "sensor", meta)
    assert resource.phase == PHASE.FAILED and "timed out" in resource.message


@pytest.mark.parametrize("gen", GENERATIONS)
def test_disallowed_sensor_module_rejected_nothing_imported(
    served: Served, gen: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    name = f"bridge_evil_{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "imported"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w').write('1')\nclass S: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    template = flytekit_file_sensor_template()
    template.custom.update({"sensor_module": name, "sensor_name": "S"})
    with pytest.raises(grpc.RpcError) as err:
        create(served, gen, template, {"path": "/x"})
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    forged = b'{"sensor_module": "%s", "sensor_name": "S", "inputs": {}}' % name.encode()
    with pytest.raises(grpc.RpcError) as err:
        get(served, gen, "sensor", forged)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert name not in sys.modules and not marker.exists()


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flytekit_async_connector_both_generations(served: Served, gen: str) -> None:
    template = int_template(fk.ASYNC_TYPE, {"x": int_type()}, ("y",))
    meta = create(served, gen, template, {"x": 41})
    resource = get(served, gen, fk.ASYNC_TYPE, meta)
    assert resource.phase == PHASE.SUCCEEDED and outputs(resource) == {"y": 42}
    assert resource.log_links[0].uri.endswith(template.id.name)
    delete(served, gen, fk.ASYNC_TYPE, meta)
    assert fk.CALLS[-1][0] == "delete"


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flytekit_sync_connector_both_generations(served: Served, gen: str) -> None:
    template = int_template(fk.SYNC_TYPE, {"x": int_type()}, ("y",))
    # v2 has no sync service: CreateTask runs do, GetTask answers from resource_meta.
    meta = create(served, gen, template, {"x": 5})
    resource = get(served, gen, fk.SYNC_TYPE, meta)
    assert resource.phase == PHASE.SUCCEEDED and outputs(resource) == {"y": 10}


def test_flytekit_sync_connector_execute_task_sync_v1(served: Served) -> None:
    template = int_template(fk.SYNC_TYPE, {"x": int_type()}, ("y",))
    replies = execute_sync(served, template, {"x": 8})
    assert len(replies) == 1 and replies[0].header.resource.phase == PHASE.SUCCEEDED
    assert outputs(replies[0].header.resource) == {"y": 16}
    # A connector failure is a bounded INTERNAL status without a traceback.
    with pytest.raises(grpc.RpcError) as err:
        execute_sync(served, template, {"x": -1})
    assert err.value.code() == grpc.StatusCode.INTERNAL and "Traceback" not in err.value.details()


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flyte_sdk_connector_both_generations(served: Served, gen: str) -> None:
    from translators._gen import v2_types

    xs_type = v2_types.LiteralType(collection_type=v2_types.LiteralType(simple=v2_types.SimpleType.FLOAT))
    template = int_template(sdk.SDK_TYPE, {"xs": xs_type}, ())
    meta = create(served, gen, template, {"xs": [1.5, 2.0]})
    kind, args = sdk.CALLS[-1]
    assert kind == "create" and args["inputs"] == {"xs": [1.5, 2.0]}
    assert isinstance(args["task_template"], v2_core_tasks.TaskTemplate)
    resource = get(served, gen, sdk.SDK_TYPE, meta)
    assert resource.phase == PHASE.SUCCEEDED and outputs(resource) == {"total": 3.5} and resource.message == "done"
    req = (v1.GetTaskLogsRequest(task_category=v1.TaskCategory(name=sdk.SDK_TYPE), resource_meta=meta) if gen == "v1"
           else v2.GetTaskLogsRequest(task_category=v2.TaskCategory(name=sdk.SDK_TYPE), resource_meta=meta))
    pages = list((served.v1 if gen == "v1" else served.v2).async_.GetTaskLogs(req, timeout=20))
    assert [p.header.token for p in pages] == [f"{template.id.name}-p1", f"{template.id.name}-p2"]


def test_flyte_sdk_connector_gets_connection_kwargs(served: Served) -> None:
    from flyteidl2.core.security_pb2 import Connection

    template = int_template(sdk.SDK_TYPE, {}, ())
    create(served, "v2", template, None, connection=Connection(secrets={"token": "s3cr3t-value"}, configs={"region": "eu"}))
    kind, args = sdk.CALLS[-1]
    assert args["token"] == "s3cr3t-value" and args["region"] == "eu" and args["inputs"] == {}
    with pytest.raises(grpc.RpcError) as err:
        create(served, "v2", template, None, connection=Connection(secrets={"fail": "s3cr3t-value"}))
    assert err.value.code() == grpc.StatusCode.INTERNAL and "s3cr3t-value" not in err.value.details()


@pytest.mark.parametrize("gen", GENERATIONS)
def test_one_registry_lists_both_sdks(served: Served, gen: str) -> None:
    if gen == "v1":
        names = {a.name for a in served.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=20).agents}
    else:
        names = {c.name for c in served.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=20).connectors}
    assert {"Bridge Test Sync", "Bridge Test Async", "Bridge Test SDK", "Sensor"} <= {n.removesuffix(" (sync)") for n in names}


def test_inputs_helper_is_lossless_for_the_tests() -> None:
    # Guard for the helpers above: what the tests send is what they meant to send.
    t = int_template("x", {"x": int_type()}, ())
    assert inputs_to_native(native_to_inputs({"x": 3}, t.interface.inputs), t.interface.inputs) == {"x": 3}
