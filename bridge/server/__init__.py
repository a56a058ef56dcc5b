"""The server's parts: one gRPC server for both Flyte generations and its life cycle.

:mod:`~bridge.server.assembly` (``build_server``: both generations, health, reflection on one port),
:mod:`~bridge.server.aliases` (flyteidl2 beta service names), :mod:`~bridge.server.health`,
:mod:`~bridge.server.tls`, :mod:`~bridge.server.call_pool` (the thread-pool server's threads),
:mod:`~bridge.server.saturation` (warnings when a pool is the bottleneck), :mod:`~bridge.server.runtime`
(signals, ``--timeout``) and :mod:`~bridge.server.drain` (how a replica leaves),
:mod:`~bridge.server.workers` (``--workers``), :mod:`~bridge.server.metrics` (the Prometheus port),
:mod:`~bridge.server.logs` (text or JSON lines).

Nothing here imports :mod:`bridge.commands`. This ``__init__`` imports nothing, so a light module
(``logs``, ``tls``) does not pull in grpc's server.
"""
