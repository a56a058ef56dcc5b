"""One category, two SDKs: every route of the rule in modern.routing, through real stubs of both generations.

A real flytekit connector and a real flyte-sdk connector serve the same category
(``tests/interop/_two_sdks.py``); templates come from each SDK's own serializer and by hand with no
runtime. Each answers which SDK served it, so a wrong route is visible; their ``ResourceMeta`` shapes
differ, so a handle reaching the wrong implementation fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

pytest.importorskip("flytekit", reason="needs the flytekit extra")
pytest.importorskip("flyte", reason="needs the flyte extra")

from modern import ConnectorRegistry  # noqa: E402
from modern.routing import ROUTE_MAGIC  # noqa: E402
from tests._servers import Served, ThreadedServer, stubs  # noqa: E402
from tests.bridge._helpers import start_serve  # noqa: E402
from tests.interop._sdk_servers import sdk_server  # noqa: E402
from tests.interop import _two_sdks as two  # noqa: E402
from tests.interop import _two_sdks_flyte, _two_sdks_flytekit  # noqa: E402
from translators._gen import v1, v1_core_literals, v1_core_tasks, v1_types, v2, v2_core_literals, v2_core_tasks, v2_task_common  # noqa: E402

pytestmark = pytest.mark.interop

FLYTEKIT_T = _two_sdks_flytekit.template_bytes()
FLYTE_SDK_T = _two_sdks_flyte.template_bytes()
_HAND = v1_core_tasks.TaskTemplate(type=two.CATEGORY)
_HAND.id.name = "hand_task"
_HAND.interface.inputs.variables["x"].type.simple = v1_types.SimpleType.INTEGER
_HAND.interface.outputs.variables["by"].type.simple = v1_types.SimpleType.STRING
BY_HAND_T = _HAND.SerializeToString()
CATEGORY_V1 = v1.TaskCategory(name=two.CATEGORY, version=0)
CATEGORY_V2 = v2.TaskCategory(name=two.CATEGORY, version=0)


def _registry() -> ConnectorRegistry:
    from legacy.flytekit_adapter import import_flytekit_registry
    from modern.flyte_sdk import import_flyte_registry

    registry = ConnectorRegistry()
    import_flytekit_registry(registry)
    import_flyte_registry(registry, entry_points=False)
    return registry


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with ThreadedServer(_registry()) as s:
        yield s


def create(s: Served, generation: str, template: bytes) -> bytes:
    """CreateTask as FlytePropeller (v1) or the Flyte 2 executor (v2) sends it; the resource_meta."""
    if generation == "v1":
        lit = v1_core_literals.Literal(scalar=v1_core_literals.Scalar(primitive=v1_core_literals.Primitive(integer=1)))
        req1 = v1.CreateTaskRequest(
            template=v1_core_tasks.TaskTemplate.FromString(template),
            inputs=v1_core_literals.LiteralMap(literals={"x": lit}),
            output_prefix="s3://bucket/out",
        )
        return s.v1.async_.CreateTask(req1, timeout=20).resource_meta
    lit2 = v2_core_literals.Literal(scalar=v2_core_literals.Scalar(primitive=v2_core_literals.Primitive(integer=1)))
    req2 = v2.CreateTaskRequest(
        template=v2_core_tasks.TaskTemplate.FromString(template),
        inputs=v2_task_common.Inputs(literals=[v2_task_common.NamedLiteral(name="x", value=lit2)]),
        output_prefix="s3://bucket/out",
    )
    return s.v2.async_.CreateTask(req2, timeout=20).resource_meta


def served_by(stub_v1: object, stub_v2: object, generation: str, meta: bytes) -> str:
    """GetTask by either generation; which SDK answered (the connector's output ``by``)."""
    if generation == "v1":
        res1 = stub_v1.GetTask(v1.GetTaskRequest(task_category=CATEGORY_V1, resource_meta=meta), timeout=20).resource  # type: ignore[attr-defined]
        assert res1.phase == 3, res1  # SUCCEEDED
        return res1.outputs.literals["by"].scalar.primitive.string_value
    res2 = stub_v2.GetTask(v2.GetTaskRequest(task_category=CATEGORY_V2, resource_meta=meta), timeout=20).resource  # type: ignore[attr-defined]
    assert res2.phase == 3, res2
    return {nl.name: nl.value for nl in res2.outputs.literals}["by"].scalar.primitive.string_value


ROUTES = [
    # (template, caller generation, expected implementation)
    ("flytekit", "v1", "flytekit"),
    ("flytekit", "v2", "flytekit"),
    ("flyte-sdk", "v1", "flyte-sdk"),
    ("flyte-sdk", "v2", "flyte-sdk"),
    ("by hand", "v1", "flytekit"),
    ("by hand", "v2", "flyte-sdk"),
]
TEMPLATES = {"flytekit": FLYTEKIT_T, "flyte-sdk": FLYTE_SDK_T, "by hand": BY_HAND_T}


def test_the_serializers_write_the_runtime_the_rule_reads() -> None:
    from modern.routing import template_family

    assert template_family(v2_core_tasks.TaskTemplate.FromString(FLYTEKIT_T)) == "flytekit"
    assert template_family(v2_core_tasks.TaskTemplate.FromString(FLYTE_SDK_T)) == "flyte-sdk"
    assert template_family(v2_core_tasks.TaskTemplate.FromString(BY_HAND_T)) is None


@pytest.mark.parametrize(("author", "caller", "expected"), ROUTES)
def test_create_and_get_reach_the_implementation_of_the_template_author(
    served: Served, author: str, caller: str, expected: str
) -> None:
    meta = create(served, caller, TEMPLATES[author])
    assert meta.startswith(ROUTE_MAGIC + expected.encode() + b"\n")
    # Any generation's Get reaches the implementation that created the task.
    for getter in ("v1", "v2"):
        assert served_by(served.v1.async_, served.v2.async_, getter, meta) == expected


def test_sync_execute_routes_like_create(served: Served) -> None:
    # ExecuteTaskSync (v1 only) on an async implementation: create then get, on the chosen one.
    for template, expected in ((FLYTE_SDK_T, "flyte-sdk"), (BY_HAND_T, "flytekit")):
        header = v1.ExecuteTaskSyncRequest(
            header=v1.CreateRequestHeader(template=v1_core_tasks.TaskTemplate.FromString(template), output_prefix="s3://o")
        )
        replies = list(served.v1.sync.ExecuteTaskSync(iter([header]), timeout=20))
        assert replies[0].header.resource.outputs.literals["by"].scalar.primitive.string_value == expected


def test_delete_reaches_the_creator_and_a_foreign_tag_is_not_found(served: Served) -> None:
    meta = create(served, "v2", FLYTE_SDK_T)
    served.v2.async_.DeleteTask(v2.DeleteTaskRequest(task_category=CATEGORY_V2, resource_meta=meta), timeout=20)
    forged = ROUTE_MAGIC + b"retired-source\n" + meta.split(b"\n", 1)[1]
    with pytest.raises(grpc.RpcError) as err:
        served.v2.async_.GetTask(v2.GetTaskRequest(task_category=CATEGORY_V2, resource_meta=forged), timeout=20)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert "retired-source" in (err.value.details() or "")
    with pytest.raises(grpc.RpcError) as cut:
        served.v1.async_.GetTask(v1.GetTaskRequest(task_category=CATEGORY_V1, resource_meta=ROUTE_MAGIC + b"flytekit"), timeout=20)
    assert cut.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_metadata_lists_the_category_once_and_both_names_answer(served: Served) -> None:
    connectors = served.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=10).connectors
    v2_names = [c.name for c in connectors if any(cat.name == two.CATEGORY for cat in c.supported_task_categories)]
    agents = served.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=10).agents
    v1_names = [a.name for a in agents if any(cat.name == two.CATEGORY for cat in a.supported_task_categories)]
    assert v2_names == [two.FLYTE_SDK_NAME] and v1_names == [two.FLYTEKIT_NAME]
    for name in (two.FLYTEKIT_NAME, two.FLYTE_SDK_NAME):
        assert served.v1.metadata.GetAgent(v1.GetAgentRequest(name=name), timeout=10).agent.name == name
        assert served.v2.metadata.GetConnector(v2.GetConnectorRequest(name=name), timeout=10).connector.name == name


def test_prefer_pins_one_implementation_for_every_route() -> None:
    registry = _registry()
    registry.prefer(two.CATEGORY, "flytekit")
    with ThreadedServer(registry) as s:
        for author, caller, _ in ROUTES:
            meta = create(s, caller, TEMPLATES[author])
            assert served_by(s.v1.async_, s.v2.async_, "v2", meta) == "flytekit", (author, caller)


def test_a_second_bridge_process_answers_gets_and_prefer_flag_is_honoured(served: Served, tmp_path: Path) -> None:
    other = start_serve(tmp_path, "--no-entry-points", "--modules", *two.MODULES, "--prefer", f"{two.CATEGORY}=flyte-sdk")
    try:
        with grpc.insecure_channel(other.target) as ch:
            o1, o2 = stubs(ch)
            for author, caller, expected in ROUTES:
                meta = create(served, caller, TEMPLATES[author])  # created by this process
                assert served_by(o1.async_, o2.async_, "v1", meta) == expected  # answered by the other
            # The other process pins flyte-sdk for creates, whatever the template says.
            meta = o1.async_.CreateTask(
                v1.CreateTaskRequest(template=v1_core_tasks.TaskTemplate.FromString(FLYTEKIT_T)), timeout=20
            ).resource_meta
            assert served_by(o1.async_, o2.async_, "v1", meta) == "flyte-sdk"
        assert "--prefer bridge_two_sdks=flyte-sdk" in other.log()
    finally:
        assert other.stop() == 0


@pytest.mark.parametrize("server", ["pyflyte", "c0"])
def test_a_handle_written_by_pyflyte_or_c0_is_answered_by_the_bridge(served: Served, server: str, tmp_path: Path) -> None:
    """A rolling swap: the task was created by the SDK's own server; the bridge answers its Get."""
    module = two.MODULES[0] if server == "pyflyte" else two.MODULES[1]
    with sdk_server(server, tmp_path, "--modules", module) as ch:
        if True:
            u1, u2 = stubs(ch)
            if server == "pyflyte":
                meta = u1.async_.CreateTask(
                    v1.CreateTaskRequest(template=v1_core_tasks.TaskTemplate.FromString(FLYTEKIT_T)), timeout=30
                ).resource_meta
            else:
                meta = u2.async_.CreateTask(
                    v2.CreateTaskRequest(template=v2_core_tasks.TaskTemplate.FromString(FLYTE_SDK_T)), timeout=30
                ).resource_meta
        assert not meta.startswith(ROUTE_MAGIC)
        expected = "flytekit" if server == "pyflyte" else "flyte-sdk"
        # Both generations' Gets reach the implementation whose own decode accepts the handle.
        for getter in ("v1", "v2"):
            assert served_by(served.v1.async_, served.v2.async_, getter, meta) == expected
