"""The transport-neutral core every face calls with v2 request messages.

The v2 servicers hand requests through untouched; the v1 servicers translate v1 bytes into the same
v2 classes first and say so (``caller="v1"``). The hub picks the implementation of the task's
category (``modern.routing``: by the template's SDK, the caller's generation, ``--prefer``, and the
routing tag in ``resource_meta``), runs sync implementations inside CreateTask and emulates
ExecuteTaskSync on async ones, counts metrics and raises ``BridgeError`` for every failure (the faces
turn that into a status). What an implementation does with a call (a local connector, an SDK adapter,
an upstream server) is its own business: ``modern.implementation``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from typing import Any

from modern import call_context, envelope, routing
from modern._values import TERMINAL_PHASES
from modern.errors import (
    BridgeError,
    DeadlineError,
    DrainingError,
    InvalidRequestError,
    UnimplementedError,
)
from modern.implementation import Implementation
from modern.metadata import AgentGroup, AgentView
from modern.metrics import RequestMetrics, request_metrics
from modern.registry import ConnectorRegistry, default_registry
from modern.secrets import SecretResolver
from translators._gen import v2

_UNREGISTERED = "<unregistered>"  # label for unknown task types: keeps metric cardinality bounded


class Hub:
    """Routes v2 requests to connectors.

    Args:
        registry: The connectors to serve (default: the process-wide registry).
        max_sync_resource_bytes: Largest ``resource_meta`` envelope for a sync connector's result.
        metrics: Where to count requests; default the process-wide collectors, False for none.
        poll_initial: First wait between GetTask polls when ExecuteTaskSync emulates a sync call.
        poll_max: Longest wait between those polls.
        secrets: Fills the credentials a connector declares and the caller did not send
            (``modern.secrets``); default the pod store flytekit's conventions name, False for none.
    """

    def __init__(
        self,
        registry: ConnectorRegistry | None = None,
        *,
        max_sync_resource_bytes: int = envelope.DEFAULT_MAX_BYTES,
        metrics: RequestMetrics | bool | None = None,
        poll_initial: float = 0.05,
        poll_max: float = 1.0,
        secrets: SecretResolver | bool | None = None,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.max_sync_resource_bytes = max_sync_resource_bytes
        self.metrics: RequestMetrics | None = (
            None if metrics is False else metrics if isinstance(metrics, RequestMetrics) else request_metrics()
        )
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.secrets: SecretResolver | None = (
            None if secrets is False else secrets if isinstance(secrets, SecretResolver) else SecretResolver()
        )
        self.draining = False
        self.agents = AgentView(self.registry)
        self._cleanup: set[asyncio.Task[Any]] = set()

    def for_caller(self, caller: str) -> CallerView:
        """The task methods with the caller's generation bound (the v1 face uses ``for_caller("v1")``)."""
        return CallerView(self, caller)

    def start_draining(self) -> None:
        """Refuse new calls with UNAVAILABLE from now on (graceful shutdown)."""
        self.draining = True

    # -- routing ---------------------------------------------------------------------------------

    def _open(self) -> None:
        if self.draining:
            raise DrainingError("server is draining; retry on another replica")

    def _observed(self, op: str) -> _Observed:
        """A block counted as one ``op`` request (success, or failure by status); refused while draining."""
        return _Observed(self, op)

    def _count_input_bytes(self, label: str, request: v2.CreateTaskRequest) -> None:
        if self.metrics is not None and request.HasField("inputs"):
            self.metrics.observe_input_bytes(label, request.inputs.ByteSize())

    def _for_create(self, request: v2.CreateTaskRequest, caller: str) -> tuple[Implementation, bool]:
        """The implementation that starts the task, and whether its handle needs a routing tag."""
        call_context.note_request(request)
        if not request.HasField("template"):
            raise InvalidRequestError("CreateTaskRequest.template is missing")
        t = request.template
        impls = self.registry.implementations(t.type, t.task_type_version)
        impl = routing.for_create(impls, t, caller, self.registry.preferred(t.type))
        call_context.note_implementation(impl)
        return impl, len(impls) > 1

    def _with_secrets(self, request: Any, impl: Implementation) -> Any:
        """``request`` with the pod's values for the credentials ``impl`` declares and the caller lacks."""
        return request if self.secrets is None else self.secrets.fill(request, impl)

    def _for_handle(self, request: Any, caller: str) -> tuple[Implementation, Any]:
        """The implementation that created the task, and the request as that implementation wrote it."""
        call_context.note_request(request)
        cat = request.task_category
        if not cat.name:
            raise InvalidRequestError(f"{request.DESCRIPTOR.name}.task_category is missing")
        key, meta = routing.untag(request.resource_meta)
        impls = self.registry.implementations(cat.name, cat.version, key)
        impl = routing.for_handle(impls, key, meta, caller, self.registry.preferred(cat.name))
        if impl is None:
            raise self.registry.missing(
                f"implementation {key!r} of task category {cat.name!r} version {cat.version}",
                [i.key for i in impls],
                key,
            )
        call_context.note_implementation(impl)
        if key is not None:
            request = _with_meta(request, meta)
        return impl, request

    # -- AsyncConnectorService --------------------------------------------------------------------

    async def create_task(
        self, request: v2.CreateTaskRequest, *, timeout: float | None = None, caller: str = routing.V2
    ) -> v2.CreateTaskResponse:
        """Start a task (a sync implementation runs to completion here; its result rides in resource_meta)."""
        with self._observed("create") as call:
            impl, tagged = self._for_create(request, caller)
            call.label = request.template.type
            self._count_input_bytes(call.label, request)
            request = self._with_secrets(request, impl)
            if impl.is_sync:
                meta = envelope.pack(await impl.execute_sync(request, timeout), self.max_sync_resource_bytes)
            else:
                meta = await impl.create_task(request, timeout)
        return v2.CreateTaskResponse(resource_meta=routing.tag(impl, meta) if tagged else meta)

    async def get_task(
        self, request: v2.GetTaskRequest, *, timeout: float | None = None, caller: str = routing.V2
    ) -> v2.GetTaskResponse:
        """The task's state, from ``resource_meta`` alone (any replica can answer)."""
        with self._observed("get") as call:
            impl, request = self._for_handle(request, caller)
            call.label = impl.category[0]
            if impl.is_sync:
                resource = envelope.unpack(request.resource_meta)
            else:
                resource = await impl.get_task(self._with_secrets(request, impl), timeout)
        return v2.GetTaskResponse(resource=resource)

    async def delete_task(
        self, request: v2.DeleteTaskRequest, *, timeout: float | None = None, caller: str = routing.V2
    ) -> v2.DeleteTaskResponse:
        """Cancel the task; a sync implementation's finished task has nothing to cancel (idempotent)."""
        with self._observed("delete") as call:
            impl, request = self._for_handle(request, caller)
            call.label = impl.category[0]
            if impl.is_sync:
                envelope.unpack(request.resource_meta)  # still reject garbage
            else:
                await impl.delete_task(self._with_secrets(request, impl), timeout)
        return v2.DeleteTaskResponse()

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, *, timeout: float | None = None, caller: str = routing.V2
    ) -> v2.GetTaskMetricsResponse:
        """The implementation's metrics for the task (UNIMPLEMENTED unless it has them)."""
        self._open()
        impl, request = self._for_handle(request, caller)
        if impl.is_sync:
            raise UnimplementedError(f"sync connector {impl.label} has no metrics")
        return await impl.get_task_metrics(request, timeout)

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, *, timeout: float | None = None, caller: str = routing.V2
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        """Stream the task's logs: one response or several, as the implementation gives them."""
        self._open()
        impl, request = self._for_handle(request, caller)
        if impl.is_sync:
            raise UnimplementedError(f"sync connector {impl.label} has no logs")
        return await impl.get_task_logs(request, timeout)

    # -- ConnectorMetadataService ------------------------------------------------------------------

    def list_connectors(self, request: v2.ListConnectorsRequest | None = None) -> v2.ListConnectorsResponse:
        """Every connector name with its task categories (each category once)."""
        self._open()
        return v2.ListConnectorsResponse(connectors=self.registry.list_connectors())

    def get_connector(self, request: v2.GetConnectorRequest) -> v2.GetConnectorResponse:
        """One connector by name (NOT_FOUND otherwise)."""
        self._open()
        return v2.GetConnectorResponse(connector=self.registry.get_connector_metadata(request.name))

    def agent_groups(self) -> list[AgentGroup]:
        """The Flyte 1 ``Agent`` groups (sync and async apart, one version per task type)."""
        self._open()
        return self.agents.groups()

    def agent_group(self, name: str) -> AgentGroup:
        """One Flyte 1 ``Agent`` group by name (NOT_FOUND otherwise)."""
        self._open()
        return self.agents.group(name)

    # -- v1 ExecuteTaskSync -------------------------------------------------------------------------

    async def execute_sync(
        self, request: v2.CreateTaskRequest, *, timeout: float | None = None, caller: str = routing.V1
    ) -> v2.Resource:
        """Run a task to a terminal phase within one call.

        A sync implementation runs ``execute_sync``; an async one is emulated by create, then get polled
        with backoff (``poll_initial`` doubling to ``poll_max``) until terminal or the deadline. On a
        deadline or cancellation after create, the job is deleted in the background (best effort).
        """
        with self._observed("do") as call:
            impl, _ = self._for_create(request, caller)
            call.label = request.template.type
            self._count_input_bytes(call.label, request)
            request = self._with_secrets(request, impl)
            if impl.is_sync:
                resource = await impl.execute_sync(request, timeout)
            else:
                resource = await self._emulate_sync(impl, request, timeout)
            if resource.phase not in TERMINAL_PHASES:
                raise DeadlineError(f"connector {impl.label} answered a non-terminal phase to a sync call")
        return resource

    async def _emulate_sync(
        self, impl: Implementation, request: v2.CreateTaskRequest, timeout: float | None
    ) -> v2.Resource:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        left = lambda: None if deadline is None else deadline - loop.time()  # noqa: E731
        meta = await impl.create_task(request, timeout)
        t = request.template
        get = v2.GetTaskRequest(
            task_category=v2.TaskCategory(name=t.type, version=t.task_type_version),
            resource_meta=meta,
            output_prefix=request.output_prefix,
            connection=request.connection,
        )
        outputs = t.interface.outputs if t.HasField("interface") else None
        delay = self.poll_initial
        try:
            while True:
                resource = await impl.get_task(get, left(), outputs)
                if resource.phase in TERMINAL_PHASES:
                    return resource
                remaining = left()
                if remaining is not None and remaining <= delay:
                    raise DeadlineError(f"connector {impl.label} did not finish before the call deadline")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.poll_max)
        except (DeadlineError, asyncio.CancelledError):
            self._delete_later(impl, get)
            raise

    def _delete_later(self, impl: Implementation, get: v2.GetTaskRequest) -> None:
        # Cleanup must outlive the cancelled call, so it is the one detached task; bounded to 10 s.
        request = v2.DeleteTaskRequest(
            task_category=get.task_category, resource_meta=get.resource_meta, connection=get.connection
        )

        async def _delete() -> None:
            try:
                await impl.delete_task(request, 10.0)
            except BridgeError:
                pass

        task = asyncio.get_running_loop().create_task(_delete())
        self._cleanup.add(task)
        task.add_done_callback(self._cleanup.discard)


class CallerView:
    """A hub's task methods as one generation's face calls them (routing needs the caller's generation)."""

    __slots__ = ("create_task", "delete_task", "execute_sync", "get_task", "get_task_logs", "get_task_metrics")

    def __init__(self, hub: Hub, caller: str) -> None:
        for name in self.__slots__:
            setattr(self, name, functools.partial(getattr(hub, name), caller=caller))


class _Observed:
    """Times one request and counts it as a success, or as a failure by its status code."""

    __slots__ = ("hub", "label", "metrics", "op", "started")

    def __init__(self, hub: Hub, op: str) -> None:
        self.hub, self.metrics, self.op, self.label = hub, hub.metrics, op, _UNREGISTERED
        self.started = time.perf_counter()

    def __enter__(self) -> _Observed:
        try:
            self.hub._open()
        except BridgeError as exc:
            self.__exit__(type(exc), exc, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if self.metrics is None:
            return
        if exc is None:
            self.metrics.observe_success(self.label, self.op, self.started)
        elif isinstance(exc, BridgeError):
            self.metrics.observe_failure(self.label, self.op, exc.code, self.started)


def _with_meta(request: Any, meta: bytes) -> Any:
    """A copy of ``request`` whose ``resource_meta`` is the implementation's own bytes."""
    copy = type(request)()
    copy.CopyFrom(request)
    copy.resource_meta = meta
    return copy


__all__ = ["Hub"]
