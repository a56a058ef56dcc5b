"""The gateway against another bridge as its upstream, in process: both dialects (v2, and v1 forced
with ``v1://`` against the upstream's v1 faces), deadlines and cancellation, status pass-through,
pending and down upstreams, routing beside a local implementation, and TLS to the upstream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from bridge.server.tls import channel_credentials, server_credentials
from bridge.upstream import UpstreamClient
from bridge.upstream.dialect import DIALECTS
from bridge.upstream.implementation import UpstreamImplementation
from modern import routing
from tests._servers import run
from tests.bridge._helpers import free_port, make_pki
from tests.gateway._upstreams import execute_sync, gateway, upstream_bridge, wait_for
from tests.modern._connectors import EchoSync, JobConnector, Phase, create_request, literal_type, registry_with, template
from tests.modern._gen_client import GENERATIONS, GenClient
from translators._gen import v2, v2_types

pytestmark = pytest.mark.timeout(90)
S = v2_types.SimpleType
DIALECT_PREFIXES = ("", "v1://")  # detected (v2), and the v1 dialect forced


def _job_request(**custom: object) -> v2.CreateTaskRequest:
    return create_request(template("job", dict(custom), inputs={"a": literal_type(S.INTEGER)}), {"a": 7})


@pytest.mark.parametrize("prefix", DIALECT_PREFIXES)
@pytest.mark.parametrize("gen", GENERATIONS)
def test_every_task_method_is_forwarded(gen: str, prefix: str) -> None:
    job = JobConnector()

    async def body() -> None:
        async with upstream_bridge(registry_with(job, EchoSync())) as address:
            async with gateway(prefix + address) as (s, ups):
                assert [(u.generation, u.state) for u in ups.statuses()] == [(prefix[:2] or "v2", "up")]
                c = GenClient(gen, s)
                assert set(await c.connectors()) >= {"Job Connector", "Echo"}
                meta = await c.create(_job_request(message="ok"))
                ans = await c.get("job", meta)
                assert (ans.phase, ans.outputs, ans.message) == (Phase.SUCCEEDED, {"a": 7}, "ok")
                job_id = ans.raw.custom_info.fields["job_id"].string_value
                assert await c.metrics("job", meta) == [f"cpu:{job_id}"]
                logs = await c.logs("job", meta, token="abc")
                assert [m.WhichOneof("part") for m in logs] == ["header", "body"]  # message by message
                assert logs[0].header.token == "tok-abc"
                await c.delete("job", meta)
                assert job.deleted == [job_id]
                assert job.calls[0][1] == {"a": 7}  # inputs arrived as the upstream's connector expects

    run(body())


@pytest.mark.parametrize("prefix", DIALECT_PREFIXES)
def test_sync_upstream_connector(prefix: str) -> None:
    async def body() -> None:
        async with upstream_bridge(registry_with(EchoSync())) as address:
            async with gateway(prefix + address) as (s, _):
                impl = s.hub.registry.implementations("echo")[0]
                assert isinstance(impl, UpstreamImplementation) and impl.is_sync == (prefix == "v1://")
                tmpl = template("echo", inputs={"n": literal_type(S.INTEGER)}, outputs={"n": literal_type(S.INTEGER)})
                for gen in GENERATIONS:
                    c = GenClient(gen, s)
                    meta = await c.create(create_request(tmpl, {"n": 3}))
                    assert (await c.get("echo", meta)).outputs == {"n": 3}
                resource = await execute_sync(s, create_request(tmpl, {"n": 4}), timeout=20)
                assert resource.phase == Phase.SUCCEEDED

    run(body())


@pytest.mark.parametrize("prefix", DIALECT_PREFIXES)
@pytest.mark.parametrize("gen", GENERATIONS)
def test_slow_upstream_deadline_exceeded_and_upstream_call_cancelled(gen: str, prefix: str) -> None:
    job = JobConnector()

    async def body() -> None:
        async with upstream_bridge(registry_with(job)) as address:
            async with gateway(prefix + address) as (s, _):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient(gen, s).create(_job_request(sleep=5), timeout=0.5)
                assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

                async def cancelled() -> bool:
                    return job.cancel_seen == 1

                await wait_for(cancelled, timeout=3, step=0.05)  # long before the 5 s sleep ends

    run(body())


class _SlowGet(JobConnector):
    """Its GetTask takes ``get_sleep`` seconds when the task's message says so (counting cancellations)."""

    async def get(self, resource_meta, **kwargs):  # type: ignore[no-untyped-def]
        if resource_meta.message.startswith("slow get "):
            try:
                await asyncio.sleep(float(resource_meta.message.split()[-1]))
            except asyncio.CancelledError:
                self.cancel_seen += 1
                raise
        return await super().get(resource_meta, **kwargs)


@pytest.mark.parametrize("prefix", DIALECT_PREFIXES)
@pytest.mark.parametrize("gen", GENERATIONS)
def test_reads_with_a_deadline_are_made_from_the_receiving_thread(gen: str, prefix: str) -> None:
    # A GetTask or GetTaskMetrics with a deadline is a blocking call from the gRPC thread that received
    # it, with the loop let go meanwhile: the upstream here answers on that very loop, so a read that
    # held it would hang, and a slow read must not hold up a quick one.
    job = _SlowGet()

    async def body() -> None:
        async with upstream_bridge(registry_with(job)) as address:
            async with gateway(prefix + address) as (s, _):
                impl = s.hub.registry.implementations("job")[0]
                c = GenClient(gen, s)
                slow = await c.create(_job_request(message="slow get 1.0"))
                quick = await c.create(_job_request(message="ok"))
                assert impl.client._sync_channel is None  # creates go through grpc.aio
                slow_get = asyncio.ensure_future(c.get("job", slow, timeout=10))
                await asyncio.sleep(0.2)
                ans = await c.get("job", quick, timeout=10)
                assert (ans.phase, ans.outputs, ans.message) == (Phase.SUCCEEDED, {"a": 7}, "ok")
                assert not slow_get.done()  # the quick read went past the slow one
                assert (await slow_get).phase == Phase.SUCCEEDED
                assert impl.client._sync_channel is not None  # the reads took the blocking path
                job_id = ans.raw.custom_info.fields["job_id"].string_value
                assert await c.metrics("job", quick, timeout=10) == [f"cpu:{job_id}"]
                # Past the deadline: DEADLINE_EXCEEDED here, and the upstream's read is cancelled.
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.get("job", await c.create(_job_request(message="slow get 5")), timeout=0.5)
                assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

                async def cancelled() -> bool:
                    return job.cancel_seen == 1

                await wait_for(cancelled, timeout=3, step=0.05)
                # The upstream's own status comes back the same way.
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await c.get("job", b"not json", timeout=10)
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert err.value.details().startswith(f"upstream {address}:")

    run(body())


def test_blocking_read_of_an_unreachable_upstream_is_unavailable() -> None:
    async def body() -> None:
        port = free_port()
        async with gateway(f"v2://127.0.0.1:{port}", interval=30) as (s, _):
            ghost = UpstreamImplementation(s_client := UpstreamClient(f"127.0.0.1:{port}"), DIALECTS["v2"], "Ghost",
                                           ("job", 0))
            s.hub.registry.add(ghost)
            for gen in GENERATIONS:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient(gen, s).get("job", b"{}", timeout=10)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                assert f"upstream 127.0.0.1:{port} is unavailable" in err.value.details()
            assert s_client._sync_channel is not None
            await s_client.close()

    run(body())


@pytest.mark.parametrize("prefix", DIALECT_PREFIXES)
def test_upstream_status_and_details_passed_back(prefix: str) -> None:
    async def body() -> None:
        async with upstream_bridge(registry_with(JobConnector())) as address:
            async with gateway(prefix + address) as (s, _):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient("v2", s).create(_job_request(fail="boom " + "x" * 5000))
                assert err.value.code() == grpc.StatusCode.INTERNAL
                details = err.value.details()
                assert details.startswith(f"upstream {address}:") and "boom" in details and len(details) <= 1024
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient("v2", s).get("job", b"not json")
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


def test_categories_follow_the_upstream_and_survive_it_going_down() -> None:
    upstream = registry_with(JobConnector(), EchoSync())

    async def body() -> None:
        port = free_port()
        async with gateway(f"127.0.0.1:{port}", interval=0.1, probe_timeout=0.5) as (s, ups):
            c = GenClient("v2", s)
            # Never answered yet: an unknown category is UNAVAILABLE (retry), naming the upstream.
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await c.create(_job_request())
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and f"upstream:127.0.0.1:{port}" in err.value.details()
            assert ups.statuses()[0].state == "down"
            async with upstream_bridge(upstream, port):
                meta = await wait_for(lambda: c.create(_job_request()))
                assert (await c.get("job", meta)).phase == Phase.SUCCEEDED
                upstream.remove(upstream.implementations("echo")[0])

                async def echo_gone() -> bool:
                    return "Echo" not in await c.connectors()

                await wait_for(echo_gone, timeout=5)
            # Down again: its categories stay, calls are UNAVAILABLE naming it, and nothing is NOT_FOUND.
            await ups.refresh()
            assert ups.statuses()[0].state == "down" and "Job Connector" in await c.connectors()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await c.get("job", meta)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE and f"127.0.0.1:{port}" in err.value.details()
            async with upstream_bridge(upstream, port):
                assert (await wait_for(lambda: c.get("job", meta))).phase == Phase.SUCCEEDED  # same resource_meta

    run(body(), timeout=60)


def test_routing_tag_naming_an_unreachable_upstream_is_unavailable() -> None:
    async def body() -> None:
        local = registry_with(JobConnector())
        async with gateway(registry=local) as (s, _):
            ghost = UpstreamImplementation(UpstreamClient("10.0.0.1:1"), DIALECTS["v2"], "Ghost", ("job", 0))
            meta = routing.tag(ghost, b"{}")
            for gen in GENERATIONS:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient(gen, s).get("job", meta)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE and "upstream:10.0.0.1:1" in err.value.details()
            await ghost.client.close()

    run(body())


def test_upstream_ranks_by_its_family_and_prefer_pins_it() -> None:
    # A v2 upstream's connectors are flyte-sdk's: a v2 caller reaches it before the bridge's own API;
    # a v1 caller (flytekit's family) reaches the local one first, unless --prefer pins the upstream.
    remote, here = JobConnector(), JobConnector()

    async def body() -> None:
        async with upstream_bridge(registry_with(remote)) as address:
            async with gateway(address, registry=registry_with(here)) as (s, _):
                for gen, chosen in (("v1", here), ("v2", remote)):
                    c = GenClient(gen, s)
                    meta = await c.create(_job_request())
                    assert (await c.get("job", meta)).phase == Phase.SUCCEEDED
                    assert [k for k, *_ in chosen.calls] == ["create", "get"]
                    chosen.calls.clear()
                s.hub.registry.prefer("job", f"upstream:{address}")
                c = GenClient("v1", s)
                meta = await c.create(_job_request())
                assert meta.startswith(routing.ROUTE_MAGIC + f"upstream:{address}".encode())
                assert (await c.get("job", meta)).phase == Phase.SUCCEEDED
                assert [k for k, *_ in remote.calls] == ["create", "get"] and here.calls == []

    run(body())


def _client_files(tmp_path: Path) -> tuple[Path, Path]:
    pki = make_pki(tmp_path)
    (tmp_path / "client.pem").write_bytes(pki.client_cert)
    (tmp_path / "client.key").write_bytes(pki.client_key)
    return tmp_path / "client.pem", tmp_path / "client.key"


def test_mutual_tls_to_the_upstream(tmp_path: Path) -> None:
    cert, key = _client_files(tmp_path)
    ca = tmp_path / "ca.pem"
    server_creds = server_credentials(tmp_path / "server.pem", tmp_path / "server.key", ca)

    async def body() -> None:
        async with upstream_bridge(registry_with(JobConnector()), credentials=server_creds) as address:
            async with gateway(address, credentials=channel_credentials(ca, cert, key)) as (s, ups):
                assert ups.statuses()[0].state == "up"
                c = GenClient("v1", s)
                assert (await c.get("job", await c.create(_job_request()))).phase == Phase.SUCCEEDED
            # Without a client certificate the upstream refuses: down, and the reason is shown.
            async with gateway(address, credentials=channel_credentials(ca), probe_timeout=2) as (s, ups):
                status = ups.statuses()[0]
                assert status.state == "down" and address in status.detail

    run(body())
