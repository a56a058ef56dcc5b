"""Where the installed flytekit keeps its connector base classes and registry.

Two generations of the same API:

| flytekit | module | async / sync base | registry |
|---|---|---|---|
| 1.16 and later | ``flytekit.extend.backend.base_connector`` | ``AsyncConnectorBase`` / ``SyncConnectorBase`` | ``ConnectorRegistry`` |
| 1.11 - 1.15 | ``flytekit.extend.backend.base_agent`` | ``AsyncAgentBase`` / ``SyncAgentBase`` | ``AgentRegistry`` |

Both key the registry's ``_REGISTRY`` by ``task_category`` (``name``, ``version``) and give each connector
a ``task_category``, a ``metadata_type`` (async) and ``Resource``/``ResourceMeta`` of the same shape.
flytekit 1.10 and older have only ``AgentBase`` (keyed by ``task_type``, methods answering protobuf
responses): a different API that this adapter does not take; such connectors stay behind a
``pyflyte serve agent`` of their own flytekit, which the bridge can forward to.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any

OLDEST_ADAPTED = "1.11"

# Newest first: flytekit 1.16+ still ships base_agent as aliases of the same classes.
_GENERATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("flytekit.extend.backend.base_connector", "AsyncConnectorBase", "SyncConnectorBase", "ConnectorRegistry"),
    ("flytekit.extend.backend.base_agent", "AsyncAgentBase", "SyncAgentBase", "AgentRegistry"),
)


@dataclass(frozen=True)
class FlytekitApi:
    """The installed flytekit's connector base classes and registry class."""

    module: str
    async_base: type
    sync_base: type
    registry: Any

    def registered(self) -> list[Any]:
        """Every connector in flytekit's own registry (``import flytekit`` fills it from its plugins)."""
        return list(self.registry._REGISTRY.values())


@functools.cache
def flytekit_api() -> FlytekitApi:
    """The connector API of the installed flytekit.

    Raises:
        ImportError: flytekit is not installed, or is older than 1.11 (no adaptable API).
    """
    for module_name, async_name, sync_name, registry_name in _GENERATIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = [getattr(module, n, None) for n in (async_name, sync_name, registry_name)]
        if all(found):
            return FlytekitApi(module_name, *found)
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("flytekit")
    except PackageNotFoundError:
        raise ImportError("flytekit is not installed") from None
    raise ImportError(
        f"flytekit {installed} is older than {OLDEST_ADAPTED}: its connectors cannot be adapted; "
        "run them behind --upstream (a pyflyte serve agent of that flytekit)"
    )


__all__ = ["OLDEST_ADAPTED", "FlytekitApi", "flytekit_api"]
