"""deploy/image.py (``make image``) without building anything: the tool check and the build command line."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_image_unit", REPO / "deploy" / "image.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_tools_without_root_say_what_to_install(tool: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tool.shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setattr(tool.os, "geteuid", lambda: 1000)
    ran: list[list[str]] = []
    monkeypatch.setattr(tool.subprocess, "run", lambda cmd, **kw: ran.append(cmd))
    with pytest.raises(tool.ToolsUnavailable, match=r"not root: run `sudo apt-get install -y podman buildah mmdebstrap runc`"):
        tool.ensure_tools(quiet=True)
    assert ran == []  # nothing attempted


def test_build_command_has_this_machines_settings(tool: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(tool, "CA_BUNDLE", bundle)
    cmd = tool.build_command("t:1", base="localhost/b:1", extras="flytekit,flyte", plugins="a b==1", constraints=None)
    assert cmd[:4] == ["podman", "build", "--runtime", "runc"]
    assert cmd[-1] == str(REPO) and cmd[cmd.index("-f") + 1] == str(REPO / "deploy" / "Containerfile")
    pairs = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--build-arg"]
    assert pairs == ["EXTRAS=flytekit,flyte", "PLUGINS=a b==1", "BASE=localhost/b:1"]
    assert cmd[cmd.index("--secret") + 1] == f"id=cacert,src={bundle}"
    monkeypatch.setattr(tool, "CA_BUNDLE", tmp_path / "absent.crt")
    plain = tool.build_command("t:1", base=None, extras="", plugins="", constraints="constraints/lowest.txt")
    assert "--secret" not in plain and not any(a.startswith("BASE=") for a in plain)  # the Containerfile's default base
    assert "CONSTRAINTS=constraints/lowest.txt" in plain


def test_containerfile_defaults_to_the_official_slim_python() -> None:
    text = (REPO / "deploy" / "Containerfile").read_text()
    assert "ARG BASE=docker.io/library/python:3.12-slim\n" in text
    assert 'ENTRYPOINT ["flyte-bridge", "serve"]' in text and "EXPOSE 8000 9090" in text
    assert "\nUSER 10001:10001\n" in text
