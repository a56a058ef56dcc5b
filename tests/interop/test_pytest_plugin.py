"""The pytest plugin (``bridge.pytest_plugin``) as a connector author uses it: the ``flyte_bridge``
fixture serves a real bridge, and ``create_and_wait`` runs flytekit and flyte-sdk task objects
through both generations' clients."""

from __future__ import annotations

import pytest

from bridge.kit.clients import Outcome
from translators._gen import v1, v2

pytestmark = pytest.mark.interop


def _both(result: Outcome | dict[str, Outcome]) -> tuple[Outcome, Outcome]:
    assert isinstance(result, dict)
    return result["v1"], result["v2"]


def test_fixture_serves_both_generations(flyte_bridge) -> None:
    agents = flyte_bridge.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=5).agents
    assert "echo" in {t for a in agents for t in a.supported_task_types}
    listed = flyte_bridge.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=5).connectors
    assert "Echo Connector" in {c.name for c in listed}
    t = flyte_bridge.template("echo", inputs={"x": int, "label": str}, outputs={"x": int, "label": str})
    one, two = _both(flyte_bridge.create_and_wait(t, {"x": 5, "label": "five"}, generation="both"))
    assert one.phase == two.phase == "SUCCEEDED"
    assert one.outputs == two.outputs == {"x": 5, "label": "five"}
    assert [c.method for c in one.calls] == ["ListAgents", "CreateTask", "GetTask"]


def test_flytekit_task_object(flyte_bridge) -> None:
    pytest.importorskip("flytekit")
    from flytekit.core.base_task import PythonTask
    from flytekit.core.interface import Interface
    from flytekit.extend.backend.base_connector import AsyncConnectorExecutorMixin

    class EchoTask(AsyncConnectorExecutorMixin, PythonTask):
        def __init__(self) -> None:
            super().__init__(task_type="echo", name="plugin_echo_fk", task_config=None,
                             interface=Interface(inputs={"n": int}, outputs={"n": int}))

        def get_custom(self, settings):
            return {"kind": "echo"}

    one, two = _both(flyte_bridge.create_and_wait(EchoTask(), {"n": 3}, generation="both"))
    assert one.succeeded and two.succeeded
    assert one.outputs == two.outputs == {"n": 3}


def test_flyte_sdk_task_object(flyte_bridge) -> None:
    pytest.importorskip("flyte")
    import inspect

    from flyte.connectors import AsyncConnectorExecutorMixin
    from flyte.extend import TaskTemplate
    from flyte.models import NativeInterface

    class EchoTask(AsyncConnectorExecutorMixin, TaskTemplate):
        def custom_config(self, sctx):
            return {"kind": "echo"}

    task = EchoTask(name="plugin_echo_sdk", task_type="echo",
                    interface=NativeInterface({"f": (float, inspect.Parameter.empty)}, {"f": float}))
    one, two = _both(flyte_bridge.create_and_wait(task, {"f": 0.25}, generation="both"))
    assert one.outputs == two.outputs == {"f": 0.25}


@pytest.mark.flyte_bridge("tests.kit.conn_run")
def test_marker_modules_and_sync_connector(flyte_bridge) -> None:
    t = flyte_bridge.template("kit_sync", inputs={"x": int}, outputs={"y": int})
    out = flyte_bridge.create_and_wait(t, {"x": 4}, generation="v1")
    assert isinstance(out, Outcome)
    assert out.sync and [c.method for c in out.calls] == ["ListAgents", "ExecuteTaskSync"]
    assert out.outputs == {"y": 8}


@pytest.mark.flyte_bridge("tests.kit.conn_run")
def test_failure_and_timeout_outcomes(flyte_bridge) -> None:
    failed = flyte_bridge.create_and_wait(flyte_bridge.template("kit_fail"), generation="v2")
    assert failed.phase == "FAILED" and "warehouse rejected" in failed.message
    slow = flyte_bridge.template("kit_slow", inputs={"seconds": float})
    timed_out = flyte_bridge.create_and_wait(slow, {"seconds": 60}, generation="v2", timeout=0.3)
    assert timed_out.phase == "TIMED_OUT" and timed_out.message == "DeleteTask sent"
    assert [c.method for c in timed_out.calls][-1] == "DeleteTask"
