"""The Flyte 1 ``SyncAgentService.ExecuteTaskSync`` face.

Propeller sends ``header`` then ``inputs``, closes its side, and reads exactly one reply, which must
be a ``header`` whose resource has a terminal ``phase`` (CLIENTS.md section 1). The stream is read to
its end first, then folded into one v2 CreateTaskRequest by ``translators`` (which rejects inputs
before the header, two headers and two inputs messages as INVALID_ARGUMENT; no inputs message means no
inputs). The hub runs a sync connector's ``do`` or emulates one with create and get polling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

import translators as tr
from modern.face import LoopRunner, abort, identity, parser
from modern.hub import Hub
from translators._gen import v1

_parse_part = parser(v1.ExecuteTaskSyncRequest)


def sync_handlers(hub: Hub, render: Any, runner: LoopRunner) -> dict[str, Any]:
    """The SyncAgentService method handlers.

    Args:
        hub: The hub.
        render: The face's ``V1Renderers`` (for phase/state/agent_error and its options).
        runner: The loop connectors run on.
    """

    def execute(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        try:
            parts = [_parse_part(raw) for raw in requests]
            request = tr.execute_task_sync_requests_to_v2(parts)
            resource = runner.run(hub.execute_sync(request, timeout=context.time_remaining()), context)
            reply = v1.ExecuteTaskSyncResponse(
                header=v1.ExecuteTaskSyncResponseHeader(resource=render.resource(resource))
            )
            yield reply.SerializeToString()
        except Exception as exc:
            abort(context, exc)

    return {
        "ExecuteTaskSync": grpc.stream_stream_rpc_method_handler(
            execute, request_deserializer=identity, response_serializer=identity
        )
    }


__all__ = ["sync_handlers"]
