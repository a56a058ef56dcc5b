"""The one connector API: written once, served to Flyte 1 and Flyte 2 clients.

Names and call signatures follow flyte-sdk's ``flyte.connectors`` so a flyte-sdk connector ports by
changing its import. ``ResourceMeta`` is JSON (never pickle): a replica that did not create a task
can still decode its ``resource_meta``, and bytes from a client can never run code.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Generic, TypeVar

from modern.errors import InvalidRequestError

if typing.TYPE_CHECKING:
    from flyteidl2.connector.connector_pb2 import (
        GetTaskLogsResponse,
        GetTaskMetricsResponse,
        TaskExecutionMetadata,
    )
    from flyteidl2.core.execution_pb2 import TaskLog
    from flyteidl2.core.tasks_pb2 import TaskTemplate

_M = TypeVar("_M", bound="ResourceMeta")


def _needs_conversion(tp: Any) -> bool:
    """Whether a field annotation mentions a dataclass (else JSON values are used as they are)."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return True
    return any(_needs_conversion(a) for a in typing.get_args(tp))


def _from_jsonable(tp: Any, value: Any) -> Any:
    """Rebuild nested dataclasses from decoded JSON; every other value is kept as JSON gave it."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return _build(tp, value)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        # Optional[Nested]: try the dataclass members only; plain values pass through.
        for member in typing.get_args(tp):
            if isinstance(member, type) and dataclasses.is_dataclass(member) and isinstance(value, dict):
                return _build(member, value)
    if origin in (list, tuple) and isinstance(value, list):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        items = [_from_jsonable(inner, v) for v in value]
        return tuple(items) if origin is tuple else items
    return value


# Per class: the init field names, and the annotations of the fields that need conversion. Built
# once per class: resolving annotations walks the module, too slow for every GetTask.
_PLANS: dict[type, tuple[frozenset[str], dict[str, Any], dict[str, tuple[type, ...]]]] = {}

#: JSON types a scalar annotation accepts (a float field may arrive as a JSON integer).
_JSON_SCALARS: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}


def _scalar_check(tp: Any) -> tuple[type, ...] | None:
    """The JSON types a field annotated ``tp`` accepts, when ``tp`` is a scalar or Optional scalar."""
    if tp in _JSON_SCALARS:
        return _JSON_SCALARS[tp]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        allowed: tuple[type, ...] = ()
        for member in typing.get_args(tp):
            if member is type(None):
                allowed += (type(None),)
            elif member in _JSON_SCALARS:
                allowed += _JSON_SCALARS[member]
            else:
                return None
        return allowed
    return None


def _plan(cls: type) -> tuple[frozenset[str], dict[str, Any], dict[str, tuple[type, ...]]]:
    plan = _PLANS.get(cls)
    if plan is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable forward references: fall back to plain JSON values
            hints = {}
        known = frozenset(f.name for f in dataclasses.fields(cls) if f.init)
        convert = {n: hints[n] for n in known if n in hints and _needs_conversion(hints[n])}
        checks = {n: c for n in known if n in hints and (c := _scalar_check(hints[n])) is not None}
        plan = _PLANS[cls] = (known, convert, checks)
    return plan


def _build(cls: type, data: dict[str, Any]) -> Any:
    known, convert, checks = _plan(cls)
    # A meta that is not what the connector wrote (another connector's, or forged) must be a
    # bad request, not a TypeError deep inside the connector.
    for name, allowed in checks.items():
        if name in data and not isinstance(data[name], allowed):
            raise InvalidRequestError(
                f"resource_meta field {name!r} of {cls.__name__} has a JSON {type(data[name]).__name__},"
                f" expected {'/'.join(t.__name__ for t in allowed)}"
            )
    # Unknown keys are ignored so that an older replica can read meta written by a newer one.
    if not convert:
        return cls(**{k: v for k, v in data.items() if k in known})
    return cls(**{k: (_from_jsonable(convert[k], v) if k in convert else v) for k, v in data.items() if k in known})


@dataclasses.dataclass
class ResourceMeta:
    """Base of a connector's job handle (for example the remote job's id).

    Subclass it as a dataclass; ``encode``/``decode`` give JSON bytes that travel to the client as
    ``resource_meta`` and come back in GetTask/DeleteTask, possibly to another replica.
    """

    def encode(self) -> bytes:
        """Encode this handle as UTF-8 JSON bytes.

        Returns:
            The JSON encoding of the dataclass fields.
        """
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls: type[_M], data: bytes) -> _M:
        """Decode bytes written by ``encode``.

        Args:
            data: The ``resource_meta`` bytes of a request.

        Returns:
            An instance of ``cls``.

        Raises:
            InvalidRequestError: The bytes are not JSON of an object that fits ``cls``.
        """
        try:
            value = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidRequestError(
                f"resource_meta is not valid JSON for {cls.__name__}: {type(exc).__name__}"
            ) from None
        if not isinstance(value, dict):
            raise InvalidRequestError(f"resource_meta for {cls.__name__} must be a JSON object")
        try:
            return typing.cast(_M, _build(cls, value))
        except TypeError as exc:
            raise InvalidRequestError(f"resource_meta does not fit {cls.__name__}: {exc}") from None


@dataclasses.dataclass
class Resource:
    """A job's state as a connector reports it.

    Attributes:
        phase: A flyteidl2 ``TaskExecution.Phase`` value; never UNDEFINED (0).
        message: Text shown to the user.
        log_links: flyteidl2 ``TaskLog`` messages.
        outputs: Native values or literals by name, or a v2 ``Outputs`` / a ``LiteralMap`` message.
        custom_info: JSON-like details of the job.
    """

    phase: int
    message: str | None = None
    log_links: list[TaskLog] | None = None
    outputs: Any = None
    custom_info: dict[str, Any] | None = None


class AsyncConnector(ABC, Generic[_M]):
    """A connector whose jobs outlive one call: create, then get until terminal, delete on abort.

    Generic in its meta type like flyte-sdk's (``AsyncConnector[MyMeta]``). Class attributes ``name``, ``task_type_name``, ``task_type_version`` and ``metadata_type``
    (a ``ResourceMeta`` dataclass) describe it; register an instance with ``ConnectorRegistry``.
    """

    name: str = "Async Connector"
    task_type_name: str
    task_type_version: int = 0
    metadata_type: type[_M] = ResourceMeta  # type: ignore[assignment]

    @abstractmethod
    async def create(
        self,
        task_template: TaskTemplate,
        output_prefix: str,
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> _M:
        """Start the job and return its handle."""
        raise NotImplementedError

    @abstractmethod
    async def get(self, resource_meta: Any, **kwargs: Any) -> Resource:
        """Return the job's current state (and outputs once it succeeded)."""
        raise NotImplementedError

    @abstractmethod
    async def delete(self, resource_meta: Any, **kwargs: Any) -> None:
        """Cancel the job; must be idempotent."""
        raise NotImplementedError

    async def get_metrics(self, resource_meta: Any, **kwargs: Any) -> GetTaskMetricsResponse:
        """Return the job's metrics; optional (the default answers UNIMPLEMENTED)."""
        raise NotImplementedError

    def get_logs(
        self, resource_meta: Any, **kwargs: Any
    ) -> Coroutine[Any, Any, GetTaskLogsResponse] | AsyncIterator[GetTaskLogsResponse]:
        """Return the job's logs: a coroutine of one response or an async generator of several."""
        raise NotImplementedError


class SyncConnector(ABC):
    """A connector that finishes within one call (``do``) and returns a terminal ``Resource``."""

    name: str = "Sync Connector"
    task_type_name: str
    task_type_version: int = 0

    @abstractmethod
    async def do(
        self,
        task_template: TaskTemplate,
        output_prefix: str,
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: TaskExecutionMetadata | None = None,
        **kwargs: Any,
    ) -> Resource:
        """Run the task to completion and return its terminal state and outputs."""
        raise NotImplementedError


__all__ = ["AsyncConnector", "Resource", "ResourceMeta", "SyncConnector"]
