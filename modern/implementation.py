"""What an *implementation of a task category* is: the one unit the registry holds and the hub routes to.

A category (``name``, ``version``) may have several implementations, one per *key*:

- ``bridge``: a connector written against this project's API (``modern.AsyncConnector``/``SyncConnector``);
- ``flytekit``: a flytekit connector or agent, adapted in process (``legacy.flytekit_adapter``);
- ``flyte-sdk``: a flyte-sdk connector, adapted in process (``modern.flyte_sdk``);
- ``upstream:<address>``: another connector server reached over gRPC (``bridge.upstream``).

Every implementation answers v2 request messages, so the faces and the hub never know which kind
answers. The hub does what is common to all of them: it counts the call, refuses it while draining,
chooses the implementation (``modern.routing``), tags ``resource_meta`` so a later Get reaches the same
one, and runs a *sync* implementation's ``execute_sync`` inside CreateTask (its finished Resource
travels in ``resource_meta``) or emulates ExecuteTaskSync on an *async* one (create, then get).
So a sync implementation only needs ``execute_sync``; an async one the five task methods.

``family`` says whose templates an implementation understands (flytekit's, flyte-sdk's, or the
bridge's own API); the routing rule works on families, so an upstream flytekit agent server ranks
with the in-process flytekit connectors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from modern.errors import UnimplementedError
from translators._gen import v2

#: Sources (and families) of implementations.
BRIDGE = "bridge"
FLYTEKIT = "flytekit"
FLYTE_SDK = "flyte-sdk"
UPSTREAM = "upstream"

FAMILIES = (BRIDGE, FLYTEKIT, FLYTE_SDK)


def upstream_key(address: str) -> str:
    """The key of an upstream server's implementations: ``upstream:<address>``."""
    return f"{UPSTREAM}:{address}"


def is_upstream_key(key: str | None) -> bool:
    """Whether ``key`` (e.g. from a routing tag) names an upstream server."""
    return key is not None and key.startswith(UPSTREAM + ":")


class Implementation:
    """One implementation of one task category.

    Attributes:
        source: ``bridge``, ``flytekit``, ``flyte-sdk`` or ``upstream``.
        family: Whose templates it understands: ``bridge``, ``flytekit`` or ``flyte-sdk``.
        key: Unique among the implementations of a category: the source, or ``upstream:<address>``.
        origin: Where it comes from, for people: a module or an upstream address.
        name: The connector's display name (``Agent``/``Connector`` name).
        category: The (task type name, version) it serves.
        is_sync: Whether it finishes a task within one call (``execute_sync``).
        secret_names: The credentials its connector takes as keywords (``modern.secrets``): the hub
            fills those the caller's ``connection`` lacks from the pod's secret store.
    """

    source: str = BRIDGE
    family: str = BRIDGE
    key: str = BRIDGE
    origin: str = ""
    name: str = ""
    category: tuple[str, int] = ("", 0)
    is_sync: bool = False
    secret_names: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name for messages and logs, with the implementation unless it is the bridge's own:
        ``'Snowflake Connector' (flyte-sdk)``, ``'X' (upstream:host:8000)``."""
        return f"{self.name!r}" + (f" ({self.key})" if self.source != BRIDGE else "")

    def accepts_meta(self, data: bytes) -> bool:
        """Whether a ``resource_meta`` written without a routing tag looks like one of this implementation's.

        Used only when a category has several implementations and the handle names none of them (it
        was written by ``pyflyte serve connector``, ``c0`` or a bridge serving one implementation).
        """
        return True

    async def execute_sync(self, request: v2.CreateTaskRequest, timeout: float | None) -> v2.Resource:
        """A sync implementation: run the task to its terminal Resource."""
        raise UnimplementedError(f"{self.label} is not a sync connector")

    async def create_task(self, request: v2.CreateTaskRequest, timeout: float | None) -> bytes:
        """An async implementation: start the task; return its ``resource_meta``."""
        raise UnimplementedError(f"{self.label} does not create tasks")

    async def get_task(
        self, request: v2.GetTaskRequest, timeout: float | None, output_types: Any = None
    ) -> v2.Resource:
        """The task's state. ``output_types``: the template's output ``VariableMap`` when known."""
        raise UnimplementedError(f"{self.label} does not get tasks")

    async def delete_task(self, request: v2.DeleteTaskRequest, timeout: float | None) -> None:
        """Cancel the task."""
        raise UnimplementedError(f"{self.label} does not delete tasks")

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, timeout: float | None
    ) -> v2.GetTaskMetricsResponse:
        """The task's metrics."""
        raise UnimplementedError(f"{self.label} has no metrics")

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, timeout: float | None
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        """The task's log stream (checked before the first message: errors raise here)."""
        raise UnimplementedError(f"{self.label} has no logs")

    def describe(self) -> str:
        """``source`` plus ``origin`` for the start table."""
        return f"{self.source} ({self.origin})" if self.origin and self.origin != self.source else self.source


__all__ = ["BRIDGE", "FAMILIES", "FLYTEKIT", "FLYTE_SDK", "UPSTREAM", "Implementation", "is_upstream_key", "upstream_key"]
