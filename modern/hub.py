"""The transport-neutral core every face calls with v2 request messages.

The v2 servicers hand requests through untouched; the v1 servicers translate v1 bytes into the same
v2 classes first. The hub routes to the registered connector, converts values, enforces the
deadline, counts metrics and raises ``BridgeError`` for every failure (the faces turn that into a
status).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator
from typing import Any

from modern import envelope
from modern._invoke import OwnTimeout, connector_failure, invoke, within
from modern._values import (
    TERMINAL_PHASES,
    as_v2_response,
    connection_kwargs,
    decode_inputs,
    resource_to_proto,
    secret_values,
)
from modern.errors import BridgeError, DeadlineError, DrainingError, InvalidRequestError, UnimplementedError
from modern.metadata import AgentGroup, AgentView
from modern.metrics import RequestMetrics, request_metrics
from modern.registry import ConnectorEntry, ConnectorRegistry, default_registry
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
    """

    def __init__(
        self,
        registry: ConnectorRegistry | None = None,
        *,
        max_sync_resource_bytes: int = envelope.DEFAULT_MAX_BYTES,
        metrics: RequestMetrics | bool | None = None,
        poll_initial: float = 0.05,
        poll_max: float = 1.0,
    ) -> None:
        self.registry = registry if registry is not None else default_registry()
        self.max_sync_resource_bytes = max_sync_resource_bytes
        self.metrics: RequestMetrics | None = (
            None if metrics is False else metrics if isinstance(metrics, RequestMetrics) else request_metrics()
        )
        self.poll_initial = poll_initial
        self.poll_max = poll_max
        self.draining = False
        self.agents = AgentView(self.registry)
        self._cleanup: set[asyncio.Task[Any]] = set()

    def start_draining(self) -> None:
        """Refuse new calls with UNAVAILABLE from now on (graceful shutdown)."""
        self.draining = True

    # -- helpers ---------------------------------------------------------------------------------

    def _open(self) -> None:
        if self.draining:
            raise DrainingError("server is draining; retry on another replica")

    def _by_category(self, request: Any) -> ConnectorEntry:
        cat = request.task_category
        if not cat.name:
            raise InvalidRequestError(f"{request.DESCRIPTOR.name}.task_category is missing")
        return self.registry.entry(cat.name, cat.version)

    def _decode_meta(self, entry: ConnectorEntry, data: bytes) -> Any:
        if envelope.is_envelope(data):
            raise InvalidRequestError(f"resource_meta holds a sync result but {entry.name!r} is async")
        try:
            return entry.metadata_type.decode(data)
        except BridgeError:
            raise
        except Exception as exc:  # a connector's own decode: its failure is still a bad request
            raise InvalidRequestError(f"resource_meta does not decode for {entry.name!r}: {type(exc).__name__}")

    def _observed(self, op: str) -> _Observed:
        """A block counted as one ``op`` request (success, or failure by status); refused while draining."""
        return _Observed(self, op)

    def _handle_kwargs(self, entry: ConnectorEntry, request: Any) -> dict[str, Any]:
        """Keyword arguments of get/delete: the decoded handle plus the request's connection."""
        kwargs: dict[str, Any] = connection_kwargs(request)
        kwargs["resource_meta"] = self._decode_meta(entry, request.resource_meta)
        return kwargs

    def _count_input_bytes(self, label: str, request: v2.CreateTaskRequest) -> None:
        if self.metrics is not None and request.HasField("inputs"):
            self.metrics.observe_input_bytes(label, request.inputs.ByteSize())

    def _inputs(self, entry: ConnectorEntry, request: v2.CreateTaskRequest) -> Any:
        # Decode once, and only for a connector that takes inputs. SDK adapters (flytekit, flyte-sdk)
        # declare ``wants_literals``: they get the request's literals untouched and convert them the
        # way their own server would, so a literal our decoder cannot express still reaches them.
        if not entry.takes_inputs or not request.HasField("inputs"):
            return None
        if getattr(entry.connector, "wants_literals", False):
            return request.inputs
        t = request.template
        return decode_inputs(request.inputs, t.interface.inputs if t.HasField("interface") else None)

    def _start_kwargs(self, entry: ConnectorEntry, request: v2.CreateTaskRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = connection_kwargs(request)
        kwargs.update(
            task_template=request.template,
            output_prefix=request.output_prefix,
            inputs=self._inputs(entry, request),
            task_execution_metadata=request.task_execution_metadata,
        )
        return kwargs

    def _entry_for_template(self, request: v2.CreateTaskRequest) -> ConnectorEntry:
        if not request.HasField("template"):
            raise InvalidRequestError("CreateTaskRequest.template is missing")
        t = request.template
        return self.registry.entry(t.type, t.task_type_version)

    async def _run_sync(self, entry: ConnectorEntry, request: v2.CreateTaskRequest, timeout: float | None) -> v2.Resource:
        secrets = secret_values(request)
        result = await invoke(entry, "do", self._start_kwargs(entry, request), timeout, secrets)
        t = request.template
        return _resource(entry, result, t.interface.outputs if t.HasField("interface") else None, secrets)

    # -- AsyncConnectorService --------------------------------------------------------------------

    async def create_task(self, request: v2.CreateTaskRequest, *, timeout: float | None = None) -> v2.CreateTaskResponse:
        """Start a task (a sync connector runs to completion here; its result rides in resource_meta)."""
        with self._observed("create") as call:
            entry = self._entry_for_template(request)
            call.label = request.template.type
            self._count_input_bytes(call.label, request)
            if entry.is_sync:
                resource = await self._run_sync(entry, request, timeout)
                meta = envelope.pack(resource, self.max_sync_resource_bytes)
            else:
                secrets = secret_values(request)
                handle = await invoke(entry, "create", self._start_kwargs(entry, request), timeout, secrets)
                meta = _encode_meta(entry, handle, secrets)
        return v2.CreateTaskResponse(resource_meta=meta)

    async def get_task(self, request: v2.GetTaskRequest, *, timeout: float | None = None) -> v2.GetTaskResponse:
        """The task's state, from ``resource_meta`` alone (any replica can answer)."""
        with self._observed("get") as call:
            entry = self._by_category(request)
            call.label = entry.category[0]
            if entry.is_sync:
                resource = envelope.unpack(request.resource_meta)
            else:
                secrets = secret_values(request)
                result = await invoke(entry, "get", self._handle_kwargs(entry, request), timeout, secrets)
                # The Get request has no template: outputs are encoded by types inferred from values.
                resource = _resource(entry, result, None, secrets)
        return v2.GetTaskResponse(resource=resource)

    async def delete_task(self, request: v2.DeleteTaskRequest, *, timeout: float | None = None) -> v2.DeleteTaskResponse:
        """Cancel the task; a sync connector's finished task has nothing to cancel (idempotent)."""
        with self._observed("delete") as call:
            entry = self._by_category(request)
            call.label = entry.category[0]
            if entry.is_sync:
                envelope.unpack(request.resource_meta)  # still reject garbage
            else:
                await invoke(entry, "delete", self._handle_kwargs(entry, request), timeout, secret_values(request))
        return v2.DeleteTaskResponse()

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, *, timeout: float | None = None
    ) -> v2.GetTaskMetricsResponse:
        """The connector's metrics for the task (UNIMPLEMENTED unless the connector has them)."""
        self._open()
        entry = self._by_category(request)
        if entry.is_sync:
            raise UnimplementedError(f"sync connector {entry.name!r} has no metrics")
        meta = self._decode_meta(entry, request.resource_meta)
        result = await invoke(entry, "get_metrics", {"resource_meta": meta}, timeout)
        return as_v2_response(result, v2.GetTaskMetricsResponse, entry.name)  # type: ignore[return-value]

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, *, timeout: float | None = None
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        """Stream the task's logs: a connector may return one response or yield several."""
        self._open()
        entry = self._by_category(request)
        if entry.is_sync:
            raise UnimplementedError(f"sync connector {entry.name!r} has no logs")
        meta = self._decode_meta(entry, request.resource_meta)
        return _log_stream(entry, meta, request, timeout)

    # -- ConnectorMetadataService ------------------------------------------------------------------

    def list_connectors(self, request: v2.ListConnectorsRequest | None = None) -> v2.ListConnectorsResponse:
        """Every connector name with its task categories."""
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

    async def execute_sync(self, request: v2.CreateTaskRequest, *, timeout: float | None = None) -> v2.Resource:
        """Run a task to a terminal phase within one call.

        A sync connector runs ``do``; an async one is emulated by create, then get polled with
        backoff (``poll_initial`` doubling to ``poll_max``) until terminal or the deadline. On a
        deadline or cancellation after create, the job is deleted in the background (best effort).
        """
        with self._observed("do") as call:
            entry = self._entry_for_template(request)
            call.label = request.template.type
            self._count_input_bytes(call.label, request)
            if entry.is_sync:
                resource = await self._run_sync(entry, request, timeout)
            else:
                resource = await self._emulate_sync(entry, request, timeout)
            if resource.phase not in TERMINAL_PHASES:
                raise DeadlineError(f"connector {entry.name!r} answered a non-terminal phase to a sync call")
        return resource

    async def _emulate_sync(
        self, entry: ConnectorEntry, request: v2.CreateTaskRequest, timeout: float | None
    ) -> v2.Resource:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        left = lambda: None if deadline is None else deadline - loop.time()  # noqa: E731
        secrets = secret_values(request)
        handle = await invoke(entry, "create", self._start_kwargs(entry, request), timeout, secrets)
        meta = self._decode_meta(entry, _encode_meta(entry, handle, secrets))  # what a Get would see
        delay = self.poll_initial
        try:
            while True:
                result = await invoke(entry, "get", {"resource_meta": meta}, left(), secrets)
                t = request.template
                resource = _resource(entry, result, t.interface.outputs if t.HasField("interface") else None, secrets)
                if resource.phase in TERMINAL_PHASES:
                    return resource
                remaining = left()
                if remaining is not None and remaining <= delay:
                    raise DeadlineError(f"connector {entry.name!r} did not finish before the call deadline")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.poll_max)
        except (DeadlineError, asyncio.CancelledError):
            self._delete_later(entry, meta)
            raise

    def _delete_later(self, entry: ConnectorEntry, meta: Any) -> None:
        # Cleanup must outlive the cancelled call, so it is the one detached task; bounded to 10 s.
        async def _delete() -> None:
            try:
                await invoke(entry, "delete", {"resource_meta": meta}, 10.0)
            except BridgeError:
                pass

        task = asyncio.get_running_loop().create_task(_delete())
        self._cleanup.add(task)
        task.add_done_callback(self._cleanup.discard)


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


def _encode_meta(entry: ConnectorEntry, handle: Any, secrets: tuple[str, ...]) -> bytes:
    if isinstance(handle, (bytes, bytearray)):
        return bytes(handle)
    try:
        return bytes(handle.encode())
    except Exception as exc:
        raise connector_failure(entry, "encode resource_meta", exc, secrets) from None


def _resource(entry: ConnectorEntry, result: Any, variables: Any, secrets: tuple[str, ...]) -> v2.Resource:
    try:
        return resource_to_proto(result, variables, who=f"connector {entry.name!r}")
    except BridgeError:
        raise
    except Exception as exc:
        raise connector_failure(entry, "build its Resource", exc, secrets) from None


async def _log_stream(
    entry: ConnectorEntry, meta: Any, request: v2.GetTaskLogsRequest, timeout: float | None
) -> AsyncIterator[v2.GetTaskLogsResponse]:
    from modern._invoke import select_kwargs

    kwargs = select_kwargs(entry, "get_logs", {"resource_meta": meta, "token": request.token})
    try:
        result = entry.connector.get_logs(**kwargs)
        if inspect.isasyncgen(result) or hasattr(result, "__anext__"):
            async for item in result:
                yield as_v2_response(item, v2.GetTaskLogsResponse, entry.name)  # type: ignore[misc]
            return
        if inspect.isawaitable(result):
            result = await within(result, timeout)
        yield as_v2_response(result, v2.GetTaskLogsResponse, entry.name)  # type: ignore[misc]
    except BridgeError:
        raise
    except OwnTimeout as own:
        raise connector_failure(entry, "get_logs", own.__cause__ or own, ()) from None
    except (TimeoutError, asyncio.TimeoutError):
        raise DeadlineError(f"connector {entry.name!r} exceeded the call deadline in get_logs") from None
    except Exception as exc:
        raise connector_failure(entry, "get_logs", exc, ()) from None


__all__ = ["Hub"]
