"""Create/Get/Delete task messages: ``flyteidl.admin`` <-> ``flyteidl2.connector``.

Wire-level differences (kept as unknown fields, so round trips are lossless): v1-only
``TaskExecutionMetadata.overrides``, ``Resource.state``/``agent_error``, the deprecated ``task_type``;
v2-only ``connection`` and ``inputs.context``. Fix-ups: ``task_type`` -> ``task_category``,
``phase`` <-> ``state``, inputs ordered as the template's interface declares them (else by name),
outputs by name; duplicate names going into a v1 map raise ``DuplicateNameError``.
"""

from __future__ import annotations

from google.protobuf.message import Message

from translators._fixups import StateFixup, TaskTypeFixup, order_named
from translators._gen import v1, v2
from translators._pair import Pair
from translators.compat import check_unique_names


def _order_create_inputs(m: Message) -> None:
    if m.HasField("inputs"):
        declared = [v.key for v in m.template.interface.inputs.variables]
        order_named(m.inputs, "literals", declared)


def _order_resource_outputs(m: Message) -> None:
    for res in (m.resource,) if m.HasField("resource") else ():
        if res.HasField("outputs"):
            order_named(res.outputs, "literals")


def _order_outputs(res: Message) -> None:
    if res.HasField("outputs"):
        order_named(res.outputs, "literals")


CREATE_TASK_REQUEST = Pair(v1.CreateTaskRequest, v2.CreateTaskRequest, check_v1=check_unique_names,
                           order_v2=_order_create_inputs)
CREATE_TASK_RESPONSE = Pair(v1.CreateTaskResponse, v2.CreateTaskResponse)
CREATE_REQUEST_HEADER = Pair(v1.CreateRequestHeader, v2.CreateRequestHeader, check_v1=check_unique_names)
GET_TASK_REQUEST = Pair(v1.GetTaskRequest, v2.GetTaskRequest, fixups=[TaskTypeFixup()])
GET_TASK_RESPONSE = Pair(v1.GetTaskResponse, v2.GetTaskResponse, fixups=[StateFixup(("resource",))],
                         check_v1=check_unique_names, order_v2=_order_resource_outputs)
RESOURCE = Pair(v1.Resource, v2.Resource, fixups=[StateFixup(())], check_v1=check_unique_names,
                order_v2=_order_outputs)
DELETE_TASK_REQUEST = Pair(v1.DeleteTaskRequest, v2.DeleteTaskRequest, fixups=[TaskTypeFixup()])
DELETE_TASK_RESPONSE = Pair(v1.DeleteTaskResponse, v2.DeleteTaskResponse)

create_task_request_to_v2 = CREATE_TASK_REQUEST.to_v2
create_task_request_to_v1 = CREATE_TASK_REQUEST.to_v1
create_task_request_to_v2_from_wire = CREATE_TASK_REQUEST.to_v2_from_wire
create_task_request_to_v1_from_wire = CREATE_TASK_REQUEST.to_v1_from_wire
create_task_response_to_v2 = CREATE_TASK_RESPONSE.to_v2
create_task_response_to_v1 = CREATE_TASK_RESPONSE.to_v1
create_task_response_to_v2_from_wire = CREATE_TASK_RESPONSE.to_v2_from_wire
create_task_response_to_v1_from_wire = CREATE_TASK_RESPONSE.to_v1_from_wire
create_request_header_to_v2 = CREATE_REQUEST_HEADER.to_v2
create_request_header_to_v1 = CREATE_REQUEST_HEADER.to_v1
create_request_header_to_v2_from_wire = CREATE_REQUEST_HEADER.to_v2_from_wire
create_request_header_to_v1_from_wire = CREATE_REQUEST_HEADER.to_v1_from_wire
get_task_request_to_v2 = GET_TASK_REQUEST.to_v2
get_task_request_to_v1 = GET_TASK_REQUEST.to_v1
get_task_request_to_v2_from_wire = GET_TASK_REQUEST.to_v2_from_wire
get_task_request_to_v1_from_wire = GET_TASK_REQUEST.to_v1_from_wire
get_task_response_to_v2 = GET_TASK_RESPONSE.to_v2
get_task_response_to_v1 = GET_TASK_RESPONSE.to_v1
get_task_response_to_v2_from_wire = GET_TASK_RESPONSE.to_v2_from_wire
get_task_response_to_v1_from_wire = GET_TASK_RESPONSE.to_v1_from_wire
resource_to_v2 = RESOURCE.to_v2
resource_to_v1 = RESOURCE.to_v1
resource_to_v2_from_wire = RESOURCE.to_v2_from_wire
resource_to_v1_from_wire = RESOURCE.to_v1_from_wire
delete_task_request_to_v2 = DELETE_TASK_REQUEST.to_v2
delete_task_request_to_v1 = DELETE_TASK_REQUEST.to_v1
delete_task_request_to_v2_from_wire = DELETE_TASK_REQUEST.to_v2_from_wire
delete_task_request_to_v1_from_wire = DELETE_TASK_REQUEST.to_v1_from_wire
delete_task_response_to_v2 = DELETE_TASK_RESPONSE.to_v2
delete_task_response_to_v1 = DELETE_TASK_RESPONSE.to_v1
delete_task_response_to_v2_from_wire = DELETE_TASK_RESPONSE.to_v2_from_wire
delete_task_response_to_v1_from_wire = DELETE_TASK_RESPONSE.to_v1_from_wire

PAIRS = (CREATE_TASK_REQUEST, CREATE_TASK_RESPONSE, CREATE_REQUEST_HEADER, GET_TASK_REQUEST,
         GET_TASK_RESPONSE, RESOURCE, DELETE_TASK_REQUEST, DELETE_TASK_RESPONSE)
