"""flytekit connectors served before flytekit is imported: flytekit loads on the first call.

``pyflyte serve connector`` serves flytekit's webhook connector besides its plugins, and so does the
bridge when flytekit is installed. Importing flytekit costs about a second and 30-40 MiB, which a
server that serves nothing else of flytekit's should not pay while idle. A connector whose category is
fixed (name, task type, version, sync or async) can be announced from that knowledge alone:
:class:`LazyFlytekitImplementation` answers the metadata services at once and imports the connector's
module, adapting the connector it registers in flytekit's registry (``legacy.flytekit_adapter``), on
its first task call. From then on every call goes to that adapted connector, exactly as if it had been
imported at start.

The import runs in a ``--worker`` thread, so the event loop (and every other call) goes on meanwhile;
in a thread other than the main one, flytekit leaves the process's SIGINT handler alone. Once imported,
everything flytekit made is taken out of the cyclic GC's sight, as ``flyte-bridge serve`` does with what
it made at start (``bridge.commands.serve.freeze_start_objects``): long-lived objects the full collections
would otherwise walk on every pass.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import importlib
import importlib.util
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modern import envelope
from modern.errors import ConnectorError
from modern.implementation import FLYTEKIT, Implementation
from translators._gen import v2

log = logging.getLogger("legacy.flytekit_lazy")


@dataclass(frozen=True)
class FlytekitConnectorSpec:
    """What flytekit's source says of one of its connectors, known without importing it.

    Attributes:
        module: The module whose import registers the connector in flytekit's registry.
        origin: The module defining the connector's class (the start table's source column).
        name: The connector's ``name``.
        task_type: Its task category's name.
        version: Its task category's version.
        is_sync: Whether it is a ``SyncConnectorBase``.
    """

    module: str
    origin: str
    name: str
    task_type: str
    version: int
    is_sync: bool

    def installed(self) -> bool:
        """Whether ``module`` exists in the installed flytekit, found without importing flytekit."""
        try:
            spec = importlib.util.find_spec("flytekit")
        except (ImportError, ValueError):
            return False
        if spec is None or not spec.submodule_search_locations:
            return False
        rel = Path(*self.module.split(".")[1:])
        return any(
            (Path(root) / rel / "__init__.py").is_file() or (Path(root) / rel).with_suffix(".py").is_file()
            for root in spec.submodule_search_locations
        )


WEBHOOK = FlytekitConnectorSpec(
    # flytekit/extras/webhook/connector.py: class WebhookConnector(SyncConnectorBase), name "Webhook
    # Connector", super().__init__(task_type_name=TASK_TYPE) with constants.TASK_TYPE = "webhook" and the
    # default task_type_version 0; the module registers WebhookConnector() at import.
    module="flytekit.extras.webhook",
    origin="flytekit.extras.webhook.connector",
    name="Webhook Connector",
    task_type="webhook",
    version=0,
    is_sync=True,
)
"""flytekit's built-in webhook connector, which ``pyflyte serve connector`` serves (checked against the
installed flytekit by tests/legacy/test_flytekit_lazy.py)."""

SERVED: tuple[FlytekitConnectorSpec, ...] = (WEBHOOK,)
"""flytekit's connectors that ``pyflyte serve connector`` serves besides its plugins."""


def _load(spec: FlytekitConnectorSpec) -> Implementation:
    """Import ``spec.module`` and return the adapted connector it registered (runs in a worker thread)."""
    from legacy._flytekit_api import flytekit_api
    from legacy.flytekit_adapter import adapt
    from modern.entry import ConnectorEntry
    from modern.local import LocalImplementation

    importlib.import_module(spec.module)
    found = [c for c in flytekit_api().registered()
             if (str(c.task_category.name), int(c.task_category.version)) == (spec.task_type, spec.version)]
    if not found:
        raise ConnectorError(f"{spec.module} registered no connector for {spec.task_type!r} v{spec.version}")
    real = LocalImplementation(ConnectorEntry.of(adapt(found[0])))
    if (real.name, real.is_sync) != (spec.name, spec.is_sync):
        log.warning(
            "flytekit's %s connector is now %r (%s), announced as %r (%s): restart to announce it as it is",
            spec.task_type, real.name, "sync" if real.is_sync else "async", spec.name,
            "sync" if spec.is_sync else "async",
        )
    gc.freeze()
    return real


class LazyFlytekitImplementation(Implementation):
    """A flytekit connector announced from its :class:`FlytekitConnectorSpec`; imported on its first call.

    Args:
        spec: What the connector is.
    """

    source = family = key = FLYTEKIT

    def __init__(self, spec: FlytekitConnectorSpec) -> None:
        self.spec = spec
        self.origin = spec.origin
        self.name = spec.name
        self.category = (spec.task_type, spec.version)
        self.is_sync = spec.is_sync
        self._real: Implementation | None = None
        # The import under way, shared by every loop's callers (a process may serve the same registry
        # from several loops one after the other: the kit's in-process bridges); None when none is.
        self._loading: concurrent.futures.Future[Implementation] | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the connector has been imported."""
        return self._real is not None

    async def real(self) -> Implementation:
        """The adapted connector, imported on the first call (concurrent first calls share one import).

        The import runs in a worker thread and settles a thread-safe future: a caller that is cancelled,
        or whose loop stops, leaves it to finish for the others, on this loop or another.

        Raises:
            ConnectorError: The module failed to import or registered no such connector (the next call
                tries again).
        """
        if self._real is not None:
            return self._real
        with self._lock:
            loading, starts = self._loading, self._loading is None
            if starts:
                loading = self._loading = concurrent.futures.Future()
                loading.set_running_or_notify_cancel()  # running: a waiter's cancellation cannot cancel it
        assert loading is not None
        if starts:
            try:
                asyncio.get_running_loop().run_in_executor(None, contextvars.copy_context().run, self._import, loading)
            except RuntimeError as exc:  # the loop's executor is shut down: settle it, or it waits forever
                self._settle(loading, exc)
        try:
            return await asyncio.wrap_future(loading)
        except ConnectorError:
            raise
        except Exception as exc:
            raise ConnectorError(f"flytekit's {self.name!r} failed to load: {type(exc).__name__}: {exc}") from None

    def _import(self, loading: concurrent.futures.Future[Implementation]) -> None:
        """Import in this worker thread and settle ``loading`` (its exception, if any, goes to the waiters)."""
        try:
            log.info("importing flytekit for its first %s call", self.spec.task_type)
            real = _load(self.spec)
        except BaseException as exc:  # noqa: BLE001  (handed to every waiter through the future)
            self._settle(loading, exc)
            return
        with self._lock:
            self._real, self._loading = real, None
        loading.set_result(real)

    def _settle(self, loading: concurrent.futures.Future[Implementation], exc: BaseException) -> None:
        with self._lock:
            self._loading = None  # the next call tries again
        loading.set_exception(exc)

    def accepts_meta(self, data: bytes) -> bool:
        if self._real is not None:
            return self._real.accepts_meta(data)
        return envelope.is_envelope(data) if self.is_sync else True

    async def execute_sync(self, request: v2.CreateTaskRequest, timeout: float | None) -> v2.Resource:
        return await (await self.real()).execute_sync(request, timeout)

    async def create_task(self, request: v2.CreateTaskRequest, timeout: float | None) -> bytes:
        return await (await self.real()).create_task(request, timeout)

    async def get_task(
        self, request: v2.GetTaskRequest, timeout: float | None, output_types: Any = None
    ) -> v2.Resource:
        return await (await self.real()).get_task(request, timeout, output_types)

    async def delete_task(self, request: v2.DeleteTaskRequest, timeout: float | None) -> None:
        await (await self.real()).delete_task(request, timeout)

    async def get_task_metrics(
        self, request: v2.GetTaskMetricsRequest, timeout: float | None
    ) -> v2.GetTaskMetricsResponse:
        return await (await self.real()).get_task_metrics(request, timeout)

    async def get_task_logs(
        self, request: v2.GetTaskLogsRequest, timeout: float | None
    ) -> AsyncIterator[v2.GetTaskLogsResponse]:
        return await (await self.real()).get_task_logs(request, timeout)


__all__ = ["SERVED", "WEBHOOK", "FlytekitConnectorSpec", "LazyFlytekitImplementation"]
