"""bridge: the deployable process. One grpc.aio server for both Flyte generations, plus the CLI.

Modules: :mod:`bridge.cli` (``flyte-bridge``), :mod:`bridge.serve` (the serve command),
:mod:`bridge.server.assembly` (``build_server``), :mod:`bridge.server.runtime` (signals, grace),
:mod:`bridge.discovery`, :mod:`bridge.server.health`, :mod:`bridge.server.metrics`, :mod:`bridge.server.tls`,
:mod:`bridge.server.workers` (``--workers``), :mod:`bridge.server.aliases` (flyteidl2 beta service names),
:mod:`bridge.table`, :mod:`bridge.server.logs`, :mod:`bridge.examples` (echo), :mod:`bridge.demo`,
:mod:`bridge.compat_cmd`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BridgeServer", "ServerOptions", "build_server"]

DISTRIBUTION = "flyte-connector-bridge"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # The one place the version is written is pyproject.toml; read it from the installed metadata.
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(DISTRIBUTION)
        except PackageNotFoundError:  # a checkout on sys.path that was never installed
            return "0+unknown"
    # Lazy: importing a light submodule (the pytest plugin, which pytest loads in every run of every
    # project in the venv) must not import grpc and the whole server.
    if name in __all__:
        from bridge.server import assembly

        return getattr(assembly, name)
    raise AttributeError(f"module 'bridge' has no attribute {name!r}")
