"""Calling one connector method: kwargs filtering, thread hop for plain functions, the deadline and
the mapping of whatever the connector raised onto the error table.

This runs in the gRPC handler's own task (never a detached one), so a client's cancellation reaches
the connector's coroutine as ``CancelledError``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from typing import Any

from modern.errors import BridgeError, ConnectorError, DeadlineError, UnimplementedError
from modern.registry import ConnectorEntry

log = logging.getLogger("modern.hub")

_HAS_TIMEOUT = hasattr(asyncio, "timeout")


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
        return UnimplementedError(f"connector {entry.name!r} does not implement {method}")
    # The traceback goes to the log only; the status detail carries the bounded message.
    if not secrets:
        log.error("connector %r failed in %s", entry.name, method, exc_info=(type(exc), exc, exc.__traceback__))
    else:
        # The exception's message may echo a secret: log the traceback as scrubbed text instead.
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("connector %r failed in %s\n%s", entry.name, method, scrub(trace, secrets).rstrip())
    text = scrub(f"{type(exc).__name__}: {exc}", secrets)
    return ConnectorError(f"connector {entry.name!r} failed to {method}: {text}")


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
        if timeout is None:
            return await _run(entry, method, kwargs)
        if timeout <= 0:
            raise DeadlineError(f"deadline passed before connector {entry.name!r} could {method}")
        if _HAS_TIMEOUT:
            async with asyncio.timeout(timeout) as scope:
                try:
                    return await _run(entry, method, kwargs)
                except TimeoutError:
                    # The connector's own timeout, not ours: that is the connector failing.
                    if scope.expired():
                        raise
                    raise _OwnTimeout() from None
        return await asyncio.wait_for(_run(entry, method, kwargs), timeout)  # Python 3.10
    except _OwnTimeout:
        raise ConnectorError(f"connector {entry.name!r} failed to {method}: TimeoutError") from None
    except (TimeoutError, asyncio.TimeoutError):
        raise DeadlineError(f"connector {entry.name!r} exceeded the call deadline in {method}") from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise connector_failure(entry, method, exc, secrets) from None


class _OwnTimeout(Exception):
    """Marks a ``TimeoutError`` raised by the connector itself inside our deadline scope."""


__all__ = ["connector_failure", "invoke", "scrub", "select_kwargs"]
