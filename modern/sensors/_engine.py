"""The connector behind task type ``sensor``: RUNNING until a sensor's ``poke`` holds, then SUCCEEDED.

It accepts the templates flytekit writes for its sensors (``custom`` = ``sensor_module``,
``sensor_name``, ``sensor_config``; inputs from the interface) and writes a ``resource_meta`` that
flytekit's own ``SensorMetadata`` can read too. Unlike flytekit's ``SensorEngine`` it imports
nothing a request names unless an operator allowed it, honours the task's ``metadata.timeout``
(flyte#5035) and bounds the size of the meta it hands to the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from modern.connector import AsyncConnector, Resource, ResourceMeta
from modern.errors import ConnectorError, InvalidRequestError
from modern.sensors._api import Sensor, SensorRegistry, check_sensor_key, default_sensor_registry
from modern.sensors._values import from_json, to_json
from translators._gen import v2_core_execution

_PHASE = v2_core_execution.TaskExecution
#: Largest ``resource_meta`` the engine writes; it is stored by the client (propeller keeps it
#: in the workflow CRD), so huge inputs must not be copied into it.
MAX_META_BYTES = 64 * 1024
# A poke that is still running when the task's timeout has passed gets this much extra time.
_GRACE_S = 1.0


@dataclasses.dataclass
class SensorMeta(ResourceMeta):
    """The sensor job handle. The first four fields match flytekit's ``SensorMetadata``."""

    sensor_module: str
    sensor_name: str
    sensor_config: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    timeout_s: float | None = None
    started_at: float | None = None

    def encode(self) -> bytes:
        """JSON bytes; without a timeout the two extra fields are left out, so the meta stays
        readable by flytekit's ``SensorMetadata.decode`` (which refuses unknown keys)."""
        data = dataclasses.asdict(self)
        if self.timeout_s is None:
            data.pop("timeout_s")
            data.pop("started_at")
        return json.dumps(data, separators=(",", ":")).encode("utf-8")


def _flytekit_base_sensor() -> type | None:
    # Only look at flytekit if something already imported it: the engine never imports it itself.
    module = sys.modules.get("flytekit.sensor.base_sensor")
    base = getattr(module, "BaseSensor", None)
    return base if isinstance(base, type) else None


class SensorEngine(AsyncConnector):
    """Serves task type ``sensor`` (version 0) from a ``SensorRegistry``.

    Args:
        sensors: Where sensors and the module allowlist live (default: the process-wide one).
        clock: Wall-clock seconds; the timeout compares against the create time stored in the meta,
            so every replica must share it (``time.time``).
        max_meta_bytes: Largest ``resource_meta`` accepted from ``create``.
    """

    name = "Sensor"
    task_type_name = "sensor"
    task_type_version = 0
    metadata_type = SensorMeta

    def __init__(
        self,
        sensors: SensorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_meta_bytes: int = MAX_META_BYTES,
    ) -> None:
        self.sensors = sensors if sensors is not None else default_sensor_registry()
        self._clock = clock
        self._max_meta_bytes = max_meta_bytes

    async def create(
        self,
        task_template: Any,
        output_prefix: str,
        inputs: dict[str, Any] | None = None,
        task_execution_metadata: Any = None,
        **kwargs: Any,
    ) -> SensorMeta:
        """Validate the template's sensor and pack what ``get`` needs into the meta.

        Raises:
            InvalidRequestError: No sensor named, a sensor that is neither registered nor
                allowlisted, inputs that cannot be stored, or a meta larger than the cap.
        """
        custom = json_format.MessageToDict(task_template.custom) if task_template.HasField("custom") else {}
        module, name = check_sensor_key(custom.get("sensor_module"), custom.get("sensor_name"))
        self._check_allowed(module, name)
        config = custom.get("sensor_config")
        if config is not None and not isinstance(config, dict):
            raise InvalidRequestError("sensor_config must be a JSON object")
        timeout_s: float | None = None
        if task_template.HasField("metadata") and task_template.metadata.HasField("timeout"):
            seconds = task_template.metadata.timeout.ToTimedelta().total_seconds()
            timeout_s = seconds if seconds > 0 else None
        meta = SensorMeta(
            sensor_module=module,
            sensor_name=name,
            sensor_config=config,
            inputs=to_json(dict(inputs or {})),
            timeout_s=timeout_s,
            started_at=self._clock() if timeout_s is not None else None,
        )
        size = len(meta.encode())
        if size > self._max_meta_bytes:
            raise InvalidRequestError(
                f"sensor inputs are too large for resource_meta: {size} bytes > {self._max_meta_bytes}; "
                "pass a reference (a path or URI) instead of the data"
            )
        return meta

    async def get(self, resource_meta: SensorMeta, **kwargs: Any) -> Resource:
        """Poke the sensor once; SUCCEEDED when it holds, FAILED once past the task's timeout.

        Raises:
            InvalidRequestError: The meta names a sensor that may not run here.
            ConnectorError: An allowlisted module cannot be imported or holds no such sensor.
        """
        module, name = check_sensor_key(resource_meta.sensor_module, resource_meta.sensor_name)
        self._check_allowed(module, name)
        if resource_meta.inputs is not None and not isinstance(resource_meta.inputs, dict):
            raise InvalidRequestError("resource_meta inputs must be a JSON object")
        inputs = from_json(resource_meta.inputs or {})
        sensor = self._instantiate(self._resolve(module, name), resource_meta.sensor_config)

        deadline = None
        if resource_meta.timeout_s and resource_meta.started_at is not None:
            deadline = resource_meta.started_at + resource_meta.timeout_s
        # Poke before judging the timeout: a condition that already holds keeps answering SUCCEEDED
        # when the client re-asks after a restart, even past the deadline.
        if deadline is None:
            done = await self._poke(sensor, inputs)
        else:
            budget = max(deadline - self._clock(), _GRACE_S)
            try:
                done = await asyncio.wait_for(self._poke(sensor, inputs), budget)
            except asyncio.TimeoutError:
                done = False
        if done:
            return Resource(phase=_PHASE.SUCCEEDED, message=f"sensor {name} condition met")
        if deadline is not None and self._clock() >= deadline:
            return Resource(
                phase=_PHASE.FAILED,
                message=(
                    f"sensor {name} timed out: condition not met within "
                    f"{resource_meta.timeout_s:g}s (task metadata timeout)"
                ),
            )
        return Resource(phase=_PHASE.RUNNING, message=f"sensor {name} waiting for its condition")

    async def delete(self, resource_meta: SensorMeta, **kwargs: Any) -> None:
        """Nothing runs between pokes, so there is nothing to cancel."""
        return None

    def _check_allowed(self, module: str, name: str) -> None:
        if not self.sensors.is_allowed(module, name):
            raise InvalidRequestError(
                f"sensor {module}.{name} is not registered and its module is not allowlisted "
                "(register it, or add the module to FLYTE_BRIDGE_SENSOR_MODULES)"
            )

    def _resolve(self, module: str, name: str) -> type:
        found = self.sensors.lookup(module, name)
        if found is not None:
            return found
        try:
            mod = importlib.import_module(module)
        except Exception as exc:  # any import-time failure of user code; the traceback is not sent
            raise ConnectorError(f"cannot import sensor module {module}: {type(exc).__name__}: {exc}") from None
        cls = getattr(mod, name, None)
        fk_base = _flytekit_base_sensor()
        if isinstance(cls, type) and (issubclass(cls, Sensor) or (fk_base and issubclass(cls, fk_base))):
            return cls
        raise InvalidRequestError(f"{module}.{name} is not a sensor class")

    @staticmethod
    def _instantiate(cls: type, config: dict[str, Any] | None) -> Any:
        if issubclass(cls, Sensor):
            return cls(config=config)
        # flytekit BaseSensor subclasses: construct them the way flytekit's SensorEngine does, since
        # sensors written for flytekit rely on that call shape.
        return cls("sensor", config=config)

    @staticmethod
    async def _poke(sensor: Any, inputs: dict[str, Any]) -> bool:
        if inspect.iscoroutinefunction(sensor.poke):
            return bool(await sensor.poke(**inputs))
        result = await asyncio.to_thread(sensor.poke, **inputs)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)


__all__ = ["MAX_META_BYTES", "SensorEngine", "SensorMeta"]
