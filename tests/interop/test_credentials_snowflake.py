"""The real ``flyteplugins-snowflake`` connector gets ``snowflake_private_key`` whoever calls (issue 21).

A Snowflake task made by flyte-sdk's own ``Snowflake`` task class, served by the bridge on loopback and
called through the generated stubs of Flyte 1 (no ``connection`` field at all) and Flyte 2 (an empty
``connection``, as the open-source executor sends it). The key sits in a mounted-style file under the
store's directory, as the ``flyteconnector`` chart mounts its Secret at ``/etc/secrets``.

Nothing reaches Snowflake: the plugin's ``snowflake_connect`` is wrapped in this process. Without a
private key the real one runs and refuses at once (``251006: Password is empty``, the issue's symptom);
with one, the wrapper records the key the plugin decoded (DER) and refuses with a marker instead of
dialing out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

pytest.importorskip("flyte")
snowflake_plugin = pytest.importorskip(
    "flyteplugins.snowflake.connector", reason="flyteplugins-snowflake not installed (the `plugins` extra)"
)

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from bridge.kit.tasks import template_of  # noqa: E402
from modern import ConnectorRegistry  # noqa: E402
from modern.flyte_sdk import adapt  # noqa: E402
from modern.secrets import SecretResolver, SecretStore  # noqa: E402
from tests._servers import ThreadedServer  # noqa: E402
from translators._gen import v1, v1_core_tasks, v2  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

REACHED = "fake Snowflake login reached with a private key"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _der(pem: str) -> bytes:
    key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return _pem(), _pem()


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The private keys the plugin handed to Snowflake's ``connect`` (DER), in call order."""
    real = snowflake_plugin.snowflake_connect
    seen: list[bytes] = []

    def connect(**params: Any) -> Any:
        if "private_key" not in params:
            return real(**params)  # the real connector's own credential check: "Password is empty"
        seen.append(params["private_key"])
        raise RuntimeError(REACHED)

    monkeypatch.setattr(snowflake_plugin, "snowflake_connect", connect)
    return seen


@pytest.fixture(scope="module")
def mount(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("etc-secrets")


@pytest.fixture
def secrets_dir(mount: Path) -> Iterator[Path]:
    """The store's directory, empty at the start of each test."""
    for f in mount.iterdir():
        f.unlink()
    yield mount


@pytest.fixture(scope="module")
def served(mount: Path) -> Iterator[Any]:
    # One server (one event loop) for the module: the plugin caches connections per loop (alru_cache).
    registry = ConnectorRegistry()
    registry.register(adapt(snowflake_plugin.SnowflakeConnector()))
    store = SecretStore(directory=str(mount), environ={})
    with ThreadedServer(registry, metrics=False, secrets=SecretResolver(store)) as s:
        yield s


@pytest.fixture(scope="module")
def template() -> Any:
    from flyteplugins.snowflake import Snowflake, SnowflakeConfig

    task = Snowflake(
        name="credentials-query",
        query_template="select 1",
        plugin_config=SnowflakeConfig(account="acct-x", database="db", schema="PUBLIC", warehouse="wh", user="u"),
        snowflake_private_key="snowflake_private_key",
    )
    return template_of(task)


def _create(s: Any, gen: str, template: Any, connection: dict[str, str] | None = None) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        if gen == "v1":
            req1 = v1.CreateTaskRequest(template=v1_core_tasks.TaskTemplate.FromString(template.SerializeToString()), output_prefix="s3://o")
            s.v1.async_.CreateTask(req1, timeout=60)
        else:
            req2 = v2.CreateTaskRequest(template=template, output_prefix="s3://o")
            req2.connection.SetInParent()  # present and empty, as the open-source executor sends it
            req2.connection.secrets.update(connection or {})
            s.v2.async_.CreateTask(req2, timeout=60)
    return info.value


def _meta() -> bytes:
    return json.dumps(
        {"account": "acct-x", "user": "u", "database": "db", "schema": "PUBLIC", "warehouse": "wh",
         "query_id": "q-1", "has_output": False}
    ).encode()


def _handle_call(s: Any, gen: str, method: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        if gen == "v1":
            cat = v1.TaskCategory(name="snowflake")
            if method == "get":
                s.v1.async_.GetTask(v1.GetTaskRequest(task_category=cat, resource_meta=_meta()), timeout=60)
            else:
                s.v1.async_.DeleteTask(v1.DeleteTaskRequest(task_category=cat, resource_meta=_meta()), timeout=60)
        else:
            cat2 = v2.TaskCategory(name="snowflake")
            if method == "get":
                get = v2.GetTaskRequest(task_category=cat2, resource_meta=_meta())
                get.connection.SetInParent()
                s.v2.async_.GetTask(get, timeout=60)
            else:
                delete = v2.DeleteTaskRequest(task_category=cat2, resource_meta=_meta())
                delete.connection.SetInParent()
                s.v2.async_.DeleteTask(delete, timeout=60)
    return info.value


def test_the_template_is_flyte_sdks_and_the_connector_declares_its_key(template: Any, served: Any) -> None:
    assert template.type == "snowflake" and template.metadata.runtime.version.startswith("2.")
    (impl,) = served.hub.registry.all_implementations()
    assert impl.source == "flyte-sdk"
    assert impl.secret_names == ("snowflake_private_key", "snowflake_private_key_passphrase")


@pytest.mark.parametrize("gen", ["v1", "v2"])
def test_without_the_mounted_key_snowflake_refuses_as_in_the_issue(
    gen: str, served: Any, template: Any, logins: list[bytes], secrets_dir: Path
) -> None:
    err = _create(served, gen, template)
    assert err.code() == grpc.StatusCode.INTERNAL
    assert "Password is empty" in (err.details() or "")
    assert logins == []


@pytest.mark.parametrize("gen", ["v1", "v2"])
def test_the_mounted_key_reaches_create_get_and_delete_for_both_generations(
    gen: str, served: Any, template: Any, logins: list[bytes], secrets_dir: Path, keys: tuple[str, str]
) -> None:
    pem, _ = keys
    (secrets_dir / "snowflake_private_key").write_text(pem + "\n")  # a mounted Secret ends in a newline
    err = _create(served, gen, template)
    assert "Password is empty" not in (err.details() or "")
    assert REACHED in (err.details() or "")
    for method in ("get", "delete"):
        err = _handle_call(served, gen, method)
        assert REACHED in (err.details() or ""), (method, err.details())
    assert logins == [_der(pem)] * 3


def test_the_callers_key_wins_over_the_mounted_one(
    served: Any, template: Any, logins: list[bytes], secrets_dir: Path, keys: tuple[str, str]
) -> None:
    mounted, callers = keys
    (secrets_dir / "snowflake_private_key").write_text(mounted)
    _create(served, "v2", template, {"snowflake_private_key": callers})
    _create(served, "v1", template)  # a v1 caller has no connection: the mounted key
    assert logins == [_der(callers), _der(mounted)]


def test_a_rotated_key_reaches_the_next_call_without_a_restart(
    served: Any, template: Any, logins: list[bytes], secrets_dir: Path, keys: tuple[str, str]
) -> None:
    first, second = keys
    path = secrets_dir / "snowflake_private_key"
    path.write_text(first)
    _create(served, "v1", template)
    path.write_text(second)  # Kubernetes' atomic ..data swap is covered in tests/modern/test_secrets_store.py
    _create(served, "v1", template)
    assert logins == [_der(first), _der(second)]
