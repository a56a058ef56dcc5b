"""Zero-config parity: with no options the bridge serves every category the SDKs' own servers serve.

``pyflyte serve connector`` and ``c0`` run on the installed packages with no options; their metadata is
compared with a bridge started with no options on the same packages.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from tests._servers import stubs
from tests.bridge._helpers import start_serve
from tests.interop._sdk_servers import sdk_server
from translators._gen import v1, v2

pytestmark = pytest.mark.interop


def _v1_categories(stub: object) -> dict[tuple[str, int], bool]:
    agents = stub.ListAgents(v1.ListAgentsRequest(), timeout=20).agents  # type: ignore[attr-defined]
    return {(c.name, c.version): a.is_sync for a in agents for c in a.supported_task_categories}


def _v2_categories(stub: object) -> set[tuple[str, int]]:
    connectors = stub.ListConnectors(v2.ListConnectorsRequest(), timeout=20).connectors  # type: ignore[attr-defined]
    return {(c.name, c.version) for conn in connectors for c in conn.supported_task_categories}


@pytest.fixture(scope="module")
def bridge_metadata(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, int], bool], set[tuple[str, int]]]:
    served = start_serve(tmp_path_factory.mktemp("parity"))
    try:
        with grpc.insecure_channel(served.target) as ch:
            s1, s2 = stubs(ch)
            return _v1_categories(s1.metadata), _v2_categories(s2.metadata)
    finally:
        assert served.stop() == 0


def test_bridge_serves_what_pyflyte_serve_connector_serves(bridge_metadata: tuple, tmp_path: Path) -> None:
    pytest.importorskip("flytekit", reason="needs the flytekit extra")
    with sdk_server("pyflyte", tmp_path) as ch:
        theirs = _v1_categories(stubs(ch)[0].metadata)
    ours = bridge_metadata[0]
    assert theirs, "pyflyte serve connector served nothing: nothing to compare"
    assert {k: ours.get(k) for k in theirs} == theirs  # same categories, same sync/async kind


def test_bridge_serves_what_c0_serves(bridge_metadata: tuple, tmp_path: Path) -> None:
    pytest.importorskip("flyte", reason="needs the flyte extra")
    with sdk_server("c0", tmp_path) as ch:
        theirs = _v2_categories(stubs(ch)[1].metadata)
    if not theirs:
        pytest.skip("c0 serves no connector with the packages installed here (no flyte.connectors entry point)")
    assert theirs <= bridge_metadata[1]
