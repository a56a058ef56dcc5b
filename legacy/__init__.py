"""legacy: the Flyte 1 spoke. v1 servicers answering from the hub; adapters for flytekit connectors."""

from __future__ import annotations

from typing import Any

__all__ = ["SERVICE_NAMES", "add_to_server"]


def __getattr__(name: str) -> Any:
    # Lazy, as in ``bridge``: importing a light submodule (``legacy._flytekit_api``'s version floor,
    # read by ``flyte-bridge compat``) must not import grpc, the translators and the v1 servicers.
    if name in __all__:
        from legacy import _servicer

        return getattr(_servicer, name)
    raise AttributeError(f"module 'legacy' has no attribute {name!r}")
