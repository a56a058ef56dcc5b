"""The hub through a real grpc.aio server, via the generated stubs of both generations."""

from __future__ import annotations

import asyncio
import datetime

import grpc
import pytest
from prometheus_client import REGISTRY

from tests._servers import run, serving
from tests.modern._connectors import (
    EchoSync,
    JobConnector,
    Phase,
    PlainConnector,
    create_request,
    literal_type,
    registry_with,
    template,
)
from tests.modern._gen_client import GENERATIONS, GenClient
from translators._gen import v2, v2_types
from translators.literals import outputs_to_native
from translators.values import Blob, StructuredDataset

pytestmark = pytest.mark.timeout(60)
S = v2_types.SimpleType


def _registry():
    return registry_with(JobConnector(), PlainConnector(), EchoSync())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_async_connector_every_task_rpc(gen: str) -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job)) as s:
            c = GenClient(gen, s)
            tmpl = template("job", {"message": "ok"}, inputs={"a": literal_type(S.INTEGER)})
            meta = await c.create(create_request(tmpl, {"a": 7}))
            ans = await c.get("job", meta)
            assert ans.phase == Phase.SUCCEEDED
            assert ans.outputs == {"a": 7}
            assert ans.message == "ok"
            assert [link.name for link in ans.raw.log_links] == ["console"]
            assert ans.raw.custom_info.fields["job_id"].string_value.startswith("job-")
            job_id = ans.raw.custom_info.fields["job_id"].string_value
            assert await c.metrics("job", meta) == [f"cpu:{job_id}"]
            logs = await c.logs("job", meta, token="abc")
            assert logs[0].header.token == "tok-abc"
            assert list(logs[1].body.results) == ["line 1", "line 2"]
            await c.delete("job", meta)
            assert job.deleted == [job_id]
            # create got native inputs, decoded once by the declared interface
            assert job.calls[0][1] == {"a": 7}

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_plain_function_connector_and_single_response_logs(gen: str) -> None:
    async def body() -> None:
        async with serving(_registry()) as s:
            c = GenClient(gen, s)
            meta = await c.create(create_request(template("plain")))
            assert (await c.get("plain", meta)).outputs == {"n": 1}
            logs = await c.logs("plain", meta, token="t9")
            assert len(logs) == 1 and list(logs[0].body.results) == ["only t9"]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await c.metrics("plain", meta)
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED

    run(body())


def _kinds() -> tuple[dict, dict]:
    coll = v2_types.LiteralType(collection_type=literal_type(S.INTEGER))
    mapt = v2_types.LiteralType(map_value_type=literal_type(S.STRING))
    blob = v2_types.LiteralType(blob=v2_types.BlobType(format=""))
    types = {
        "i": literal_type(S.INTEGER),
        "f": literal_type(S.FLOAT),
        "s": literal_type(S.STRING),
        "b": literal_type(S.BOOLEAN),
        "dt": literal_type(S.DATETIME),
        "dur": literal_type(S.DURATION),
        "xs": coll,
        "m": mapt,
        "file": blob,
    }
    values = {
        "i": -3,
        "f": 2.5,
        "s": "héllo",
        "b": True,
        "dt": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
        "dur": datetime.timedelta(minutes=5, microseconds=7),
        "xs": [1, 2, 3],
        "m": {"k": "v"},
        "file": Blob(uri="s3://bucket/f.txt"),
    }
    return types, values


@pytest.mark.parametrize("gen", GENERATIONS)
def test_sync_connector_through_create_and_get_with_native_values(gen: str) -> None:
    echo = EchoSync()
    types, values = _kinds()
    # undeclared values: types are inferred by the translators on the way back
    values_undeclared = {"nothing": None, "frame": StructuredDataset(uri="s3://d", format="parquet")}

    async def body() -> None:
        async with serving(registry_with(echo)) as s:
            c = GenClient(gen, s)
            tmpl = template("echo", {}, inputs=types, outputs=types)
            meta = await c.create(create_request(tmpl, {**values, **values_undeclared}))
            assert echo.calls[0][0] == {**values, **values_undeclared}
            first = await c.get("echo", meta)
            again = await c.get("echo", meta)  # repeatable from resource_meta alone
            assert first.phase == again.phase == Phase.SUCCEEDED
            assert outputs_to_native(first.raw.outputs, tmpl.interface.outputs) == {**values, **values_undeclared}
            assert first.raw == again.raw
            await c.delete("echo", meta)  # nothing to cancel; idempotent

    run(body())


def test_secrets_and_configs_become_kwargs_and_stay_out_of_errors() -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job)) as s:
            tmpl = template("job", {})
            req = create_request(tmpl, secrets={"api_key": "s3cr3t-value", "region": "from-secret"},
                                 configs={"region": "eu"})
            meta = (await s.v2.async_.CreateTask(req)).resource_meta
            assert job.calls[-1][2] == {"api_key": "s3cr3t-value", "region": "eu"}  # configs win
            get = v2.GetTaskRequest(task_category=v2.TaskCategory(name="job"), resource_meta=meta)
            get.connection.secrets["api_key"] = "again"
            await s.v2.async_.GetTask(get)
            assert job.calls[-1][2] == {"api_key": "again"}
            # a failing connector echoing the secret: the detail has it scrubbed
            bad = create_request(template("job", {"fail": "token s3cr3t-value rejected"}),
                                 secrets={"api_key": "s3cr3t-value"})
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.v2.async_.CreateTask(bad)
            assert err.value.code() == grpc.StatusCode.INTERNAL
            assert "s3cr3t-value" not in err.value.details() and "***" in err.value.details()
            clash = create_request(tmpl, secrets={"inputs": "x"})
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.v2.async_.CreateTask(clash)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


ERROR_ROWS = [
    "not_found",
    "bad_meta",
    "missing_template",
    "connector_raised",
    "deadline",
    "unimplemented",
    "draining",
    "no_phase",
]


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("row", ERROR_ROWS)
def test_error_table(gen: str, row: str) -> None:
    expected = {
        "not_found": grpc.StatusCode.NOT_FOUND,
        "bad_meta": grpc.StatusCode.INVALID_ARGUMENT,
        "missing_template": grpc.StatusCode.INVALID_ARGUMENT,
        "connector_raised": grpc.StatusCode.INTERNAL,
        "deadline": grpc.StatusCode.DEADLINE_EXCEEDED,
        "unimplemented": grpc.StatusCode.UNIMPLEMENTED,
        "draining": grpc.StatusCode.UNAVAILABLE,
        "no_phase": grpc.StatusCode.INTERNAL,
    }[row]

    async def body() -> None:
        async with serving(_registry()) as s:
            c = GenClient(gen, s)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                if row == "not_found":
                    await c.create(create_request(template("nope", {})))
                elif row == "bad_meta":
                    await c.get("job", b"\xff not json")
                elif row == "missing_template":
                    await c.create(v2.CreateTaskRequest(output_prefix="s3://x"))
                elif row == "connector_raised":
                    await c.create(create_request(template("job", {"fail": "x" * 5000})))
                elif row == "deadline":
                    await c.create(create_request(template("job", {"sleep": 5})), timeout=0.3)
                elif row == "unimplemented":
                    await c.metrics("plain", b'{"job_id": "1"}')
                elif row == "draining":
                    s.hub.start_draining()
                    await c.get("job", b'{"job_id": "1"}')
                elif row == "no_phase":
                    meta = await c.create(create_request(template("job", {"no_phase": True})))
                    await c.get("job", meta)
            assert err.value.code() == expected
            details = err.value.details() or ""
            assert len(details) <= 1024
            assert "Traceback" not in details and 'File "' not in details

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_not_found_names_category_and_registered(gen: str) -> None:
    async def body() -> None:
        async with serving(_registry()) as s:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await GenClient(gen, s).get("missing", b"{}", version=3)
            assert "missing" in err.value.details() and "job v0" in err.value.details()

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_stateless_across_two_servers(gen: str) -> None:
    async def body() -> None:
        async with serving(_registry()) as a, serving(_registry()) as b:
            ca, cb = GenClient(gen, a), GenClient(gen, b)
            for task_type, custom in (("job", {"message": "m"}), ("echo", {})):
                tmpl = template(task_type, custom, inputs={"x": literal_type(S.STRING)},
                                outputs={"x": literal_type(S.STRING)})
                meta = await ca.create(create_request(tmpl, {"x": "y"}))
                on_a, on_b = await ca.get(task_type, meta), await cb.get(task_type, meta)
                assert on_b.phase == on_a.phase == Phase.SUCCEEDED
                assert on_b.outputs == on_a.outputs == {"x": "y"}
                assert on_b.message == on_a.message
                await cb.delete(task_type, meta)

    run(body())


def test_client_cancellation_reaches_the_connector() -> None:
    job = JobConnector()

    async def body() -> None:
        async with serving(registry_with(job)) as s:
            call = s.v2.async_.CreateTask(create_request(template("job", {"sleep": 10})))
            await asyncio.sleep(0.3)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            for _ in range(50):
                if job.cancel_seen:
                    break
                await asyncio.sleep(0.02)
            assert job.cancel_seen == 1

    run(body())


def test_sync_result_over_the_bound_is_a_clear_error() -> None:
    async def body() -> None:
        async with serving(registry_with(EchoSync()), max_sync_resource_bytes=4096) as s:
            small = create_request(template("echo", {"big": 100}))
            assert (await s.v2.async_.CreateTask(small)).resource_meta
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.v2.async_.CreateTask(create_request(template("echo", {"big": 5000})))
            assert err.value.code() == grpc.StatusCode.INTERNAL
            assert "4096" in err.value.details()

    run(body())


@pytest.mark.parametrize("gen", GENERATIONS)
def test_metadata_list_and_get(gen: str) -> None:
    async def body() -> None:
        async with serving(_registry()) as s:
            c = GenClient(gen, s)
            listed = await c.connectors()
            assert listed == {"Job Connector": [("job", 0)], "Plain Connector": [("plain", 0)], "Echo": [("echo", 0)]}
            assert await c.connector("Echo") == [("echo", 0)]
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await c.connector("nobody")
            assert err.value.code() == grpc.StatusCode.NOT_FOUND

    run(body())


def test_undecodable_request_bytes_are_invalid_argument() -> None:
    async def body() -> None:
        async with serving(_registry()) as s:
            for method in ("/flyteidl2.connector.AsyncConnectorService/GetTask",
                           "/flyteidl.service.AsyncAgentService/GetTask"):
                call = s.channel.unary_unary(method)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(b"\x0a\xff\xff\xff")  # a length past the end
                assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    run(body())


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_request_metrics_count_success_and_failure() -> None:
    ok = {"task_type": "job", "operation": "create"}
    bad = {"task_type": "job", "operation": "create", "error_code": "500"}
    before_ok = _sample("flyte_connector_requests_success_total", ok)
    before_bad = _sample("flyte_connector_requests_failure_total", bad)

    async def body() -> None:
        async with serving(_registry()) as s:
            await s.v2.async_.CreateTask(create_request(template("job", {})))
            with pytest.raises(grpc.aio.AioRpcError):
                await s.v2.async_.CreateTask(create_request(template("job", {"fail": "no"})))

    run(body())
    assert _sample("flyte_connector_requests_success_total", ok) == before_ok + 1
    assert _sample("flyte_connector_requests_failure_total", bad) == before_bad + 1
    assert _sample("flyte_connector_request_latency_seconds_count", {"task_type": "job", "operation": "create"}) >= 2
