"""One call context around every face method, and one access line per failed call.

:func:`with_call_context` wraps the method handlers of a generic handler (``modern.face.generic_handler``
applies it to both generations' services, on both kinds of server): each call runs inside a
:mod:`modern.call_context` context for its full method path, and when it ends with a status other than
OK, the logger ``modern.access`` writes one WARNING line with the method, the code, the duration and
the status detail (every field of the call too, in JSON logs). Calls that end OK get a DEBUG line,
written only when DEBUG is on for that logger.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc

from modern import call_context

log = logging.getLogger("modern.access")

_OK = grpc.StatusCode.OK.name
_CANCELLED = grpc.StatusCode.CANCELLED.name


def _finish(ctx: dict[str, Any], error: BaseException | None) -> None:
    """Settle the call's code and duration, then write its access line."""
    if "code" not in ctx:
        ctx["code"] = _OK if error is None else (_CANCELLED if isinstance(error, asyncio.CancelledError) else "UNKNOWN")
    ctx["duration_ms"] = call_context.elapsed_ms(ctx)
    if ctx["code"] != _OK:
        details = ctx.get("_details", "")
        log.warning("%s ended %s after %.1f ms%s", ctx["method"], ctx["code"], ctx["duration_ms"],
                    f": {details}" if details else "")
    elif log.isEnabledFor(logging.DEBUG):
        log.debug("%s ended OK after %.1f ms", ctx["method"], ctx["duration_ms"])


def _wrap(method: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    # One wrapper per handler kind; enter/leave rather than a ``with`` block: this runs on every call.
    generation = call_context.generation_of(method)
    if inspect.isasyncgenfunction(fn):

        async def agen(request: Any, context: Any) -> AsyncIterator[Any]:
            ctx, token = call_context.enter(method, generation)
            error: BaseException | None = None
            try:
                async for item in fn(request, context):
                    yield item
            except BaseException as exc:
                error = exc
                raise
            finally:
                _finish(ctx, error)
                _leave(token)

        return agen
    if inspect.iscoroutinefunction(fn):

        async def coro(request: Any, context: Any) -> Any:
            ctx, token = call_context.enter(method, generation)
            error: BaseException | None = None
            try:
                return await fn(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                _finish(ctx, error)
                call_context.leave(token)

        return coro
    if inspect.isgeneratorfunction(fn):

        def gen(request: Any, context: Any) -> Iterator[Any]:
            ctx, token = call_context.enter(method, generation)
            error: BaseException | None = None
            try:
                yield from fn(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                _finish(ctx, error)
                _leave(token)

        return gen

    def plain(request: Any, context: Any) -> Any:
        ctx, token = call_context.enter(method, generation)
        error: BaseException | None = None
        try:
            return fn(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            _finish(ctx, error)
            call_context.leave(token)

    return plain


def _leave(token: Any) -> None:
    """Close a generator's context: a generator closed by the garbage collector runs in another context."""
    try:
        call_context.leave(token)
    except ValueError:
        pass


_KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


def with_call_context(service: str, methods: dict[str, grpc.RpcMethodHandler]) -> dict[str, grpc.RpcMethodHandler]:
    """``methods`` of ``service`` with each handler running inside a call context (see the module doc)."""
    wrapped = {}
    for name, handler in methods.items():
        kind = next(k for k in _KINDS if getattr(handler, k) is not None)
        wrapped[name] = handler._replace(**{kind: _wrap(f"/{service}/{name}", getattr(handler, kind))})
    return wrapped


__all__ = ["with_call_context"]
