"""bridge: the deployable process. One gRPC server for both Flyte generations, plus the CLI.

- :mod:`bridge.commands`: the ``flyte-bridge`` parser and its subcommands (``serve``, ``demo``, ``compat``,
  ``run``, ``check``) and the image's ``c0``/``pyflyte`` drop-ins;
- :mod:`bridge.server`: the server's parts (``build_server``, health, TLS, threads, drain, workers,
  metrics, logs, beta service names);
- what is served: :mod:`bridge.discovery`, :mod:`bridge.examples` (echo), :mod:`bridge.table` (the start
  table), :mod:`bridge.versions` (the supported-versions table);
- :mod:`bridge.upstream` (the gateway) and :mod:`bridge.kit` with :mod:`bridge.pytest_plugin` (the
  connector author's kit).
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
