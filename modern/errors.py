"""The hub's errors and the one table that maps them to gRPC status codes.

Every face (v1 and v2) aborts a call with ``error.code`` and ``error.details``; the details are
bounded so they always fit in gRPC trailing metadata, and never carry a traceback (that goes to the
log only, see ``modern._hub_calls``).
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc

#: Longest status detail the bridge sends (gRPC metadata limits; DESIGN.md "Errors").
MAX_DETAILS = 1024


#: What ``bounded`` ends a clipped message with.
TRUNCATED = "...(truncated)"


def bounded(text: str, limit: int = MAX_DETAILS) -> str:
    """Clip ``text`` to at most ``limit`` characters, marking the cut.

    Args:
        text: Any message.
        limit: The maximum length of the result.

    Returns:
        ``text`` unchanged when short enough, else a prefix ending in ``...(truncated)``.
    """
    text = str(text)
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATED))] + TRUNCATED


class BridgeError(Exception):
    """Root of every error a face turns into a gRPC status.

    Attributes:
        code: The gRPC status code the call ends with.
        details: The status detail, at most ``MAX_DETAILS`` characters.
    """

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, details: str) -> None:
        self.details = bounded(details)
        super().__init__(self.details)


class ConnectorNotFoundError(BridgeError):
    """No connector is registered for a task category or a connector name."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, what: str, registered: Iterable[str] = ()) -> None:
        names = sorted(set(registered))
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        self.what = what
        super().__init__(f"no connector for {what}; registered: [{shown}]")


class InvalidRequestError(BridgeError):
    """The request cannot be served as sent: undecodable, bad resource_meta, missing template."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class ConnectorError(BridgeError):
    """The connector raised, or answered something the bridge cannot send (INTERNAL)."""

    code = grpc.StatusCode.INTERNAL


class UnimplementedError(BridgeError):
    """The connector does not implement the method (metrics, logs)."""

    code = grpc.StatusCode.UNIMPLEMENTED


class DeadlineError(BridgeError):
    """The connector did not answer within the call's deadline."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class UnavailableError(BridgeError):
    """What answers the call cannot be reached now (an upstream server is down or not reached yet).

    UNAVAILABLE, so FlytePropeller and the Flyte 2 executor retry the call.
    """

    code = grpc.StatusCode.UNAVAILABLE


class StatusError(BridgeError):
    """A status decided at run time: another server's own code, passed back to the caller.

    Args:
        code: The gRPC status code.
        details: The status detail (bounded like every other).
    """

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        super().__init__(details)


class DrainingError(BridgeError):
    """The server is shutting down and takes no new work."""

    code = grpc.StatusCode.UNAVAILABLE


__all__ = [
    "MAX_DETAILS",
    "TRUNCATED",
    "BridgeError",
    "ConnectorError",
    "ConnectorNotFoundError",
    "DeadlineError",
    "DrainingError",
    "InvalidRequestError",
    "StatusError",
    "UnavailableError",
    "UnimplementedError",
    "bounded",
]
