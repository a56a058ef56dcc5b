"""flytekit connectors served unchanged through the hub, to Flyte 1 and Flyte 2 clients alike.

``adapt`` wraps one flytekit connector (``AsyncConnectorBase``/``SyncConnectorBase`` of flytekit 1.16+,
``AsyncAgentBase``/``SyncAgentBase`` of flytekit 1.11-1.15: ``legacy._flytekit_api`` finds which) into a
hub connector;
``import_flytekit_registry`` does it for everything in flytekit's own registry, which
``import flytekit`` fills from the ``flytekit.plugins`` entry points.

The wrapped connector sees what ``pyflyte serve connector`` gives it: flytekit model objects
(``TaskTemplate``, ``LiteralMap``, ``TaskExecutionMetadata``), plain methods run in a worker thread and
coroutines awaited, its own ``ResourceMeta`` encode/decode for ``resource_meta``, and flytekit's default
context already in place (``enter_flytekit_context``: without it flytekit re-initializes itself on every
call, about a third of a webhook call's CPU). flytekit's
``SensorEngine`` is never wrapped: the bridge's engine (``modern.sensors``) takes its place because it
enforces the module allowlist, and still runs allowed flytekit ``BaseSensor`` subclasses.

Inputs: the adapters declare ``wants_literals = True`` so a hub that honours it hands over the request's
literals untouched; with a hub that decodes inputs to native values first, they are re-encoded with the
template's declared types.
"""

from __future__ import annotations

import logging
from typing import Any

from google.protobuf.message import Message

from legacy._flytekit_api import flytekit_api
from legacy._flytekit_models import (
    default_flytekit_context,
    enter_flytekit_context,
    inputs_to_flytekit,
    metadata_to_flytekit,
    resource_from_flytekit,
    template_to_flytekit,
)
from modern._invoke import SdkCalls
from modern.connector import AsyncConnector, Resource, ResourceMeta, SyncConnector
from modern.registry import ConnectorRegistry, default_registry
from translators import to_v2
from translators._gen import v2

log = logging.getLogger("legacy.flytekit_adapter")


# How ``pyflyte serve connector`` calls a connector: flytekit model objects, plain methods in a worker
# thread, and only the extra keywords (v2 connection secrets/configs) that the method can take.
_FLYTEKIT = SdkCalls(
    template=template_to_flytekit,
    inputs=inputs_to_flytekit,
    metadata=metadata_to_flytekit,
    threads=True,
    only_declared=True,
)


def _as_v2(res: Any, v2_cls: type[Message]) -> Any:
    # flytekit connectors answer v1 messages; the translators carry the v1-only fields across.
    if isinstance(res, Message) and not isinstance(res, v2_cls):
        return to_v2(res)
    return res


class _Wrapped:
    """What both adapters take from the flytekit connector they wrap: it, its name and its category."""

    wants_literals = True
    implementation_source = "flytekit"

    def __init__(self, connector: Any) -> None:
        self.flytekit_connector = self.wrapped_connector = connector
        self.name = str(connector.name)
        self.task_type_name = str(connector.task_category.name)
        self.task_type_version = int(connector.task_category.version)


class FlytekitAsyncAdapter(_Wrapped, AsyncConnector):
    """A flytekit ``AsyncConnectorBase`` as a hub ``AsyncConnector``.

    Args:
        connector: The flytekit connector instance.
    """

    def __init__(self, connector: Any) -> None:
        super().__init__(connector)
        # flytekit's ResourceMeta has the same JSON encode/decode shape the hub calls.
        self.metadata_type = connector.metadata_type  # type: ignore[assignment]

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: Any = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> ResourceMeta:
        """Run the flytekit connector's ``create`` with flytekit model objects."""
        enter_flytekit_context()
        return await _FLYTEKIT.task(
            self.flytekit_connector.create, task_template, output_prefix, inputs, task_execution_metadata, kwargs
        )

    async def get(self, resource_meta: Any, **kwargs: Any) -> Resource:
        """The flytekit connector's ``get``, its Resource encoded as flytekit would."""
        enter_flytekit_context()
        res = await _FLYTEKIT.call(self.flytekit_connector.get, {"resource_meta": resource_meta}, kwargs)
        return await resource_from_flytekit(res, f"connector {self.name!r}")

    async def delete(self, resource_meta: Any, **kwargs: Any) -> None:
        """The flytekit connector's ``delete``."""
        enter_flytekit_context()
        await _FLYTEKIT.call(self.flytekit_connector.delete, {"resource_meta": resource_meta}, kwargs)

    async def get_metrics(self, resource_meta: Any, **kwargs: Any) -> Any:
        """The flytekit connector's v1 ``GetTaskMetricsResponse``, as v2."""
        enter_flytekit_context()
        res = await _FLYTEKIT.call(self.flytekit_connector.get_metrics, {"resource_meta": resource_meta})
        return _as_v2(res, v2.GetTaskMetricsResponse)

    async def get_logs(self, resource_meta: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """The flytekit connector's v1 ``GetTaskLogsResponse``, as v2 (flytekit returns one)."""
        enter_flytekit_context()
        res = await _FLYTEKIT.call(self.flytekit_connector.get_logs, {"resource_meta": resource_meta})
        return _as_v2(res, v2.GetTaskLogsResponse)


class FlytekitSyncAdapter(_Wrapped, SyncConnector):
    """A flytekit ``SyncConnectorBase`` as a hub ``SyncConnector``.

    Args:
        connector: The flytekit connector instance.
    """

    async def do(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: Any = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> Resource:
        """Run the flytekit connector's ``do`` and return its terminal Resource."""
        enter_flytekit_context()
        # flytekit's sync service never passes the execution metadata; a connector that declares it
        # (or takes **kwargs) gets it here, which is what flyteorg/flyte#3824 asked for.
        res = await _FLYTEKIT.task(
            self.flytekit_connector.do,
            task_template,
            output_prefix,
            inputs,
            task_execution_metadata,
            kwargs,
            metadata_is_extra=True,
        )
        return await resource_from_flytekit(res, f"connector {self.name!r}")


def _is_flytekit_sensor_engine(connector: Any) -> bool:
    return type(connector).__module__ == "flytekit.sensor.sensor_engine"


def adapt(connector: Any) -> AsyncConnector | SyncConnector:
    """Wrap a flytekit connector into a hub connector.

    Args:
        connector: A flytekit ``AsyncConnectorBase`` or ``SyncConnectorBase`` instance (flytekit
            1.11-1.15: ``AsyncAgentBase``/``SyncAgentBase``), or flytekit's ``SensorEngine``.

    Returns:
        The hub connector. For flytekit's ``SensorEngine`` that is the bridge's own
        ``SensorEngine`` (same task type, allowlist enforced) rather than a wrapper.

    Raises:
        TypeError: ``connector`` is not a flytekit connector.
        ImportError: The installed flytekit has no adaptable connector API (older than 1.11).
    """
    if _is_flytekit_sensor_engine(connector):
        from modern.sensors import SensorEngine
        from modern.sensors.builtin import register_builtin_sensors

        engine = SensorEngine()
        register_builtin_sensors(engine.sensors)
        return engine
    api = flytekit_api()
    default_flytekit_context()  # made now (at start, or in the lazy import's thread), not in the first call
    if isinstance(connector, api.sync_base):
        return FlytekitSyncAdapter(connector)
    if isinstance(connector, api.async_base):
        return FlytekitAsyncAdapter(connector)
    raise TypeError(f"{type(connector).__name__} is not a flytekit connector")


def import_flytekit_registry(registry: ConnectorRegistry | None = None, *, override: bool = False) -> list[Any]:
    """Register every connector of flytekit's own registry into a hub registry.

    ``import flytekit`` loads the ``flytekit.plugins`` entry points, whose modules register their
    connectors in flytekit's registry; this then adapts each of them. A category the hub registry
    already serves through another source (the bridge's API, flyte-sdk) keeps that implementation
    too; one already served by a flytekit connector is kept (a warning is logged) unless
    ``override``. flytekit's ``SensorEngine`` is replaced by the bridge's engine, which is
    registered (with override) if the registry lacks it.

    Args:
        registry: The hub registry (default: the process-wide one).
        override: Replace connectors already registered for the same category.

    Returns:
        The hub connectors that were registered.
    """
    import flytekit  # noqa: F401  (loads the flytekit.plugins entry points)

    from modern.sensors import SensorEngine
    from modern.sensors.builtin import register_into

    registry = registry if registry is not None else default_registry()
    added: list[Any] = []
    for connector in flytekit_api().registered():
        category = (connector.task_category.name, connector.task_category.version)
        if _is_flytekit_sensor_engine(connector):
            if not (registry.has(*category) and isinstance(registry.get_connector(*category), SensorEngine)):
                added.append(register_into(registry))
            continue
        # Another source's connector for the same category stays beside this one (modern.routing picks).
        current = registry.implementation(*category, FlytekitAsyncAdapter.implementation_source)
        if current is not None and not override:
            if getattr(getattr(current, "connector", None), "flytekit_connector", None) is not connector:
                log.warning("flytekit connector %r for %s v%d not registered: a flytekit connector serves it", connector.name, *category)
            continue
        hub_connector = adapt(connector)
        registry.register(hub_connector, override=override)
        added.append(hub_connector)
    return added


__all__ = ["FlytekitAsyncAdapter", "FlytekitSyncAdapter", "adapt", "import_flytekit_registry"]
