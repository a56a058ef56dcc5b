"""Find and import connector modules, and bring SDK registries into the hub's registry.

Order (later sources may add to what earlier ones registered):

1. Built-ins, so a bare ``flyte-bridge serve`` serves real work: the file sensor
   (``modern.sensors.builtin``) and the echo example (``bridge.examples``).
2. Entry points of the project's group ``flyte_connector_bridge.connectors``, flyte-sdk's
   ``flyte.connectors`` (as ``c0`` loads them) and, when flytekit is installed, flytekit's
   ``flytekit.plugins`` plus its built-in webhook connector (as ``pyflyte serve connector`` does).
   Importing flytekit costs about a second and 30-40 MiB, so it is imported at start only when it has
   plugins to serve (or ``--modules`` imports it): otherwise the webhook connector is announced from
   what flytekit's source says of it and flytekit is imported on its first call
   (:mod:`legacy.flytekit_lazy`). Entry points of an SDK load that SDK, as its own server does.
3. ``--modules`` given on the command line (the current directory is on ``sys.path``, as in
   ``pyflyte serve``).
4. Adapters: flytekit's and flyte-sdk's own registries are imported into the hub registry when
   those SDKs were imported by any of the above.

A module that fails to import is logged, listed in the start table and skipped; the rest serve. A
module that imports but registers no connector (a propeller-only plugin) is listed as such.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)

PROJECT_GROUP = "flyte_connector_bridge.connectors"
FLYTE_SDK_GROUP = "flyte.connectors"
FLYTEKIT_GROUP = "flytekit.plugins"
BUILTIN_MODULES: tuple[str, ...] = ("modern.sensors.builtin", "bridge.examples")

_MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class LoadFailure:
    """A connector source that could not be loaded."""

    source: str
    name: str
    error: str


@dataclass
class DiscoveryReport:
    """What discovery loaded and what it skipped."""

    loaded: list[tuple[str, str]] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)
    #: Loaded (source, name) pairs whose module registered no connector (e.g. a propeller-only plugin).
    empty: list[tuple[str, str]] = field(default_factory=list)
    #: (source, name, module) of everything loaded, to find the empty ones once SDK registries are adapted.
    modules: list[tuple[str, str, str]] = field(default_factory=list)
    #: Module (or entry point) name -> the task categories it registered, in the hub's registry or an
    #: SDK's (adapted at the end). A module imported earlier in this process reports what it registered then.
    registered: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def categories(self, names: Iterable[str]) -> set[tuple[str, int]]:
        """The task categories the modules (or entry points) ``names`` registered."""
        return {c for n in names for c in self.registered.get(n, ())}


#: Module -> categories its first import registered, for later discoveries in the same process.
_FIRST_IMPORT: dict[str, tuple[tuple[str, int], ...]] = {}


def _category_of(connector: Any) -> tuple[str, int]:
    # flytekit's connectors carry a TaskCategory; the bridge's and flyte-sdk's a name and a version.
    cat = getattr(connector, "task_category", None)
    if cat is not None and hasattr(cat, "name"):
        return str(cat.name), int(getattr(cat, "version", 0) or 0)
    return str(getattr(connector, "task_type_name", "")), int(getattr(connector, "task_type_version", 0) or 0)


def _sdk_connectors() -> list[Any]:
    """The connectors in flytekit's and flyte-sdk's own registries (of the SDKs imported so far)."""
    found: list[Any] = []
    if "flytekit" in sys.modules:
        try:  # base_connector (1.16+) or base_agent (1.11-1.15), as the adapter finds it
            from legacy._flytekit_api import flytekit_api

            found += flytekit_api().registered()
        except Exception:  # a flytekit without an adaptable registry: nothing to add
            pass
    if "flyte" in sys.modules:
        try:
            sdk_registry = importlib.import_module("flyte.connectors").ConnectorRegistry
            found += list(getattr(sdk_registry, "_REGISTRY", {}).values())
        except Exception:  # a flyte-sdk version without that registry: nothing to add
            pass
    return found


def _known(registry: Any) -> set[tuple[tuple[str, int], int]]:
    """(category, identity) of every connector registered anywhere: what an import adds shows as new."""
    found = {(i.category, id(getattr(getattr(i, "entry", None), "connector", i))) for i in registry.all_implementations()}
    return found | {(_category_of(c), id(c)) for c in _sdk_connectors()}


def _origin_categories(registry: Any, module: str) -> set[tuple[str, int]]:
    """Categories of connectors defined in ``module`` or below it (for a module imported before)."""
    def within(m: str) -> bool:
        return m == module or m.startswith(module + ".")

    found = {i.category for i in registry.all_implementations() if within(i.origin)}
    return found | {_category_of(c) for c in _sdk_connectors() if within(type(c).__module__)}


@contextlib.contextmanager
def _recording(report: DiscoveryReport, registry: Any, name: str, module: str) -> Iterator[None]:
    """Record in ``report.registered[name]`` what importing ``module`` registers."""
    imported_before = module in sys.modules
    before = _known(registry)
    yield
    added = {cat for cat, _ in _known(registry) - before}
    if not imported_before and module in sys.modules:
        _FIRST_IMPORT[module] = tuple(sorted(added))
    elif imported_before:
        added |= set(_FIRST_IMPORT.get(module, ())) | _origin_categories(registry, module)
    report.registered[name] = sorted(set(report.registered.get(name, ())) | added)


def _summary(exc: BaseException) -> str:
    # The type and a bounded message: enough to fix the import, never a whole traceback.
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _import(report: DiscoveryReport, source: str, name: str, module: str, registry: Any = None) -> None:
    try:
        if registry is None:
            importlib.import_module(module)
        else:
            with _recording(report, registry, name, module):
                importlib.import_module(module)
    except Exception as exc:  # a broken connector must not take the others down
        failure = LoadFailure(source, name, _summary(exc))
        report.failed.append(failure)
        log.warning("skipped connector module %s (%s): %s", name, source, failure.error)
        log.debug("import of %s failed", module, exc_info=True)
    else:
        report.loaded.append((source, name))
        report.modules.append((source, name, module))
        log.info("loaded connector module %s (%s)", name, source)


def _load_group(report: DiscoveryReport, group: str, seen: set[str], registry: Any) -> None:
    for ep in entry_points(group=group):
        try:
            if ep.module in seen:
                continue
            seen.add(ep.module)
            with _recording(report, registry, ep.name, ep.module):
                ep.load()
        except Exception as exc:
            failure = LoadFailure(group, ep.name, _summary(exc))
            report.failed.append(failure)
            log.warning("skipped entry point %s (%s): %s", ep.name, group, failure.error)
            log.debug("entry point %s failed", ep.name, exc_info=True)
        else:
            report.loaded.append((group, ep.name))
            report.modules.append((group, ep.name, ep.module))
            log.info("loaded entry point %s (%s)", ep.name, group)


_ADAPTERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("flytekit", "legacy.flytekit_adapter", ("import_flytekit_registry",)),
    # The brief named it import_flyte_sdk_registry; the adapters engineer wrote import_flyte_registry.
    ("flyte", "modern.flyte_sdk", ("import_flyte_sdk_registry", "import_flyte_registry")),
)


def _adapt(report: DiscoveryReport, registry: Any) -> None:
    for sdk, module_name, func_names in _ADAPTERS:
        if sdk not in sys.modules:
            continue  # nobody imported that SDK, so its registry is empty
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            log.info("no %s adapter available (%s)", sdk, _summary(exc))
            continue
        func = next((getattr(module, n) for n in func_names if callable(getattr(module, n, None))), None)
        if func is None:
            log.info("%s has none of %s; %s connectors not adapted", module_name, func_names, sdk)
            continue
        kwargs: dict[str, Any] = {}
        if "entry_points" in inspect.signature(func).parameters:
            kwargs["entry_points"] = False  # discovery already loaded (and reported) them
        try:
            added = func(registry, **kwargs)
        except Exception as exc:
            failure = LoadFailure("adapter", f"{module_name}.{func.__name__}", _summary(exc))
            report.failed.append(failure)
            log.warning("adapting the %s registry failed: %s", sdk, failure.error)
        else:
            report.adapted.append(sdk)
            log.info("adapted %d %s connector(s) into the bridge", len(added or ()), sdk)


def _connector_modules(registry: Any) -> set[str]:
    """The modules defining every connector class known here: the hub's and both SDKs' registries."""
    # An implementation's origin is the module of the connector class it wraps (or is).
    return {i.origin for i in registry.all_implementations()} | {type(c).__module__ for c in _sdk_connectors()}


def _mark_empty(report: DiscoveryReport, registry: Any) -> None:
    # A module registered something if a known connector class is defined in it or below it. A module
    # that registers a connector defined elsewhere (a re-export) is marked only if nothing else is.
    modules = _connector_modules(registry)
    for source, name, module in report.modules:
        if source == "builtin" or module == "flytekit":
            continue
        if not any(m == module or m.startswith(module + ".") for m in modules):
            report.empty.append((source, name))
            log.info("connector module %s (%s) loaded but registered no connector", name, source)


#: What ``pyflyte serve connector`` imports besides the entry points (its built-in webhook connector);
#: ``legacy.flytekit_lazy.SERVED`` says the same of each without importing it.
FLYTEKIT_SERVE_MODULES: tuple[str, ...] = ("flytekit.extras.webhook",)


def discover(
    registry: Any,
    modules: Sequence[str] = (),
    *,
    builtins: Iterable[str] = BUILTIN_MODULES,
    entry_point_groups: bool = True,
    defer_sdks: bool = True,
) -> DiscoveryReport:
    """Import every connector source and adapt SDK registries into ``registry``.

    Args:
        registry: The hub's ``modern.ConnectorRegistry`` (normally the process-wide default,
            where connector modules register themselves on import).
        modules: Extra module names (``--modules``).
        builtins: Modules always loaded first.
        entry_point_groups: Whether to load the entry-point groups.
        defer_sdks: Announce flytekit's built-in connectors without importing flytekit when nothing
            else needs it (:mod:`legacy.flytekit_lazy`); False imports them at once, as local
            ``ConnectorEntry``s (what ``flyte-bridge check`` inspects).

    Returns:
        What was loaded, adapted and skipped.
    """
    with _signals_kept():
        return _discover(registry, modules, builtins, entry_point_groups, defer_sdks)


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """Undo signal handlers that imported modules install (``import flytekit`` makes Ctrl-C exit(1))."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in kept.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)


def _discover(
    registry: Any, modules: Sequence[str], builtins: Iterable[str], entry_point_groups: bool, defer_sdks: bool
) -> DiscoveryReport:
    report = DiscoveryReport()
    seen: set[str] = set()
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in builtins:
        seen.add(module)
        _import(report, "builtin", module, module, registry)
    if entry_point_groups:
        _load_group(report, PROJECT_GROUP, seen, registry)
        _load_group(report, FLYTE_SDK_GROUP, seen, registry)
        if _exists("flytekit") and entry_points(group=FLYTEKIT_GROUP):
            # As pyflyte serve connector: flytekit's plugins plus its built-in webhook connector.
            _import(report, FLYTEKIT_GROUP, "flytekit", "flytekit", registry)
            _load_group(report, FLYTEKIT_GROUP, seen, registry)
            _load_flytekit_serve_modules(report, seen, registry)
    for module in modules:
        if module in seen:
            continue
        seen.add(module)
        _import(report, "--modules", module, module, registry)
    if entry_point_groups and ("flytekit" in sys.modules or not defer_sdks):
        _load_flytekit_serve_modules(report, seen, registry)  # flytekit is imported anyway (--modules), or wanted now
    elif entry_point_groups:
        _announce_flytekit_serve_modules(registry, seen)
    _adapt(report, registry)
    _mark_empty(report, registry)
    return report


def _load_flytekit_serve_modules(report: DiscoveryReport, seen: set[str], registry: Any) -> None:
    for module in FLYTEKIT_SERVE_MODULES:
        if module not in seen and _exists(module):
            seen.add(module)
            _import(report, "flytekit", module, module, registry)


def _announce_flytekit_serve_modules(registry: Any, seen: set[str]) -> None:
    """Serve flytekit's built-in connectors without importing flytekit (it loads on their first call)."""
    from legacy.flytekit_lazy import SERVED, LazyFlytekitImplementation

    for spec in SERVED:
        if spec.module in seen or not spec.installed():
            continue
        seen.add(spec.module)
        registry.add(LazyFlytekitImplementation(spec))
        log.info("serving flytekit's %s; flytekit is imported on its first call", spec.name)


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
