"""legacy: the Flyte 1 spoke. v1 servicers answering from the hub; adapters for flytekit connectors."""

from __future__ import annotations

from legacy._servicer import SERVICE_NAMES, add_to_server

__all__ = ["SERVICE_NAMES", "add_to_server"]
