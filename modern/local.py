"""A connector in this process (the bridge's API, or an SDK adapter) as an ``Implementation``.

The connector gets native values (or, for SDK adapters that declare ``wants_literals``, the request's
literals untouched), its own ``ResourceMeta`` decoded, and the v2 ``connection`` as keyword arguments;
whatever it raises is mapped onto the error table by ``modern._invoke``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

from modern import envelope
from modern._invoke import OwnTimeout, connector_failure, invoke, select_kwargs, within
from modern._values import as_v2_response, connection_kwargs, decode_inputs, resource_to_proto, secret_values
from modern.entry import ConnectorEntry
from modern.errors import BridgeError, DeadlineError, InvalidRequestError
from modern.implementation import BRIDGE, FLYTEKIT, Implementation
from modern.secrets import declared_secrets
from translators._gen import v2


def _template_outputs(request: v2.CreateTaskRequest) -> Any:
    t = request.template
    return t.interface.outputs if t.HasField("interface") else None


class LocalImplementation(Implementation):
    """One registered connector object.

    Args:
        entry: The connector, inspected once (``ConnectorEntry.of``).
    """

    def __init__(self, entry: ConnectorEntry) -> None:
        self.entry = entry
        connector = entry.connector
        self.source = str(getattr(connector, "implementation_source", BRIDGE))
        self.family = self.key = self.source
        wrapped = getattr(connector, "wrapped_connector", connector)
        self.origin = type(wrapped).__module__
        self.name = entry.name
        self.category = entry.category
        self.is_sync = entry.is_sync
        # flytekit connectors read their pod themselves (get_connector_secret): nothing to fill.
        self.secret_names = () if self.source == FLYTEKIT else declared_secrets(wrapped)

    @property
    def connector(self) -> Any:
        """The connector object."""
        return self.entry.connector

    # -- arguments --------------------------------------------------------------------------------

    def decode_meta(self, data: bytes) -> Any:
        """The connector's ``ResourceMeta`` for ``data`` (INVALID_ARGUMENT when it does not decode)."""
        entry = self.entry
        if envelope.is_envelope(data):
            raise InvalidRequestError(f"resource_meta holds a sync result but {entry.label} is async")
        try:
            return entry.metadata_type.decode(data)
        except InvalidRequestError as exc:  # the bridge's own ResourceMeta: say whose it is
            raise InvalidRequestError(f"{exc} (connector {entry.label})") from None
        except BridgeError:
            raise
        except Exception as exc:  # a connector's own decode: its failure is still a bad request
            raise InvalidRequestError(f"resource_meta does not decode for {entry.label}: {type(exc).__name__}")

    def accepts_meta(self, data: bytes) -> bool:
        """A sync connector's handle is an envelope; an async one's decodes with its ``metadata_type``."""
        if self.is_sync:
            return envelope.is_envelope(data)
        try:
            self.decode_meta(data)
        except BridgeError:
            return False
        return True

    def _handle_kwargs(self, request: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = connection_kwargs(request)
        kwargs["resource_meta"] = self.decode_meta(request.resource_meta)
        return kwargs

    def _inputs(self, request: v2.CreateTaskRequest) -> Any:
        # Decode once, and only for a connector that takes inputs. SDK adapters (flytekit, flyte-sdk)
        # declare ``wants_literals``: they get the request's literals untouched and convert them the
        # way their own server would, so a literal our decoder cannot express still reaches them.
        entry = self.entry
        if not entry.takes_inputs or not request.HasField("inputs"):
            return None
        if getattr(entry.connector, "wants_literals", False):
            return request.inputs
        t = request.template
        return decode_inputs(request.inputs, t.interface.inputs if t.HasField("interface") else None)

    def _start_kwargs(self, request: v2.CreateTaskRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = connection_kwargs(request)
        kwargs.update(
            task_template=request.template,
            output_prefix=request.output_prefix,
            inputs=self._inputs(request),
            task_execution_metadata=request.task_execution_metadata,
        )
        return kwargs

    def _resource(self, result: Any, variables: Any, secrets: tuple[str, ...]) -> v2.Resource:
        try:
            return resource_to_proto(result, variables, who=f"connector {self.entry.label}")
        except BridgeError:
            raise
        except Exception as exc:
            raise connector_failure(self.entry, "build its Resource", exc, secrets) from None

    # -- Implementation -----------------------------------------------------------------------------

    async def execute_sync(self, request: v2.CreateTaskRequest, timeout: float | None) -> v2.Resource:
        secrets = secret_values(request)
        result = await invoke(self.entry, "do", self._start_kwargs(request), timeout, secrets)
        return self._resource(result, _template_outputs(request), secrets)

    async def create_task(self, request: v2.CreateTaskRequest, timeout: float | None) -> bytes:
        secrets = secret_values(request)
        handle = await invoke(self.entry, "create", self._start_kwargs(request), timeout, secrets)
        if isinstance(handle, (bytes, bytearray)):
            return bytes(handle)
        try:
            return bytes(handle.encode())
        except Exception as exc:
            raise connector_failure(self.entry, "encode resource_meta", exc, secrets) from None

    async def get_task(
        self, request: v2.GetTaskRequest, timeout: float | None, output_types: Any = None
    ) -> v2.Resource:
        secrets = secret_values(request)
        result = await invoke(self.entry, "get", self._handle_kwargs(request), timeout, secrets)
        # A Get request has no template: outputs are typed by the template only when the caller knows it
        # (ExecuteTaskSync emulation), else by types inferred from the values.
        return self._resource(result, output_types, secrets)

    async def delete_task(self, request: v2.DeleteTaskRequest, timeout: float | None) -> None:
        await invoke(self.entry, "delete", self._handle_kwargs(request), timeout, secret_values(request))

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, timeout: float | None
    ) -> v2.GetTaskMetricsResponse:
        meta = self.decode_meta(request.resource_meta)
        result = await invoke(self.entry, "get_metrics", {"resource_meta": meta}, timeout)
        return as_v2_response(result, v2.GetTaskMetricsResponse, self.entry.name)  # type: ignore[return-value]

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, timeout: float | None
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        meta = self.decode_meta(request.resource_meta)
        return _log_stream(self.entry, meta, request, timeout)


async def _log_stream(
    entry: ConnectorEntry, meta: Any, request: v2.GetTaskLogsRequest, timeout: float | None
) -> AsyncIterator[v2.GetTaskLogsResponse]:
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
        raise DeadlineError(f"connector {entry.label} exceeded the call deadline in get_logs") from None
    except Exception as exc:
        raise connector_failure(entry, "get_logs", exc, ()) from None


__all__ = ["LocalImplementation"]
