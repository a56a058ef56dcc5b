"""Connector registries: a process-wide default one plus isolated ones for servers and tests.

Connector modules register at import time (``ConnectorRegistry.register(MyConnector())``) as both
SDKs do; that class-level call acts on the default registry. The same method names work on an
instance (``reg.register(x)``), which is what servers and tests use. A small descriptor gives each
method both bindings, so there is one implementation.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modern.connector import AsyncConnector, ResourceMeta, SyncConnector
from modern.errors import ConnectorNotFoundError
from translators._gen import v2


def _takes(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` accepts keyword ``name`` (directly or through ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)


@dataclass(frozen=True)
class ConnectorEntry:
    """One registered connector with everything the hub needs, computed once at registration.

    Attributes:
        connector: The connector object.
        is_sync: True for a connector with ``do`` (a ``SyncConnector`` or look-alike).
        takes_inputs: Whether ``create``/``do`` accepts ``inputs`` (else inputs are never decoded).
        async_methods: Names of methods that are coroutine functions (others run in a thread).
        accepted_kwargs: Per method, None if it takes ``**kwargs``, else the keyword names it takes.
    """

    connector: Any
    is_sync: bool
    takes_inputs: bool
    async_methods: frozenset[str]
    accepted_kwargs: dict[str, frozenset[str] | None] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The connector's display name (``Agent``/``Connector`` name)."""
        return str(getattr(self.connector, "name", type(self.connector).__name__))

    @property
    def category(self) -> tuple[str, int]:
        """The (task type name, version) the connector serves."""
        return (str(self.connector.task_type_name), int(getattr(self.connector, "task_type_version", 0)))

    @property
    def metadata_type(self) -> type[ResourceMeta]:
        """The connector's ``ResourceMeta`` class."""
        return getattr(self.connector, "metadata_type", ResourceMeta)

    @classmethod
    def of(cls, connector: Any) -> ConnectorEntry:
        """Inspect ``connector`` once.

        Args:
            connector: An ``AsyncConnector``/``SyncConnector`` or an object with the same methods.

        Returns:
            The entry.

        Raises:
            TypeError: The object is neither kind, or lacks ``task_type_name``.
        """
        if not getattr(connector, "task_type_name", None):
            raise TypeError(f"{type(connector).__name__} has no task_type_name")
        is_sync = isinstance(connector, SyncConnector) or (
            not isinstance(connector, AsyncConnector) and callable(getattr(connector, "do", None))
        )
        needed = ("do",) if is_sync else ("create", "get", "delete")
        missing = [m for m in needed if not callable(getattr(connector, m, None))]
        if missing:
            raise TypeError(f"{type(connector).__name__} lacks {', '.join(missing)}")
        methods = ("do",) if is_sync else ("create", "get", "delete", "get_metrics", "get_logs")
        async_methods = frozenset(m for m in methods if _is_async(getattr(connector, m, None)))
        accepted: dict[str, frozenset[str] | None] = {}
        for m in methods:
            fn = getattr(connector, m, None)
            try:
                params = inspect.signature(fn).parameters if fn is not None else {}
            except (TypeError, ValueError):
                params = {}
            if not params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
                accepted[m] = None
            else:
                accepted[m] = frozenset(params)
        first = connector.do if is_sync else connector.create
        return cls(connector, is_sync, _takes(first, "inputs"), async_methods, accepted)


class _Dual:
    """Descriptor: on the class, bind to the default registry; on an instance, to that instance."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> Callable[..., Any]:
        return self.fn.__get__(obj if obj is not None else default_registry())


class ConnectorRegistry:
    """Connectors keyed by task category (task type name, version).

    Class-level calls act on ``default_registry()``; calls on an instance act on that instance.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, int], ConnectorEntry] = {}
        # Metadata answers are cached until the next registration: ListAgents is polled every 10 s.
        self._metadata: dict[str, v2.Connector] | None = None
        #: Bumped on every registration so that views built from the registry know when to rebuild.
        self.generation = 0

    @_Dual
    def register(self, connector: Any, override: bool = False) -> None:
        """Register ``connector`` under its (task_type_name, task_type_version).

        Args:
            connector: The connector instance.
            override: Replace an existing connector for the same category instead of raising.

        Raises:
            ValueError: A connector for the same category exists and ``override`` is False.
            TypeError: ``connector`` is not a connector.
        """
        entry = ConnectorEntry.of(connector)
        with self._lock:
            if entry.category in self._by_key and not override:
                name, version = entry.category
                raise ValueError(f"Duplicate connector for task type: {name} and version: {version}")
            self._by_key[entry.category] = entry
            self._metadata = None
            self.generation += 1

    @_Dual
    def get_connector(self, task_type_name: str, task_type_version: int = 0) -> Any:
        """Return the connector for a task category.

        Raises:
            ConnectorNotFoundError: Nothing is registered for it.
        """
        return self.entry(task_type_name, task_type_version).connector

    @_Dual
    def entry(self, task_type_name: str, task_type_version: int = 0) -> ConnectorEntry:
        """Return the ``ConnectorEntry`` for a task category (the hub's lookup).

        Raises:
            ConnectorNotFoundError: Nothing is registered for it.
        """
        found = self._by_key.get((task_type_name, task_type_version))
        if found is None:
            raise ConnectorNotFoundError(
                f"task category {task_type_name!r} version {task_type_version}",
                (f"{n} v{v}" for n, v in self._by_key),
            )
        return found

    @_Dual
    def entries(self) -> list[ConnectorEntry]:
        """All registered connectors, in registration order."""
        return list(self._by_key.values())

    @_Dual
    def has(self, task_type_name: str, task_type_version: int = 0) -> bool:
        """Whether a connector serves the category."""
        return (task_type_name, task_type_version) in self._by_key

    def _metadata_map(self) -> dict[str, v2.Connector]:
        cached = self._metadata
        if cached is None:
            cached = {}
            for e in list(self._by_key.values()):
                meta = cached.setdefault(e.name, v2.Connector(name=e.name))
                name, version = e.category
                meta.supported_task_categories.add(name=name, version=version)
            self._metadata = cached
        return cached

    @_Dual
    def list_connectors(self) -> list[v2.Connector]:
        """One v2 ``Connector`` per connector name with all its task categories."""
        return list(self._metadata_map().values())

    @_Dual
    def get_connector_metadata(self, name: str) -> v2.Connector:
        """The v2 ``Connector`` named ``name``.

        Raises:
            ConnectorNotFoundError: No connector has that name.
        """
        found = self._metadata_map().get(name)
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
