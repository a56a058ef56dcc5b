"""Create/Get/Delete task messages: ``flyteidl.admin`` <-> ``flyteidl2.connector``.

Wire-level differences (kept as unknown fields, so round trips are lossless): v1-only
``TaskExecutionMetadata.overrides``, ``Resource.state``/``agent_error``, the deprecated ``task_type``;
v2-only ``connection`` and ``inputs.context``. Fix-ups: ``task_type`` -> ``task_category``,
``phase`` <-> ``state``, inputs ordered as the template's interface declares them (else by name),
outputs by name; duplicate names going into a v1 map raise ``DuplicateNameError``.
"""

from __future__ import annotations

from operator import attrgetter

from google.protobuf.message import Message

from translators._fixups import MapLists, SameNames, StateFixup, TaskTypeFixup, order_entries, order_named
from translators._gen import v1, v2
from translators._pair import Pair
from translators.compat import check_unique_names

#: The request's inputs are named exactly as its interface declares them, in that order (the common
#: case, and then there is nothing to order): decided in C from the bytes, no name read in Python.
_INPUTS_AS_DECLARED = SameNames.of(v2.CreateTaskRequest, ("inputs", "literals"),
                                   ("template", "interface", "inputs", "variables"))


def _order_create_inputs(m: Message, data: bytes) -> None:
    if _INPUTS_AS_DECLARED is not None and _INPUTS_AS_DECLARED(data):
        return
    if m.HasField("inputs"):
        declared = [v.key for v in m.template.interface.inputs.variables]
        order_named(m.inputs, "literals", declared)


_RESOURCE_OUTPUTS = attrgetter("resource.outputs.literals")  # unset: reads as empty, nothing to order
_OUTPUTS = attrgetter("outputs.literals")


def _order_resource_outputs(m: Message, data: bytes) -> None:
    order_entries(_RESOURCE_OUTPUTS(m))


def _order_outputs(res: Message, data: bytes) -> None:
    order_entries(_OUTPUTS(res))


def _checked(v1_cls: type[Message], v2_cls: type[Message], **kwargs: object) -> Pair:
    """A pair whose v2 lists become v1 maps: duplicate names are an error (cheap test, exact check)."""
    return Pair(v1_cls, v2_cls, check_v1=check_unique_names, map_lists=MapLists.of(v1_cls, v2_cls), **kwargs)


CREATE_TASK_REQUEST = _checked(v1.CreateTaskRequest, v2.CreateTaskRequest, order_v2=_order_create_inputs)
CREATE_TASK_RESPONSE = Pair(v1.CreateTaskResponse, v2.CreateTaskResponse)
CREATE_REQUEST_HEADER = _checked(v1.CreateRequestHeader, v2.CreateRequestHeader)
GET_TASK_REQUEST = Pair(v1.GetTaskRequest, v2.GetTaskRequest, fixups=[TaskTypeFixup()])
GET_TASK_RESPONSE = _checked(v1.GetTaskResponse, v2.GetTaskResponse, fixups=[StateFixup(("resource",))],
                             order_v2=_order_resource_outputs)
RESOURCE = _checked(v1.Resource, v2.Resource, fixups=[StateFixup(())], order_v2=_order_outputs)
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
