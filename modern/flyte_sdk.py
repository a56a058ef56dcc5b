"""flyte-sdk connectors (``flyte.connectors.AsyncConnector``) served from the hub to both generations.

A wrapped connector gets what flyte-sdk's ``c0`` server gives it: the flyteidl2 ``TaskTemplate``
untouched, inputs as native values converted the way flyte-sdk converts them, and the v2
``connection`` secrets and configs as keyword arguments.

Inputs: for the types where ``translators.literals`` yields exactly the values flyte-sdk's
``TypeEngine.guess_python_type`` + ``literal_map_to_kwargs`` yield (checked in the interop tests:
integer, float, string, boolean, datetime, duration, none, untyped structs/dicts, and lists and maps
of these), the project's fast decoder is used. Everything else, where flyte-sdk builds its own
Python types, goes through flyte-sdk's ``convert_from_inputs_to_native``: blobs (``File``/``Dir``),
structured datasets (``DataFrame``), enums (a generated ``Enum``), unions, msgpack binaries and
structs with a dataclass schema (generated dataclasses), schemas.

Outputs: a connector's native outputs are encoded by flyte-sdk itself (``get_resource_proto``), so
the literals are those ``c0`` would send; literal messages pass through to the hub.

flyte-sdk is imported lazily: it is an optional extra.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

from google.protobuf.message import Message

from modern._invoke import SdkCalls
from modern.connector import AsyncConnector, Resource, ResourceMeta
from modern.errors import InvalidRequestError
from modern.registry import ConnectorRegistry, default_registry
from translators._gen import v2_core_literals, v2_task_common, v2_types
from translators.errors import TranslationError

log = logging.getLogger("modern.flyte_sdk")

_S = v2_types.SimpleType
_FAST_SIMPLE = frozenset({_S.INTEGER, _S.FLOAT, _S.STRING, _S.BOOLEAN, _S.DATETIME, _S.DURATION, _S.NONE})


def fast_type(lt: Any) -> bool:
    """Whether the project's decoder gives the same value as flyte-sdk for this LiteralType."""
    kind = lt.WhichOneof("type")
    if kind == "simple":
        if lt.simple in _FAST_SIMPLE:
            return True
        # A struct with a schema in its metadata becomes a generated dataclass in flyte-sdk.
        return lt.simple == _S.STRUCT and not lt.HasField("metadata")
    if kind == "collection_type":
        return fast_type(lt.collection_type)
    if kind == "map_value_type":
        return fast_type(lt.map_value_type)
    return False


def _literals(inputs: Any) -> dict[str, Any]:
    if isinstance(inputs, v2_task_common.Inputs):
        return {nl.name: nl.value for nl in inputs.literals}
    lm = inputs if isinstance(inputs, v2_core_literals.LiteralMap) else v2_core_literals.LiteralMap.FromString(
        inputs.SerializeToString()
    )
    return dict(lm.literals)


async def _sdk_decode(literals: dict[str, Any], types: dict[str, Any]) -> dict[str, Any]:
    import flyte.io  # noqa: F401  (registers the File/Dir/DataFrame transformers, as c0 has them)
    from flyte._internal.runtime.convert import Inputs, convert_from_inputs_to_native
    from flyte.models import NativeInterface
    from flyte.types import TypeEngine

    interface = NativeInterface.from_types(
        inputs={k: (TypeEngine.guess_python_type(types[k]), inspect.Parameter.empty) for k in literals},
        outputs={},
    )
    proto = v2_task_common.Inputs(
        literals=[v2_task_common.NamedLiteral(name=k, value=v) for k, v in literals.items()]
    )
    return await convert_from_inputs_to_native(interface, Inputs(proto_inputs=proto))


async def native_inputs(inputs: Any, template: Any) -> dict[str, Any]:
    """Native values for a flyte-sdk connector's ``create`` (see the module docstring).

    Args:
        inputs: A v2 ``Inputs``/``LiteralMap`` message, native values already decoded by the hub, or None.
        template: The v2 task template (its interface types the values).

    Returns:
        The inputs by name; empty without inputs, as under ``c0``.

    Raises:
        InvalidRequestError: A literal neither decoder can convert.
    """
    if inputs is None:
        return {}
    from translators.literals import inputs_to_native, native_to_literal, variable_types

    types = variable_types(template.interface.inputs) if template.HasField("interface") else {}
    slow = {k for k, t in types.items() if not fast_type(t)}
    try:
        if isinstance(inputs, Message):
            literals = _literals(inputs)
            slow |= {k for k in literals if k not in types}
            values = inputs_to_native(
                v2_task_common.Inputs(
                    literals=[v2_task_common.NamedLiteral(name=k, value=v) for k, v in literals.items() if k not in slow]
                ),
                template.interface.inputs,
            )
            pending = {k: v for k, v in literals.items() if k in slow}
        elif isinstance(inputs, Mapping):
            # The hub decoded them with the project's decoder; only the slow kinds need flyte-sdk.
            values = {k: v for k, v in inputs.items() if k not in slow}
            pending = {k: native_to_literal(inputs[k], types[k]) for k in slow if k in inputs}
        else:
            raise InvalidRequestError(f"inputs must be literals or a mapping, not {type(inputs).__name__}")
    except TranslationError as exc:
        raise InvalidRequestError(f"inputs: {exc}") from None
    if pending:
        try:
            values.update(await _sdk_decode(pending, types))
        except Exception as exc:  # flyte-sdk's TypeEngine raising on a literal it cannot read
            raise InvalidRequestError(f"inputs: flyte-sdk cannot convert: {type(exc).__name__}: {exc}") from None
    # Keep the interface's order, as flyte-sdk's dict would have it.
    order = {k: i for i, k in enumerate(types)}
    return dict(sorted(values.items(), key=lambda kv: order.get(kv[0], len(order))))


async def resource_from_sdk(resource: Any) -> Any:
    """The hub's answer for a flyte-sdk ``Resource``: outputs encoded by flyte-sdk when native."""
    outputs = getattr(resource, "outputs", None)
    if not outputs or isinstance(outputs, Message):
        return Resource(
            phase=resource.phase,
            message=resource.message,
            log_links=resource.log_links,
            outputs=outputs or None,
            custom_info=resource.custom_info,
        )
    from flyte.connectors._connector import get_resource_proto

    return await get_resource_proto(resource)


# How c0 calls a connector: the v2 template and metadata untouched, native inputs, every extra keyword.
_SDK = SdkCalls(inputs=native_inputs)


class FlyteSdkAdapter(AsyncConnector):
    """A ``flyte.connectors.AsyncConnector`` as a hub connector.

    Args:
        connector: The flyte-sdk connector instance.
    """

    wants_literals = True
    implementation_source = "flyte-sdk"

    def __init__(self, connector: Any) -> None:
        self.sdk_connector = self.wrapped_connector = connector
        self.name = str(connector.name)
        self.task_type_name = str(connector.task_type_name)
        self.task_type_version = int(getattr(connector, "task_type_version", 0))
        self.metadata_type = connector.metadata_type  # flyte-sdk's ResourceMeta: same JSON encode/decode

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: Any = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> ResourceMeta:
        """The connector's ``create`` with c0's arguments (native inputs, connection kwargs)."""
        return await _SDK.task(
            self.sdk_connector.create, task_template, output_prefix, inputs, task_execution_metadata, kwargs
        )

    async def get(self, resource_meta: Any, **kwargs: Any) -> Any:
        """The connector's ``get``; native outputs encoded by flyte-sdk."""
        res = await _SDK.call(self.sdk_connector.get, {"resource_meta": resource_meta}, kwargs)
        return await resource_from_sdk(res)

    async def delete(self, resource_meta: Any, **kwargs: Any) -> None:
        """The connector's ``delete``."""
        await _SDK.call(self.sdk_connector.delete, {"resource_meta": resource_meta}, kwargs)

    async def get_metrics(self, resource_meta: Any, **kwargs: Any) -> Any:
        """The connector's ``get_metrics`` (c0 passes only the meta)."""
        return await self.sdk_connector.get_metrics(resource_meta=resource_meta)

    def get_logs(self, resource_meta: Any, **kwargs: Any) -> Any:
        """The connector's ``get_logs`` result as is: a coroutine or an async generator."""
        return self.sdk_connector.get_logs(resource_meta=resource_meta, token=kwargs.get("token", ""))


def adapt(connector: Any) -> FlyteSdkAdapter:
    """Wrap a flyte-sdk connector into a hub connector.

    Raises:
        TypeError: ``connector`` lacks ``task_type_name`` or the async methods.
    """
    missing = [m for m in ("create", "get", "delete") if not callable(getattr(connector, m, None))]
    if not getattr(connector, "task_type_name", None) or missing:
        raise TypeError(f"{type(connector).__name__} is not a flyte-sdk connector")
    return FlyteSdkAdapter(connector)


def load_entry_points(group: str = "flyte.connectors") -> list[str]:
    """Import the modules of an entry-point group; a failing one is only a warning (as c0).

    Returns:
        The names of the entry points that loaded.
    """
    from importlib.metadata import entry_points

    loaded = []
    for ep in entry_points(group=group):
        try:
            ep.load()
            loaded.append(ep.name)
        except Exception as exc:
            log.warning("entry point %s (%s) failed to load: %s", ep.name, group, type(exc).__name__)
    return loaded


def import_flyte_registry(
    registry: ConnectorRegistry | None = None, *, override: bool = False, entry_points: bool = True
) -> list[FlyteSdkAdapter]:
    """Register every connector of flyte-sdk's registry into a hub registry.

    Args:
        registry: The hub registry (default: the process-wide one).
        override: Replace a flyte-sdk connector already registered for the same category (else it is
            kept and a warning is logged). Other sources' connectors for the category stay beside it.
        entry_points: Load the ``flyte.connectors`` entry points first.

    Returns:
        The adapters that were registered.
    """
    from flyte.connectors import ConnectorRegistry as SdkRegistry

    if entry_points:
        load_entry_points()
    registry = registry if registry is not None else default_registry()
    added = []
    for connector in list(SdkRegistry._REGISTRY.values()):
        category = (str(connector.task_type_name), int(getattr(connector, "task_type_version", 0)))
        # Another source's connector for the same category stays beside this one (modern.routing picks).
        current = registry.implementation(*category, FlyteSdkAdapter.implementation_source)
        if current is not None and not override:
            if getattr(getattr(current, "connector", None), "sdk_connector", None) is not connector:
                log.warning("flyte-sdk connector %r for %s v%d not registered: a flyte-sdk connector serves it", connector.name, *category)
            continue
        adapter = adapt(connector)
        registry.register(adapter, override=override)
        added.append(adapter)
    return added


#: The name ``bridge.discovery`` calls.
import_flyte_sdk_registry = import_flyte_registry

__all__ = [
    "FlyteSdkAdapter",
    "adapt",
    "fast_type",
    "import_flyte_registry",
    "import_flyte_sdk_registry",
    "load_entry_points",
    "native_inputs",
]
