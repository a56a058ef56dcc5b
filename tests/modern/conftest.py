"""Fixtures for hub and servicer tests: a real bridge server on 127.0.0.1:0 (see tests/_servers.py).

``bridge_server`` yields ``(address, v1 stubs, v2 stubs)`` of a blocking client against a server with
an isolated registry (``bridge_registry``; register connectors on it before the first call, or use
``make_bridge_server`` for a server over a registry of your own).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from modern import ConnectorRegistry
from tests._servers import Served, ThreadedServer, V1Stubs, V2Stubs


@pytest.fixture
def bridge_registry() -> ConnectorRegistry:
    """An isolated, empty registry for ``bridge_server``."""
    return ConnectorRegistry()


@pytest.fixture
def bridge_server(bridge_registry: ConnectorRegistry) -> Iterator[tuple[str, V1Stubs, V2Stubs]]:
    """A running server over ``bridge_registry``: (address, v1 stubs, v2 stubs), blocking stubs."""
    with ThreadedServer(bridge_registry) as served:
        yield served.address, served.v1, served.v2


@pytest.fixture
def make_bridge_server() -> Iterator[Callable[..., Served]]:
    """Factory: ``make_bridge_server(registry, **options) -> Served``; all are stopped at teardown."""
    running: list[ThreadedServer] = []

    def make(registry: ConnectorRegistry | None = None, **options: Any) -> Served:
        server = ThreadedServer(registry, **options)
        served = server.__enter__()
        running.append(server)
        return served

    yield make
    for server in reversed(running):
        server.__exit__(None, None, None)
