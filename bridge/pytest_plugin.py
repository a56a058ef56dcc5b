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

Each test is served exactly the built-ins, the entry points (unless turned off), the ini option's
modules and its own marker's modules: a connector another test's marker imported is not served
(the bridge is shared by the session, its registry is set per test).

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
    """The session's served bridge (a :class:`bridge.kit.served.ServedBridge`), started on first use.

    It serves a registry of its own: what the ini option, the built-ins and the entry points registered
    (``served.base``), plus, for each test, what that test's marker modules registered.
    """
    import modern
    from bridge.discovery import discover
    from bridge.kit.served import ServedBridge

    modules = tuple(request.config.getini("flyte_bridge_modules"))
    report = discover(modern.default_registry(), modules,
                      entry_point_groups=bool(request.config.getini("flyte_bridge_entry_points")))
    served = ServedBridge(modules, registry=modern.ConnectorRegistry())
    served.report = report
    served.base = report.categories(report.registered)
    served.start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def flyte_bridge(flyte_bridge_server: Any, flyte_bridge_modules: tuple[str, ...], tmp_path: Any) -> Any:
    """A :class:`bridge.kit.harness.BridgeHarness` on the session's bridge, serving exactly the ini's
    modules (with built-ins and entry points) and this test's marker modules."""
    import modern
    from bridge.discovery import discover
    from bridge.kit.harness import BridgeHarness
    from bridge.kit.served import serve_only

    served = flyte_bridge_server
    # The session's own failures (a module of the ini, or adapting an SDK's registry) fail every test.
    failed = [f for f in served.report.failed
              if f.source == "adapter" or (f.source == "--modules" and f.name in served.modules)]
    wanted = set(served.base)
    new = tuple(m for m in flyte_bridge_modules if m not in served.modules)
    if new:
        report = discover(modern.default_registry(), new, builtins=(), entry_point_groups=False)
        failed += report.failed
        wanted |= report.categories(new)
    if failed:
        pytest.fail("; ".join(f"{f.name}: {f.error}" for f in failed), pytrace=False)
    # Connectors an earlier test's marker loaded stay imported, but are no longer served.
    serve_only(served.registry, modern.default_registry(), wanted)
    return BridgeHarness(served, tmp_path)
