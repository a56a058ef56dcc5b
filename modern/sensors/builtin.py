"""Built-in sensors, and the registration of the sensor engine into the default registry.

Importing this module (directly, or through the ``flyte_connector_bridge.connectors`` entry point
``file_sensor``) registers ``SensorEngine`` for task type ``sensor`` with ``override=True``: if
flytekit's own ``SensorEngine`` was discovered first, the bridge's engine replaces it because it
enforces the module allowlist (it still runs allowed flytekit ``BaseSensor`` subclasses).

``FileSensor`` serves flytekit's ``flytekit.sensor.file_sensor.FileSensor`` tasks without flytekit:
the template's ``(sensor_module, sensor_name)`` maps to this class, and nothing is imported.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import urlsplit

from modern.sensors._api import Sensor, SensorRegistry, default_sensor_registry
from modern.sensors._engine import SensorEngine

#: The names flytekit writes into a FileSensor task template.
FLYTEKIT_FILE_SENSOR = ("flytekit.sensor.file_sensor", "FileSensor")


class FileSensorUnavailable(RuntimeError):
    """A remote URL was given but fsspec (extra ``fsspec``) is not installed."""


def _local_path(path: str) -> str | None:
    """The local filesystem path of ``path``, or None when it is a remote URL."""
    parts = urlsplit(path)
    # One-letter schemes are Windows drive letters, not URL schemes.
    if not parts.scheme or len(parts.scheme) == 1:
        return path
    if parts.scheme == "file":
        return parts.path
    return None


def _remote_exists(url: str) -> bool:
    try:
        import fsspec
    except ImportError:
        raise FileSensorUnavailable(
            "sensing remote URLs needs fsspec: install flyte-connector-bridge[fsspec]"
        ) from None
    fs, fs_path = fsspec.core.url_to_fs(url)
    return bool(fs.exists(fs_path))


class FileSensor(Sensor):
    """Succeeds once ``path`` exists: a local path, ``file://`` URL, or any fsspec URL."""

    async def poke(self, path: str, **_: Any) -> bool:  # type: ignore[override]
        """Check whether ``path`` exists.

        Args:
            path: Local path or URL of the awaited file.

        Returns:
            True when the file (or directory) exists.

        Raises:
            FileSensorUnavailable: ``path`` is a remote URL and fsspec is not installed.
        """
        local = _local_path(path)
        if local is not None:
            return await asyncio.to_thread(os.path.exists, local)
        # fsspec filesystems are mostly blocking; keep them off the event loop.
        return await asyncio.to_thread(_remote_exists, path)


def register_builtin_sensors(sensors: SensorRegistry) -> None:
    """Register the built-in sensors under their own names and flytekit's.

    Args:
        sensors: The sensor registry to fill.
    """
    sensors.register(FileSensor, override=True)
    sensors.register(FileSensor, *FLYTEKIT_FILE_SENSOR, override=True)


def register_into(registry: Any, sensors: SensorRegistry | None = None) -> SensorEngine:
    """Register a ``SensorEngine`` into a connector registry, replacing any other ``sensor`` connector.

    Args:
        registry: A ``modern.ConnectorRegistry`` instance.
        sensors: The sensor registry the engine reads (default: the process-wide one).

    Returns:
        The registered engine.
    """
    sensors = sensors if sensors is not None else default_sensor_registry()
    register_builtin_sensors(sensors)
    engine = SensorEngine(sensors)
    registry.register(engine, override=True)
    return engine


def _register_default() -> None:
    from modern.registry import default_registry

    register_into(default_registry())


_register_default()

__all__ = ["FLYTEKIT_FILE_SENSOR", "FileSensor", "FileSensorUnavailable", "register_builtin_sensors", "register_into"]
