"""pytest plugin: test your connector exactly as FlytePropeller and the Flyte 2 executor will call it.

Installed with the package as the ``pytest11`` entry point ``bridge.pytest_plugin`` (so it is
active in every pytest run of the venv; ``-p no:bridge.pytest_plugin`` turns it off), or load it with
``pytest -p bridge.pytest_plugin``. This module imports nothing but pytest: the bridge starts only
when a test asks for the ``flyte_bridge`` fixture.

Fixtures:

- ``flyte_bridge``: a :class:`bridge.kit.harness.BridgeHarness`: a real gRPC bridge on a loopback
  port (one per session), ``.v1``/``.v2`` stubs, ``.template(...)`` and
  ``.create_and_wait(task, inputs, generation="v1"|"v2"|"both")``.
- ``flyte_bridge_modules``: the connector modules to import; override it, or set them with the
  marker ``@pytest.mark.flyte_bridge("my.module", ...)`` or the ini option ``flyte_bridge_modules``.

Ini options: ``flyte_bridge_modules`` (lines/args), ``flyte_bridge_entry_points`` (bool, default
true: load the connector entry-point groups, as ``flyte-bridge serve`` does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

_MARKER = "flyte_bridge"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("flyte_bridge_modules", "connector modules the flyte_bridge fixture imports", type="args", default=[])
    parser.addini("flyte_bridge_entry_points", "the flyte_bridge fixture loads connector entry points",
                  type="bool", default=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{_MARKER}(*modules): connector modules the flyte_bridge fixture imports")


@pytest.fixture
def flyte_bridge_modules(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """Connector modules for ``flyte_bridge``: the closest ``flyte_bridge`` marker's, else the ini option's."""
    marker = request.node.get_closest_marker(_MARKER)
    if marker is not None:
        return tuple(marker.args)
    return tuple(request.config.getini("flyte_bridge_modules"))


@pytest.fixture(scope="session")
def flyte_bridge_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's served bridge (a :class:`bridge.kit.served.ServedBridge`), started on first use."""
    from bridge.kit.served import ServedBridge

    served = ServedBridge(
        tuple(request.config.getini("flyte_bridge_modules")),
        entry_points=bool(request.config.getini("flyte_bridge_entry_points")),
    ).start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def flyte_bridge(flyte_bridge_server: Any, flyte_bridge_modules: tuple[str, ...], tmp_path: Any) -> Any:
    """A :class:`bridge.kit.harness.BridgeHarness` on the session's bridge, with this test's modules imported."""
    from bridge.discovery import discover
    from bridge.kit.harness import BridgeHarness

    if flyte_bridge_modules:
        served = flyte_bridge_server
        # What the session's bridge already loaded is not discovered again for every test; its
        # failures (the module's own, or adapting an SDK's registry) still fail the test.
        failed = [f for f in served.report.failed
                  if f.source == "adapter" or (f.source == "--modules" and f.name in flyte_bridge_modules)]
        new = tuple(m for m in flyte_bridge_modules if m not in served.modules)
        if new:
            # The bridge serves its registry live: connectors imported now are served from the next call.
            failed += discover(served.registry, new, builtins=(), entry_point_groups=False).failed
        if failed:
            pytest.fail("; ".join(f"{f.name}: {f.error}" for f in failed), pytrace=False)
    return BridgeHarness(flyte_bridge_server, tmp_path)
