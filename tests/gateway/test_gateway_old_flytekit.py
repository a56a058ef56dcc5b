"""The gateway in front of flytekit 1.13's ``pyflyte serve agent`` (its own venv, built by
``tests.sdkenv``) with an async and a sync agent written against ``flytekit.extend.backend.base_agent``:
what an existing Flyte 1 agent Deployment runs today, reached by Flyte 2 callers through the bridge."""

from __future__ import annotations

import grpc
import pytest

from tests._servers import run
from tests.gateway._upstreams import SdkServer, execute_sync, gateway
from tests.modern._connectors import Phase, create_request, literal_type, template
from tests.modern._gen_client import GENERATIONS, GenClient
from translators._gen import v1, v2, v2_types

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]
INT = literal_type(v2_types.SimpleType.INTEGER)
ASYNC_TYPE, SYNC_TYPE = "old_async", "old_sync"


@pytest.fixture
def agent(old_agent: SdkServer) -> SdkServer:
    """The session's old agent server (``conftest.old_agent``)."""
    return old_agent


def _req(task_type: str, x: int) -> v2.CreateTaskRequest:
    return create_request(template(task_type, inputs={"x": INT}, outputs={"y": INT}), {"x": x})


def test_old_agents_listed_with_is_sync(agent: SdkServer) -> None:
    async def body() -> None:
        async with gateway(agent.address) as (s, ups):
            assert [(u.generation, u.state) for u in ups.statuses()] == [("v1", "up")]
            agents = (await s.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=10)).agents
            by_type = {c.name: a for a in agents for c in a.supported_task_categories}
            assert by_type[SYNC_TYPE].is_sync and by_type[SYNC_TYPE].name == "Old Sync Agent"
            assert not by_type[ASYNC_TYPE].is_sync and by_type[ASYNC_TYPE].name == "Old Async Agent"
            connectors = await GenClient("v2", s).connectors()
            assert connectors["Old Async Agent"] == [(ASYNC_TYPE, 0)]

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_old_async_and_sync_agents_create_get_delete(agent: SdkServer, gen: str) -> None:
    async def body() -> None:
        async with gateway(agent.address) as (s, _):
            c = GenClient(gen, s)
            meta = await c.create(_req(ASYNC_TYPE, 41))
            ans = await c.get(ASYNC_TYPE, meta)
            assert (ans.phase, ans.outputs) == (Phase.SUCCEEDED, {"y": 42})
            assert ans.raw.log_links[0].uri == "https://old.invalid/t"
            await c.delete(ASYNC_TYPE, meta)
            assert (await c.get(ASYNC_TYPE, await c.create(_req(ASYNC_TYPE, 0)))).phase == Phase.RUNNING
            meta = await c.create(_req(SYNC_TYPE, 6))  # ExecuteTaskSync on the old agent
            assert (await c.get(SYNC_TYPE, meta)).outputs == {"y": 12}
            await c.delete(SYNC_TYPE, meta)

    run(body())


def test_old_agents_v1_execute_task_sync_both_kinds(agent: SdkServer) -> None:
    async def body() -> None:
        async with gateway(agent.address) as (s, _):
            forwarded = await execute_sync(s, _req(SYNC_TYPE, 9), timeout=30)
            emulated = await execute_sync(s, _req(ASYNC_TYPE, 9), timeout=30)
            assert forwarded.outputs.literals["y"].scalar.primitive.integer == 18
            assert emulated.outputs.literals["y"].scalar.primitive.integer == 10
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await execute_sync(s, _req(SYNC_TYPE, -1), timeout=30)
            details = err.value.details()
            assert f"upstream {agent.address}" in details and "x must not be negative" in details
            assert "Traceback" not in details

    run(body())
