"""What differs between a Flyte 1 and a Flyte 2 upstream: service paths and the wire translation.

The hub speaks v2. A v2 upstream gets the request's own bytes and answers in v2 classes. A v1
upstream gets the request translated by ``translators`` (re-serialized and parsed as the v1 class,
with the same fix-ups the v1 face applies, no round-trip marker), and its answer bytes are parsed
straight into the v2 class by the same translators. The v2 ``connection`` (secrets) has no home in v1
and is not forwarded to a v1 upstream.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

import translators as tr
from legacy import _servicer as v1_face
from modern import _servicer as v2_face
from modern.implementation import FLYTE_SDK, FLYTEKIT
from modern.routing import V1, V2
from translators._pair import parse


def without_connection(msg: Message) -> Message:
    """``msg`` without its v2 ``connection`` (a copy when it has one)."""
    if "connection" not in msg.DESCRIPTOR.fields_by_name or not msg.HasField("connection"):  # type: ignore[attr-defined]
        return msg
    copy = type(msg)()
    copy.CopyFrom(msg)
    copy.ClearField("connection")
    return copy


def _v1_request(msg: Message) -> bytes:
    return tr.to_v1(without_connection(msg), mark=False).SerializeToString()


def _v1_answer(cls: type[Message], data: bytes) -> Any:
    return tr.pair_of(cls).to_v2_from_wire(data, mark=False)


def _v2_request(msg: Message) -> bytes:
    return msg.SerializeToString()


#: The task service's methods, the same in both generations.
TASK_METHODS = ("CreateTask", "GetTask", "DeleteTask", "GetTaskMetrics", "GetTaskLogs")


@dataclass(frozen=True)
class Dialect:
    """How to talk to an upstream of one generation.

    Attributes:
        generation: ``v1`` or ``v2``.
        family: Whose templates its connectors understand (``flytekit`` for v1, ``flyte-sdk`` for v2).
        async_service: Full name of its task service.
        metadata_service: Full name of its metadata service.
        list_method: The metadata method that lists its connectors.
        request: A v2 request message to the bytes this upstream reads.
        answer: ``answer(v2_cls, data)``: this upstream's answer bytes as the v2 class.
    """

    generation: str
    family: str
    async_service: str
    metadata_service: str
    list_method: str
    request: Callable[[Message], bytes]
    answer: Callable[[type[Message], bytes], Any]

    def path(self, method: str, service: str | None = None) -> str:
        """The gRPC method path of ``method`` on the task service (or on ``service``)."""
        return f"/{service or self.async_service}/{method}"

    @functools.cached_property
    def task_paths(self) -> dict[str, str]:
        """The task service's method paths by method name (made once per dialect)."""
        return {m: self.path(m) for m in TASK_METHODS}


DIALECTS: dict[str, Dialect] = {
    V1: Dialect(V1, FLYTEKIT, v1_face.ASYNC_SERVICE, v1_face.METADATA_SERVICE, "ListAgents", _v1_request, _v1_answer),
    V2: Dialect(V2, FLYTE_SDK, v2_face.ASYNC_SERVICE, v2_face.METADATA_SERVICE, "ListConnectors", _v2_request, parse),
}

#: v1 ``ExecuteTaskSync`` (only Flyte 1 servers have a sync service).
EXECUTE_TASK_SYNC = f"/{v1_face.SYNC_SERVICE}/ExecuteTaskSync"

__all__ = ["DIALECTS", "EXECUTE_TASK_SYNC", "Dialect", "without_connection"]
