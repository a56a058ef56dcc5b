"""The Flyte 2 faces: ``flyteidl2.connector.AsyncConnectorService`` and ``ConnectorMetadataService``.

v2 is the hub's own language, so requests parse straight into the v2 classes and answers are
serialized as they are. Service names come from the descriptors, never from string literals.
"""

from __future__ import annotations

from typing import Any

from modern.face import AUTO, LoopRunner, generic_handler, parser, runner_for, serialize, unary, unary_stream
from modern.hub import Hub
from translators._gen import v2, v2_service

ASYNC_SERVICE = v2_service.DESCRIPTOR.services_by_name["AsyncConnectorService"].full_name
METADATA_SERVICE = v2_service.DESCRIPTOR.services_by_name["ConnectorMetadataService"].full_name
SERVICE_NAMES = (ASYNC_SERVICE, METADATA_SERVICE)


def handlers(
    hub: Hub,
    runner: LoopRunner | None,
    async_service: str = ASYNC_SERVICE,
    metadata_service: str = METADATA_SERVICE,
) -> list[Any]:
    """The generic handlers of the two v2 services, answering from ``hub``.

    Args:
        hub: The hub.
        runner: A ``LoopRunner`` for a thread-pool server, None for ``grpc.aio``.
        async_service: Full name to serve the async service under (the server may add beta names).
        metadata_service: Full name to serve the metadata service under.

    Returns:
        Two ``grpc.GenericRpcHandler``s.
    """
    task = {
        "CreateTask": unary(hub.create_task, parser(v2.CreateTaskRequest), serialize, runner),
        "GetTask": unary(hub.get_task, parser(v2.GetTaskRequest), serialize, runner),
        "DeleteTask": unary(hub.delete_task, parser(v2.DeleteTaskRequest), serialize, runner),
        "GetTaskMetrics": unary(hub.get_task_metrics, parser(v2.GetTaskMetricsRequest), serialize, runner),
        "GetTaskLogs": unary_stream(hub.get_task_logs, parser(v2.GetTaskLogsRequest), serialize, runner),
    }
    meta = {
        "GetConnector": unary(hub.get_connector, parser(v2.GetConnectorRequest), serialize, runner, deadline=False),
        "ListConnectors": unary(hub.list_connectors, parser(v2.ListConnectorsRequest), serialize, runner, deadline=False),
    }
    return [generic_handler(async_service, task), generic_handler(metadata_service, meta)]


def add_to_server(server: Any, hub: Hub, runner: Any = AUTO) -> tuple[str, ...]:
    """Register the two v2 services of ``hub`` on a ``grpc.aio`` or thread-pool ``grpc.server``.

    Args:
        server: A not yet started server of either kind.
        hub: The hub to answer from.
        runner: Default: none for ``grpc.aio``; for a thread-pool server, a ``LoopRunner`` on the
            running loop (else one of its own).

    Returns:
        The full names of the services added (for health and reflection).
    """
    server.add_generic_rpc_handlers(handlers(hub, runner_for(server, runner)))
    return SERVICE_NAMES


__all__ = ["ASYNC_SERVICE", "METADATA_SERVICE", "SERVICE_NAMES", "add_to_server", "handlers"]
