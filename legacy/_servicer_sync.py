"""The Flyte 1 ``SyncAgentService.ExecuteTaskSync`` face.

Propeller sends ``header`` then ``inputs``, closes its side, and reads exactly one reply, which must
be a ``header`` whose resource has a terminal ``phase`` (CLIENTS.md section 1). The stream is read to
its end first, then folded into one v2 CreateTaskRequest by ``translators`` (which rejects inputs
before the header, two headers and two inputs messages as INVALID_ARGUMENT; no inputs message means no
inputs). The hub runs a sync connector's ``do`` or emulates one with create and get polling.
"""

from __future__ import annotations

from typing import Any

import translators as tr
from modern.face import LoopRunner, parser, stream_one
from modern.hub import Hub
from translators._gen import v1

_parse_part = parser(v1.ExecuteTaskSyncRequest)


def sync_handlers(hub: Hub, render: Any, runner: LoopRunner | None) -> dict[str, Any]:
    """The SyncAgentService method handlers.

    Args:
        hub: The hub.
        render: The face's ``V1Renderers`` (for phase/state/agent_error and its options).
        runner: A ``LoopRunner`` for a thread-pool server, None for ``grpc.aio``.
    """

    def fold(raws: list[bytes]) -> Any:
        return tr.execute_task_sync_requests_to_v2([_parse_part(raw) for raw in raws])

    def reply(resource: Any) -> bytes:
        header = v1.ExecuteTaskSyncResponseHeader(resource=render.resource(resource))
        return v1.ExecuteTaskSyncResponse(header=header).SerializeToString()

    return {"ExecuteTaskSync": stream_one(hub.execute_sync, fold, reply, runner)}


__all__ = ["sync_handlers"]
