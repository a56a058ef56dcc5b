"""Sensor authoring API and the registry of sensors the engine may run.

A sensor is a class with ``async def poke(self, **inputs) -> bool`` and an optional JSON config.
The engine never imports a module just because a task template or a ``resource_meta`` names it:
it runs only sensors registered here by ``(module, name)``, or classes found in modules that an
operator put on the allowlist (``FLYTE_BRIDGE_SENSOR_MODULES`` or ``allow_sensor_modules``).
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from modern.errors import InvalidRequestError

#: Environment variable holding the comma-separated module allowlist.
ALLOWLIST_ENV = "FLYTE_BRIDGE_SENSOR_MODULES"

# A dotted Python module path; anything else is refused before it gets near importlib.
_MODULE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_NAME = 256

_S = TypeVar("_S", bound=type)


class Sensor(ABC):
    """Base class of a sensor: ``poke`` answers whether the awaited condition holds yet.

    Args:
        config: The ``sensor_config`` of the task template (JSON object), if any.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})

    @abstractmethod
    async def poke(self, **inputs: Any) -> bool:
        """Check the condition once.

        Args:
            **inputs: The task's inputs as native values, by name.

        Returns:
            True once the condition holds; the task then succeeds.
        """
        raise NotImplementedError


def check_sensor_key(module: object, name: object) -> tuple[str, str]:
    """Validate a ``(sensor_module, sensor_name)`` pair read from a request.

    Args:
        module: The dotted module path, as found in a template or resource_meta.
        name: The class name inside the module.

    Returns:
        The pair, as strings.

    Raises:
        InvalidRequestError: Either part is missing or not a valid Python name.
    """
    if not isinstance(module, str) or not module or len(module) > _MAX_NAME:
        raise InvalidRequestError("sensor_module must be a non-empty dotted module name")
    if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
        raise InvalidRequestError("sensor_name must be a non-empty class name")
    if not _MODULE_RE.fullmatch(module):
        raise InvalidRequestError(f"sensor_module {module!r} is not a valid module name")
    if not _NAME_RE.fullmatch(name):
        raise InvalidRequestError(f"sensor_name {name!r} is not a valid class name")
    return module, name


def _allowed(module: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith(".*"):
            # "pkg.*" allows the package itself and everything below it.
            root = pattern[:-2]
            if module == root or module.startswith(root + "."):
                return True
        elif module == pattern:
            return True
    return False


class SensorRegistry:
    """Sensors the engine may run, by ``(module, name)``, plus the module allowlist.

    Instances are independent; ``default_sensor_registry()`` is the process-wide one the built-in
    engine uses. The environment allowlist is read on every check so an operator's setting (and a
    test's monkeypatch) takes effect without a restart of the registry.
    """

    def __init__(self, *, read_env: bool = True) -> None:
        self._sensors: dict[tuple[str, str], type] = {}
        self._modules: set[str] = set()
        self._read_env = read_env
        self._lock = threading.Lock()

    def register(
        self,
        sensor_cls: type,
        module: str | None = None,
        name: str | None = None,
        *,
        override: bool = False,
    ) -> None:
        """Register a sensor class under ``(module, name)``.

        Args:
            sensor_cls: A ``Sensor`` subclass, or a flytekit ``BaseSensor`` subclass.
            module: The module templates name it by; defaults to the class's module.
            name: The name templates use; defaults to the class name.
            override: Replace an existing registration instead of raising.

        Raises:
            ValueError: The key is taken and ``override`` is false.
        """
        key = check_sensor_key(module or sensor_cls.__module__, name or sensor_cls.__name__)
        with self._lock:
            if key in self._sensors and not override and self._sensors[key] is not sensor_cls:
                raise ValueError(f"a sensor is already registered as {key[0]}.{key[1]}")
            self._sensors[key] = sensor_cls

    def lookup(self, module: str, name: str) -> type | None:
        """Return the class registered under ``(module, name)``, or None."""
        return self._sensors.get((module, name))

    def allow_modules(self, *modules: str) -> None:
        """Add modules to the allowlist (``"pkg.*"`` allows a package and its submodules).

        Raises:
            InvalidRequestError: A name is not a dotted module path.
        """
        for module in modules:
            check_sensor_key(module.removesuffix(".*"), "x")
        with self._lock:
            self._modules.update(modules)

    def allowlist(self) -> frozenset[str]:
        """The current allowlist: modules added by API plus those in ``FLYTE_BRIDGE_SENSOR_MODULES``."""
        patterns = set(self._modules)
        if self._read_env:
            env = os.environ.get(ALLOWLIST_ENV, "")
            patterns.update(p.strip() for p in env.split(",") if p.strip())
        return frozenset(patterns)

    def is_allowed(self, module: str, name: str) -> bool:
        """Whether the engine may run ``module.name``: registered, or its module is allowlisted."""
        return (module, name) in self._sensors or _allowed(module, self.allowlist())

    def registered(self) -> list[tuple[str, str]]:
        """All registered keys, sorted."""
        return sorted(self._sensors)


_DEFAULT = SensorRegistry()


def default_sensor_registry() -> SensorRegistry:
    """The process-wide sensor registry used by the built-in engine."""
    return _DEFAULT


def register_sensor(
    sensor_cls: _S | None = None,
    *,
    module: str | None = None,
    name: str | None = None,
    override: bool = False,
) -> Any:
    """Register a sensor in the default registry; usable as ``@register_sensor`` or a call.

    Args:
        sensor_cls: The sensor class (omit to use as a decorator with options).
        module: The module name templates use for it (default: the class's module).
        name: The class name templates use (default: the class name).
        override: Replace an existing registration.

    Returns:
        The class (so the decorator form keeps it), or a decorator.
    """

    def _do(cls: _S) -> _S:
        _DEFAULT.register(cls, module, name, override=override)
        return cls

    return _do(sensor_cls) if sensor_cls is not None else _do


def allow_sensor_modules(*modules: str) -> None:
    """Put modules on the default registry's allowlist (see ``SensorRegistry.allow_modules``)."""
    _DEFAULT.allow_modules(*modules)


__all__ = [
    "ALLOWLIST_ENV",
    "Sensor",
    "SensorRegistry",
    "allow_sensor_modules",
    "check_sensor_key",
    "default_sensor_registry",
    "register_sensor",
]
