"""A default ``flyte-bridge serve`` imports no SDK while idle; flytekit's webhook loads on its first call.

Both SDKs are installed in the test venv and no SDK plugin is: the server must answer the metadata
services (the webhook connector listed, as ``pyflyte serve connector`` lists it) without importing
``flytekit`` or ``flyte``, and import flytekit when a webhook task runs. What the server imported is
read from its own log: ``PYTHONPROFILEIMPORTTIME`` makes Python write one line per module it imports.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import msgpack
import pytest
from google.protobuf import struct_pb2

from tests.bridge._helpers import Served, channel, start_serve

if importlib.util.find_spec("flytekit") is None:  # found, not imported: the test is about the server's imports
    pytest.skip("needs flytekit installed (its webhook connector is what loads lazily)", allow_module_level=True)
from translators._gen import v1, v1_core_execution, v1_core_literals, v1_core_tasks, v1_grpc, v2, v2_grpc

pytestmark = pytest.mark.timeout(90)

SUCCEEDED = v1_core_execution.TaskExecution.SUCCEEDED
_IMPORTED = re.compile(r"^import time:.*\|\s+(flytekit|flyte)(\.\S+)?\s*$", re.MULTILINE)


def sdk_imports(log: str) -> set[str]:
    """The top-level SDK packages (``flytekit``, ``flyte``) the log says were imported."""
    return {m.group(1) for m in _IMPORTED.finditer(log)}


class _Hook(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        _Hook.seen.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"pong")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[str]:
    _Hook.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _webhook_call(served: Served, url: str) -> v1.ExecuteTaskSyncResponse:
    """v1 ExecuteTaskSync of a webhook task as flytekit's WebhookTask serializes it (POST, no inputs)."""
    template = v1_core_tasks.TaskTemplate(type="webhook")
    template.id.name = "hook"
    template.custom.update({"url": url, "method": "POST", "headers": {}, "data": {"greeting": "hi"},
                            "show_data": False, "show_url": False, "timeout_sec": 10})
    info = template.interface.outputs.variables["info"]
    info.type.simple = 9  # STRUCT: flytekit's type for ``dict``
    header = v1.CreateRequestHeader(template=template, output_prefix="s3://bucket/out")
    requests = [v1.ExecuteTaskSyncRequest(header=header), v1.ExecuteTaskSyncRequest(inputs=v1_core_literals.LiteralMap())]
    with channel(served.target) as ch:
        replies = list(v1_grpc.SyncAgentServiceStub(ch).ExecuteTaskSync(iter(requests), timeout=60))
    assert len(replies) == 1
    return replies[0]


def _metadata(served: Served) -> tuple[bytes, bytes]:
    with channel(served.target) as ch:
        agents = v1_grpc.AgentMetadataServiceStub(ch).ListAgents(v1.ListAgentsRequest(), timeout=10)
        connectors = v2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(v2.ListConnectorsRequest(), timeout=10)
    return agents.SerializeToString(deterministic=True), connectors.SerializeToString(deterministic=True)


def test_sdk_imports_are_read_from_the_import_log() -> None:
    log = ("import time:       120 |        120 |   flyteidl2.core\n"
           "import time:       300 |      40000 |     flytekit.core.base_task\n"
           "import time:       100 |        100 | flyte\n")
    assert sdk_imports(log) == {"flytekit", "flyte"}
    assert sdk_imports("import time: 1 | 1 | flyteidl\nimport time: 1 | 1 |   flyteidl2.connector\n") == set()


def test_default_serve_imports_no_sdk_until_a_webhook_call(
    tmp_path: Path, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    served = start_serve(tmp_path)
    try:
        agents, connectors = _metadata(served)
        listed = v1.ListAgentsResponse.FromString(agents)
        webhook = [a for a in listed.agents if a.name == "Webhook Connector"]
        assert len(webhook) == 1 and webhook[0].is_sync, listed
        assert [(c.name, c.version) for c in webhook[0].supported_task_categories] == [("webhook", 0)]
        assert "Webhook Connector" in served.log() and "flytekit (flytekit.extras.webhook.connector)" in served.log()
        assert sdk_imports(served.log()) == set(), "an SDK was imported while idle"

        reply = _webhook_call(served, hook)
        resource = reply.header.resource
        assert resource.phase == SUCCEEDED, resource
        assert resource.message == "Webhook was successfully invoked!"
        info = resource.outputs.literals["info"].scalar.binary  # flytekit sends a dict as msgpack
        assert info.tag == "msgpack"
        assert msgpack.unpackb(info.value) == {"status_code": 200, "response_data": "pong"}
        assert [json.loads(b) for b in _Hook.seen] == [{"greeting": "hi"}]
        assert "flytekit" in sdk_imports(served.log())  # the call loaded it
        assert _metadata(served) == (agents, connectors)  # and announced it as it is
        reply = _webhook_call(served, hook)  # the loaded connector serves the next call
        assert reply.header.resource.phase == SUCCEEDED and len(_Hook.seen) == 2
    except grpc.RpcError as exc:
        raise AssertionError(f"{exc}\n{served.log()[-3000:]}") from None
    finally:
        assert served.stop() == 0, served.log()[-3000:]
