"""Credentials for every caller, for connectors written against the bridge's own API (issue 21).

A real server on loopback, the generated stubs of both generations: a v1 caller (no ``connection``)
and a v2 caller with an empty ``connection`` both reach a connector's keyword credentials from a
mounted-style file; the caller's values win; a rotated file reaches the next call; a missing secret is
the connector's business, not an error; a connector echoing its secret leaks it to no status, log line
or metric. Then ``flyte-bridge serve`` itself: the flags, the start table (names, never values).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import prometheus_client
import pytest

import translators as tr
from modern import ConnectorRegistry
from modern.secrets import SecretResolver, SecretSource, SecretStore
from tests._servers import Served, ThreadedServer
from tests.bridge._helpers import REPO, start_serve
from tests.bridge.conn_creds import CredsConnector, CredsMeta, CredsSync, digest
from tests.modern._connectors import create_request, template
from translators._gen import v1, v1_grpc, v2, v2_grpc

pytestmark = pytest.mark.timeout(60)

TOKEN = "tok-mounted-7f3a9c"
VAULT = "vault-mounted-51be"


@pytest.fixture
def mount(tmp_path: Path) -> Path:
    d = tmp_path / "etc-secrets"
    d.mkdir()
    return d


@pytest.fixture
def creds() -> CredsConnector:
    return CredsConnector()


@pytest.fixture
def served(mount: Path, creds: CredsConnector) -> Iterator[Served]:
    registry = ConnectorRegistry()
    registry.register(creds)
    registry.register(CredsSync())
    store = SecretStore(directory=str(mount), environ={})
    with ThreadedServer(registry, secrets=SecretResolver(store), poll_initial=0.01) as s:
        yield s


def _v1_create(req2: v2.CreateTaskRequest) -> v1.CreateTaskRequest:
    plain = v2.CreateTaskRequest()
    plain.CopyFrom(req2)
    plain.ClearField("connection")  # v1 has no connection
    return tr.create_task_request_to_v1(plain, mark=False)


def _request(task_type: str = "creds", mode: str = "report", **connection: str) -> v2.CreateTaskRequest:
    req = create_request(template(task_type, {"mode": mode}), secrets=connection or None)
    req.connection.SetInParent()  # a v2 caller's connection: present, maybe empty
    return req


def create(s: Served, gen: str, req: v2.CreateTaskRequest) -> bytes:
    if gen == "v1":
        return s.v1.async_.CreateTask(_v1_create(req), timeout=20).resource_meta
    return s.v2.async_.CreateTask(req, timeout=20).resource_meta


def get(s: Served, gen: str, task_type: str, meta: bytes, **connection: str) -> Any:
    if gen == "v1":
        return s.v1.async_.GetTask(v1.GetTaskRequest(task_category=v1.TaskCategory(name=task_type), resource_meta=meta), timeout=20).resource
    req = v2.GetTaskRequest(task_category=v2.TaskCategory(name=task_type), resource_meta=meta)
    req.connection.SetInParent()
    req.connection.secrets.update(connection)
    return s.v2.async_.GetTask(req, timeout=20).resource


def delete(s: Served, gen: str, meta: bytes) -> None:
    if gen == "v1":
        s.v1.async_.DeleteTask(v1.DeleteTaskRequest(task_category=v1.TaskCategory(name="creds"), resource_meta=meta), timeout=20)
    else:
        req = v2.DeleteTaskRequest(task_category=v2.TaskCategory(name="creds"), resource_meta=meta)
        req.connection.SetInParent()
        s.v2.async_.DeleteTask(req, timeout=20)


def execute_sync(s: Served, req2: v2.CreateTaskRequest) -> Any:
    plain = v2.CreateTaskRequest()
    plain.CopyFrom(req2)
    plain.ClearField("connection")
    replies = list(s.v1.sync.ExecuteTaskSync(iter(tr.create_task_request_to_execute_task_sync_v1(plain)), timeout=20))
    assert len(replies) == 1
    return replies[0].header.resource


@pytest.mark.parametrize("gen", ["v1", "v2"])
def test_a_mounted_secret_reaches_create_get_and_delete(
    gen: str, served: Served, mount: Path, creds: CredsConnector
) -> None:
    (mount / "api_token").write_text(TOKEN + "\n")
    meta = create(served, gen, _request())
    assert get(served, gen, "creds", meta).message == f"create {digest(TOKEN)} get {digest(TOKEN)}"
    delete(served, gen, meta)
    assert creds.deleted == [digest(TOKEN)]


def test_execute_task_sync_emulated_and_sync_connectors_and_v2_on_a_sync_connector(served: Served, mount: Path) -> None:
    (mount / "api_token").write_text(TOKEN)
    (mount / "vault_token").write_text(VAULT)
    assert execute_sync(served, _request()).message == f"create {digest(TOKEN)} get {digest(TOKEN)}"  # create, then get
    assert execute_sync(served, _request("creds-sync")).message == f"do {digest(VAULT)}"
    meta = create(served, "v2", _request("creds-sync"))  # v2: the sync connector runs inside CreateTask
    assert get(served, "v2", "creds-sync", meta).message == f"do {digest(VAULT)}"


def test_the_callers_secret_or_config_wins(served: Served, mount: Path) -> None:
    (mount / "api_token").write_text(TOKEN)
    meta = create(served, "v2", _request(api_token="caller-token"))
    assert get(served, "v2", "creds", meta, api_token="caller-get").message == (
        f"create {digest('caller-token')} get {digest('caller-get')}"
    )
    req = _request()
    req.connection.configs["api_token"] = "as-a-config"
    meta = create(served, "v2", req)
    assert get(served, "v1", "creds", meta).message == f"create {digest('as-a-config')} get {digest(TOKEN)}"


def test_a_rotated_file_reaches_the_next_call(served: Served, mount: Path) -> None:
    path = mount / "api_token"
    path.write_text("first-token")
    meta = create(served, "v1", _request())
    path.write_text("second-token-longer")
    assert get(served, "v1", "creds", meta).message == f"create {digest('first-token')} get {digest('second-token-longer')}"


@pytest.mark.parametrize("gen", ["v1", "v2"])
def test_a_missing_secret_is_the_connectors_business_not_an_error(
    gen: str, served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="modern.secrets"):
        meta = create(served, gen, _request())
        assert get(served, gen, "creds", meta).message == "create none get none"
    assert "'api_token'" in caplog.text and "the pod has none" in caplog.text


def test_an_echoed_pod_secret_is_in_no_status_log_line_or_metric(
    mount: Path, creds: CredsConnector, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ConnectorRegistry()
    registry.register(creds)
    registry.register(CredsSync())
    store = SecretStore(directory=str(mount), environ={})
    (mount / "api_token").write_text(TOKEN)
    (mount / "vault_token").write_text(VAULT)
    details = []
    with caplog.at_level(logging.DEBUG), ThreadedServer(registry, secrets=SecretResolver(store)) as s:
        for gen in ("v1", "v2"):
            for task_type in ("creds", "creds-sync"):
                with pytest.raises(grpc.RpcError) as info:
                    create(s, gen, _request(task_type, "echo"))
                details.append(info.value.details() or "")
            with pytest.raises(grpc.RpcError) as info:
                get(s, gen, "creds", CredsMeta(seen="x", mode="echo-get").encode())
            details.append(info.value.details() or "")
        with pytest.raises(grpc.RpcError) as info:
            execute_sync(s, _request("creds-sync", "echo"))
        details.append(info.value.details() or "")
    assert len(details) == 7
    assert all("***" in d for d in details), details  # redacted, not silently dropped
    for secret in (TOKEN, VAULT):
        assert all(secret not in d for d in details)
        assert secret not in caplog.text
        assert secret.encode() not in prometheus_client.generate_latest()
    assert "login refused for token ***" in caplog.text  # the failure is still logged


# -- flyte-bridge serve --------------------------------------------------------------------------------


def test_serve_fills_from_flytekits_dir_and_mappings_and_shows_names_only(
    tmp_path: Path, mount: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (mount / "api_token").write_text(TOKEN)
    mapping = tmp_path / "secrets.txt"
    mapping.write_text("# where the pod keeps what flytekit's convention does not name\ncreds-sync:vault_token=env:MY_VAULT\n")
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(mount))
    monkeypatch.setenv("MY_VAULT", VAULT)
    served = start_serve(
        tmp_path, "--modules", "tests.bridge.conn_creds", "--no-entry-points", "--log-level", "debug",
        "--secrets-file", str(mapping), "--secret", "creds:unused_name=caller",
    )
    try:
        with grpc.insecure_channel(served.target) as ch:
            a1, a2 = v1_grpc.AsyncAgentServiceStub(ch), v2_grpc.AsyncConnectorServiceStub(ch)
            meta = a1.CreateTask(_v1_create(_request()), timeout=20).resource_meta
            res = a2.GetTask(v2.GetTaskRequest(task_category=v2.TaskCategory(name="creds"), resource_meta=meta), timeout=20).resource
            assert res.message == f"create {digest(TOKEN)} get {digest(TOKEN)}"
            sync_meta = a2.CreateTask(_request("creds-sync"), timeout=20).resource_meta
            res = a1.GetTask(v1.GetTaskRequest(task_category=v1.TaskCategory(name="creds-sync"), resource_meta=sync_meta), timeout=20).resource
            assert res.message == f"do {digest(VAULT)}"
            with pytest.raises(grpc.RpcError) as info:
                a1.CreateTask(_v1_create(_request("creds", "echo")), timeout=20)
            assert "***" in (info.value.details() or "")
        with urllib.request.urlopen(f"http://127.0.0.1:{served.prometheus_port}/metrics", timeout=10) as resp:
            metrics = resp.read().decode()
    finally:
        rc = served.stop()
    assert rc == 0
    log = served.log()
    assert "flyte_connector" in metrics
    for secret in (TOKEN, VAULT):
        assert secret not in log and secret not in metrics
    rows = {tuple(c.strip() for c in line.strip("|").split("|")) for line in log.splitlines() if line.startswith("| Creds")}
    assert ("Creds Connector", "creds (v0) bridge", "api_token", "found", f"file:{mount / 'api_token'}") in rows
    assert ("Creds Sync", "creds-sync (v0) bridge", "vault_token", "found", "env:MY_VAULT") in rows


def test_serve_rejects_a_malformed_mapping() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "--secret", "api_token=vault:x"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "env:VAR, file:PATH or caller" in out.stderr
