"""Hub messages <-> the flytekit model objects a flytekit connector expects.

``pyflyte serve connector`` hands a connector ``TaskTemplate.from_flyte_idl(v1 template)``,
``LiteralMap.from_flyte_idl(request.inputs)`` (an empty map when the request has none, because a
protobuf sub-message is always truthy) and ``TaskExecutionMetadata.from_flyte_idl(...)``. The hub
works in v2 messages; the two generations share a wire format, so each conversion is a re-parse into
the v1 class followed by flytekit's own ``from_flyte_idl``.

flytekit is imported lazily: it is an optional extra, and its import costs about a second.

Every flytekit from 1.11 has these models except ``TaskExecutionMetadata`` (new in 1.12; 1.11's
server passes no metadata) and ``Resource.to_flyte_idl`` (new in 1.13, a coroutine from 1.15; 1.11 and
1.12 servers encoded the Resource themselves, which ``_resource_idl`` does the same way).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from modern.connector import Resource
from modern.errors import ConnectorError, InvalidRequestError
from translators._gen import (
    v1,
    v1_core_execution,
    v1_core_literals,
    v1_core_tasks,
    v2_core_execution,
    v2_task_common,
)
from translators.errors import TranslationError


def _reparse(msg: Message, target: type[Message]) -> Any:
    return msg if isinstance(msg, target) else target.FromString(msg.SerializeToString())


def template_to_flytekit(template: Any) -> Any:
    """flytekit ``TaskTemplate`` model of a v2 (or v1) ``TaskTemplate`` message."""
    from flytekit.models.task import TaskTemplate

    return TaskTemplate.from_flyte_idl(_reparse(template, v1_core_tasks.TaskTemplate))


def metadata_to_flytekit(metadata: Any) -> Any:
    """flytekit ``TaskExecutionMetadata`` model; an empty one when the request has none (as flytekit).

    None under flytekit 1.11, which has no such model (and whose server passes none).
    """
    from flytekit.models import task

    TaskExecutionMetadata = getattr(task, "TaskExecutionMetadata", None)
    if TaskExecutionMetadata is None:
        return None
    msg = v1.TaskExecutionMetadata() if metadata is None else _reparse(metadata, v1.TaskExecutionMetadata)
    return TaskExecutionMetadata.from_flyte_idl(msg)


def inputs_to_literal_map(inputs: Any, template: Any) -> v1_core_literals.LiteralMap:
    """The v1 ``LiteralMap`` of a create/do call's inputs.

    Args:
        inputs: The inputs as the hub passed them: a v2 ``Inputs``, a ``LiteralMap`` of either
            generation, a mapping of native values (re-encoded with the template's declared input
            types, so the literals are what a Flyte client would have sent), or None.
        template: The v2 task template (its interface types the re-encoding).

    Returns:
        A v1 ``LiteralMap`` (empty for no inputs).

    Raises:
        InvalidRequestError: Native values that do not fit the declared types.
    """
    if inputs is None:
        return v1_core_literals.LiteralMap()
    if isinstance(inputs, Message):
        # Inputs (repeated NamedLiteral) and LiteralMap (map) encode identically: a re-parse.
        return _reparse(inputs, v1_core_literals.LiteralMap)
    if not isinstance(inputs, Mapping):
        raise InvalidRequestError(f"inputs must be literals or a mapping, not {type(inputs).__name__}")
    from translators.literals import native_to_inputs

    variables = template.interface.inputs if template is not None and template.HasField("interface") else None
    try:
        encoded = native_to_inputs(dict(inputs), variables)
    except TranslationError as exc:
        raise InvalidRequestError(f"inputs: {exc}") from None
    return _reparse(encoded, v1_core_literals.LiteralMap)


def inputs_to_flytekit(inputs: Any, template: Any) -> Any:
    """flytekit ``LiteralMap`` model of the inputs (see ``inputs_to_literal_map``)."""
    from flytekit.models.literals import LiteralMap

    return LiteralMap.from_flyte_idl(inputs_to_literal_map(inputs, template))


@functools.cache
def default_flytekit_context() -> Any:
    """flytekit's default ``FlyteContext``, made once in a thread of its own.

    flytekit keeps its context stack in a ``ContextVar`` that its import fills in the importing context
    only; where the variable is unset, every ``FlyteContextManager.current_context()`` re-initializes
    flytekit (reads its config, creates its sandbox directory, builds new execution parameters) and, on
    the main thread, installs flytekit's own SIGINT handler. Made in a thread other than the main one,
    the default context leaves the process's signal handlers alone.
    """
    from flytekit.core.context_manager import FlyteContextManager

    made: list[Any] = []
    thread = threading.Thread(target=lambda: made.append(FlyteContextManager.current_context()),
                              name="flytekit-context")
    thread.start()
    thread.join()
    return made[0]


def enter_flytekit_context() -> None:
    """Give the current call flytekit's default context if it has none, as ``pyflyte serve connector``'s
    calls inherit the one its import made (see ``default_flytekit_context``); each call gets a stack of its own."""
    from flytekit.core.context_manager import flyte_context_Var

    if not flyte_context_Var.get():
        flyte_context_Var.set([default_flytekit_context()])


async def _resolved(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _resource_idl(resource: Any) -> Any:
    """The v1 ``Resource`` message of a flytekit ``Resource`` (see the module docstring)."""
    if hasattr(resource, "to_flyte_idl"):
        return await _resolved(resource.to_flyte_idl())
    outputs = resource.outputs
    if outputs is not None and not isinstance(outputs, Message):
        if hasattr(outputs, "to_flyte_idl"):  # a flytekit LiteralMap model
            outputs = outputs.to_flyte_idl()
        else:  # native values, typed by flytekit's TypeEngine
            from flytekit import FlyteContextManager
            from flytekit.core.type_engine import TypeEngine

            ctx = FlyteContextManager.current_context()
            outputs = await _resolved(TypeEngine.dict_to_literal_map_pb(ctx, outputs))
    return v1.Resource(
        phase=resource.phase, message=resource.message or "", log_links=resource.log_links or (), outputs=outputs
    )


async def resource_from_flytekit(resource: Any, who: str) -> Resource:
    """Hub ``Resource`` from a flytekit ``Resource``.

    Outputs are encoded by flytekit itself (``Resource.to_flyte_idl``, which runs flytekit's
    ``TypeEngine`` on native dicts), so a connector's native outputs become exactly the literals
    ``pyflyte serve connector`` would have sent.

    Args:
        resource: What the connector's ``get``/``do`` returned.
        who: The connector's name, for error messages.

    Raises:
        ConnectorError: Not a flytekit Resource, or its outputs cannot be encoded.
    """
    if isinstance(resource, v1.Resource):
        proto = resource
    elif hasattr(resource, "phase"):
        try:
            proto = await _resource_idl(resource)
        except Exception as exc:  # flytekit's TypeEngine failing on a connector's outputs
            raise ConnectorError(f"{who} returned outputs flytekit cannot encode: {type(exc).__name__}: {exc}") from None
    else:
        raise ConnectorError(f"{who} returned {type(resource).__name__}, not a flytekit Resource")
    phase = proto.phase
    if phase == v1_core_execution.TaskExecution.UNDEFINED and proto.state:
        # An old connector that set only the deprecated state: the translators know the mapping.
        from translators import to_v2

        phase = to_v2(v1.GetTaskResponse(resource=proto)).resource.phase
    log_links = [_reparse(link, v2_core_execution.TaskLog) for link in proto.log_links]
    outputs = _reparse(proto.outputs, v2_task_common.Outputs) if proto.HasField("outputs") else None
    custom = json_format.MessageToDict(proto.custom_info) if proto.HasField("custom_info") else None
    return Resource(
        phase=phase,
        message=proto.message or None,
        log_links=log_links or None,
        outputs=outputs,
        custom_info=custom,
    )


__all__ = [
    "default_flytekit_context",
    "enter_flytekit_context",
    "inputs_to_flytekit",
    "inputs_to_literal_map",
    "metadata_to_flytekit",
    "resource_from_flytekit",
    "template_to_flytekit",
]
