"""Sensors: tasks that wait for a condition, served to both generations by one engine.

``Sensor`` is the authoring API (``async def poke(self, **inputs) -> bool``); ``register_sensor``
and ``allow_sensor_modules`` decide what may run. The engine and the built-in file sensor live in
``modern.sensors.builtin``, which registers them into the default connector registry on import.
"""

from __future__ import annotations

from modern.sensors._api import (
    ALLOWLIST_ENV,
    Sensor,
    SensorRegistry,
    allow_sensor_modules,
    default_sensor_registry,
    register_sensor,
)
from modern.sensors._engine import MAX_META_BYTES, SensorEngine, SensorMeta

__all__ = [
    "ALLOWLIST_ENV",
    "MAX_META_BYTES",
    "Sensor",
    "SensorEngine",
    "SensorMeta",
    "SensorRegistry",
    "allow_sensor_modules",
    "default_sensor_registry",
    "register_sensor",
]
