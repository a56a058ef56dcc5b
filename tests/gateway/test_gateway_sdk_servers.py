"""The gateway in front of the SDKs' own servers: flyte-sdk's ``c0`` (v2) and flytekit's
``pyflyte serve connector`` (v1) with async and sync connectors, called through the bridge with the
generated stubs of both generations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

pytest.importorskip("flytekit")
pytest.importorskip("flyte")

from tests._servers import run  # noqa: E402
from tests.gateway._upstreams import SdkServer, c0, execute_sync, gateway, pyflyte_connector, wait_for  # noqa: E402
from tests.interop._flytekit_connectors import ASYNC_TYPE, SYNC_TYPE  # noqa: E402
from tests.interop._sdk_connectors import SDK_TYPE  # noqa: E402
from tests.modern._connectors import Phase, create_request, literal_type, template  # noqa: E402
from tests.modern._gen_client import GENERATIONS, GenClient  # noqa: E402
from translators._gen import v1, v1_grpc, v2, v2_types  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]
S = v2_types.SimpleType
INT = literal_type(S.INTEGER)
FLOATS = v2_types.LiteralType(collection_type=literal_type(S.FLOAT))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SdkServer, SdkServer]]:
    """(c0, pyflyte serve connector), started side by side, stopped after the module."""
    logs = tmp_path_factory.mktemp("upstreams")
    started = [c0(logs).launch(), pyflyte_connector(logs).launch()]
    try:
        for server in started:
            server.wait_up(120)
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


async def _direct_logs(server: SdkServer, task_type: str, meta: bytes) -> list[bytes]:
    """The upstream's own GetTaskLogs answer, called directly with a v1 stub."""
    async with grpc.aio.insecure_channel(server.address) as ch:
        req = v1.GetTaskLogsRequest(task_category=v1.TaskCategory(name=task_type), resource_meta=meta)
        return [m.SerializeToString() async for m in v1_grpc.AsyncAgentServiceStub(ch).GetTaskLogs(req, timeout=10)]


def _fk(task_type: str, x: int) -> v2.CreateTaskRequest:
    return create_request(template(task_type, inputs={"x": INT}, outputs={"y": INT}), {"x": x})


def _sum(xs: list[float]) -> v2.CreateTaskRequest:
    return create_request(template(SDK_TYPE, inputs={"xs": FLOATS}, outputs={"total": literal_type(S.FLOAT)}), {"xs": xs})


def test_metadata_lists_the_upstreams_categories_with_is_sync(servers: tuple[SdkServer, SdkServer]) -> None:
    sdk, kit = servers

    async def body() -> None:
        async with gateway(sdk.address, kit.address) as (s, ups):
            assert [(u.generation, u.state) for u in ups.statuses()] == [("v2", "up"), ("v1", "up")]
            agents = (await s.v1.metadata.ListAgents(v1.ListAgentsRequest(), timeout=10)).agents
            by_type = {c.name: a for a in agents for c in a.supported_task_categories}
            assert by_type[SYNC_TYPE].is_sync and not by_type[ASYNC_TYPE].is_sync and not by_type[SDK_TYPE].is_sync
            assert by_type[SDK_TYPE].name == "Bridge Test SDK" and by_type[ASYNC_TYPE].name == "Bridge Test Async"
            listed = await GenClient("v2", s).connectors()
            assert listed["Bridge Test SDK"] == [(SDK_TYPE, 0)] and (SYNC_TYPE, 0) in listed["Bridge Test Sync"]

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flytekit_async_agent_every_method(servers: tuple[SdkServer, SdkServer], gen: str) -> None:
    async def body() -> None:
        async with gateway(servers[1].address) as (s, _):
            c = GenClient(gen, s)
            meta = await c.create(_fk(ASYNC_TYPE, 41))
            ans = await c.get(ASYNC_TYPE, meta)
            assert (ans.phase, ans.outputs) == (Phase.SUCCEEDED, {"y": 42})
            assert ans.raw.log_links[0].uri == "https://example.invalid/t"
            assert await c.metrics(ASYNC_TYPE, meta) == []
            # flytekit's GetTaskLogs returns its one message from a coroutine, which gRPC does not send
            # on a server stream: the bridge passes on exactly what the upstream streams (here nothing).
            direct = await _direct_logs(servers[1], ASYNC_TYPE, meta)
            assert [m.SerializeToString() for m in await c.logs(ASYNC_TYPE, meta)] == direct
            await c.delete(ASYNC_TYPE, meta)
            running = await c.get(ASYNC_TYPE, await c.create(_fk(ASYNC_TYPE, 0)))
            assert running.phase == Phase.RUNNING and running.message == "still going"

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_flytekit_sync_agent_through_create_and_get(servers: tuple[SdkServer, SdkServer], gen: str) -> None:
    async def body() -> None:
        async with gateway(servers[1].address) as (s, _):
            c = GenClient(gen, s)
            meta = await c.create(_fk(SYNC_TYPE, 5))  # ExecuteTaskSync on the upstream, result in resource_meta
            ans = await c.get(SYNC_TYPE, meta)
            assert (ans.phase, ans.outputs) == (Phase.SUCCEEDED, {"y": 10})
            await c.delete(SYNC_TYPE, meta)

    run(body())


def test_v1_execute_task_sync_on_sync_and_async_upstreams(servers: tuple[SdkServer, SdkServer]) -> None:
    sdk, kit = servers

    async def body() -> None:
        async with gateway(sdk.address, kit.address) as (s, _):
            forwarded = await execute_sync(s, _fk(SYNC_TYPE, 8), timeout=30)
            emulated = await execute_sync(s, _fk(ASYNC_TYPE, 1), timeout=30)
            on_c0 = await execute_sync(s, _sum([1.0, 2.5]), timeout=30)
            assert [r.phase for r in (forwarded, emulated, on_c0)] == [Phase.SUCCEEDED] * 3
            assert forwarded.outputs.literals["y"].scalar.primitive.integer == 16
            assert emulated.outputs.literals["y"].scalar.primitive.integer == 2
            with pytest.raises(grpc.aio.AioRpcError) as err:  # the agent raised: its status, bounded, named
                await execute_sync(s, _fk(SYNC_TYPE, -1), timeout=30)
            details = err.value.details()
            assert err.value.code() == grpc.StatusCode.INTERNAL and f"upstream {kit.address}" in details
            assert "x must not be negative" in details and "Traceback" not in details and "File " not in details

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_c0_connector_both_generations(servers: tuple[SdkServer, SdkServer], gen: str) -> None:
    async def body() -> None:
        async with gateway(servers[0].address) as (s, _):
            c = GenClient(gen, s)
            meta = await c.create(_sum([1.5, 2.0]))
            ans = await c.get(SDK_TYPE, meta)
            assert (ans.phase, ans.outputs, ans.message) == (Phase.SUCCEEDED, {"total": 3.5}, "done")
            pages = await c.logs(SDK_TYPE, meta)
            assert [p.header.token for p in pages] == ["t-p1", "t-p2"]  # forwarded message by message
            await c.delete(SDK_TYPE, meta)

    run(body())


def test_upstream_killed_unavailable_then_the_same_meta_answers(tmp_path: Path) -> None:
    server = c0(tmp_path).start()
    try:

        async def body() -> None:
            async with gateway(server.address, interval=0.2, probe_timeout=1) as (s, ups):
                meta = await GenClient("v2", s).create(_sum([2.0, 2.0]))
                server.stop()
                for gen in GENERATIONS:
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await GenClient(gen, s).get(SDK_TYPE, meta)
                    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                    assert f"upstream {server.address}" in err.value.details()
                await ups.refresh()
                assert ups.statuses()[0].state == "down"
                assert "Bridge Test SDK" in await GenClient("v1", s).connectors()  # still listed
                server.start()
                for gen in GENERATIONS:
                    ans = await wait_for(lambda: GenClient(gen, s).get(SDK_TYPE, meta))  # noqa: B023
                    assert (ans.phase, ans.outputs) == (Phase.SUCCEEDED, {"total": 4.0})

        run(body(), timeout=120)
    finally:
        server.stop()
