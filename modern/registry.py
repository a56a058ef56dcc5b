"""Connector registries: a process-wide default one plus isolated ones for servers and tests.

Connector modules register at import time (``ConnectorRegistry.register(MyConnector())``) as both
SDKs do; that class-level call acts on the default registry. The same method names work on an
instance (``reg.register(x)``), which is what servers and tests use. A small descriptor gives each
method both bindings, so there is one implementation.

The registry holds *implementations* (``modern.implementation``): a category may have one per key
(the bridge's API, flytekit, flyte-sdk, each upstream server). ``register`` adds a local connector;
``add`` any implementation. ``modern.routing`` picks one per call; the metadata calls list each
category once, under the implementation a caller of that generation reaches by default.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from modern.entry import ConnectorEntry
from modern.errors import BridgeError, ConnectorNotFoundError, UnavailableError
from modern.implementation import Implementation, is_upstream_key
from modern.local import LocalImplementation
from modern.routing import CALLER_FAMILY, V1, V2, ranked
from translators._gen import v2


class _Dual:
    """Descriptor: on the class, bind to the default registry; on an instance, to that instance."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> Callable[..., Any]:
        return self.fn.__get__(obj if obj is not None else default_registry())


class ConnectorRegistry:
    """Implementations keyed by task category (task type name, version).

    Class-level calls act on ``default_registry()``; calls on an instance act on that instance.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, int], tuple[Implementation, ...]] = {}
        self._prefer: dict[str, str] = {}
        # Sources (upstream keys) that may serve categories not known yet: they have never answered.
        self._pending: set[str] = set()
        # Metadata answers are cached until the next change: ListAgents is polled every 10 s.
        self._metadata: dict[str, dict[str, v2.Connector]] = {}
        #: Bumped on every change so that views built from the registry know when to rebuild.
        self.generation = 0

    def _changed(self) -> None:
        self._metadata = {}
        self.generation += 1

    @_Dual
    def register(self, connector: Any, override: bool = False) -> None:
        """Register a local ``connector`` under its (task_type_name, task_type_version).

        A connector of another source (flytekit, flyte-sdk, the bridge's API) for the same category is
        kept beside it; one of the same source is a duplicate.

        Args:
            connector: The connector instance.
            override: Replace an existing connector of the same source and category instead of raising.

        Raises:
            ValueError: A connector of the same source for the same category exists and ``override`` is False.
            TypeError: ``connector`` is not a connector.
        """
        self.add(LocalImplementation(ConnectorEntry.of(connector)), override=override)

    @_Dual
    def add(self, impl: Implementation, override: bool = False) -> None:
        """Add an implementation of its category (at most one per ``impl.key``).

        Raises:
            ValueError: The category has an implementation with the same key and ``override`` is False.
        """
        with self._lock:
            current = self._by_key.get(impl.category, ())
            same = [i for i in current if i.key == impl.key]
            if same and not override:
                name, version = impl.category
                raise ValueError(f"Duplicate connector for task type: {name} and version: {version} ({impl.key})")
            if same:
                self._by_key[impl.category] = tuple(impl if i.key == impl.key else i for i in current)
            else:
                self._by_key[impl.category] = (*current, impl)
            self._changed()

    @_Dual
    def remove(self, impl: Implementation) -> None:
        """Remove ``impl`` (an upstream that no longer serves a category); absent is not an error."""
        with self._lock:
            kept = tuple(i for i in self._by_key.get(impl.category, ()) if i is not impl)
            if kept:
                self._by_key[impl.category] = kept
            else:
                self._by_key.pop(impl.category, None)
            self._changed()

    @_Dual
    def prefer(self, task_type_name: str, key: str) -> None:
        """Pin the implementation of ``task_type_name`` (every version) whose key or source is ``key``."""
        with self._lock:
            self._prefer[task_type_name] = key
            self._changed()

    @_Dual
    def expect(self, key: str, pending: bool = True) -> None:
        """Mark ``key`` (an upstream) as a source whose categories are not known yet, or no longer so.

        While any source is pending, a call for an unknown category is UNAVAILABLE (retry later)
        rather than NOT_FOUND: the category may be one that source serves.
        """
        with self._lock:
            (self._pending.add if pending else self._pending.discard)(key)

    @_Dual
    def missing(self, what: str, registered: Any = (), key: str | None = None) -> BridgeError:
        """The error for a call nothing here answers: NOT_FOUND, or UNAVAILABLE while it may yet be.

        Args:
            what: What was looked for (``task category 'x' version 0``).
            registered: What is registered instead (for the NOT_FOUND message).
            key: The implementation a routing tag names, if any: an upstream one is UNAVAILABLE.
        """
        if is_upstream_key(key):
            return UnavailableError(f"{key} is not reachable for {what} (not reached yet, or not configured)")
        with self._lock:
            pending = sorted(self._pending)
        if pending:
            shown = ", ".join(pending[:5]) + (", ..." if len(pending) > 5 else "")
            return UnavailableError(f"no connector for {what} yet: waiting for {shown} to answer")
        return ConnectorNotFoundError(what, registered)

    @_Dual
    def preferred(self, task_type_name: str) -> str | None:
        """The ``--prefer`` value for a category name, if any."""
        return self._prefer.get(task_type_name)

    @_Dual
    def implementations(
        self, task_type_name: str, task_type_version: int = 0, key: str | None = None
    ) -> tuple[Implementation, ...]:
        """A category's implementations in registration order.

        Args:
            key: The implementation a routing tag names, if any (see ``missing``).

        Raises:
            ConnectorNotFoundError: Nothing is registered for it.
            UnavailableError: Nothing is registered for it yet, but a pending upstream may serve it.
        """
        found = self._by_key.get((task_type_name, task_type_version))
        if not found:
            raise self.missing(
                f"task category {task_type_name!r} version {task_type_version}",
                [f"{n} v{v}" for n, v in self._by_key],
                key,
            )
        return found

    @_Dual
    def implementation(self, task_type_name: str, task_type_version: int, key: str) -> Implementation | None:
        """The category's implementation with ``key`` (a source or ``upstream:<address>``), or None."""
        return next((i for i in self._by_key.get((task_type_name, task_type_version), ()) if i.key == key), None)

    @_Dual
    def all_implementations(self) -> list[Implementation]:
        """Every implementation of every category, in registration order of the categories."""
        return [i for impls in list(self._by_key.values()) for i in impls]

    @_Dual
    def primary(self, caller: str = V2) -> list[Implementation]:
        """One implementation per category: the one a caller of that generation reaches by default."""
        family = CALLER_FAMILY[caller]
        return [ranked(impls, family, self._prefer.get(cat[0]))[0] for cat, impls in list(self._by_key.items())]

    @_Dual
    def get_connector(self, task_type_name: str, task_type_version: int = 0) -> Any:
        """Return the local connector for a task category (the first registered).

        Raises:
            ConnectorNotFoundError: No local connector is registered for it.
        """
        return self.entry(task_type_name, task_type_version).connector

    @_Dual
    def entry(self, task_type_name: str, task_type_version: int = 0) -> ConnectorEntry:
        """Return the ``ConnectorEntry`` of the first local connector for a task category.

        Raises:
            ConnectorNotFoundError: No local connector is registered for it.
        """
        for impl in self.implementations(task_type_name, task_type_version):
            if isinstance(impl, LocalImplementation):
                return impl.entry
        raise ConnectorNotFoundError(f"local connector for {task_type_name!r} version {task_type_version}")

    @_Dual
    def entries(self) -> list[ConnectorEntry]:
        """All registered local connectors, in registration order."""
        return [i.entry for i in self.all_implementations() if isinstance(i, LocalImplementation)]

    @_Dual
    def has(self, task_type_name: str, task_type_version: int = 0) -> bool:
        """Whether anything serves the category."""
        return (task_type_name, task_type_version) in self._by_key

    def _metadata_map(self, caller: str = V2) -> dict[str, v2.Connector]:
        cached = self._metadata.get(caller)
        if cached is None:
            cached = {}
            for impl in self.primary(caller):
                meta = cached.setdefault(impl.name, v2.Connector(name=impl.name))
                name, version = impl.category
                meta.supported_task_categories.add(name=name, version=version)
            self._metadata[caller] = cached
        return cached

    @_Dual
    def list_connectors(self) -> list[v2.Connector]:
        """One v2 ``Connector`` per connector name with its task categories (each category once)."""
        return list(self._metadata_map().values())

    @_Dual
    def get_connector_metadata(self, name: str) -> v2.Connector:
        """The v2 ``Connector`` named ``name`` (a name only Flyte 1 callers are shown works too).

        Raises:
            ConnectorNotFoundError: No connector has that name.
        """
        found = self._metadata_map().get(name) or self._metadata_map(V1).get(name)
        if found is None:
            raise ConnectorNotFoundError(f"name {name!r}", self._metadata_map())
        return found

    # flyte-sdk today spells the two metadata calls with a leading underscore.
    _list_connectors = list_connectors
    _get_connector_metadata = get_connector_metadata


_DEFAULT: ConnectorRegistry | None = None
_DEFAULT_LOCK = threading.Lock()


def default_registry() -> ConnectorRegistry:
    """The process-wide registry that import-time ``ConnectorRegistry.register`` calls fill."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = ConnectorRegistry()
    return _DEFAULT


__all__ = ["ConnectorEntry", "ConnectorRegistry", "default_registry"]
