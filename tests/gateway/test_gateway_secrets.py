"""Pod secrets and upstreams (issue 21): a v2 upstream gets the gateway's pod secrets in the forwarded
``connection`` only when the operator opts in for it; a v1 upstream never (it has no such field); what
an upstream echoes back is scrubbed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

import translators as tr
from bridge.commands.credentials import resolver_from_args
from bridge.upstream import Upstreams
from modern import ConnectorRegistry
from modern.secrets import ALL, SecretResolver, SecretStore
from tests._servers import Served, run, serving
from tests.bridge.conn_creds import CredsConnector, digest
from tests.gateway._upstreams import upstream_bridge
from tests.modern._connectors import create_request, template
from translators._gen import v1, v2

pytestmark = pytest.mark.timeout(90)

TOKEN = "gateway-pod-token-91c2"


@contextlib.asynccontextmanager
async def gateway_with(address: str, resolver: SecretResolver) -> AsyncIterator[Served]:
    registry = ConnectorRegistry()
    upstreams = Upstreams(registry, [address])
    await upstreams.start()
    try:
        async with serving(registry, secrets=resolver, metrics=False) as served:
            yield served
    finally:
        await upstreams.close()


def _resolver(tmp_path: Path, forward: dict[str, tuple[str, ...]]) -> SecretResolver:
    (tmp_path / "api_token").write_text(TOKEN)
    return SecretResolver(SecretStore(directory=str(tmp_path), environ={}), forward)


def _key(address: str) -> str:
    return f"upstream:{address}"


async def _round_trip(s: Served, gen: str, mode: str = "report") -> str:
    req = create_request(template("creds", {"mode": mode}))
    if gen == "v1":
        meta = (await s.v1.async_.CreateTask(tr.create_task_request_to_v1(req, mark=False), timeout=20)).resource_meta
        res = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_category=v1.TaskCategory(name="creds"), resource_meta=meta), timeout=20)).resource
    else:
        req.connection.SetInParent()
        meta = (await s.v2.async_.CreateTask(req, timeout=20)).resource_meta
        res = (await s.v2.async_.GetTask(v2.GetTaskRequest(task_category=v2.TaskCategory(name="creds"), resource_meta=meta), timeout=20)).resource
    return str(res.message)


@pytest.mark.parametrize("gen", ["v1", "v2"])
@pytest.mark.parametrize(("forward", "expected"), [("named", TOKEN), ("all", TOKEN), ("none", None), ("other", None)])
def test_a_v2_upstream_gets_pod_secrets_only_when_opted_in(tmp_path: Path, gen: str, forward: str, expected: str | None) -> None:
    async def body() -> None:
        # The upstream reads no pod of its own (secrets=False): what it sees is what the gateway sent.
        async with upstream_bridge(_registry()) as address:
            names = {"named": {_key(address): ("api_token",)}, "all": {_key(address): ALL},
                     "none": {}, "other": {_key("127.0.0.1:1"): ALL}}[forward]
            async with gateway_with("v2://" + address, _resolver(tmp_path, names)) as s:
                assert await _round_trip(s, gen) == f"create {digest(expected)} get {digest(expected)}"

    run(body())


@pytest.mark.parametrize("gen", ["v1", "v2"])
def test_a_v1_upstream_never_gets_pod_secrets_even_when_opted_in(tmp_path: Path, gen: str) -> None:
    async def body() -> None:
        async with upstream_bridge(_registry()) as address:
            async with gateway_with("v1://" + address, _resolver(tmp_path, {_key(address): ALL})) as s:
                assert await _round_trip(s, gen) == "create none get none"

    run(body())


def test_what_a_v2_upstream_echoes_back_is_scrubbed(tmp_path: Path) -> None:
    async def body() -> None:
        async with upstream_bridge(_registry()) as address:
            async with gateway_with("v2://" + address, _resolver(tmp_path, {_key(address): ("api_token",)})) as s:
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await _round_trip(s, "v1", mode="echo")
                # The upstream bridge scrubs what its connector raised too; ours must hold for any upstream:
                # the gateway's own scrub is checked below with an upstream that does not scrub.
                assert TOKEN not in (info.value.details() or "")

    run(body())


def test_the_gateway_scrubs_an_upstream_status_that_quotes_a_forwarded_secret() -> None:
    """An upstream that does not scrub (any c0, any old agent): its details quote the secret it was sent."""
    from bridge.upstream.implementation import UpstreamImplementation
    from modern.errors import StatusError

    class Leaky:
        key = "upstream:leaky:1"
        target = "leaky:1"

        async def unary(self, path: str, data: bytes, timeout: Any) -> bytes:
            sent = v2.CreateTaskRequest.FromString(data)
            raise StatusError(grpc.StatusCode.INTERNAL, f"upstream leaky:1: bad token {sent.connection.secrets['api_token']}")

    from bridge.upstream.dialect import DIALECTS

    impl = UpstreamImplementation(Leaky(), DIALECTS["v2"], "leaky", ("creds", 0))  # type: ignore[arg-type]
    req = create_request(template("creds", {}), secrets={"api_token": TOKEN})
    with pytest.raises(StatusError) as info:
        run(impl.create_task(req, 5))
    assert info.value.details == "upstream leaky:1: bad token ***"


def test_forward_flags_name_upstreams_as_written(tmp_path: Path) -> None:
    from bridge.commands.cli import build_parser

    args = build_parser().parse_args([
        "serve", "--upstream", "v2://h:1", "--upstream", "h:2",
        "--upstream-forward-secrets", "v2://h:1=api_token,other", "--upstream-forward-secrets", "h:1=third",
        "--upstream-forward-secrets", "h:2",
    ])
    resolver = resolver_from_args(args)
    assert resolver.forward == {"upstream:h:1": ("api_token", "other", "third"), "upstream:h:2": ALL}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--upstream-forward-secrets", "h:1=not-a-name"])


def _registry() -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.register(CredsConnector())
    return registry


@pytest.mark.parametrize(("prefix", "forward", "expected"), [
    ("v2://", ("api_token",), [("api_token", "found")]),
    ("v2://", ALL, [("*", "forwarded")]),
    ("v1://", ALL, [("(--upstream-forward-secrets)", "caller only")]),
    ("v2://", None, []),
])
def test_the_start_table_shows_what_each_upstream_is_forwarded(
    tmp_path: Path, prefix: str, forward: tuple[str, ...] | None, expected: list[tuple[str, str]]
) -> None:
    from bridge.commands.credentials import secret_rows
    from bridge.table import format_secrets

    async def body() -> None:
        async with upstream_bridge(_registry()) as address:
            resolver = _resolver(tmp_path, {} if forward is None else {_key(address): forward})
            registry = ConnectorRegistry()
            upstreams = Upstreams(registry, [prefix + address])
            await upstreams.start()
            try:
                rows = secret_rows(registry, resolver)
            finally:
                await upstreams.close()
            assert [(r[2], r[3]) for r in rows] == expected
            assert all(r[1] == f"creds (v0) upstream:{address}" for r in rows)
            assert TOKEN not in format_secrets(rows)

    run(body())
