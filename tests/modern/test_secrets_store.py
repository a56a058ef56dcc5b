"""The pod-side secret store (``modern.secrets``): flytekit's conventions, mappings, re-reading files,
and what a connector declares."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from modern import AsyncConnector, SyncConnector
from modern.secrets import (
    ALL,
    CALLER_ONLY,
    FOUND,
    MISSING,
    SecretResolver,
    SecretSource,
    SecretStore,
    declared_secrets,
    parse_mapping,
    parse_mapping_lines,
)
from translators._gen import v2


def store(tmp_path: Path, env: dict[str, str] | None = None, **kw: Any) -> SecretStore:
    return SecretStore(directory=str(tmp_path), environ=env or {}, **kw)


# -- flytekit's conventions ---------------------------------------------------------------------------


def test_env_variable_is_prefix_plus_upper_case_and_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "api_key").write_text("from-file")
    s = store(tmp_path, {"_FSEC_API_KEY": "  from-env\n"})
    assert s.lookup("api_key") == ("from-env", SecretSource("env", "_FSEC_API_KEY"))
    assert store(tmp_path).lookup("api_key") == ("from-file", SecretSource("file", str(tmp_path / "api_key")))


def test_file_name_is_prefix_plus_lower_case_and_values_are_stripped(tmp_path: Path) -> None:
    (tmp_path / "sec-api_key").write_text("\n  value with inner space \n")
    s = store(tmp_path, file_prefix="sec-")
    assert s.get("API_Key") == "value with inner space"
    assert s.get("other") is None


def test_from_environment_reads_flytekits_variables(tmp_path: Path) -> None:
    s = SecretStore.from_environment(
        environ={"FLYTE_SECRETS_ENV_PREFIX": " MY_ ", "FLYTE_SECRETS_DEFAULT_DIR": str(tmp_path), "FLYTE_SECRETS_FILE_PREFIX": "p_"}
    )
    assert (s.env_prefix, s.directory, s.file_prefix) == ("MY_", str(tmp_path), "p_")
    d = SecretStore.from_environment(environ={})
    assert (d.env_prefix, d.directory, d.file_prefix) == ("_FSEC_", "/etc/secrets", "")


@pytest.mark.parametrize(
    ("env", "files", "key"),
    [
        ({"_FSEC_SNOWFLAKE_PRIVATE_KEY": "env-value"}, {}, "snowflake_private_key"),
        ({}, {"snowflake_private_key": "file-value\n"}, "snowflake_private_key"),
        ({"_FSEC_TOKEN": " both-env "}, {"token": "both-file"}, "token"),
        ({}, {"mixed": "lower-cased file"}, "MiXeD"),
        ({"_FSEC_MIXED": "upper-cased env"}, {}, "MiXeD"),
    ],
)
def test_same_answer_as_flytekits_secrets_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], files: dict[str, str], key: str
) -> None:
    """flytekit's own SecretsManager (what get_connector_secret calls) and the store agree."""
    pytest.importorskip("flytekit")
    from flytekit.configuration import SecretsConfig
    from flytekit.core.context_manager import SecretsManager

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(tmp_path))
    config = SecretsConfig.auto()
    ours = SecretStore.from_environment()
    assert (ours.env_prefix, ours.directory, ours.file_prefix) == (config.env_prefix, config.default_dir, config.file_prefix)
    assert ours.get(key) == SecretsManager(config).get(key=key)


# -- explicit mappings --------------------------------------------------------------------------------


def test_mapping_syntax() -> None:
    assert parse_mapping("token=env:MY_TOKEN") == (None, "token", SecretSource("env", "MY_TOKEN"))
    assert parse_mapping("snowflake:key=file:/mnt/sf/key.pem") == ("snowflake", "key", SecretSource("file", "/mnt/sf/key.pem"))
    assert parse_mapping(" key = caller ") == (None, "key", SecretSource("caller"))
    for bad in ("token", "token=", "token=vault:x", "token=env:", "not-a-name=env:X", ":token=env:X", "x=file: "):
        with pytest.raises(ValueError):
            parse_mapping(bad)


def test_a_mapping_error_never_echoes_what_stands_where_the_source_belongs() -> None:
    """An operator who passes the value itself (``--secret token=sk-live-...``) must not find it in the log."""
    for bad, says in (("token=sk-live-abcdef123", "must be env:VAR, file:PATH or caller (a value is never given"),
                      ("sk-live-abcdef123", "no '=' in what was given"),
                      ("token=vault:sk-live-abcdef123", "not vault:..."),
                      ("token=env:", "names no variable after env:"),
                      ("token=file: ", "names no file after file:")):
        with pytest.raises(ValueError) as err:
            parse_mapping(bad)
        assert says in str(err.value) and "sk-live" not in str(err.value)


def test_mapping_file_lines_name_the_bad_line() -> None:
    lines = ["# Snowflake", "", "snowflake:snowflake_private_key=file:/mnt/k", "  token=env:T  "]
    assert [m[1] for m in parse_mapping_lines(lines)] == ["snowflake_private_key", "token"]
    with pytest.raises(ValueError, match="secrets.txt line 2"):
        parse_mapping_lines(["a=env:A", "b=nowhere"], "secrets.txt")


def test_a_mapping_replaces_the_convention_and_a_category_one_wins(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("conventional")
    (tmp_path / "other").write_text("mapped-file")
    env = {"_FSEC_TOKEN": "conventional-env", "GLOBAL": "global", "FOR_SF": "snowflake-only"}
    s = store(
        tmp_path, env,
        mappings=[(None, "token", SecretSource("env", "GLOBAL")), ("snowflake", "token", SecretSource("env", "FOR_SF")),
                  (None, "other", SecretSource("file", str(tmp_path / "other")))],
    )
    assert s.get("token") == "global"
    assert s.get("token", "snowflake") == "snowflake-only"
    assert s.get("token", "bigquery") == "global"
    assert s.get("other") == "mapped-file"
    s2 = store(tmp_path, {"X": "1"}, mappings=[(None, "token", SecretSource("env", "MISSING_VAR"))])
    assert s2.get("token") is None  # the mapping alone: no fall back to the convention


def test_caller_only_is_never_read_from_the_pod(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("in the pod")
    s = store(tmp_path, mappings=[(None, "token", SecretSource("caller"))])
    assert s.get("token") is None
    assert s.status("token")[0] == CALLER_ONLY


def test_status_names_places_never_values(tmp_path: Path) -> None:
    (tmp_path / "here").write_text("value-xyz")
    s = store(tmp_path)
    assert s.status("here") == (FOUND, f"file:{tmp_path / 'here'}")
    status, where = s.status("gone")
    assert status == MISSING and "_FSEC_GONE" in where and str(tmp_path / "gone") in where
    assert "value-xyz" not in repr([s.status("here"), s.status("gone")])


# -- files re-read when they change ---------------------------------------------------------------------


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    s = store(tmp_path)
    assert s.get("token") == "one"
    path.write_text("second")
    assert s.get("token") == "second"
    path.unlink()
    assert s.get("token") is None
    path.write_text("three")
    assert s.get("token") == "three"


def test_kubernetes_atomic_data_swap_is_followed(tmp_path: Path) -> None:
    """A Secret volume: <dir>/<key> -> ..data/<key>, ..data -> ..<timestamp>; an update swaps ..data."""
    v1 = tmp_path / "..2026_12_04_01"
    v1.mkdir()
    (v1 / "token").write_text("old")  # same size as the new value: the inode tells them apart
    (tmp_path / "..data").symlink_to(v1.name)
    (tmp_path / "token").symlink_to("..data/token")
    s = store(tmp_path)
    assert s.get("token") == "old"
    v2dir = tmp_path / "..2026_12_04_02"
    v2dir.mkdir()
    (v2dir / "token").write_text("new")
    (tmp_path / "..data_tmp").symlink_to(v2dir.name)
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")  # the kubelet's atomic rename
    assert s.get("token") == "new"
    assert s.names() == ["token"]  # the dot-entries are not secrets


def test_an_unreadable_or_huge_file_is_missing_with_a_warning_naming_no_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "big").write_bytes(b"x" * (1024 * 1024 + 1))
    (tmp_path / "binary").write_bytes(b"\xff\xfe secret-bytes")
    (tmp_path / "adir").mkdir()
    s = store(tmp_path)
    with caplog.at_level(logging.WARNING, logger="modern.secrets"):
        assert s.get("big") is None and s.get("binary") is None and s.get("adir") is None
        s.get("big")
    assert len([r for r in caplog.records if "big" in r.getMessage()]) == 1  # once per file
    assert "secret-bytes" not in caplog.text


def test_names_lists_mappings_env_and_files(tmp_path: Path) -> None:
    (tmp_path / "from_file").write_text("x")
    s = store(tmp_path, {"_FSEC_FROM_ENV": "y", "UNRELATED": "z"},
              mappings=[(None, "mapped", SecretSource("env", "M")), (None, "nope", SecretSource("caller"))])
    assert s.names() == ["from_env", "from_file", "mapped"]



def test_names_lists_the_directory_again_only_when_it_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forwarding every name asks for the names on every call: the listing is reused while the
    directory is unchanged, and a key added or removed (a new mtime) shows at the next call."""
    (tmp_path / "one").write_text("x")
    old = os.stat(tmp_path).st_mtime - 10
    os.utime(tmp_path, (old, old))  # out of the racy window: the listing may be kept
    s = store(tmp_path)
    listed = []
    listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: (listed.append(path), listdir(path))[1])
    assert s.names() == ["one"] and s.names() == ["one"]
    assert len(listed) == 1
    (tmp_path / "two").write_text("y")
    assert s.names() == ["one", "two"]
    (tmp_path / "one").unlink()
    assert s.names() == ["two"]


# -- what connectors declare ----------------------------------------------------------------------------


class _Meta:
    pass


class KeywordConnector(AsyncConnector):
    task_type_name = "kw"

    async def create(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, *, api_key=None, region="eu", **kwargs):  # type: ignore[no-untyped-def]
        return _Meta()

    async def get(self, resource_meta, api_key=None, **kwargs):  # type: ignore[no-untyped-def]
        return None

    async def delete(self, resource_meta, password=None, **kwargs):  # type: ignore[no-untyped-def]
        return None


class DeclaredConnector(SyncConnector):
    task_type_name = "declared"
    secrets = ("vault_token", "inputs", 3)  # a fixed parameter name and a non-string are ignored

    async def do(self, task_template, output_prefix, inputs=None, task_execution_metadata=None, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_declared_secrets_from_signatures_and_attribute() -> None:
    assert declared_secrets(KeywordConnector()) == ("api_key", "region", "password")
    assert declared_secrets(DeclaredConnector()) == ("vault_token",)


def test_flytekit_connectors_get_nothing_filled() -> None:
    pytest.importorskip("flytekit")
    from flytekit.extend.backend.base_connector import AsyncConnectorBase

    from legacy.flytekit_adapter import adapt
    from modern import ConnectorRegistry

    registry = ConnectorRegistry()

    class Creds(AsyncConnectorBase):
        def __init__(self) -> None:
            super().__init__(task_type_name="fk-creds", metadata_type=object)

        async def create(self, task_template, output_prefix, inputs=None, api_key=None, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        async def get(self, resource_meta, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        async def delete(self, resource_meta, **kwargs):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    registry.register(adapt(Creds()))
    (impl,) = registry.all_implementations()
    assert impl.source == "flytekit" and impl.secret_names == ()


# -- the resolver ---------------------------------------------------------------------------------------


class _Impl:
    source = "bridge"
    family = "bridge"
    key = "bridge"
    name = "kw"
    category = ("kw", 0)
    secret_names = ("api_key", "region")


def test_fill_keeps_the_callers_secrets_and_configs_and_copies(tmp_path: Path) -> None:
    r = SecretResolver(store(tmp_path, {"_FSEC_API_KEY": "pod-key", "_FSEC_REGION": "pod-region"}))
    req = v2.GetTaskRequest(resource_meta=b"{}")
    filled = r.fill(req, _Impl())
    assert dict(filled.connection.secrets) == {"api_key": "pod-key", "region": "pod-region"}
    assert not req.HasField("connection")  # the caller's message is not touched
    req.connection.secrets["api_key"] = "caller-key"
    req.connection.configs["region"] = "caller-region"
    filled = r.fill(req, _Impl())
    assert dict(filled.connection.secrets) == {"api_key": "caller-key"}
    assert dict(filled.connection.configs) == {"region": "caller-region"}


def test_fill_without_anything_to_add_returns_the_request_itself(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    r = SecretResolver(store(tmp_path))
    req = v2.CreateTaskRequest(output_prefix="o")
    with caplog.at_level(logging.INFO, logger="modern.secrets"):
        assert r.fill(req, _Impl()) is req
        assert r.fill(req, _Impl()) is req
    missing = [rec.getMessage() for rec in caplog.records]
    assert len(missing) == 2 and all("the pod has none" in m for m in missing)  # once per name


class _Upstream:
    source = "upstream"
    key = "upstream:h:1"
    name = "up"
    category = ("kw", 0)
    secret_names = ()

    def __init__(self, family: str) -> None:
        self.family = family


def test_upstreams_get_only_what_is_forwarded_and_v1_never(tmp_path: Path) -> None:
    env = {"_FSEC_API_KEY": "k", "_FSEC_OTHER": "o"}
    none = SecretResolver(store(tmp_path, env))
    named = SecretResolver(store(tmp_path, env), {"upstream:h:1": ("api_key",)})
    every = SecretResolver(store(tmp_path, env), {"upstream:h:1": ALL})
    v2_up, v1_up = _Upstream("flyte-sdk"), _Upstream("flytekit")
    req = v2.CreateTaskRequest()
    assert none.fill(req, v2_up) is req
    assert dict(named.fill(req, v2_up).connection.secrets) == {"api_key": "k"}
    assert dict(every.fill(req, v2_up).connection.secrets) == {"api_key": "k", "other": "o"}
    assert every.fill(req, v1_up) is req and named.fill(req, v1_up) is req
    assert every.statuses(v1_up)[0][1] == CALLER_ONLY
