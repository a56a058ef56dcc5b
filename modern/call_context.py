"""What every log line written during one gRPC call says about that call.

A face opens a call context when gRPC hands it a call (:func:`opened`: the method, the caller's
generation, the start time); the hub adds what the request and the routing tell
(:func:`note_request`: the task execution identity where the request has ``task_execution_metadata``,
the task category, the implementation's source, connector name and upstream address); the face
notes the status it ends the call with (:func:`note_status`). The context lives in a
:class:`contextvars.ContextVar`, so every line logged inside the call, including a connector's own
lines and lines from the threads it hops to (``asyncio.to_thread`` copies the context), can carry the
fields: the JSON log formatter (``bridge.server.logs``) adds :func:`fields` to each line.

Only identifiers go in: never inputs, connection secrets or configs, never a message a connector wrote.
Get and Delete requests carry no execution identity (only ``resource_meta``, which stays the
connector's own bytes), so their lines carry the category, implementation, method and code only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

import grpc

_CURRENT: ContextVar[dict[str, Any] | None] = ContextVar("bridge_call_context", default=None)

#: The v1 services' package: a method under it was called by a Flyte 1 client.
_V1_PACKAGE = "flyteidl.service."

#: Field names, in the order they appear in a JSON line.
FIELDS = (
    "method", "generation", "org", "project", "domain", "execution_name", "node_id", "task_name", "retry_attempt",
    "category", "category_version", "connector", "source", "upstream", "code", "duration_ms",
)


def generation_of(method: str) -> str:
    """``v1`` for a Flyte 1 service's method path, else ``v2``."""
    return "v1" if method.lstrip("/").startswith(_V1_PACKAGE) else "v2"


def enter(method: str, generation: str | None = None) -> tuple[dict[str, Any], Token[dict[str, Any] | None]]:
    """Open the context of one call to ``method`` (a full path such as
    ``/flyteidl.service.AsyncAgentService/CreateTask``; ``generation`` derived from it unless given);
    :func:`leave` with the token closes it."""
    ctx: dict[str, Any] = {
        "method": method, "generation": generation or generation_of(method), "_started": time.perf_counter()
    }
    return ctx, _CURRENT.set(ctx)


def leave(token: Token[dict[str, Any] | None]) -> None:
    """Close the context :func:`enter` opened."""
    _CURRENT.reset(token)


@contextmanager
def opened(method: str) -> Iterator[dict[str, Any]]:
    """:func:`enter` and :func:`leave` as a ``with`` block."""
    ctx, token = enter(method)
    try:
        yield ctx
    finally:
        leave(token)


def current() -> dict[str, Any] | None:
    """The open call's context, None outside a call."""
    return _CURRENT.get()


def elapsed_ms(ctx: dict[str, Any]) -> float:
    """Milliseconds since the call began."""
    return round((time.perf_counter() - ctx["_started"]) * 1000.0, 3)


def fields() -> dict[str, Any]:
    """The open call's fields for a log line (empty outside a call): ``duration_ms`` so far, or the call's."""
    ctx = _CURRENT.get()
    if ctx is None:
        return {}
    out = {k: ctx[k] for k in FIELDS if k in ctx}
    if "duration_ms" not in out:
        out["duration_ms"] = elapsed_ms(ctx)
    return out


_SHAPES: dict[type, tuple[bool, bool, bool]] = {}


def _shape(cls: type) -> tuple[bool, bool, bool]:
    """Whether a request class has ``template``, ``task_category``, ``task_execution_metadata`` (cached)."""
    shape = _SHAPES.get(cls)
    if shape is None:
        names = cls.DESCRIPTOR.fields_by_name  # type: ignore[attr-defined]
        shape = _SHAPES[cls] = ("template" in names, "task_category" in names, "task_execution_metadata" in names)
    return shape


def note_request(request: Any) -> None:
    """Add what a v2 task request tells: its category, and its task execution identity if it has one."""
    ctx = _CURRENT.get()
    if ctx is None or request is None:
        return
    has_template, has_category, has_metadata = _shape(type(request))
    if has_template and request.HasField("template"):
        ctx["category"], ctx["category_version"] = request.template.type, int(request.template.task_type_version)
    elif has_category and request.HasField("task_category"):
        ctx["category"], ctx["category_version"] = request.task_category.name, int(request.task_category.version)
    if not has_metadata or not request.HasField("task_execution_metadata"):
        return
    tid = request.task_execution_metadata.task_execution_id
    node = tid.node_execution_id
    execution = node.execution_id
    named = {"org": execution.org, "project": execution.project, "domain": execution.domain,
             "execution_name": execution.name, "node_id": node.node_id, "task_name": tid.task_id.name}
    ctx.update({k: v for k, v in named.items() if v})
    if tid.HasField("node_execution_id") or tid.retry_attempt:
        ctx["retry_attempt"] = int(tid.retry_attempt)


def note_implementation(implementation: Any) -> None:
    """Add which implementation the hub routed the call to: category, connector, source, upstream address."""
    ctx = _CURRENT.get()
    if ctx is None:
        return
    name, version = implementation.category
    ctx.update(category=name, category_version=int(version), connector=implementation.name,
               source=implementation.source)
    if implementation.source == "upstream" and implementation.origin:
        ctx["upstream"] = implementation.origin


def note_status(code: grpc.StatusCode, details: str = "") -> None:
    """The status the call ends with (a face calls this when it aborts the call)."""
    ctx = _CURRENT.get()
    if ctx is not None:
        ctx["code"] = code.name
        ctx["_details"] = details


__all__ = [
    "FIELDS", "current", "elapsed_ms", "enter", "fields", "generation_of", "leave", "note_implementation",
    "note_request", "note_status", "opened",
]
