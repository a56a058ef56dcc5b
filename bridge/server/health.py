"""The standard ``grpc.health.v1`` service, tied to the bridge's life cycle.

Kubernetes' readiness probe (the flyteconnector chart probes ``grpc: {port: 8000}``) asks for the
service ``""``. The bridge reports NOT_SERVING until connectors are loaded, SERVING for ``""`` and
every served service afterwards, and NOT_SERVING again from the moment it starts draining, so a
load balancer stops sending new work before the listener goes away.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

HEALTH_SERVICE_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


async def settle(result: Any) -> None:
    """Await ``result`` if it is awaitable: the same call on a ``grpc.aio`` object returns a coroutine,
    on its thread-pool twin it has already happened."""
    if inspect.isawaitable(result):
        await result


class BridgeHealth:
    """Owns the ``HealthServicer`` and the list of services it reports on."""

    def __init__(self, aio: bool = False) -> None:
        """Create the servicer (for a ``grpc.aio`` server if ``aio``); nothing is SERVING until :meth:`serving`."""
        self.servicer = health.aio.HealthServicer() if aio else health.HealthServicer()
        self._services: list[str] = [""]
        self.draining = False

    def add_to_server(self, server: grpc.Server) -> None:
        """Register the health service on ``server``.

        Args:
            server: The gRPC server.
        """
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)

    async def not_serving_yet(self, services: Iterable[str]) -> None:
        """Report NOT_SERVING for ``""`` and ``services`` (before connectors are loaded).

        Args:
            services: Fully qualified names of the services this server will serve.
        """
        self._services = ["", *dict.fromkeys(services), HEALTH_SERVICE_NAME]
        for name in self._services:
            await settle(self.servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING))
        # The health service itself answers from the start.
        await settle(self.servicer.set(HEALTH_SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING))

    async def serving(self) -> None:
        """Report SERVING for ``""`` and every registered service."""
        for name in self._services:
            await settle(self.servicer.set(name, health_pb2.HealthCheckResponse.SERVING))

    async def drain(self) -> None:
        """Report NOT_SERVING for everything, permanently (the server is shutting down)."""
        self.draining = True
        await settle(self.servicer.enter_graceful_shutdown())

    @property
    def services(self) -> list[str]:
        """The service names reported on, ``""`` first."""
        return list(self._services)
