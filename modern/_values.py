"""What crosses between protobuf requests and connector calls: inputs, outputs, Resource, kwargs.

Native values are decoded and encoded by ``translators.literals`` (imported lazily: it is written
in parallel with the hub, and importing it only when a call needs it keeps server start cheap).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct

from modern.errors import ConnectorError, InvalidRequestError
from translators._gen import v1, v1_core_execution, v1_core_literals, v2, v2_core_execution, v2_core_literals
from translators._gen import v2_task_common as common
from translators.errors import TranslationError

_UNDEFINED = v2_core_execution.TaskExecution.UNDEFINED
_PHASES = frozenset(v2_core_execution.TaskExecution.Phase.values())

# Parameter names of the connector methods: a connection key with one of these names would collide
# with the hub's own argument, so it is refused instead of raising TypeError inside the connector.
RESERVED_KWARGS = frozenset(
    {"self", "task_template", "output_prefix", "inputs", "task_execution_metadata", "resource_meta"}
)


def connection_kwargs(request: Message) -> dict[str, str]:
    """Keyword arguments from a v2 request's ``connection``: secrets first, then configs.

    On a key present in both, the config wins, as under flyte-sdk's ``c0`` (drop-in behaviour).
    Values are never logged nor put in an error.

    Args:
        request: A v2 Create/Get/Delete request (other messages give no kwargs).

    Returns:
        The merged keyword arguments (empty without a connection).

    Raises:
        InvalidRequestError: A key collides with a connector parameter name.
    """
    if not request.HasField("connection"):
        return {}
    conn = request.connection
    kwargs: dict[str, str] = dict(conn.secrets)
    kwargs.update(conn.configs)
    clash = RESERVED_KWARGS.intersection(kwargs)
    if clash:
        raise InvalidRequestError(f"connection key(s) {sorted(clash)} collide with connector parameters")
    return kwargs


def secret_values(request: Message) -> tuple[str, ...]:
    """The secret values of a request's connection, to scrub from error details."""
    if not request.HasField("connection"):
        return ()
    return tuple(v for v in request.connection.secrets.values() if len(v) >= 4)


def decode_inputs(inputs: common.Inputs, variables: Any) -> dict[str, Any]:
    """Native values of a request's inputs, typed by the template's input interface.

    Raises:
        InvalidRequestError: A literal cannot be decoded (or does not fit its declared type).
    """
    from translators.literals import inputs_to_native

    try:
        return inputs_to_native(inputs, variables)
    except TranslationError as exc:
        raise InvalidRequestError(f"inputs: {exc}") from None


def _as_v2(msg: Message, target: type[Message]) -> Message:
    # The generations are wire-compatible (DESIGN.md): a re-parse is the translation.
    return msg if isinstance(msg, target) else target.FromString(msg.SerializeToString())


def encode_outputs(outputs: Any, variables: Any) -> common.Outputs:
    """v2 ``Outputs`` from what a connector returned.

    Args:
        outputs: A v2 ``Outputs``; a v1 or v2 ``LiteralMap``; or a mapping of native values
            and/or literals by name.
        variables: The template's output ``VariableMap`` (v2), or None to infer types from values.

    Raises:
        ConnectorError: The values cannot be encoded.
    """
    if isinstance(outputs, common.Outputs):
        return outputs
    if isinstance(outputs, (v1_core_literals.LiteralMap, v2_core_literals.LiteralMap)):
        return common.Outputs.FromString(outputs.SerializeToString())
    if not isinstance(outputs, Mapping):
        raise ConnectorError(f"Resource.outputs must be a mapping or a literal map, not {type(outputs).__name__}")
    values = {
        k: _as_v2(v, v2_core_literals.Literal) if isinstance(v, v1_core_literals.Literal) else v
        for k, v in outputs.items()
    }
    from translators.literals import native_to_outputs

    try:
        return native_to_outputs(values, variables)
    except TranslationError as exc:
        raise ConnectorError(f"cannot encode outputs: {exc}") from None


def resource_to_proto(resource: Any, output_variables: Any = None, *, who: str = "connector") -> v2.Resource:
    """The v2 ``Resource`` message for a connector's answer.

    Args:
        resource: A ``modern.Resource`` (or look-alike with the same attributes) or a v2/v1 Resource.
        output_variables: The output ``VariableMap`` when the interface is known.
        who: The connector's name, for error messages.

    Raises:
        ConnectorError: No phase (UNDEFINED would read as a failure to both generations), an unknown
            phase, or outputs/custom_info that cannot be encoded.
    """
    if isinstance(resource, (v2.Resource, v1.Resource)):
        msg = _as_v2(resource, v2.Resource)
        _check_phase(msg.phase, who)
        return msg
    if resource is None:
        raise ConnectorError(f"{who} returned no Resource")
    phase = getattr(resource, "phase", None)
    _check_phase(phase, who)
    msg = v2.Resource(phase=int(phase))  # type: ignore[arg-type]
    message = getattr(resource, "message", None)
    if message:
        msg.message = str(message)
    for link in getattr(resource, "log_links", None) or ():
        msg.log_links.append(_as_v2(link, v2_core_execution.TaskLog) if isinstance(link, Message) else link)
    outputs = getattr(resource, "outputs", None)
    if outputs is not None:
        msg.outputs.CopyFrom(encode_outputs(outputs, output_variables))
    custom = getattr(resource, "custom_info", None)
    if custom:
        if isinstance(custom, Struct):
            msg.custom_info.CopyFrom(custom)
        else:
            try:
                msg.custom_info.update(dict(custom))
            except (ValueError, TypeError, AttributeError) as exc:
                raise ConnectorError(f"{who} returned custom_info that is not JSON-like: {exc}") from None
    return msg


def _check_phase(phase: Any, who: str) -> None:
    if phase is None or phase == _UNDEFINED:
        raise ConnectorError(f"{who} returned a Resource without a phase (UNDEFINED is never sent)")
    if int(phase) not in _PHASES:
        raise ConnectorError(f"{who} returned an unknown phase {int(phase)}")


def as_v2_response(msg: Any, target: type[Message], who: str) -> Message:
    """Accept a connector's metrics/logs answer of either generation as the v2 message ``target``."""
    if isinstance(msg, target):
        return msg
    if isinstance(msg, Message):
        return target.FromString(msg.SerializeToString())
    raise ConnectorError(f"{who} returned {type(msg).__name__}, expected {target.DESCRIPTOR.name}")


TERMINAL_PHASES = frozenset(
    {
        v2_core_execution.TaskExecution.SUCCEEDED,
        v2_core_execution.TaskExecution.FAILED,
        v2_core_execution.TaskExecution.ABORTED,
        v2_core_execution.TaskExecution.RETRYABLE_FAILED,
    }
)

# v1's Phase enum has the same numbers (phases are passed through as ints); fail loudly at import if a
# new flyteidl ever renumbers them.
if dict(v1_core_execution.TaskExecution.Phase.items()) != {
    k: v for k, v in v2_core_execution.TaskExecution.Phase.items() if k in v1_core_execution.TaskExecution.Phase.keys()
}:
    raise ImportError("flyteidl and flyteidl2 disagree on TaskExecution.Phase numbers")

__all__ = [
    "RESERVED_KWARGS",
    "TERMINAL_PHASES",
    "as_v2_response",
    "connection_kwargs",
    "decode_inputs",
    "encode_outputs",
    "resource_to_proto",
    "secret_values",
]
