"""``UpstreamImplementation``: one task category served by another connector server, over gRPC.

The hub hands it v2 requests like any implementation (``modern.implementation``); it forwards each
to the upstream in the upstream's generation (``bridge.upstream.dialect``) through the upstream's
``UpstreamClient`` (deadline, cancellation and status passed on). A v1 upstream's sync agent is a
sync implementation: ``execute_sync`` forwards ``ExecuteTaskSync`` (header, then inputs; one reply),
and the hub carries the result in ``resource_meta`` for v2 callers as it does for local sync
connectors. A v1 ``ExecuteTaskSync`` on an async upstream is the hub's create-then-get emulation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import translators as tr
from bridge.upstream.client import UpstreamClient
from bridge.upstream.dialect import EXECUTE_TASK_SYNC, Dialect, without_connection
from modern.errors import BridgeError
from modern.implementation import UPSTREAM, Implementation
from modern.secrets import scrub_error
from translators._gen import v1, v2


#: Methods that only read (a caller may repeat them): ``UpstreamClient.read`` may make them blocking.
_READS = frozenset({"GetTask", "GetTaskMetrics"})


class UpstreamImplementation(Implementation):
    """A category an upstream server serves.

    Args:
        client: The upstream's channel.
        dialect: The upstream's generation.
        name: The upstream connector's (agent's) name.
        category: (task type name, version).
        is_sync: A v1 sync agent (answered through ``ExecuteTaskSync``).
    """

    source = UPSTREAM

    def __init__(
        self, client: UpstreamClient, dialect: Dialect, name: str, category: tuple[str, int], is_sync: bool = False
    ) -> None:
        self.client = client
        self.dialect = dialect
        self.family = dialect.family
        self.key = client.key
        self.origin = client.target
        self.name = name
        self.category = category
        self.is_sync = is_sync
        self._paths = dialect.task_paths

    def describe(self) -> str:
        """``upstream (<target>, v1|v2)`` for the start table."""
        return f"{self.source} ({self.origin}, {self.dialect.generation})"

    async def _unary(self, method: str, request: Any, answer_cls: Any, timeout: float | None) -> Any:
        send = self.client.read if method in _READS else self.client.unary
        try:
            data = await send(self._paths[method], self.dialect.request(request), timeout)
        except BridgeError as exc:  # an upstream echoing a secret of the connection it was sent
            raise scrub_error(exc, request) from None
        return self.dialect.answer(answer_cls, data)

    async def execute_sync(self, request: v2.CreateTaskRequest, timeout: float | None) -> v2.Resource:
        parts = [p.SerializeToString() for p in tr.create_task_request_to_execute_task_sync_v1(without_connection(request))]
        data = await self.client.stream_one(EXECUTE_TASK_SYNC, parts, timeout)
        return tr.execute_task_sync_response_to_v2(v1.ExecuteTaskSyncResponse.FromString(data))

    async def create_task(self, request: v2.CreateTaskRequest, timeout: float | None) -> bytes:
        answer = await self._unary("CreateTask", request, v2.CreateTaskResponse, timeout)
        return bytes(answer.resource_meta)

    async def get_task(
        self, request: v2.GetTaskRequest, timeout: float | None, output_types: Any = None
    ) -> v2.Resource:
        answer = await self._unary("GetTask", request, v2.GetTaskResponse, timeout)
        return answer.resource  # type: ignore[no-any-return]

    async def delete_task(self, request: v2.DeleteTaskRequest, timeout: float | None) -> None:
        await self._unary("DeleteTask", request, v2.DeleteTaskResponse, timeout)

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, timeout: float | None
    ) -> v2.GetTaskMetricsResponse:
        return await self._unary("GetTaskMetrics", request, v2.GetTaskMetricsResponse, timeout)  # type: ignore[no-any-return]

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, timeout: float | None
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        stream = await self.client.stream(self._paths["GetTaskLogs"], self.dialect.request(request), timeout)
        return self._messages(stream)

    async def _messages(self, stream: AsyncIterator[bytes]) -> AsyncIterator[v2.GetTaskLogsResponse]:
        answer = self.dialect.answer
        try:
            async for data in stream:
                yield answer(v2.GetTaskLogsResponse, data)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]


__all__ = ["UpstreamImplementation"]
