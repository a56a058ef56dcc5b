"""Upstream servers shared by the gateway test modules (each started once per session, when first asked for)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway._upstreams import SdkServer, c0, old_pyflyte_agent


@pytest.fixture(scope="session")
def old_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkServer]:
    """flytekit 1.13's ``pyflyte serve agent`` (its own venv) with ``oldagent/bridge_test_oldagent``'s agents."""
    sdkenv = pytest.importorskip("tests.sdkenv", reason="tests.sdkenv (per-SDK venvs) is not in this checkout")
    try:
        spec = sdkenv.ensure(sdkenv.SDK_ENVS["flytekit-1.13"])
    except sdkenv.EnvUnavailable as exc:
        pytest.skip(str(exc))
    server = old_pyflyte_agent(spec.bin("python"), tmp_path_factory.mktemp("oldagent")).start(120)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def c0_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdkServer]:
    """flyte-sdk's ``c0`` serving ``tests.gateway._sdk_module`` (the interop connector and the huge-error one)."""
    pytest.importorskip("flyte")
    server = c0(tmp_path_factory.mktemp("c0")).start(120)
    yield server
    server.stop()
