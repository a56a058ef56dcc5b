"""The Flyte 1 faces: ``flyteidl.service.AsyncAgentService`` and ``AgentMetadataService``.

Requests are v1 bytes parsed straight into the v2 classes by ``translators`` (wire-compatible, plus
the fix-ups: ``task_type`` -> ``task_category`` for old propellers); the hub answers in v2, and the
answer goes back through ``translators`` to v1 bytes. Servers translate with ``mark=False`` so
clients never see the translators' round-trip marker.

Every v1 ``Resource`` carries ``phase`` and the ``state`` derived from it (old propellers read only
``state``), and a failure carries ``agent_error``. ``retryable_as_permanent`` sends RETRYABLE_FAILED
as FAILED, for propellers before 1.16 that treat phase 8 as a system error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import translators as tr
from modern.face import AUTO, LoopRunner, generic_handler, runner_for, unary, unary_stream
from modern.hub import Hub
from modern.routing import V1
from translators._gen import v1, v1_core_execution, v1_service, v2, v2_core_execution

ASYNC_SERVICE = v1_service.DESCRIPTOR.services_by_name["AsyncAgentService"].full_name
SYNC_SERVICE = v1_service.DESCRIPTOR.services_by_name["SyncAgentService"].full_name
METADATA_SERVICE = v1_service.DESCRIPTOR.services_by_name["AgentMetadataService"].full_name
SERVICE_NAMES = (ASYNC_SERVICE, SYNC_SERVICE, METADATA_SERVICE)

Phase = v2_core_execution.TaskExecution
_KIND_OF_PHASE = {
    Phase.FAILED: v1.AgentError.NON_RECOVERABLE,
    Phase.ABORTED: v1.AgentError.NON_RECOVERABLE,
    Phase.RETRYABLE_FAILED: v1.AgentError.RECOVERABLE,
}


def add_agent_error(resource: v1.Resource) -> v1.Resource:
    """Fill ``agent_error`` on a failed v1 Resource (in place) and return it.

    The code names the phase (propeller uses it as the error code, else ``TaskFailedWithError``),
    the kind says whether a retry can help, and the origin is USER: the connector reported that the
    job failed, which is not a failure of the bridge (those are gRPC statuses instead).
    """
    kind = _KIND_OF_PHASE.get(resource.phase)
    if kind is None or resource.HasField("agent_error"):
        return resource
    resource.agent_error.code = Phase.Phase.Name(resource.phase)
    resource.agent_error.kind = kind
    resource.agent_error.origin = v1_core_execution.ExecutionError.USER
    return resource


def wire(parse_fn: Any) -> Any:
    """A parse function: v1 bytes straight into the v2 class, fix-ups applied, no marker."""

    def parse(data: bytes) -> Any:
        return parse_fn(data, mark=False)

    return parse


class V1Renderers:
    """v2 hub answers to v1 bytes, with the face's options."""

    def __init__(self, retryable_as_permanent: bool = False) -> None:
        self.opts = {"mark": False, "retryable_as_permanent": retryable_as_permanent}

    def resource(self, res: v2.Resource) -> v1.Resource:
        """A v1 Resource (phase, state, agent_error)."""
        return add_agent_error(tr.resource_to_v1(res, **self.opts))

    def get_task(self, resp: v2.GetTaskResponse) -> bytes:
        """GetTaskResponse bytes."""
        return v1.GetTaskResponse(resource=self.resource(resp.resource)).SerializeToString()

    @staticmethod
    def create_task(resp: v2.CreateTaskResponse) -> bytes:
        """CreateTaskResponse bytes (wire-identical: a re-serialization)."""
        return resp.SerializeToString()

    @staticmethod
    def delete_task(resp: v2.DeleteTaskResponse) -> bytes:
        """DeleteTaskResponse bytes (empty message)."""
        return resp.SerializeToString()

    @staticmethod
    def metrics(resp: v2.GetTaskMetricsResponse) -> bytes:
        """GetTaskMetricsResponse bytes."""
        return tr.get_task_metrics_response_to_v1(resp, mark=False).SerializeToString()

    @staticmethod
    def logs(resp: v2.GetTaskLogsResponse) -> bytes:
        """One GetTaskLogsResponse message's bytes."""
        return tr.get_task_logs_response_to_v1(resp, mark=False).SerializeToString()


def _agent(group: Any) -> v1.Agent:
    return tr.connector_to_v1(group.connector, mark=False, is_sync=group.is_sync)


def async_handlers(hub: Hub, render: V1Renderers, runner: LoopRunner | None) -> dict[str, Any]:
    """The AsyncAgentService method handlers."""
    calls = hub.for_caller(V1)

    async def logs(request: v2.GetTaskLogsRequest, timeout: float | None = None) -> AsyncIterator[Any]:
        return await calls.get_task_logs(request, timeout=timeout)

    return {
        "CreateTask": unary(calls.create_task, wire(tr.create_task_request_to_v2_from_wire), render.create_task, runner),
        "GetTask": unary(calls.get_task, wire(tr.get_task_request_to_v2_from_wire), render.get_task, runner),
        "DeleteTask": unary(calls.delete_task, wire(tr.delete_task_request_to_v2_from_wire), render.delete_task, runner),
        "GetTaskMetrics": unary(
            calls.get_task_metrics, wire(tr.get_task_metrics_request_to_v2_from_wire), render.metrics, runner
        ),
        "GetTaskLogs": unary_stream(logs, wire(tr.get_task_logs_request_to_v2_from_wire), render.logs, runner),
    }


def metadata_handlers(hub: Hub, runner: LoopRunner | None) -> dict[str, Any]:
    """The AgentMetadataService method handlers (Agents computed from the registry)."""

    def list_agents(_request: Any) -> v1.ListAgentsResponse:
        return v1.ListAgentsResponse(agents=[_agent(g) for g in hub.agent_groups()])

    def get_agent(request: v2.GetConnectorRequest) -> v1.GetAgentResponse:
        return v1.GetAgentResponse(agent=_agent(hub.agent_group(request.name)))

    ser = v1.GetAgentResponse.SerializeToString
    return {
        "GetAgent": unary(get_agent, wire(tr.get_agent_request_to_v2_from_wire), ser, runner, deadline=False),
        "ListAgents": unary(
            list_agents, wire(tr.list_agents_request_to_v2_from_wire), v1.ListAgentsResponse.SerializeToString,
            runner, deadline=False,
        ),
    }


def add_to_server(
    server: Any, hub: Hub, runner: Any = AUTO, *, retryable_as_permanent: bool = False
) -> tuple[str, ...]:
    """Register the three v1 services of ``hub`` on a ``grpc.aio`` or thread-pool ``grpc.server``.

    Args:
        server: A not yet started server of either kind.
        hub: The hub to answer from (the same one the v2 faces use).
        runner: Default: none for ``grpc.aio``; for a thread-pool server, a ``LoopRunner`` on the
            running loop (else one of its own).
        retryable_as_permanent: Send RETRYABLE_FAILED as FAILED (propellers before 1.16).

    Returns:
        The full names of the services added (for health and reflection).
    """
    from legacy._servicer_sync import sync_handlers

    render = V1Renderers(retryable_as_permanent)
    runner = runner_for(server, runner)
    server.add_generic_rpc_handlers(
        [
            generic_handler(ASYNC_SERVICE, async_handlers(hub, render, runner)),
            generic_handler(SYNC_SERVICE, sync_handlers(hub, render, runner)),
            generic_handler(METADATA_SERVICE, metadata_handlers(hub, runner)),
        ]
    )
    return SERVICE_NAMES


__all__ = [
    "ASYNC_SERVICE",
    "METADATA_SERVICE",
    "SERVICE_NAMES",
    "SYNC_SERVICE",
    "V1Renderers",
    "add_agent_error",
    "add_to_server",
]
