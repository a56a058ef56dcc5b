"""The flytekit adapter called directly: flytekit model objects in, hub Resources out.

Runs under the newest flytekit (``.venv``) and at the declared floor, flytekit 1.11
(``.venvs/flytekit-1.11``, see ``tests/interop/test_flytekit_floor.py``); what 1.11 lacks is looked up
tolerantly and the tests say what they expect there.
"""

from __future__ import annotations

import pytest

pytest.importorskip("flytekit")

from flytekit.models import task as _flytekit_task  # noqa: E402
from flytekit.models.literals import LiteralMap  # noqa: E402
from flytekit.models.task import TaskTemplate  # noqa: E402

from legacy.flytekit_adapter import (  # noqa: E402
    FlytekitAsyncAdapter,
    FlytekitSyncAdapter,
    adapt,
    import_flytekit_registry,
)
from modern.errors import ConnectorNotFoundError  # noqa: E402
from modern.registry import ConnectorRegistry  # noqa: E402
from modern.sensors import SensorEngine  # noqa: E402
from tests.interop import _flytekit_connectors as fk  # noqa: E402
from translators._gen import v1_core_literals, v2, v2_core_execution, v2_core_literals, v2_core_tasks  # noqa: E402
from translators._gen import v2_interface, v2_task_common, v2_types  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.anyio]
PHASE = v2_core_execution.TaskExecution
#: None under flytekit 1.11: the model is new in 1.12, and the adapter then passes None (as 1.11's server).
TaskExecutionMetadata = getattr(_flytekit_task, "TaskExecutionMetadata", None)


def int_template(task_type: str, name: str = "job-1") -> v2_core_tasks.TaskTemplate:
    t = v2_core_tasks.TaskTemplate(type=task_type)
    t.id.name = name
    int_type = v2_types.LiteralType(simple=v2_types.SimpleType.INTEGER)
    t.interface.inputs.variables.add(key="x", value=v2_interface.Variable(type=int_type))
    t.interface.outputs.variables.add(key="y", value=v2_interface.Variable(type=int_type))
    return t


def int_inputs(x: int) -> v2_task_common.Inputs:
    lit = v2_core_literals.Literal()
    lit.scalar.primitive.integer = x
    return v2_task_common.Inputs(literals=[v2_task_common.NamedLiteral(name="x", value=lit)])


def output_y(resource) -> int:
    outputs = resource.outputs
    lm = v1_core_literals.LiteralMap.FromString(outputs.SerializeToString())
    return lm.literals["y"].scalar.primitive.integer


async def test_sync_adapter_gets_flytekit_models_and_returns_literals() -> None:
    fk.CALLS.clear()
    hub_connector = adapt(fk.DoubleSync())
    assert isinstance(hub_connector, FlytekitSyncAdapter)
    assert (hub_connector.task_type_name, hub_connector.task_type_version) == (fk.SYNC_TYPE, 0)
    meta = v2.TaskExecutionMetadata(namespace="ns")
    res = await hub_connector.do(int_template(fk.SYNC_TYPE), "s3://out", inputs=int_inputs(21), task_execution_metadata=meta)
    assert res.phase == PHASE.SUCCEEDED and output_y(res) == 42
    assert res.custom_info == ({"seen": 21} if fk.HAS_CUSTOM_INFO else None)
    kind, args = fk.CALLS[-1]
    assert kind == "do" and isinstance(args["task_template"], TaskTemplate) and isinstance(args["inputs"], LiteralMap)
    if TaskExecutionMetadata is None:  # flytekit 1.11
        assert args["task_execution_metadata"] is None
    else:
        assert isinstance(args["task_execution_metadata"], TaskExecutionMetadata)
        assert args["task_execution_metadata"].namespace == "ns"


async def test_a_call_without_flytekit_context_gets_the_default_one_not_a_reinitialized_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bridge's calls run in contexts made before flytekit was imported (the webhook connector is
    # imported lazily in a worker thread): flytekit's context variable is unset there. Without a default
    # context handed in, flytekit re-initializes itself on every call (config, sandbox directory, and
    # on the main thread its own SIGINT handler in place of the server's).
    import asyncio
    import contextvars
    import signal

    from flytekit.core.context_manager import FlyteContextManager, flyte_context_Var

    hub_connector = adapt(fk.DoubleSync())
    inits: list[int] = []
    real_init = FlyteContextManager.initialize
    monkeypatch.setattr(FlyteContextManager, "initialize", staticmethod(lambda: (inits.append(1), real_init())[1]))
    sigint = signal.getsignal(signal.SIGINT)
    seen: list[int] = []

    async def call() -> object:
        assert not flyte_context_Var.get()  # the fresh context: as the bridge's calls start
        res = await hub_connector.do(int_template(fk.SYNC_TYPE), "s3://out", inputs=int_inputs(4))
        seen.append(len(flyte_context_Var.get()))
        return res

    for _ in range(2):
        res = await asyncio.get_running_loop().create_task(call(), context=contextvars.Context())
        assert res.phase == PHASE.SUCCEEDED and output_y(res) == 8  # flytekit's TypeEngine encoded it
    assert inits == []
    assert seen == [1, 1]  # a stack of its own per call, holding the default context
    assert signal.getsignal(signal.SIGINT) is sigint


async def test_async_adapter_runs_blocking_methods_and_keeps_its_meta() -> None:
    fk.CALLS.clear()
    hub_connector = adapt(fk.JobAsync())
    assert isinstance(hub_connector, FlytekitAsyncAdapter) and hub_connector.metadata_type is fk.JobMeta
    handle = await hub_connector.create(int_template(fk.ASYNC_TYPE, "j7"), "s3://out", inputs=int_inputs(4), api_key="k")
    decoded = hub_connector.metadata_type.decode(handle.encode())
    assert decoded == fk.JobMeta(job_id="j7", x=4)
    res = await hub_connector.get(decoded)
    assert res.phase == PHASE.SUCCEEDED and output_y(res) == 5
    assert isinstance(res.log_links[0], v2_core_execution.TaskLog) and res.log_links[0].uri.endswith("/j7")
    assert (await hub_connector.get(fk.JobMeta(job_id="j", x=0))).phase == PHASE.RUNNING
    await hub_connector.delete(decoded)
    assert [c[0] for c in fk.CALLS] == ["create", "get", "get", "delete"]
    # Connection kwargs (v2) reach a method that takes **kwargs.
    assert fk.CALLS[0][1]["api_key"] == "k"
    # No inputs in the request: flytekit still gets an (empty) LiteralMap, as under pyflyte serve.
    await hub_connector.create(int_template(fk.ASYNC_TYPE), "o")
    assert isinstance(fk.CALLS[-1][1]["inputs"], LiteralMap) and not fk.CALLS[-1][1]["inputs"].literals
    metrics = await hub_connector.get_metrics(decoded)
    assert isinstance(metrics, v2.GetTaskMetricsResponse)
    logs = await hub_connector.get_logs(decoded)
    assert isinstance(logs, v2.GetTaskLogsResponse)


async def test_sync_adapter_passes_only_the_keywords_do_declares() -> None:
    class Strict(fk.DoubleSync):
        async def do(self, task_template, output_prefix, inputs=None, api_key=None):
            fk.CALLS.append(("do", {"inputs": inputs, "api_key": api_key}))
            return await super().do(task_template, output_prefix, inputs)

    fk.CALLS.clear()
    meta = v2.TaskExecutionMetadata(namespace="ns")
    res = await adapt(Strict()).do(
        int_template(fk.SYNC_TYPE), "s3://out", inputs=int_inputs(2), task_execution_metadata=meta, api_key="k", other=1
    )
    assert res.phase == PHASE.SUCCEEDED and output_y(res) == 4
    # The declared connection keyword arrives; the undeclared one and the execution metadata do not.
    assert fk.CALLS[0] == ("do", {"inputs": fk.CALLS[0][1]["inputs"], "api_key": "k"})
    assert set(fk.CALLS[1][1]) == {"task_template", "inputs"}


async def test_flytekit_not_found_becomes_not_found() -> None:
    from flytekit.exceptions import system

    # flytekit 1.11-1.13 spell it FlyteAgentNotFound; the adapter knows both names.
    FlyteConnectorNotFound = getattr(system, "FlyteConnectorNotFound", None) or system.FlyteAgentNotFound

    class Delegating(fk.JobAsync):
        def get(self, resource_meta, **kwargs):
            raise FlyteConnectorNotFound("Cannot find connector for task category: other_v0.")

    with pytest.raises(ConnectorNotFoundError) as err:
        await adapt(Delegating()).get(fk.JobMeta(job_id="a", x=1))
    assert err.value.code.name == "NOT_FOUND"


def test_adapt_refuses_non_connectors_and_replaces_sensor_engine() -> None:
    with pytest.raises(TypeError):
        adapt(object())
    from flytekit.sensor.sensor_engine import SensorEngine as FlytekitSensorEngine

    assert isinstance(adapt(FlytekitSensorEngine()), SensorEngine)


def test_import_flytekit_registry_adapts_all_and_keeps_bridge_sensor_engine() -> None:
    fk.register_in_flytekit()
    import flytekit.sensor  # noqa: F401  (registers flytekit's SensorEngine in flytekit's registry)

    reg = ConnectorRegistry()
    added = import_flytekit_registry(reg)
    assert isinstance(reg.get_connector(fk.SYNC_TYPE), FlytekitSyncAdapter)
    assert isinstance(reg.get_connector(fk.ASYNC_TYPE), FlytekitAsyncAdapter)
    assert isinstance(reg.get_connector("sensor"), SensorEngine)
    assert len(added) >= 3
    # Importing again keeps what is there (no duplicate error, nothing re-added).
    assert import_flytekit_registry(reg) == []


async def test_a_resource_without_to_flyte_idl_is_encoded_as_flytekit_1_11_did() -> None:
    # flytekit 1.11/1.12: Resource is a plain dataclass; their server typed native outputs itself.
    from dataclasses import dataclass as _dc

    from legacy._flytekit_models import resource_from_flytekit
    from translators._gen import v1_core_execution

    @_dc
    class OldResource:
        phase: int
        message: str | None = None
        log_links: list | None = None
        outputs: object = None

    link = v1_core_execution.TaskLog(name="console", uri="https://example.invalid/j")
    res = await resource_from_flytekit(OldResource(PHASE.SUCCEEDED, "ok", [link], {"y": 5}), "old")
    assert res.phase == PHASE.SUCCEEDED and res.message == "ok" and output_y(res) == 5
    assert res.log_links[0].uri == link.uri
    lm = LiteralMap.from_flyte_idl(v1_core_literals.LiteralMap(literals={"y": v1_core_literals.Literal()}))
    assert (await resource_from_flytekit(OldResource(PHASE.RUNNING, outputs=lm), "old")).outputs is not None


def test_the_api_lookup_falls_back_to_the_agent_names_and_says_what_is_too_old(monkeypatch: pytest.MonkeyPatch) -> None:
    from flytekit.extend.backend import base_agent

    from legacy import _flytekit_api

    # flytekit 1.11-1.15: no base_connector module, the same API under base_agent's names.
    monkeypatch.setattr(_flytekit_api, "_GENERATIONS", (("no_such.base_connector", "A", "S", "R"), *_flytekit_api._GENERATIONS[1:]))
    _flytekit_api.flytekit_api.cache_clear()
    try:
        api = _flytekit_api.flytekit_api()
        assert api.module == "flytekit.extend.backend.base_agent" and api.registry is base_agent.AgentRegistry
        assert isinstance(adapt(fk.DoubleSync()), FlytekitSyncAdapter)
        # flytekit 1.10: neither generation's names.
        monkeypatch.setattr(_flytekit_api, "_GENERATIONS", (("flytekit.extend.backend.base_agent", "Nope", "Nope", "Nope"),))
        _flytekit_api.flytekit_api.cache_clear()
        with pytest.raises(ImportError, match=r"flytekit \S+ is older than 1\.11: its connectors cannot be adapted"):
            _flytekit_api.flytekit_api()
    finally:
        _flytekit_api.flytekit_api.cache_clear()
