"""Building blocks for the gRPC faces of both generations.

Each face method is a ``grpc.aio`` handler that receives the raw request bytes (identity
deserializer), parses them with a function the face chooses, calls the hub and renders the answer to
bytes. Parsing inside the handler is what lets the v1 face read v1 bytes straight into v2 classes and
turn undecodable bytes into INVALID_ARGUMENT (a deserializer failure would surface as an opaque
INTERNAL). ``BridgeError`` and translation errors become a status with a bounded detail.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from modern.errors import BridgeError, InvalidRequestError, bounded
from translators.errors import TranslationError

log = logging.getLogger("modern.face")

Parse = Callable[[bytes], Any]
Render = Callable[[Any], bytes]


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
        except DecodeError:
            raise InvalidRequestError(f"request bytes do not parse as {name}") from None

    return parse


def serialize(msg: Message) -> bytes:
    """Render a message to bytes."""
    return msg.SerializeToString()


def remaining(context: grpc.aio.ServicerContext) -> float | None:
    """Seconds left of the call's deadline, or None without one."""
    return context.time_remaining()


def as_bridge_error(exc: Exception) -> BridgeError | None:
    """The ``BridgeError`` for an exception a face may meet, or None to let it propagate."""
    if isinstance(exc, BridgeError):
        return exc
    if isinstance(exc, TranslationError):
        return InvalidRequestError(str(exc))
    return None


async def abort(context: grpc.aio.ServicerContext, exc: Exception) -> None:
    """End the call with the status of ``exc`` (unknown exceptions: INTERNAL, logged, no traceback)."""
    err = as_bridge_error(exc)
    if err is None:
        log.error("unexpected error in a handler", exc_info=(type(exc), exc, exc.__traceback__))
        await context.abort(grpc.StatusCode.INTERNAL, bounded(f"internal error: {type(exc).__name__}"))
    else:
        await context.abort(err.code, err.details)


def unary(call: Callable[..., Awaitable[Any]], parse: Parse, render: Render, deadline: bool = True) -> Any:
    """A unary-unary handler: ``render(await call(parse(raw), timeout=...))``."""

    async def handler(raw: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            request = parse(raw)
            if deadline:
                answer = await call(request, timeout=context.time_remaining())
            else:
                answer = call(request)
                if hasattr(answer, "__await__"):
                    answer = await answer
            return render(answer)
        except Exception as exc:
            await abort(context, exc)
            raise  # unreachable: abort raises

    return grpc.unary_unary_rpc_method_handler(handler, request_deserializer=identity, response_serializer=identity)


def unary_stream(
    call: Callable[..., Awaitable[AsyncIterator[Any]]], parse: Parse, render: Render
) -> Any:
    """A unary-stream handler streaming ``render(item)`` for each item the hub yields."""

    async def handler(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        try:
            stream = await call(parse(raw), timeout=context.time_remaining())
            async for item in stream:
                yield render(item)
        except Exception as exc:
            await abort(context, exc)

    return grpc.unary_stream_rpc_method_handler(handler, request_deserializer=identity, response_serializer=identity)


def generic_handler(service: str, methods: dict[str, Any]) -> grpc.GenericRpcHandler:
    """A generic handler serving ``methods`` under the full service name ``service``."""
    return grpc.method_handlers_generic_handler(service, methods)


__all__ = [
    "abort",
    "as_bridge_error",
    "generic_handler",
    "identity",
    "parser",
    "remaining",
    "serialize",
    "unary",
    "unary_stream",
]
