"""The Hub called directly (transport-neutral): deadlines, draining, decode-once, emulation."""

from __future__ import annotations

import asyncio

import pytest

from modern import _invoke
from modern import (
    AsyncConnector,
    ConnectorError,
    DeadlineError,
    DrainingError,
    Hub,
    InvalidRequestError,
    Resource,
    ResourceMeta,
)
from tests._servers import run
from tests.modern._connectors import EchoSync, JobConnector, Phase, create_request, registry_with, template
from translators._gen import v2, v2_core_literals

pytestmark = pytest.mark.timeout(60)


class OwnTimeout(JobConnector):
    async def create(self, *args, **kwargs):
        raise TimeoutError("upstream API timed out")


def test_connector_past_the_deadline_is_deadline_error_and_is_cancelled() -> None:
    job = JobConnector()
    hub = Hub(registry_with(job), metrics=False)

    async def body() -> None:
        with pytest.raises(DeadlineError):
            await hub.create_task(create_request(template("job", {"sleep": 5})), timeout=0.1)
        assert job.cancel_seen == 1
        with pytest.raises(DeadlineError):
            await hub.create_task(create_request(template("job", {})), timeout=0)

    run(body())


@pytest.mark.parametrize("timeout", [5, None], ids=["with-deadline", "no-deadline"])
def test_connector_own_timeout_is_a_connector_error_not_ours(timeout: float | None) -> None:
    # On Python 3.10 this crosses asyncio.wait_for, which must not mistake it for the deadline firing.
    hub = Hub(registry_with(OwnTimeout()), metrics=False)
    with pytest.raises(ConnectorError, match="TimeoutError: upstream API timed out"):
        run(hub.create_task(create_request(template("job", {})), timeout=timeout))


class CancelIntoTimeout(JobConnector):
    async def create(self, *args, **kwargs):
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise TimeoutError("gave up") from None


def test_a_connector_that_turns_the_deadline_into_its_own_timeout_is_still_past_the_deadline() -> None:
    hub = Hub(registry_with(CancelIntoTimeout()), metrics=False)
    with pytest.raises(DeadlineError):
        run(hub.create_task(create_request(template("job", {})), timeout=0.1))


def test_within_tells_the_deadline_from_the_work_s_own_timeout() -> None:
    async def own() -> None:
        raise asyncio.TimeoutError("mine")  # the builtin TimeoutError from 3.11, a subclass before

    async def body() -> None:
        with pytest.raises(_invoke.OwnTimeout) as caught:
            await _invoke.within(own(), 5)
        assert str(caught.value.__cause__) == "mine"
        with pytest.raises((TimeoutError, asyncio.TimeoutError)) as fired:
            await _invoke.within(asyncio.sleep(5), 0.05)
        assert not isinstance(fired.value, _invoke.OwnTimeout)
        assert await _invoke.within(asyncio.sleep(0, "done"), 5) == "done"

    run(body())


def test_draining_refuses_new_calls() -> None:
    hub = Hub(registry_with(JobConnector()), metrics=False)
    hub.start_draining()
    with pytest.raises(DrainingError):
        run(hub.create_task(create_request(template("job", {}))))
    with pytest.raises(DrainingError):
        hub.list_connectors()


def test_inputs_are_not_decoded_for_a_connector_that_takes_none() -> None:
    class NoInputs(AsyncConnector):
        task_type_name = "no-inputs"

        async def create(self, task_template, output_prefix, task_execution_metadata=None):  # type: ignore[override]
            return ResourceMeta()

        async def get(self, resource_meta):  # type: ignore[override]
            return Resource(phase=Phase.SUCCEEDED)

        async def delete(self, resource_meta):  # type: ignore[override]
            return None

    hub = Hub(registry_with(NoInputs(), JobConnector()), metrics=False)
    req = create_request(template("no-inputs"))
    # a literal the translators cannot decode (an empty Literal): never touched for this connector
    req.inputs.literals.add(name="odd", value=v2_core_literals.Literal())
    assert run(hub.create_task(req)).resource_meta == b"{}"
    req.template.type = "job"
    with pytest.raises(InvalidRequestError):
        run(hub.create_task(req))


def test_execute_sync_rejects_non_terminal_from_sync_connector() -> None:
    hub = Hub(registry_with(EchoSync()), metrics=False)
    with pytest.raises(DeadlineError, match="non-terminal"):
        run(hub.execute_sync(create_request(template("echo", {"final": Phase.RUNNING}))))


def test_async_connector_bytes_that_are_an_envelope_are_refused() -> None:
    hub = Hub(registry_with(EchoSync(), JobConnector()), metrics=False)
    meta = run(hub.create_task(create_request(template("echo", {})))).resource_meta
    with pytest.raises(InvalidRequestError):
        run(hub.get_task(v2.GetTaskRequest(task_category=v2.TaskCategory(name="job"), resource_meta=meta)))


def test_logs_stream_from_the_hub() -> None:
    hub = Hub(registry_with(JobConnector()), metrics=False)

    async def body() -> list:
        stream = await hub.get_task_logs(
            v2.GetTaskLogsRequest(task_category=v2.TaskCategory(name="job"), resource_meta=b'{"job_id":"1"}')
        )
        return [m async for m in stream]

    got = run(body())
    assert [m.WhichOneof("part") for m in got] == ["header", "body"]
    assert asyncio.iscoroutinefunction(hub.create_task)
