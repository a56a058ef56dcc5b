"""Each fix-up, written as old and new clients send the messages (CLIENTS.md)."""

from __future__ import annotations

import pytest

import translators as T
from translators._gen import v1, v2, v1_core_literals as l1, v2_core_execution
from translators.errors import DuplicateNameError, WireDecodeError

Phase = v2_core_execution.TaskExecution


def test_old_propeller_get_with_only_task_type_routes_by_category() -> None:
    # archived flyteplugins: only task_type and resource_meta
    data = v1.GetTaskRequest(task_type="bigquery_query_job_task", resource_meta=b"{}").SerializeToString()
    m2 = T.get_task_request_to_v2_from_wire(data, mark=False)
    assert (m2.task_category.name, m2.task_category.version) == ("bigquery_query_job_task", 0)
    assert T.unmapped_fields(m2) == ["task_type"]


def test_current_propeller_get_keeps_the_category_version() -> None:
    req = v1.GetTaskRequest(task_type="spark", task_category=v1.TaskCategory(name="spark", version=2),
                            resource_meta=b"x")
    req.MergeFromString(v2.GetTaskRequest(output_prefix="s3://b/p").SerializeToString())  # unknown before flyteidl 1.15.2
    m2 = T.get_task_request_to_v2(req)
    assert (m2.task_category.name, m2.task_category.version) == ("spark", 2)
    assert m2.output_prefix == "s3://b/p"


def test_delete_metrics_logs_get_the_same_fallback() -> None:
    for cls, fn in ((v1.DeleteTaskRequest, T.delete_task_request_to_v2),
                    (v1.GetTaskMetricsRequest, T.get_task_metrics_request_to_v2),
                    (v1.GetTaskLogsRequest, T.get_task_logs_request_to_v2)):
        assert fn(cls(task_type="t")).task_category.name == "t"


def test_v2_request_to_v1_fills_task_type_like_propeller() -> None:
    m1 = T.get_task_request_to_v1(v2.GetTaskRequest(task_category=v2.TaskCategory(name="sensor")), mark=False)
    assert m1.task_type == "sensor"


@pytest.mark.parametrize(("phase", "state"), [
    (Phase.QUEUED, v1.PENDING), (Phase.INITIALIZING, v1.PENDING), (Phase.WAITING_FOR_RESOURCES, v1.PENDING),
    (Phase.RUNNING, v1.RUNNING), (Phase.SUCCEEDED, v1.SUCCEEDED), (Phase.FAILED, v1.PERMANENT_FAILURE),
    (Phase.ABORTED, v1.PERMANENT_FAILURE), (Phase.RETRYABLE_FAILED, v1.RETRYABLE_FAILURE),
])
def test_v1_resource_always_carries_phase_and_derived_state(phase: int, state: int) -> None:
    r1 = T.get_task_response_to_v1(v2.GetTaskResponse(resource=v2.Resource(phase=phase)), mark=False)
    assert r1.resource.phase == phase
    assert r1.resource.state == state


def test_retryable_as_permanent_for_pre_1_16_propellers() -> None:
    r1 = T.resource_to_v1(v2.Resource(phase=Phase.RETRYABLE_FAILED), mark=False, retryable_as_permanent=True)
    assert (r1.phase, r1.state) == (Phase.FAILED, v1.PERMANENT_FAILURE)


def test_state_only_v1_connector_gets_a_phase() -> None:
    # a flytekit connector from before phase existed sets only state
    m2 = T.resource_to_v2(v1.Resource(state=v1.SUCCEEDED, message="done"))
    assert m2.phase == Phase.SUCCEEDED
    assert T.resource_to_v1(m2) == v1.Resource(state=v1.SUCCEEDED, message="done")


def test_connector_to_agent_computes_types_and_is_sync() -> None:
    resp = v2.ListConnectorsResponse(connectors=[
        v2.Connector(name="Sensor", supported_task_categories=[v2.TaskCategory(name="sensor")]),
        v2.Connector(name="Chat", supported_task_categories=[v2.TaskCategory(name="chatgpt", version=1)]),
    ])
    r1 = T.list_connectors_response_to_v1(resp, mark=False, is_sync=lambda name: name == "Chat")
    assert [(a.name, list(a.supported_task_types), a.is_sync) for a in r1.agents] == [
        ("Sensor", ["sensor"], False), ("Chat", ["chatgpt"], True)]
    assert r1.agents[1].supported_task_categories[0].version == 1


def test_inputs_ordered_by_interface_then_name() -> None:
    from flyteidl.core import interface_pb2

    tmpl = v1.CreateTaskRequest().template
    for name in ("b", "a"):
        tmpl.interface.inputs.variables[name].CopyFrom(interface_pb2.Variable())
    req = v1.CreateTaskRequest(template=tmpl)
    for name in ("z", "a", "b"):
        req.inputs.literals[name].scalar.primitive.integer = 1
    m2 = T.create_task_request_to_v2(req)
    declared = [v.key for v in m2.template.interface.inputs.variables]
    assert [lit.name for lit in m2.inputs.literals] == declared + ["z"]


def test_outputs_without_interface_ordered_by_name() -> None:
    r = v1.Resource(phase=Phase.SUCCEEDED)
    for name in ("o2", "o0", "o1"):
        r.outputs.literals[name].scalar.primitive.integer = 1
    assert [x.name for x in T.resource_to_v2(r).outputs.literals] == ["o0", "o1", "o2"]


def test_duplicate_input_names_cannot_become_a_v1_map() -> None:
    req = v2.CreateTaskRequest()
    for _ in range(2):
        req.inputs.literals.add(name="x")
    with pytest.raises(DuplicateNameError) as err:
        T.create_task_request_to_v1(req)
    assert err.value.name == "x"
    assert "flyteidl2.task.Inputs.literals" in str(err.value)


def test_connection_and_overrides_survive_as_unknown_fields() -> None:
    req = v2.CreateTaskRequest(output_prefix="p")
    req.connection.secrets["token"] = "s3cr3t"
    m1 = T.create_task_request_to_v1(req)
    assert T.unmapped_fields(m1) == ["connection"]
    assert T.create_task_request_to_v2(m1) == req
    old = v1.CreateTaskRequest()
    old.task_execution_metadata.overrides.resources.SetInParent()
    assert T.unmapped_fields(T.to_v2(old)) == ["task_execution_metadata.overrides"]


def test_garbage_bytes_raise_a_bounded_decode_error() -> None:
    with pytest.raises(WireDecodeError) as err:
        T.get_task_request_to_v2_from_wire(b"\xff" * 10_000)
    assert len(str(err.value)) <= 512


def test_sync_stream_folds_into_one_create_request() -> None:
    header = v1.CreateRequestHeader(output_prefix="s3://p", max_dataset_size_bytes=1024)
    header.template.type = "chatgpt"
    inputs = l1.LiteralMap()
    inputs.literals["prompt"].scalar.primitive.string_value = "hi"
    m2 = T.execute_task_sync_requests_to_v2([v1.ExecuteTaskSyncRequest(header=header),
                                             v1.ExecuteTaskSyncRequest(inputs=inputs)])
    assert m2.template.type == "chatgpt" and m2.inputs.literals[0].name == "prompt"
    stream = T.create_task_request_to_execute_task_sync_v1(m2)
    assert stream[0].header == header and stream[1].inputs == inputs


@pytest.mark.parametrize("parts", [["inputs"], ["header", "header"], [], ["header", "inputs", "inputs"]])
def test_malformed_sync_streams_are_rejected(parts: list[str]) -> None:
    msgs = [v1.ExecuteTaskSyncRequest(header=v1.CreateRequestHeader()) if p == "header"
            else v1.ExecuteTaskSyncRequest(inputs=l1.LiteralMap()) for p in parts]
    with pytest.raises(T.SyncStreamError):
        T.execute_task_sync_requests_to_v2(msgs)


def test_sync_reply_carries_phase_and_state() -> None:
    reply = T.resource_to_execute_task_sync_response_v1(v2.Resource(phase=Phase.SUCCEEDED), mark=False)
    assert reply.header.resource.phase == Phase.SUCCEEDED and reply.header.resource.state == v1.SUCCEEDED


def test_dispatch_rejects_foreign_messages() -> None:
    with pytest.raises(T.UnknownMessageTypeError):
        T.to_v2(l1.Literal())
