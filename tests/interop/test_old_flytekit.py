"""Real agents of old flytekit versions, served in-process by a bridge running in that flytekit's venv.

flytekit 1.11 (the declared floor), 1.13 and 1.15 ship the connector API as ``base_agent`` (``AsyncAgentBase``, ``SyncAgentBase``,
``AgentRegistry``); 1.15 also pins ``grpcio<=1.68`` and so protobuf 5.29. Each version gets its own venv
(``tests.sdkenv``, built by ``make sdk-envs``), the bridge is started there as a subprocess with the test
agents as a ``--modules`` plugin, and this suite (main venv) calls it with the generated stubs of both
generations over loopback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from tests._servers import stubs
from tests.bridge._helpers import REPO, channel, start_serve
from tests.interop._calls import GENERATIONS, create, delete, execute_sync, get, int_template, int_type, outputs
from tests.sdkenv import SDK_ENVS, EnvUnavailable, ensure
from translators._gen import v1, v2, v2_core_execution

pytestmark = [pytest.mark.interop, pytest.mark.timeout(600)]
PHASE = v2_core_execution.TaskExecution
PLUGIN = "tests.interop._flytekit_plugin"
# Mirrors tests.interop._flytekit_connectors (not importable here: it needs flytekit in this venv).
SYNC_TYPE, ASYNC_TYPE = "bridge_fk_sync", "bridge_fk_async"
NAMES = {"Bridge Test Sync", "Bridge Test Async"}


@pytest.fixture(scope="module", params=sorted(n for n in SDK_ENVS if n.startswith("flytekit-")))
def old(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The bridge under one old flytekit's venv, and blocking stubs of both generations on it."""
    try:
        spec = ensure(SDK_ENVS[request.param])
    except EnvUnavailable as exc:
        pytest.skip(str(exc))
    served = start_serve(tmp_path_factory.mktemp(spec.name), "--modules", PLUGIN, python=spec.bin("python"))
    try:
        with channel(served.target) as ch:
            v1_stubs, v2_stubs = stubs(ch)
            yield SimpleNamespace(spec=spec, served=served, v1=v1_stubs, v2=v2_stubs)
    finally:
        assert served.stop() == 0, served.log()


def test_the_old_flytekit_is_what_serves(old: Any) -> None:
    probe = "import flytekit; from legacy._flytekit_api import flytekit_api; print(flytekit.__version__, flytekit_api().module)"
    out = subprocess.run([str(old.spec.bin("python")), "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    version, module = out.stdout.split()
    wanted = old.spec.requirements[0].split("==")[1].rstrip(".*")
    assert version.startswith(wanted + "."), version
    assert module == "flytekit.extend.backend.base_agent"
    log = old.served.log()
    assert "adapted 2 flytekit connector(s)" in log, log
    assert "adapting the flytekit registry failed" not in log and "Traceback" not in log


def test_both_generations_list_the_agents(old: Any) -> None:
    agents = old.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=20).agents
    assert {a.name: a.is_sync for a in agents if a.name in NAMES} == {"Bridge Test Sync": True, "Bridge Test Async": False}
    connectors = old.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=20).connectors
    v2_categories = {t.name for c in connectors if c.name in NAMES for t in c.supported_task_categories}
    assert v2_categories == {SYNC_TYPE, ASYNC_TYPE}


@pytest.mark.parametrize("gen", GENERATIONS)
def test_async_agent(old: Any, gen: str) -> None:
    template = int_template(ASYNC_TYPE, {"x": int_type()}, ("y",))
    meta = create(old, gen, template, {"x": 41})
    resource = get(old, gen, ASYNC_TYPE, meta)
    assert resource.phase == PHASE.SUCCEEDED and outputs(resource) == {"y": 42}
    assert resource.log_links[0].uri.endswith("/" + template.id.name)
    delete(old, gen, ASYNC_TYPE, meta)
    # x == 0 keeps the job running: the agent's own ResourceMeta decoded the handle it encoded.
    running = get(old, gen, ASYNC_TYPE, create(old, gen, template, {"x": 0}))
    assert running.phase == PHASE.RUNNING and running.message == "still going"
    if gen == "v1":
        assert running.state == v1.RUNNING  # old propellers read state


@pytest.mark.parametrize("gen", GENERATIONS)
def test_sync_agent_through_create_and_get(old: Any, gen: str) -> None:
    template = int_template(SYNC_TYPE, {"x": int_type()}, ("y",))
    resource = get(old, gen, SYNC_TYPE, create(old, gen, template, {"x": 5}))
    assert resource.phase == PHASE.SUCCEEDED and outputs(resource) == {"y": 10}
    # flytekit 1.11's Resource has no custom_info, so the test agent sends none there.
    assert dict(resource.custom_info) == ({} if old.spec.name == "flytekit-1.11" else {"seen": 5})


def test_sync_agent_execute_task_sync_v1(old: Any) -> None:
    template = int_template(SYNC_TYPE, {"x": int_type()}, ("y",))
    replies = execute_sync(old, template, {"x": 8})
    assert len(replies) == 1 and replies[0].header.resource.phase == PHASE.SUCCEEDED
    assert outputs(replies[0].header.resource) == {"y": 16}
    with pytest.raises(grpc.RpcError) as err:
        execute_sync(old, template, {"x": -1})
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "x must not be negative" in err.value.details() and "Traceback" not in err.value.details()
