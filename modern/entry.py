"""``ConnectorEntry``: what the hub needs of one local connector, inspected once at registration."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modern.connector import AsyncConnector, ResourceMeta, SyncConnector


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
    def label(self) -> str:
        """The name for messages and logs, quoted, with the implementation when it is an SDK's.

        Both SDKs may serve a category under the same name (each has a "Snowflake Connector"):
        ``'Snowflake Connector' (flyte-sdk)`` says which one answered.
        """
        source = getattr(self.connector, "implementation_source", None)
        return f"{self.name!r}" + (f" ({source})" if source and source != "bridge" else "")

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


__all__ = ["ConnectorEntry"]
