"""Translate every message of Flyte 1's agent API into Flyte 2's connector API and back.

Pure: no gRPC, no I/O. ``to_v1``/``to_v2`` dispatch on the message type; the per-message functions
(``get_task_request_to_v2`` ...) and their ``..._from_wire`` forms (bytes of one generation parsed
straight into the other's class) live in the family modules and are re-exported here.
Importing this package computes the wire-compatibility table from the installed descriptors and
raises ``WireCompatibilityError`` if a field number collides (see ``translators.compat``).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from translators import compat, metadata, observability, tasks
from translators.literals import (
    inputs_to_native,
    literal_to_native,
    native_to_inputs,
    native_to_literal,
    native_to_outputs,
    outputs_to_native,
    variable_types,
)
from translators.values import Blob, BlobDimensionality, StructuredDataset
from translators._pair import MARKER_FIELD, Pair
from translators.errors import (
    DuplicateNameError,
    LiteralConversionError,
    TranslationError,
    UnknownMessageTypeError,
    WireCompatibilityError,
    WireDecodeError,
)
from translators.metadata import *  # noqa: F403  (explicit __all__ below)
from translators.observability import *  # noqa: F403
from translators.sync import (
    SyncStreamError,
    create_task_request_to_execute_task_sync_v1,
    execute_task_sync_requests_to_v2,
    execute_task_sync_response_to_v2,
    header_to_create_task_request,
    resource_to_execute_task_sync_response_v1,
)
from translators.tasks import *  # noqa: F403

PAIRS: tuple[Pair[Any, Any], ...] = tasks.PAIRS + metadata.PAIRS + observability.PAIRS
_BY_V1 = {p.v1_cls: p for p in PAIRS}
_BY_V2 = {p.v2_cls: p for p in PAIRS}


def pair_of(msg_or_type: Message | type[Message]) -> Pair[Any, Any]:
    """The translation pair for a message (or message class) of either generation."""
    cls = msg_or_type if isinstance(msg_or_type, type) else type(msg_or_type)
    pair = _BY_V1.get(cls) or _BY_V2.get(cls)
    if pair is None:
        raise UnknownMessageTypeError(cls.DESCRIPTOR.full_name)
    return pair


def to_v2(msg: Message, **kwargs: Any) -> Message:
    """Translate any v1 message of the agent services into its v2 counterpart."""
    pair = _BY_V1.get(type(msg))
    if pair is None:
        raise UnknownMessageTypeError(msg.DESCRIPTOR.full_name)
    return pair.to_v2(msg, **kwargs)


def to_v1(msg: Message, **kwargs: Any) -> Message:
    """Translate any v2 message of the connector services into its v1 counterpart."""
    pair = _BY_V2.get(type(msg))
    if pair is None:
        raise UnknownMessageTypeError(msg.DESCRIPTOR.full_name)
    return pair.to_v1(msg, **kwargs)


def unmapped_fields(msg: Message) -> list[str]:
    """Dotted paths of the fields ``msg`` carries as unknown fields (set by the other generation
    and with no home in this one), e.g. ``['task_execution_metadata.overrides']`` for a v2 message
    translated from a v1 request. The translation marker is not listed."""
    from translators._unmapped import unmapped_fields as impl

    return impl(msg)


__all__ = sorted(
    {
        "MARKER_FIELD",
        "Blob",
        "BlobDimensionality",
        "StructuredDataset",
        "inputs_to_native",
        "literal_to_native",
        "native_to_inputs",
        "native_to_literal",
        "native_to_outputs",
        "outputs_to_native",
        "variable_types",
        "PAIRS",
        "DuplicateNameError",
        "LiteralConversionError",
        "SyncStreamError",
        "TranslationError",
        "UnknownMessageTypeError",
        "WireCompatibilityError",
        "WireDecodeError",
        "compat",
        "create_task_request_to_execute_task_sync_v1",
        "execute_task_sync_requests_to_v2",
        "execute_task_sync_response_to_v2",
        "header_to_create_task_request",
        "pair_of",
        "resource_to_execute_task_sync_response_v1",
        "to_v1",
        "to_v2",
        "unmapped_fields",
    }
    | {n for mod in (tasks, metadata, observability) for n in vars(mod) if "_to_v" in n}
)
