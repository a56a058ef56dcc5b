"""v1 ``ExecuteTaskSync`` stream messages <-> v2 ``CreateTaskRequest`` / ``Resource``.

v2 has no sync service, so a sync call is one ``CreateTaskRequest`` (header fields + inputs) in, and
one ``Resource`` out. The header's ``max_dataset_size_bytes`` has no field in ``CreateTaskRequest``;
it travels as an unknown field numbered ``MAX_DATASET_FIELD`` so nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import unknown_fields

from translators._fixups import order_named
from translators._gen import v1, v2, v2_task_common
from translators._pair import MARKER_FIELD, encode_varint, parse
from translators.errors import TranslationError
from translators.tasks import CREATE_REQUEST_HEADER, RESOURCE

MAX_DATASET_FIELD = MARKER_FIELD - 1


class SyncStreamError(TranslationError):
    """The ExecuteTaskSync request stream is not ``header`` then at most one ``inputs``."""


def execute_task_sync_requests_to_v2(requests: Iterable[v1.ExecuteTaskSyncRequest]) -> v2.CreateTaskRequest:
    """Fold a v1 sync request stream (header, then optional inputs) into one v2 CreateTaskRequest.

    Raises:
        SyncStreamError: inputs before the header, a second header or a second inputs message.
    """
    out: v2.CreateTaskRequest | None = None
    have_inputs = False
    for i, req in enumerate(requests):
        part = req.WhichOneof("part")
        if part == "header":
            if out is not None:
                raise SyncStreamError(f"message {i}: a second header; the stream is header, then inputs")
            out = header_to_create_task_request(req.header)
        elif part == "inputs":
            if out is None:
                raise SyncStreamError(f"message {i}: inputs before the header")
            if have_inputs:
                raise SyncStreamError(f"message {i}: a second inputs message")
            have_inputs = True
            # v1 LiteralMap bytes are v2 Inputs bytes: merged straight into the (empty) inputs
            out.inputs.MergeFromString(req.inputs.SerializeToString())
            declared = [v.key for v in out.template.interface.inputs.variables]
            order_named(out.inputs, "literals", declared)
        else:
            raise SyncStreamError(f"message {i}: neither header nor inputs")
    if out is None:
        raise SyncStreamError("the stream ended without a header")
    return out


def header_to_create_task_request(header: v1.CreateRequestHeader) -> v2.CreateTaskRequest:
    """The v2 request for a v1 sync header (no inputs yet)."""
    h2 = CREATE_REQUEST_HEADER.to_v2(header, mark=False)
    out = v2.CreateTaskRequest(output_prefix=h2.output_prefix)
    if h2.HasField("template"):
        out.template.CopyFrom(h2.template)
    if h2.HasField("task_execution_metadata"):
        out.task_execution_metadata.CopyFrom(h2.task_execution_metadata)
    if h2.HasField("connection"):
        out.connection.CopyFrom(h2.connection)
    if h2.max_dataset_size_bytes:
        out.MergeFromString(encode_varint(MAX_DATASET_FIELD << 3) + encode_varint(h2.max_dataset_size_bytes & (2**64 - 1)))
    return out


def create_task_request_to_execute_task_sync_v1(m2: v2.CreateTaskRequest) -> list[v1.ExecuteTaskSyncRequest]:
    """The v1 sync request stream (header, then inputs when present) for a v2 CreateTaskRequest."""
    h2 = v2.CreateRequestHeader(output_prefix=m2.output_prefix)
    if m2.HasField("template"):
        h2.template.CopyFrom(m2.template)
    if m2.HasField("task_execution_metadata"):
        h2.task_execution_metadata.CopyFrom(m2.task_execution_metadata)
    if m2.HasField("connection"):
        h2.connection.CopyFrom(m2.connection)
    for f in unknown_fields.UnknownFieldSet(m2):
        if f.field_number == MAX_DATASET_FIELD:
            value = f.data
            h2.max_dataset_size_bytes = value - 2**64 if value >= 2**63 else value
    stream = [v1.ExecuteTaskSyncRequest(header=CREATE_REQUEST_HEADER.to_v1(h2, mark=False))]
    if m2.HasField("inputs"):
        from translators.compat import check_unique_names

        check_unique_names(m2.inputs)
        stream.append(v1.ExecuteTaskSyncRequest(inputs=parse(v1.ExecuteTaskSyncRequest().inputs.__class__,
                                                              m2.inputs.SerializeToString())))
    return stream


def execute_task_sync_response_to_v2(resp: v1.ExecuteTaskSyncResponse) -> v2.Resource:
    """The v2 Resource of a v1 sync reply (a header; an ``outputs`` message becomes the outputs)."""
    if resp.WhichOneof("res") == "outputs":
        return v2.Resource(outputs=parse(v2_task_common.Outputs, resp.outputs.SerializeToString()))
    return RESOURCE.to_v2(resp.header.resource)


def resource_to_execute_task_sync_response_v1(res: v2.Resource, **opts: object) -> v1.ExecuteTaskSyncResponse:
    """The one header reply propeller reads (``phase`` set, ``state`` derived, outputs inside)."""
    return v1.ExecuteTaskSyncResponse(header=v1.ExecuteTaskSyncResponseHeader(resource=RESOURCE.to_v1(res, **opts)))
