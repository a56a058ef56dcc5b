"""Serve a service under a second name: the flyteidl2 beta names of the v2 services.

During the Flyte 2 betas the v2 services were called ``flyteidl2.service.AsyncConnectorService``
and ``flyteidl2.service.ConnectorMetadataService``; they became ``flyteidl2.connector.*``
(flyteorg/flyte#6797). The messages are the same on the wire, so early flyte-sdk builds can be
served by routing the beta method paths to the current handlers. The generated
``add_*_to_server`` functions register generic handlers, so we record those while the hub
registers them and answer the beta paths with the same handlers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import grpc

BETA_SERVICE_NAMES: Mapping[str, str] = {
    "flyteidl2.service.AsyncConnectorService": "flyteidl2.connector.AsyncConnectorService",
    "flyteidl2.service.ConnectorMetadataService": "flyteidl2.connector.ConnectorMetadataService",
}
"""Beta service name -> current service name."""


class _CallDetails(NamedTuple):
    # grpc.HandlerCallDetails is an interface with exactly these two attributes.
    method: str
    invocation_metadata: Any


class RecordingServer:
    """A stand-in passed to ``add_to_server`` functions: forwards to the real server, remembers handlers."""

    def __init__(self, server: grpc.Server) -> None:
        """Wrap ``server``.

        Args:
            server: The real gRPC server.
        """
        self._server = server
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Record and forward generic handlers.

        Args:
            handlers: The handlers the generated code registers.
        """
        self.handlers.extend(handlers)
        self._server.add_generic_rpc_handlers(handlers)

    @property
    def real_server(self) -> grpc.Server:
        """The server this stands in for (its kind decides the handlers' kind)."""
        return self._server

    def __getattr__(self, name: str) -> Any:
        # Everything else (add_registered_method_handlers, ports, ...) goes to the real server.
        return getattr(self._server, name)


class AliasHandler(grpc.GenericRpcHandler):
    """Answers ``/<alias>/<Method>`` with the handler registered for ``/<target>/<Method>``."""

    def __init__(self, aliases: Mapping[str, str], delegates: Sequence[grpc.GenericRpcHandler]) -> None:
        """Create the alias handler.

        Args:
            aliases: Alias service name -> served service name.
            delegates: The generic handlers that serve the target names.
        """
        self._prefixes = {f"/{alias}/": f"/{target}/" for alias, target in aliases.items()}
        self._delegates = list(delegates)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        """Find the handler for an aliased method path.

        Args:
            handler_call_details: The incoming call's method and metadata.

        Returns:
            The target's method handler, or None when the path is not an alias.
        """
        method = handler_call_details.method
        for alias_prefix, target_prefix in self._prefixes.items():
            if method.startswith(alias_prefix):
                details = _CallDetails(
                    target_prefix + method[len(alias_prefix) :],
                    handler_call_details.invocation_metadata,
                )
                for delegate in self._delegates:
                    found = delegate.service(details)
                    if found is not None:
                        return found
        return None
