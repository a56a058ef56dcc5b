"""Calling one connector method: kwargs filtering, thread hop for plain functions, the deadline and
the mapping of whatever the connector raised onto the error table. ``SdkCalls``: the same one level
down, how an SDK adapter calls the wrapped SDK connector as that SDK's own server would.

This runs in the gRPC handler's own task (never a detached one), so a client's cancellation reaches
the connector's coroutine as ``CancelledError``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from modern import call_context
from modern.errors import BridgeError, ConnectorError, ConnectorNotFoundError, DeadlineError, UnimplementedError
from modern.entry import ConnectorEntry

log = logging.getLogger("modern.hub")

_HAS_TIMEOUT = hasattr(asyncio, "timeout")
T = TypeVar("T")


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """Replace every secret value in ``text`` (a connector's error message may echo one)."""
    for s in secrets:
        if s in text:
            text = text.replace(s, "***")
    return text


def select_kwargs(entry: ConnectorEntry, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop keywords the method cannot take (a connector without ``**kwargs`` still works)."""
    accepted = entry.accepted_kwargs.get(method)
    if accepted is None:
        return kwargs
    return {k: v for k, v in kwargs.items() if k in accepted}


def connector_failure(entry: ConnectorEntry, method: str, exc: BaseException, secrets: tuple[str, ...]) -> BridgeError:
    """The ``BridgeError`` for an exception a connector raised; logs the traceback at ERROR."""
    if isinstance(exc, BridgeError):
        return exc
    if isinstance(exc, NotImplementedError):
        return UnimplementedError(f"connector {entry.label} does not implement {method}")
    text = scrub(f"{type(exc).__name__}: {exc}", secrets)
    error = ConnectorError(f"connector {entry.label} failed to {method}: {text}")
    call_context.note_status(error.code, error.details)  # the failure line already says how the call ends
    # The traceback goes to the log only; the status detail carries the bounded message.
    if not secrets:
        log.error("connector %s failed in %s", entry.label, method, exc_info=(type(exc), exc, exc.__traceback__))
    else:
        # The exception's message may echo a secret: log the traceback as scrubbed text instead.
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("connector %s failed in %s\n%s", entry.label, method, scrub(trace, secrets).rstrip())
    return error


async def _run(entry: ConnectorEntry, method: str, kwargs: dict[str, Any]) -> Any:
    fn = getattr(entry.connector, method)
    if method in entry.async_methods:
        return await fn(**kwargs)
    # A plain function may block (flytekit-era connectors do I/O synchronously): run it in a thread.
    result = await asyncio.to_thread(fn, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


async def invoke(
    entry: ConnectorEntry,
    method: str,
    kwargs: dict[str, Any],
    timeout: float | None,
    secrets: tuple[str, ...] = (),
) -> Any:
    """Call ``entry.connector.<method>(**kwargs)`` within ``timeout`` seconds.

    Args:
        entry: The registered connector.
        method: ``create``, ``get``, ``delete``, ``get_metrics`` or ``do``.
        kwargs: Keyword arguments (filtered to what the method accepts).
        timeout: Seconds left of the call's deadline, or None.
        secrets: Secret values to keep out of error details.

    Returns:
        What the connector returned.

    Raises:
        BridgeError: DEADLINE_EXCEEDED past ``timeout``, UNIMPLEMENTED for ``NotImplementedError``,
            INTERNAL for anything else the connector raised.
    """
    kwargs = select_kwargs(entry, method, kwargs)
    try:
        if timeout is not None and timeout <= 0:
            raise DeadlineError(f"deadline passed before connector {entry.label} could {method}")
        return await within(_run(entry, method, kwargs), timeout)
    except OwnTimeout as own:
        raise connector_failure(entry, method, own.__cause__ or own, secrets) from None
    except (TimeoutError, asyncio.TimeoutError):
        raise DeadlineError(f"connector {entry.label} exceeded the call deadline in {method}") from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise connector_failure(entry, method, exc, secrets) from None


class OwnTimeout(Exception):
    """A ``TimeoutError`` the connector raised itself, not the call's deadline firing (``__cause__``)."""


async def _own_timeouts(work: Awaitable[T]) -> T:
    try:
        return await work
    except (TimeoutError, asyncio.TimeoutError) as exc:  # two classes on Python 3.10, one after
        raise OwnTimeout() from exc


async def within(work: Awaitable[T], timeout: float | None) -> T:
    """Await a connector's ``work`` for at most ``timeout`` seconds (None: no limit).

    Raises ``TimeoutError`` (``asyncio.TimeoutError`` on 3.10) only when the deadline fired, and
    ``OwnTimeout`` when ``work`` raised a ``TimeoutError`` of its own: ``asyncio.wait_for`` alone
    cannot tell the two apart, and neither can a caller without a deadline.
    """
    if timeout is None:
        return await _own_timeouts(work)
    if _HAS_TIMEOUT:
        async with asyncio.timeout(timeout) as scope:
            try:
                return await work  # no wrapper coroutine on the hot path
            except TimeoutError as exc:  # raised inside the scope: never the scope's own
                if scope.expired():  # the connector turned our cancellation into its own timeout
                    raise
                raise OwnTimeout() from exc
    # Python 3.10: wait_for raises asyncio.TimeoutError for its own deadline only, because the
    # connector's TimeoutError crosses it as OwnTimeout.
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    try:
        return await asyncio.wait_for(_own_timeouts(work), timeout)
    except OwnTimeout:
        if loop.time() >= end:  # the connector turned our cancellation into its own timeout
            raise asyncio.TimeoutError() from None
        raise


def declared_kwargs(fn: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of ``extra`` that ``fn`` declares; all of them if it takes ``**kwargs``."""
    try:
        params = _declared(fn)
    except TypeError:  # an unhashable callable: not cached
        params = _declared.__wrapped__(fn)
    if params is None:
        return dict(extra)
    return {k: v for k, v in extra.items() if k in params}


@functools.lru_cache(maxsize=1024)
def _declared(fn: Any) -> frozenset[str] | None:
    """The parameter names of ``fn``; None when it takes ``**kwargs`` or has no signature.

    Cached (bound methods of one object compare equal): ``inspect.signature`` costs tens of
    microseconds, and an SDK adapter asks on every call.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(params)


# The SDKs' own "no connector for that task type" (flytekit 1.16+, and 1.11-1.15 under its agent name).
_SDK_NOT_FOUND = frozenset({"FlyteConnectorNotFound", "FlyteAgentNotFound"})


def _same(value: Any) -> Any:
    return value


def _same_inputs(inputs: Any, template: Any) -> Any:
    return inputs


@dataclass(frozen=True)
class SdkCalls:
    """How one SDK's own connector server calls a connector, for the adapter wrapping that SDK's connectors.

    Attributes:
        template: The hub's v2 task template -> the ``task_template`` the SDK's server passes.
        inputs: (the inputs as the hub passed them, the v2 template) -> the ``inputs`` it passes; may
            return an awaitable.
        metadata: The hub's v2 ``TaskExecutionMetadata`` (or None) -> the ``task_execution_metadata``.
        threads: Run a method that is not a coroutine function in a worker thread and await what it
            returns (flytekit's ``mirror_async_methods``); else call the method and await it.
        only_declared: Pass the extra keywords (v2 connection secrets/configs) only as far as the
            method declares them or takes ``**kwargs``; else pass them all.
    """

    template: Callable[[Any], Any] = _same
    inputs: Callable[[Any, Any], Any] = _same_inputs
    metadata: Callable[[Any], Any] = _same
    threads: bool = False
    only_declared: bool = False

    async def call(self, fn: Any, kwargs: dict[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        """``fn(**kwargs, **extra)`` as the SDK's server calls it.

        Raises:
            ConnectorNotFoundError: The SDK's own "no such connector" (a connector that delegates by
                task type), which is NOT_FOUND rather than a connector failure.
        """
        if extra:
            kwargs = dict(kwargs, **(declared_kwargs(fn, extra) if self.only_declared else extra))
        try:
            if not self.threads or inspect.iscoroutinefunction(fn):
                return await fn(**kwargs)
            result = await asyncio.to_thread(fn, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except Exception as exc:
            if type(exc).__name__ in _SDK_NOT_FOUND:
                raise ConnectorNotFoundError(str(exc)[:200]) from None
            raise

    async def task(
        self,
        fn: Any,
        task_template: Any,
        output_prefix: str,
        inputs: Any,
        task_execution_metadata: Any,
        extra: Mapping[str, Any],
        *,
        metadata_is_extra: bool = False,
    ) -> Any:
        """Call a ``create``/``do`` with the SDK server's arguments: converted template, inputs and
        metadata, the output prefix, and the extra keywords.

        Args:
            metadata_is_extra: Pass the metadata as one of the extra keywords (flytekit's sync service
                passes none, so only a ``do`` that declares it or takes ``**kwargs`` gets it).
        """
        kwargs = {"task_template": self.template(task_template)}
        values = self.inputs(inputs, task_template)
        kwargs["inputs"] = await values if inspect.isawaitable(values) else values
        kwargs["output_prefix"] = output_prefix
        metadata = self.metadata(task_execution_metadata)
        if metadata_is_extra:
            extra = {**extra, "task_execution_metadata": metadata}
        else:
            kwargs["task_execution_metadata"] = metadata
        return await self.call(fn, kwargs, extra)


__all__ = ["SdkCalls", "connector_failure", "declared_kwargs", "invoke", "scrub", "select_kwargs"]
