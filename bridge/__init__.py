"""bridge: the deployable process. One grpc.aio server for both Flyte generations, plus the CLI.

Modules: :mod:`bridge.cli` (``flyte-bridge``), :mod:`bridge.serve` (the serve command),
:mod:`bridge.server` (``build_server``), :mod:`bridge.runtime` (signals, grace),
:mod:`bridge.discovery`, :mod:`bridge.health`, :mod:`bridge.metrics`, :mod:`bridge.tls`,
:mod:`bridge.workers` (``--workers``), :mod:`bridge.aliases` (flyteidl2 beta service names),
:mod:`bridge.table`, :mod:`bridge.logs`, :mod:`bridge.examples` (echo), :mod:`bridge.demo`,
:mod:`bridge.compat_cmd`.
"""

from __future__ import annotations

from bridge.server import BridgeServer, ServerOptions, build_server

__all__ = ["BridgeServer", "ServerOptions", "build_server"]
