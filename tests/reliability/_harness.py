"""Shared machinery of the reliability suite: an in-process bridge server, raw calls, checks, counts.

The server is the real ``bridge.server.assembly.build_server`` (both generations, health, size limits) on a
``grpc.aio`` loop in a daemon thread, listening on 127.0.0.1:0. Tests talk to it through a blocking
channel with *generic* calls carrying raw bytes, so whatever a broken client might send reaches the
server untouched by any stub.

Every suite file records what it tried with ``count(kind, n)``; the totals are printed at the end of
the session and written to ``tests/reliability/.last_counts.json`` (not in git).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import modern
from bridge.server.assembly import ServerOptions, build_server
from modern.errors import MAX_DETAILS
from tests.modern._connectors import EchoSync, JobConnector, create_request, literal_type, template
from translators._gen import v2, v2_core_execution, v2_types

COUNTS_PATH = Path(__file__).with_name(".last_counts.json")
COUNTS: Counter[str] = Counter()

#: A small receive limit so "over the size limit" is cheap to send.
MAX_MESSAGE_BYTES = 1 << 20

V1_ASYNC = "flyteidl.service.AsyncAgentService"
V1_SYNC = "flyteidl.service.SyncAgentService"
V1_META = "flyteidl.service.AgentMetadataService"
V2_ASYNC = "flyteidl2.connector.AsyncConnectorService"
V2_META = "flyteidl2.connector.ConnectorMetadataService"

#: Every method of both generations: (path, kind) with kind unary, unary_stream or stream_stream.
METHODS: tuple[tuple[str, str], ...] = (
    *((f"/{svc}/{m}", "unary") for svc in (V1_ASYNC, V2_ASYNC) for m in ("CreateTask", "GetTask", "DeleteTask", "GetTaskMetrics")),
    (f"/{V1_ASYNC}/GetTaskLogs", "unary_stream"),
    (f"/{V2_ASYNC}/GetTaskLogs", "unary_stream"),
    (f"/{V1_SYNC}/ExecuteTaskSync", "stream_stream"),
    (f"/{V1_META}/GetAgent", "unary"),
    (f"/{V1_META}/ListAgents", "unary"),
    (f"/{V2_META}/GetConnector", "unary"),
    (f"/{V2_META}/ListConnectors", "unary"),
)


def count(kind: str, n: int = 1) -> None:
    """Add ``n`` to the tally of ``kind`` (inputs tried, faults injected, calls made...)."""
    COUNTS[kind] += n


def write_counts() -> dict[str, int]:
    """Write the tallies to ``.last_counts.json`` (merged with what other runs wrote) and return them."""
    previous: dict[str, int] = {}
    if COUNTS_PATH.exists():
        try:
            previous = json.loads(COUNTS_PATH.read_text())
        except ValueError:
            previous = {}
    merged = {**previous, **COUNTS}
    COUNTS_PATH.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return merged


@dataclass
class RawResult:
    """What a raw call ended with."""

    code: grpc.StatusCode
    details: str
    responses: list[bytes]


def raw_call(channel: grpc.Channel, path: str, kind: str, payload: bytes | list[bytes], timeout: float = 10.0) -> RawResult:
    """Call ``path`` with raw bytes (a list of messages for a client stream) and capture the status."""
    try:
        if kind == "unary":
            out = [channel.unary_unary(path, request_serializer=None, response_deserializer=None)(payload, timeout=timeout)]
        elif kind == "unary_stream":
            out = list(channel.unary_stream(path, request_serializer=None, response_deserializer=None)(payload, timeout=timeout))
        else:
            parts = payload if isinstance(payload, list) else [payload]
            call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
            out = list(call(iter(parts), timeout=timeout))
        return RawResult(grpc.StatusCode.OK, "", out)
    except grpc.RpcError as exc:
        return RawResult(exc.code(), exc.details() or "", [])


def assert_bounded(details: str) -> None:
    """A status detail is short and never a traceback."""
    assert len(details) <= MAX_DETAILS, f"detail of {len(details)} chars"
    assert "Traceback" not in details, details
    assert 'File "' not in details, details


class InProcessBridge:
    """``build_server`` over a registry on a background event loop; a blocking channel to it.

    Use as ``with InProcessBridge(registry) as bridge: bridge.channel ...``.
    """

    def __init__(self, registry: modern.ConnectorRegistry, *, max_message_bytes: int = MAX_MESSAGE_BYTES, **hub: Any) -> None:
        self.registry = registry
        hub.setdefault("metrics", False)
        self.hub = modern.Hub(registry, **hub)
        self._max = max_message_bytes
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="reliability-server", daemon=True)
        self._server: Any = None
        self.channel: grpc.Channel | None = None
        self.address = ""

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run ``coro`` on the server loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> Any:
        options = ServerOptions(host="127.0.0.1", port=0, max_message_bytes=self._max, reflection=False, grace=1.0)
        server = build_server(self.hub, options)
        await server.start()
        return server

    def __enter__(self) -> InProcessBridge:
        self._thread.start()
        self._server = self.run(self._start())
        self.address = f"127.0.0.1:{self._server.port}"
        # The client may send more than the server accepts: that is what the size test needs.
        self.channel = grpc.insecure_channel(
            self.address, options=[("grpc.max_send_message_length", 8 * self._max), ("grpc.max_receive_message_length", 8 * self._max)]
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.channel is not None:
                self.channel.close()
            if self._server is not None:
                self.run(self._server.stop(None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    def pending_tasks(self) -> int:
        """Asyncio tasks alive on the server loop (besides the one asking)."""

        async def n() -> int:
            return len(asyncio.all_tasks()) - 1

        return int(self.run(n()))


def healthy(channel: grpc.Channel) -> None:
    """Assert the server answers health SERVING and a normal v2 sync round trip (Create + Get)."""
    resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING
    req = create_request(template("echo", inputs={"x": literal_type(v2_types.INTEGER)}), {"x": 7})
    created = v2.CreateTaskResponse.FromString(
        channel.unary_unary(f"/{V2_ASYNC}/CreateTask")(req.SerializeToString(), timeout=5)
    )
    get = v2.GetTaskRequest(resource_meta=created.resource_meta)
    get.task_category.name = "echo"
    got = v2.GetTaskResponse.FromString(channel.unary_unary(f"/{V2_ASYNC}/GetTask")(get.SerializeToString(), timeout=5))
    assert got.resource.phase == v2_core_execution.TaskExecution.SUCCEEDED, got
    count("health checks after bad input")


def standard_registry(*extra: Any) -> modern.ConnectorRegistry:
    """An isolated registry with the shared test connectors (job async, echo sync) and ``extra``."""
    reg = modern.ConnectorRegistry()
    for c in (JobConnector(), EchoSync(), *extra):
        reg.register(c)
    return reg


def chunks(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of ``n``."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch
