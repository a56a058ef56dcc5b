"""modern.call_context: what a call's log lines carry, taken from the request and the routing only."""

from __future__ import annotations

import asyncio
import contextvars
from types import SimpleNamespace

import grpc

from modern import call_context
from translators._gen import v2


def _create(execution: str = "", retry: int = 0) -> v2.CreateTaskRequest:
    req = v2.CreateTaskRequest()
    req.template.type, req.template.task_type_version = "bigquery", 2
    req.connection.secrets["token"] = "s3cr3t"
    req.inputs.SetInParent()
    if execution:
        tid = req.task_execution_metadata.task_execution_id
        tid.node_execution_id.execution_id.project = "p"
        tid.node_execution_id.execution_id.domain = "d"
        tid.node_execution_id.execution_id.name = execution
        tid.node_execution_id.node_id = "n0"
        tid.retry_attempt = retry
    return req


def test_outside_a_call_there_are_no_fields_and_notes_are_ignored() -> None:
    call_context.note_request(_create("e1"))
    call_context.note_status(grpc.StatusCode.INTERNAL)
    assert call_context.fields() == {}


def test_create_with_metadata_gives_identity_category_and_generation() -> None:
    with call_context.opened("/flyteidl.service.AsyncAgentService/CreateTask"):
        call_context.note_request(_create("e1", retry=2))
        got = call_context.fields()
    assert got["generation"] == "v1"
    assert {k: got[k] for k in ("project", "domain", "execution_name", "node_id", "retry_attempt")} == {
        "project": "p", "domain": "d", "execution_name": "e1", "node_id": "n0", "retry_attempt": 2}
    assert (got["category"], got["category_version"]) == ("bigquery", 2)
    assert "org" not in got and "task_name" not in got  # empty identifiers are left out
    assert "s3cr3t" not in repr(got) and "code" not in got
    assert got["duration_ms"] >= 0


def test_get_gives_category_only_and_implementation_adds_upstream() -> None:
    get = v2.GetTaskRequest(resource_meta=b'{"job": 1}')
    get.task_category.name, get.task_category.version = "bigquery", 2
    upstream = SimpleNamespace(category=("bigquery", 2), name="BigQuery", source="upstream", origin="10.0.0.7:8000")
    with call_context.opened("/flyteidl2.connector.AsyncConnectorService/GetTask"):
        call_context.note_request(get)
        call_context.note_implementation(upstream)
        call_context.note_status(grpc.StatusCode.UNAVAILABLE, "upstream down")
        got = call_context.fields()
    assert got["generation"] == "v2" and "execution_name" not in got
    assert (got["connector"], got["source"], got["upstream"], got["code"]) == (
        "BigQuery", "upstream", "10.0.0.7:8000", "UNAVAILABLE")
    assert "upstream down" not in repr(got)  # the detail goes to the access line's message only


def test_tasks_and_threads_started_inside_the_call_see_it() -> None:
    async def body() -> tuple[dict, dict]:
        with call_context.opened("/flyteidl2.connector.AsyncConnectorService/CreateTask"):
            call_context.note_request(_create("e9"))
            in_task = await asyncio.create_task(asyncio.sleep(0, call_context.fields()))
            in_thread = await asyncio.to_thread(call_context.fields)
        return in_task, in_thread

    in_task, in_thread = contextvars.Context().run(asyncio.run, body())
    assert in_task["execution_name"] == in_thread["execution_name"] == "e9"
    assert call_context.fields() == {}
