"""In gateway mode a failed call's log lines name the upstream server that answered it (``source`` upstream,
``upstream`` its address), next to the upstream bridge's own lines for the same call (``source`` bridge)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from modern import call_context
from tests._servers import run
from tests.gateway._upstreams import gateway, upstream_bridge
from tests.modern._connectors import JobConnector, create_request, registry_with, template
from tests.modern._gen_client import GenClient

pytestmark = pytest.mark.timeout(60)


class _Fields(logging.Handler):
    """Keeps each record's logger, level and the call fields it would carry in a JSON line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append({"logger": record.name, "level": record.levelname, "msg": record.getMessage(),
                           **call_context.fields()})


@pytest.fixture()
def captured() -> Iterator[_Fields]:
    handler, root = _Fields(), logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def test_failed_forwarded_call_names_its_upstream(captured: _Fields) -> None:
    req = create_request(template("job", {"fail": "boom"}))
    tid = req.task_execution_metadata.task_execution_id
    tid.node_execution_id.execution_id.name = "gw-exec-1"
    tid.node_execution_id.node_id = "n1"

    async def body() -> str:
        async with upstream_bridge(registry_with(JobConnector())) as address:
            async with gateway(address) as (s, _):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await GenClient("v1", s).create(req)
                assert err.value.code() == grpc.StatusCode.INTERNAL
        return address

    address = run(body())
    access = [ln for ln in captured.lines if ln["logger"] == "modern.access" and ln.get("execution_name") == "gw-exec-1"]
    by_source = {ln["source"]: ln for ln in access}
    assert set(by_source) == {"upstream", "bridge"}, access  # the gateway's line and the upstream bridge's
    mine = by_source["upstream"]
    assert (mine["upstream"], mine["code"], mine["generation"], mine["category"]) == (address, "INTERNAL", "v1", "job")
    assert mine["method"] == "/flyteidl.service.AsyncAgentService/CreateTask"
    theirs = by_source["bridge"]
    assert "upstream" not in theirs and theirs["generation"] == "v2"  # the gateway forwards in v2
