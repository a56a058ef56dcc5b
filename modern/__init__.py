"""modern: the hub. One connector API (Flyte 2 shape), the registry, and the Flyte 2 servicers."""

from __future__ import annotations

from modern._servicer import add_to_server
from modern.connector import AsyncConnector, Resource, ResourceMeta, SyncConnector
from modern.errors import (
    BridgeError,
    ConnectorError,
    ConnectorNotFoundError,
    DeadlineError,
    DrainingError,
    InvalidRequestError,
    UnimplementedError,
)
from modern.hub import Hub
from modern.registry import ConnectorRegistry, default_registry

__all__ = [
    "AsyncConnector",
    "BridgeError",
    "ConnectorError",
    "ConnectorNotFoundError",
    "ConnectorRegistry",
    "DeadlineError",
    "DrainingError",
    "Hub",
    "InvalidRequestError",
    "Resource",
    "ResourceMeta",
    "SyncConnector",
    "UnimplementedError",
    "add_to_server",
    "default_registry",
]
