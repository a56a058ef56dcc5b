"""The pytest plugin (``bridge.pytest_plugin``) as a connector author uses it: the ``flyte_bridge``
fixture serves a real bridge, and ``create_and_wait`` runs flytekit and flyte-sdk task objects
through both generations' clients."""

from __future__ import annotations

import pytest

from bridge.kit.clients import Outcome
from bridge.kit.harness import Outcomes
from translators._gen import v1, v2

pytestmark = pytest.mark.interop


def _both(result: Outcomes) -> tuple[Outcome, Outcome]:
    assert isinstance(result, Outcomes) and list(result) == ["v1", "v2"]
    assert result.v1 is result["v1"] and result.v2 is result["v2"]
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
    # One generation: the same mapping as for "both", and it reads as its one Outcome.
    assert isinstance(out, Outcomes) and list(out) == ["v1"] and isinstance(out["v1"], Outcome)
    assert out.v1 is out["v1"] and out.outputs == out["v1"].outputs == {"y": 8}
    assert out.sync and [c.method for c in out.calls] == ["ListAgents", "ExecuteTaskSync"]
    with pytest.raises(KeyError, match="'v2' did not run"):
        out["v2"]
    with pytest.raises(AttributeError, match="v2 did not run"):
        out.v2


def test_both_generations_name_the_attribute_to_read(flyte_bridge) -> None:
    t = flyte_bridge.template("echo", inputs={"x": int}, outputs={"x": int})
    out = flyte_bridge.create_and_wait(t, {"x": 1}, generation="both")
    assert out.succeeded and out.v1.outputs == out["v2"].outputs == {"x": 1}
    with pytest.raises(AttributeError, match="2 generations ran; read out.v1.outputs"):
        out.outputs


def test_a_misspelled_input_names_the_declared_ones(flyte_bridge) -> None:
    from bridge.kit.values import InputsError

    t = flyte_bridge.template("echo", inputs={"name": str}, outputs={"name": str})
    with pytest.raises(InputsError, match="unknown input 'nam': the task declares name"):
        flyte_bridge.create_and_wait(t, {"nam": "hello"})


def test_marker_modules_of_another_test_are_not_served(flyte_bridge) -> None:
    # The tests above loaded tests.kit.conn_run with their marker; this test has none.
    listed = flyte_bridge.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=5).connectors
    names = {c.name for c in listed}
    assert "Echo Connector" in names and "Kit Sync" not in names


@pytest.mark.flyte_bridge("tests.kit.conn_run")
def test_failure_and_timeout_outcomes(flyte_bridge) -> None:
    failed = flyte_bridge.create_and_wait(flyte_bridge.template("kit_fail"), generation="v2")
    assert failed.phase == "FAILED" and "warehouse rejected" in failed.message
    slow = flyte_bridge.template("kit_slow", inputs={"seconds": float})
    timed_out = flyte_bridge.create_and_wait(slow, {"seconds": 60}, generation="v2", timeout=0.3)
    assert timed_out.phase == "TIMED_OUT" and timed_out.message == "DeleteTask sent"
    assert [c.method for c in timed_out.calls][-1] == "DeleteTask"
