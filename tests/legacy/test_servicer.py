"""The Flyte 1 faces on a real server: what FlytePropeller sends and reads (CLIENTS.md section 1)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

import translators as tr
from tests._servers import run, serving
from tests.modern._connectors import (
    EchoSync,
    JobConnector,
    Phase,
    create_request,
    literal_type,
    registry_with,
    template,
)
from translators._gen import v1, v1_core_execution, v2, v2_types
from translators.literals import outputs_to_native

pytestmark = pytest.mark.timeout(60)
INT = literal_type(v2_types.SimpleType.INTEGER)


def _sync_stream(req2: v2.CreateTaskRequest) -> list[v1.ExecuteTaskSyncRequest]:
    return tr.create_task_request_to_execute_task_sync_v1(req2)


def test_old_propeller_with_only_task_type() -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job)) as s:
            meta = (await s.v1.async_.CreateTask(tr.create_task_request_to_v1(create_request(template("job", {}))))).resource_meta
            res = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_type="job", resource_meta=meta))).resource
            assert res.phase == Phase.SUCCEEDED and res.state == v1.SUCCEEDED
            await s.v1.async_.DeleteTask(v1.DeleteTaskRequest(task_type="job", resource_meta=meta))
            assert len(job.deleted) == 1
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.v1.async_.GetTask(v1.GetTaskRequest(resource_meta=meta))  # neither field
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


@pytest.mark.parametrize(
    ("final", "state", "kind"),
    [
        (Phase.SUCCEEDED, v1.SUCCEEDED, None),
        (Phase.FAILED, v1.PERMANENT_FAILURE, v1.AgentError.NON_RECOVERABLE),
        (Phase.ABORTED, v1.PERMANENT_FAILURE, v1.AgentError.NON_RECOVERABLE),
        (Phase.RETRYABLE_FAILED, v1.RETRYABLE_FAILURE, v1.AgentError.RECOVERABLE),
    ],
)
def test_every_v1_resource_has_phase_state_and_failures_agent_error(final: int, state: int, kind: int | None) -> None:
    async def body() -> None:
        async with serving(registry_with(JobConnector())) as s:
            req = tr.create_task_request_to_v1(create_request(template("job", {"final": final, "message": "why"})))
            meta = (await s.v1.async_.CreateTask(req)).resource_meta
            res = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_type="job", resource_meta=meta))).resource
            assert (res.phase, res.state) == (final, state)
            if kind is None:
                assert not res.HasField("agent_error")
            else:
                assert res.agent_error.kind == kind
                assert res.agent_error.code == Phase.Phase.Name(final)
                assert res.agent_error.origin == v1_core_execution.ExecutionError.USER
                assert res.message == "why"

    run(body())


def test_running_phase_sets_state_for_old_propellers() -> None:
    async def body() -> None:
        async with serving(registry_with(JobConnector())) as s:
            req = tr.create_task_request_to_v1(create_request(template("job", {"polls": 5})))
            meta = (await s.v1.async_.CreateTask(req)).resource_meta
            res = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_type="job", resource_meta=meta))).resource
            assert (res.phase, res.state) == (Phase.RUNNING, v1.RUNNING)

    run(body())


def test_retryable_as_permanent_option() -> None:
    async def body() -> None:
        async with serving(registry_with(JobConnector()), retryable_as_permanent=True) as s:
            req = tr.create_task_request_to_v1(create_request(template("job", {"final": Phase.RETRYABLE_FAILED})))
            meta = (await s.v1.async_.CreateTask(req)).resource_meta
            res = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_type="job", resource_meta=meta))).resource
            assert (res.phase, res.state) == (Phase.FAILED, v1.PERMANENT_FAILURE)
            assert res.agent_error.kind == v1.AgentError.NON_RECOVERABLE
            # the v2 face is unaffected by the v1 option
            got = await s.v2.async_.GetTask(v2.GetTaskRequest(task_category=v2.TaskCategory(name="job"), resource_meta=meta))
            assert got.resource.phase == Phase.RETRYABLE_FAILED

    run(body())


def test_list_agents_splits_sync_and_async_and_keeps_one_version_per_type() -> None:
    reg = registry_with(
        JobConnector("alpha", 0, name="Multi"),
        EchoSync("beta", name="Multi"),
        JobConnector("gamma", 2, name="Versions"),
        JobConnector("gamma", 0, name="Versions"),
        JobConnector("delta", 1, name="Versions"),
        JobConnector("delta", 3, name="Versions"),
    )

    async def body() -> None:
        async with serving(reg) as s:
            agents = (await s.v1.metadata.ListAgents(v1.ListAgentsRequest())).agents
            by_name = {a.name: a for a in agents}
            assert set(by_name) == {"Multi", "Multi (sync)", "Versions"}
            assert not by_name["Multi"].is_sync and by_name["Multi (sync)"].is_sync
            assert list(by_name["Multi"].supported_task_types) == ["alpha"]
            assert list(by_name["Multi (sync)"].supported_task_types) == ["beta"]
            cats = sorted((c.name, c.version) for c in by_name["Versions"].supported_task_categories)
            assert cats == [("delta", 3), ("gamma", 0)]
            assert sorted(by_name["Versions"].supported_task_types) == ["delta", "gamma"]
            got = (await s.v1.metadata.GetAgent(v1.GetAgentRequest(name="Multi (sync)"))).agent
            assert got.is_sync and [c.name for c in got.supported_task_categories] == ["beta"]
            # v2 lists by connector name, all categories, no split
            conns = (await s.v2.metadata.ListConnectors(v2.ListConnectorsRequest())).connectors
            assert {c.name: len(c.supported_task_categories) for c in conns} == {"Multi": 2, "Versions": 4}

    run(body())


def test_execute_task_sync_with_sync_connector() -> None:
    echo = EchoSync()

    async def body() -> None:
        async with serving(registry_with(echo)) as s:
            tmpl = template("echo", {}, inputs={"a": INT}, outputs={"a": INT})
            replies = [r async for r in s.v1.sync.ExecuteTaskSync(iter(_sync_stream(create_request(tmpl, {"a": 4}))))]
            assert len(replies) == 1 and replies[0].HasField("header")
            res = replies[0].header.resource
            assert (res.phase, res.state) == (Phase.SUCCEEDED, v1.SUCCEEDED)
            assert outputs_to_native(res.outputs) == {"a": 4}
            assert echo.calls[0][0] == {"a": 4}

    run(body())


def test_execute_task_sync_without_inputs_message() -> None:
    echo = EchoSync()

    async def body() -> None:
        async with serving(registry_with(echo)) as s:
            header_only = _sync_stream(create_request(template("echo", {})))[:1]
            replies = [r async for r in s.v1.sync.ExecuteTaskSync(iter(header_only))]
            assert replies[0].header.resource.phase == Phase.SUCCEEDED
            assert echo.calls[0][0] is None

    run(body())


def test_execute_task_sync_emulates_an_async_connector_by_polling() -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job), poll_initial=0.01, poll_max=0.02) as s:
            tmpl = template("job", {"polls": 3}, inputs={"a": INT}, outputs={"a": INT})
            replies = [r async for r in s.v1.sync.ExecuteTaskSync(iter(_sync_stream(create_request(tmpl, {"a": 9}))))]
            res = replies[0].header.resource
            assert res.phase == Phase.SUCCEEDED and outputs_to_native(res.outputs) == {"a": 9}
            assert [c[0] for c in job.calls] == ["create", "get", "get", "get", "get"]

    run(body())


def test_execute_task_sync_deadline_deletes_the_emulated_job() -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job), poll_initial=0.01, poll_max=0.05) as s:
            stream = _sync_stream(create_request(template("job", {"polls": 10_000})))
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [r async for r in s.v1.sync.ExecuteTaskSync(iter(stream), timeout=0.5)]
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            for _ in range(100):
                if job.deleted:
                    break
                await asyncio.sleep(0.02)
            assert len(job.deleted) == 1

    run(body())


@pytest.mark.parametrize("shape", ["inputs_first", "two_headers", "no_header", "two_inputs"])
def test_execute_task_sync_malformed_streams(shape: str) -> None:
    async def body() -> None:
        async with serving(registry_with(EchoSync())) as s:
            header, inputs = _sync_stream(create_request(template("echo", {}, inputs={"a": INT}), {"a": 1}))
            stream = {
                "inputs_first": [inputs, header],
                "two_headers": [header, header, inputs],
                "no_header": [inputs],
                "two_inputs": [header, inputs, inputs],
            }[shape]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [r async for r in s.v1.sync.ExecuteTaskSync(iter(stream))]
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


def test_execute_task_sync_empty_stream_is_invalid() -> None:
    async def body() -> None:
        async with serving(registry_with(EchoSync())) as s:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [r async for r in s.v1.sync.ExecuteTaskSync(iter([]))]
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


def test_execute_task_sync_failure_is_a_terminal_resource_with_agent_error() -> None:
    async def body() -> None:
        async with serving(registry_with(EchoSync())) as s:
            stream = _sync_stream(create_request(template("echo", {"final": Phase.FAILED})))
            res = [r async for r in s.v1.sync.ExecuteTaskSync(iter(stream))][0].header.resource
            assert (res.phase, res.state) == (Phase.FAILED, v1.PERMANENT_FAILURE)
            assert res.agent_error.kind == v1.AgentError.NON_RECOVERABLE
            raised = _sync_stream(create_request(template("echo", {"fail": "kaput"})))
            with pytest.raises(grpc.aio.AioRpcError) as err:
                [r async for r in s.v1.sync.ExecuteTaskSync(iter(raised))]
            assert err.value.code() == grpc.StatusCode.INTERNAL and "kaput" in err.value.details()

    run(body())


def test_sync_connector_also_answers_create_and_get_for_agent_for_task_types() -> None:
    async def body() -> None:
        async with serving(registry_with(EchoSync())) as s:
            tmpl = template("echo", {}, inputs={"a": INT}, outputs={"a": INT})
            meta = (await s.v1.async_.CreateTask(tr.create_task_request_to_v1(create_request(tmpl, {"a": 2})))).resource_meta
            req = v1.GetTaskRequest(task_type="echo", task_category=v1.TaskCategory(name="echo"), resource_meta=meta)
            res = (await s.v1.async_.GetTask(req)).resource
            assert res.phase == Phase.SUCCEEDED and outputs_to_native(res.outputs) == {"a": 2}

    run(body())
