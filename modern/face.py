"""Building blocks for the gRPC faces of both generations, for both kinds of gRPC server.

Each face method parses the raw request bytes itself (identity deserializer), calls the hub and
renders the answer to bytes. Parsing inside the handler is what lets the v1 face read v1 bytes
straight into v2 classes and turn undecodable bytes into INVALID_ARGUMENT (a deserializer failure
would surface as an opaque INTERNAL). ``BridgeError`` and translation errors become a status with a
bounded detail.

Connectors are coroutines that all share one event loop, as under the SDKs' own servers (a connector
may keep loop-bound clients between calls). Two servers host that loop (``bridge.server.assembly`` picks one
by measurement):

- ``grpc.aio`` (``runner=None``): handlers are coroutines on the server's own loop;
- a thread-pool ``grpc.server`` (``runner=LoopRunner``): a handler runs in a gRPC worker thread and
  hands the hub's coroutine to the one loop through :class:`LoopRunner`. When gRPC ends a call early
  (client cancel, deadline, server stop) the coroutine is cancelled, so the connector sees
  ``CancelledError`` exactly as under ``grpc.aio``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any

import grpc
from google.protobuf.message import Message

from modern import call_context
from modern.access import with_call_context
from modern.errors import BridgeError, InvalidRequestError, bounded
from modern.shared_loop import SharedLoop, submit
from translators._protobuf_compat import PARSE_ERRORS
from translators.errors import TranslationError

log = logging.getLogger("modern.face")

Parse = Callable[[bytes], Any]
Render = Callable[[Any], bytes]


class LoopRunner:
    """Runs coroutines on one event loop on behalf of gRPC's worker threads.

    On a :class:`~modern.shared_loop.SharedLoop` (what ``flyte-bridge serve`` runs in thread-pool
    mode) a coroutine starts in the gRPC thread itself while the loop is idle, so a call that never
    waits never leaves its thread; on any other loop it is handed over with
    ``asyncio.run_coroutine_threadsafe``.

    Args:
        loop: The loop connectors run on. Default: the running loop when built inside one (the
            server's), else a ``SharedLoop`` of its own in a daemon thread (a server built from plain code).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = SharedLoop()
                threading.Thread(target=loop.run_forever, name="bridge-connectors", daemon=True).start()
        self.loop = loop

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Start ``coro`` on the loop (in this thread while a :class:`SharedLoop` is idle); cancel the future to cancel it."""
        return submit(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], context: grpc.ServicerContext) -> Any:
        """Run ``coro`` on the loop and return its result; cancel it when the call ends early.

        Raises:
            CallEnded: gRPC ended the call (cancelled, deadline, stop) before the coroutine did.
        """
        future = self.submit(coro)
        # add_callback is False when the call already ended: then nobody waits for the answer.
        if not future.done() and not context.add_callback(future.cancel):
            future.cancel()
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CallEnded() from None


class CallEnded(Exception):
    """The gRPC call ended (client cancel, deadline, server stop) while its coroutine ran."""


async def _next(stream: AsyncIterator[Any]) -> tuple[bool, Any]:
    try:
        return True, await stream.__anext__()
    except StopAsyncIteration:
        return False, None


NO_DEADLINE_AFTER = 10 * 365 * 86400.0
"""Seconds left beyond which a call is taken to have no deadline (ten years)."""


def seconds_left(context: Any) -> float | None:
    """Seconds left of the call's deadline, None without one.

    ``grpc.aio`` says None; the thread-pool server says about 9.2e18 (gRPC's infinite deadline), which
    would otherwise arm a timer on the loop for every call.
    """
    left = context.time_remaining()
    return None if left is None or left > NO_DEADLINE_AFTER else left


def identity(data: bytes) -> bytes:
    """The (de)serializer that hands raw bytes through."""
    return data


def parser(cls: type[Message]) -> Parse:
    """A parse function for ``cls`` that raises ``InvalidRequestError`` on bad bytes."""
    from_string = cls.FromString
    name = cls.DESCRIPTOR.full_name

    def parse(data: bytes) -> Any:
        try:
            return from_string(data)
        except PARSE_ERRORS:
            raise InvalidRequestError(f"request bytes do not parse as {name}") from None

    return parse


def serialize(msg: Message) -> bytes:
    """Render a message to bytes."""
    return msg.SerializeToString()


def as_bridge_error(exc: Exception) -> BridgeError | None:
    """The ``BridgeError`` for an exception a face may meet, or None to let it propagate."""
    if isinstance(exc, BridgeError):
        return exc
    if isinstance(exc, TranslationError):
        return InvalidRequestError(str(exc))
    return None


def status_of(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status for an exception a handler met (unknown exceptions: INTERNAL, logged, no traceback)."""
    err = as_bridge_error(exc)
    if err is not None:
        call_context.note_status(err.code, err.details)
        return err.code, err.details
    call_context.note_status(grpc.StatusCode.INTERNAL)
    log.error("unexpected error in a handler", exc_info=(type(exc), exc, exc.__traceback__))
    return grpc.StatusCode.INTERNAL, bounded(f"internal error: {type(exc).__name__}")


def abort(context: grpc.ServicerContext, exc: Exception) -> None:
    """End a thread-pool server's call with the status of ``exc``."""
    if isinstance(exc, CallEnded) or not context.is_active():
        # The call is over (cancelled, deadline, server stop): nobody reads this status.
        call_context.note_status(grpc.StatusCode.CANCELLED)
        context.abort(grpc.StatusCode.CANCELLED, "call ended before the connector answered")
    context.abort(*status_of(exc))


async def abort_aio(context: grpc.aio.ServicerContext, exc: Exception) -> None:
    """End a ``grpc.aio`` call with the status of ``exc``."""
    await context.abort(*status_of(exc))


def _method_handler(kind: Callable[..., grpc.RpcMethodHandler], handler: Any) -> grpc.RpcMethodHandler:
    return kind(handler, request_deserializer=identity, response_serializer=identity)


def unary(
    call: Callable[..., Any], parse: Parse, render: Render, runner: LoopRunner | None, deadline: bool = True
) -> grpc.RpcMethodHandler:
    """A unary-unary handler: ``render(call(parse(raw), timeout=...))``.

    With ``deadline`` the call is a coroutine function given the seconds left of the call's deadline;
    without it a plain function (the metadata methods), answered in place, never on the loop.
    """
    if runner is None:

        async def aio_handler(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
            try:
                request = parse(raw)
                answer = await call(request, timeout=seconds_left(context)) if deadline else call(request)
                return render(answer)
            except Exception as exc:
                await abort_aio(context, exc)
                raise  # unreachable: abort raises

        return _method_handler(grpc.unary_unary_rpc_method_handler, aio_handler)

    def handler(raw: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            request = parse(raw)
            if deadline:
                answer = runner.run(call(request, timeout=seconds_left(context)), context)
            else:
                answer = call(request)
            return render(answer)
        except Exception as exc:
            abort(context, exc)
            raise  # unreachable: abort raises

    return _method_handler(grpc.unary_unary_rpc_method_handler, handler)


def unary_stream(
    call: Callable[..., Awaitable[AsyncIterator[Any]]], parse: Parse, render: Render, runner: LoopRunner | None
) -> grpc.RpcMethodHandler:
    """A unary-stream handler streaming ``render(item)`` for each item the hub's stream yields."""
    if runner is None:

        async def aio_handler(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            try:
                stream = await call(parse(raw), timeout=seconds_left(context))
                async for item in stream:
                    yield render(item)
            except Exception as exc:
                await abort_aio(context, exc)

        return _method_handler(grpc.unary_stream_rpc_method_handler, aio_handler)

    def handler(raw: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        stream = None
        try:
            stream = runner.run(call(parse(raw), timeout=seconds_left(context)), context)
            while True:
                more, item = runner.run(_next(stream), context)
                if not more:
                    stream = None
                    return
                yield render(item)
        except Exception as exc:
            abort(context, exc)
        finally:
            # A stream left early (error, cancel) is closed on its own loop, not left to the GC.
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                runner.submit(aclose())

    return _method_handler(grpc.unary_stream_rpc_method_handler, handler)


def stream_one(
    call: Callable[..., Awaitable[Any]], parse_all: Callable[[list[bytes]], Any], render: Render,
    runner: LoopRunner | None,
) -> grpc.RpcMethodHandler:
    """A stream-stream handler that reads the whole request stream, then answers with one message."""
    if runner is None:

        async def aio_handler(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            try:
                request = parse_all([raw async for raw in requests])
                yield render(await call(request, timeout=seconds_left(context)))
            except Exception as exc:
                await abort_aio(context, exc)

        return _method_handler(grpc.stream_stream_rpc_method_handler, aio_handler)

    def handler(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        try:
            request = parse_all(list(requests))
            yield render(runner.run(call(request, timeout=seconds_left(context)), context))
        except Exception as exc:
            abort(context, exc)

    return _method_handler(grpc.stream_stream_rpc_method_handler, handler)


AUTO: Any = "auto"
"""``add_to_server``'s default runner: whatever the server's kind needs (see :func:`runner_for`)."""


def runner_for(server: Any, runner: Any = AUTO) -> LoopRunner | None:
    """The runner handlers on ``server`` need: None for ``grpc.aio``, else one on the current loop.

    An explicit ``runner`` (a ``LoopRunner`` or None) is returned as it is.
    """
    if runner is not AUTO:
        return runner
    real = getattr(server, "real_server", server)
    return None if isinstance(real, grpc.aio.Server) else LoopRunner()


def generic_handler(service: str, methods: dict[str, Any]) -> grpc.GenericRpcHandler:
    """A generic handler serving ``methods`` under the full service name ``service``, each call inside a
    call context (``modern.access``: the fields of its log lines, an access line when it fails)."""
    return grpc.method_handlers_generic_handler(service, with_call_context(service, methods))


__all__ = [
    "CallEnded",
    "LoopRunner",
    "abort",
    "AUTO",
    "abort_aio",
    "runner_for",
    "seconds_left",
    "status_of",
    "stream_one",
    "as_bridge_error",
    "generic_handler",
    "identity",
    "parser",
    "serialize",
    "unary",
    "unary_stream",
]
