"""One upstream server's ``grpc.aio`` channel, and its calls with the bridge's error rules.

Every call carries the caller's deadline (``timeout``), is cancelled when the caller's call is
(the hub runs in the call's task: ``CancelledError`` cancels the upstream call), and ends in the
upstream's own status code with its (bounded) details, naming the upstream. An unreachable upstream
is UNAVAILABLE, so FlytePropeller and the Flyte 2 executor retry.

The channel belongs to the event loop it was made on (the serving loop): ``UpstreamClient`` is built
there, by ``bridge.upstream.Upstreams.start``.

In the thread-pool server a read (``GetTask``, ``GetTaskMetrics``) with a deadline whose step runs in
the gRPC worker thread that received it (:func:`modern.shared_loop.lent_here`) is made as a blocking
call on a second, plain ``grpc`` channel, with the loop free meanwhile: the call then never leaves that
thread. Through ``grpc.aio`` it would cross three: the loop's thread to start it, gRPC's completion
thread and the loop's again to finish it, and the worker's to answer (interleaved against that path on
one core, at 1 stream: 0.05-0.25 ms less p50, 11-24% less CPU per call). Such a call cannot be cancelled before its deadline,
which the caller set, and which ends it upstream too; creates and deletes, which a caller's cancel must
reach at once, always go through ``grpc.aio``.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc

from bridge.server.assembly import DEFAULT_MAX_MESSAGE_BYTES
from modern.errors import BridgeError, StatusError, UnavailableError
from modern.implementation import upstream_key
from modern.shared_loop import lent_here

#: gRPC's reconnect backoff to a lost upstream: first retry after 250 ms, then growing to at most 2 s
#: (gRPC's own: 1 s growing to 2 min). An upstream back from a restart is used again within ~2 s, and
#: one that flaps is not shut out for longer than it is up. (A connect attempt to a down host is cheap.)
INITIAL_RECONNECT_BACKOFF_MS = 250
MAX_RECONNECT_BACKOFF_MS = 2000

#: Address prefixes that name the upstream's generation (and skip detection).
GENERATION_PREFIXES = {"v1://": "v1", "v2://": "v2"}


def parse_address(address: str) -> tuple[str, str | None]:
    """Split ``[v1://|v2://]TARGET`` into (gRPC target, generation or None to detect)."""
    for prefix, generation in GENERATION_PREFIXES.items():
        if address.startswith(prefix):
            return address[len(prefix):], generation
    return address, None


#: A Python traceback's header and frames (lines indented deeper than the header); its exception line stays.
_TRACEBACK = re.compile(r"(?m)^([ \t]*)Traceback \(most recent call last\):\n(?:\1[ \t]+.*(?:\n|$))*")

#: Metadata the bridge reads from an upstream (status details included): SDK servers put tracebacks and
#: echoed input there (20-200 KB), past gRPC's default 16 KiB, where the channel would reject the answer.
UPSTREAM_METADATA_BYTES = 1024 * 1024

#: The codes of the bridge's own contract (DESIGN.md "Errors"): an upstream's status with one of these is
#: passed on as it is; any other is mapped (``UPSTREAM_CODES``).
PASSED_CODES = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
})

#: An upstream's code outside the contract -> the bridge's (the upstream's code stays in the details).
#: CANCELLED: the upstream (or a proxy) ended a call the caller still waits for: retryable, as when it
#: is down. Everything else -- UNKNOWN (an unhandled exception in a Python server), RESOURCE_EXHAUSTED,
#: UNAUTHENTICATED, PERMISSION_DENIED (the upstream refused the *bridge*, not the caller),
#: FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED, OUT_OF_RANGE, DATA_LOSS -- is the upstream failing to
#: serve the call: INTERNAL, as a local connector that raises.
UPSTREAM_CODES = {grpc.StatusCode.CANCELLED: grpc.StatusCode.UNAVAILABLE}

#: What gRPC core says when the bridge's own channel refuses an upstream's answer for its size.
_METADATA_TOO_LARGE = "metadata size exceeds"
_MESSAGE_TOO_LARGE = "message larger than max"


def clean_details(text: str) -> str:
    """An upstream's status details as one line: traceback frames cut, whitespace runs made one space."""
    return " ".join(_TRACEBACK.sub("", text).split())


def _too_large(target: str, code: grpc.StatusCode, details: str, receive_limit: int) -> BridgeError | None:
    """The bridge's error when its channel refused the upstream's answer for its size, else None.

    An upstream that refuses the bridge's *request* as too large says the same words with its own limit
    (``... (N vs. ITS_LIMIT)``): that is the upstream's RESOURCE_EXHAUSTED, mapped as the others.
    """
    if code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        return None
    if _METADATA_TOO_LARGE in details:
        return StatusError(
            grpc.StatusCode.INTERNAL,
            f"upstream {target} answered with status details or headers larger than the bridge reads "
            f"({UPSTREAM_METADATA_BYTES} bytes), so its status and message are lost; see its log ({details})",
        )
    if _MESSAGE_TOO_LARGE in details and f"vs. {receive_limit})" in details:
        return StatusError(
            grpc.StatusCode.INTERNAL,
            f"upstream {target} answered a message larger than the bridge accepts (--max-message-bytes): {details}",
        )
    return None


def call_error(
    target: str, exc: grpc.aio.AioRpcError | grpc.RpcError, receive_limit: int = DEFAULT_MAX_MESSAGE_BYTES
) -> BridgeError:
    """The bridge's error for an upstream's failed call: its code (mapped into the bridge's contract),
    its details cleaned and bounded as a local connector's error is, naming the upstream.

    A traceback in the details (flytekit sends one) is cut down to its exception line, and the message
    made one line: the bridge sends no tracebacks, its own or an upstream's. ``receive_limit``: the
    bridge's channel's (an answer over it is refused by the bridge, not by the upstream).
    """
    code = exc.code()  # type: ignore[union-attr]
    raw = exc.details() or code.name  # type: ignore[union-attr]
    too_large = _too_large(target, code, raw, receive_limit)
    if too_large is not None:
        return too_large
    details = clean_details(raw)
    if code == grpc.StatusCode.UNAVAILABLE:
        return UnavailableError(f"upstream {target} is unavailable: {details}")
    if code in PASSED_CODES:
        return StatusError(code, f"upstream {target}: {details}")
    return StatusError(UPSTREAM_CODES.get(code, grpc.StatusCode.INTERNAL), f"upstream {target} ({code.name}): {details}")


#: gRPC core's connectivity numbers (``grpc.ChannelConnectivity`` values' first element).
_CORE_STATES = {state.value[0]: state for state in grpc.ChannelConnectivity}

#: Every upstream channel's options unless given: a restarted upstream is reconnected to within seconds
#: (not after gRPC's default 2-minute backoff); large status details are read (``UPSTREAM_METADATA_BYTES``,
#: soft and hard limit); answers as large as the bridge's own default message limit are received.
CHANNEL_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
    ("grpc.max_metadata_size", UPSTREAM_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", UPSTREAM_METADATA_BYTES),
    ("grpc.max_receive_message_length", DEFAULT_MAX_MESSAGE_BYTES),
)


def _open(api: Any, target: str, credentials: grpc.ChannelCredentials | None, options: list[tuple[str, Any]]) -> Any:
    """A channel of ``api`` (``grpc`` or ``grpc.aio``: the same two constructors) to ``target``."""
    if credentials is not None:
        return api.secure_channel(target, credentials, options=options)
    return api.insecure_channel(target, options=options)


class UpstreamClient:
    """The channel to one upstream and its method callables (raw bytes in and out).

    Args:
        target: The gRPC target (``host:port``, ``dns:///name:port`` ...).
        credentials: TLS channel credentials, or None for plaintext.
        options: Extra channel options (message size limits).
    """

    def __init__(
        self,
        target: str,
        credentials: grpc.ChannelCredentials | None = None,
        options: Iterable[tuple[str, Any]] = (),
    ) -> None:
        self.target = target
        self.key = upstream_key(target)
        chosen = {**dict(CHANNEL_DEFAULTS), **dict(options)}
        self.receive_limit = int(chosen["grpc.max_receive_message_length"])
        opts = list(chosen.items())
        self.channel = _open(grpc.aio, target, credentials, opts)
        self._open_sync = functools.partial(_open, grpc, target, credentials, opts)
        self._sync_channel: grpc.Channel | None = None  # made on the first blocking read
        self._methods: dict[str, Any] = {}  # by path: each path has one kind
        self._blocking: dict[str, Any] = {}
        #: Called on the serving loop after calls: ``(True, "")`` when the upstream answered one,
        #: ``(False, details)`` when one failed for want of a connection (``bridge.upstream.Upstreams``).
        self.observer: Callable[[bool, str], None] | None = None

    def _method(self, path: str, kind: str) -> Any:
        found = self._methods.get(path)
        if found is None:
            found = self._methods[path] = getattr(self.channel, kind)(path)
        return found

    def error(self, exc: grpc.aio.AioRpcError | grpc.RpcError, observe: bool = True, blocking: bool = False) -> BridgeError:
        """``call_error`` for this upstream; a transport failure is reported to ``observer`` (down)."""
        err = call_error(self.target, exc, self.receive_limit)
        if observe and self.observer is not None and self.transport_failed(exc, blocking):
            self.observer(False, err.details)
        return err

    def transport_failed(self, exc: grpc.aio.AioRpcError | grpc.RpcError, blocking: bool = False) -> bool:
        """Whether a failed call failed for want of a connection, not with a status the upstream sent.

        gRPC gives both the same code (UNAVAILABLE: "failed to connect", "Socket closed", or the
        upstream's own, e.g. a bridge whose own upstream is down). The call's channel tells them apart:
        it is READY after an answer, not after a refused or lost connection.
        """
        if exc.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[union-attr]
            return False
        return self._state(blocking) != grpc.ChannelConnectivity.READY

    def _state(self, blocking: bool) -> grpc.ChannelConnectivity:
        """The connectivity of the ``grpc.aio`` channel, or of the blocking reads' one (``blocking``).

        The blocking ``grpc.Channel`` tells its state only to subscribers; its core channel answers at
        once (the call ``grpc.Channel.subscribe`` polls with). Without it, the other channel to the same
        upstream stands in.
        """
        core = getattr(self._sync_channel, "_channel", None) if blocking else None
        check = getattr(core, "check_connectivity_state", None)
        if check is None:
            return self.channel.get_state(try_to_connect=False)
        return _CORE_STATES.get(check(False), grpc.ChannelConnectivity.IDLE)

    def _answered(self) -> None:
        if self.observer is not None:
            self.observer(True, "")

    def _blocking_method(self, path: str) -> Any:
        found = self._blocking.get(path)
        if found is None:
            if self._sync_channel is None:
                self._sync_channel = self._open_sync()
            found = self._blocking[path] = self._sync_channel.unary_unary(path)
        return found

    def _blocking_call(self, path: str, data: bytes, timeout: float) -> bytes:
        return self._blocking_method(path)(data, timeout=timeout)  # type: ignore[no-any-return]

    async def read(self, path: str, data: bytes, timeout: float | None) -> bytes:
        """A unary read that a caller may repeat (GetTask): in the receiving thread when it can (module doc)."""
        loop = lent_here() if timeout is not None else None
        if loop is None:
            return await self.unary(path, data, timeout)
        try:  # the error and the observer run after the baton is back: on the loop, as every other call's
            answer = loop.unlocked(lambda: self._blocking_call(path, data, timeout))  # type: ignore[arg-type]
        except grpc.RpcError as exc:
            raise self.error(exc, blocking=True) from None
        self._answered()
        return answer

    async def unary(
        self, path: str, data: bytes, timeout: float | None, *, observe: bool = True, wait_for_ready: bool = False
    ) -> bytes:
        """One unary call; the upstream call is cancelled when this coroutine is.

        ``observe=False``: not reported to ``observer``; ``wait_for_ready``: a channel between reconnect
        attempts waits for the next one within ``timeout`` instead of failing at once (both: the
        manager's own metadata probes).
        """
        call = self._method(path, "unary_unary")(data, timeout=timeout, wait_for_ready=wait_for_ready or None)
        try:
            answer = await call
        except asyncio.CancelledError:
            call.cancel()
            raise
        except grpc.aio.AioRpcError as exc:
            raise self.error(exc, observe) from None
        if observe:
            self._answered()
        return answer  # type: ignore[no-any-return]

    async def stream(self, path: str, data: bytes, timeout: float | None) -> AsyncIterator[bytes]:
        """A server stream, checked before the first message (errors raise here, not in the iterator)."""
        call = self._method(path, "unary_stream")(data, timeout=timeout)
        first = await self._read(call)
        self._answered()
        return self._rest(call, first)

    async def _read(self, call: Any) -> Any:
        try:
            return await call.read()
        except asyncio.CancelledError:
            call.cancel()
            raise
        except grpc.aio.AioRpcError as exc:
            raise self.error(exc) from None

    async def _rest(self, call: Any, first: Any) -> AsyncIterator[bytes]:
        item = first
        try:
            while item is not grpc.aio.EOF:
                yield item
                item = await self._read(call)
        finally:
            if not call.done():
                call.cancel()

    async def stream_one(self, path: str, parts: list[bytes], timeout: float | None) -> bytes:
        """A client stream of ``parts`` answered by one message (v1 ``ExecuteTaskSync``)."""
        call = self._method(path, "stream_stream")(iter(parts), timeout=timeout)
        try:
            reply = await self._read(call)
        finally:
            if not call.done():
                call.cancel()
        if reply is grpc.aio.EOF:
            raise StatusError(grpc.StatusCode.INTERNAL, f"upstream {self.target} ended ExecuteTaskSync without a reply")
        self._answered()
        return reply  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Close the channels (calls in flight are cancelled)."""
        if self._sync_channel is not None:
            self._sync_channel.close()
        await self.channel.close()


__all__ = ["GENERATION_PREFIXES", "UpstreamClient", "call_error", "parse_address"]
