"""flytekit's webhook connector as the bridge announces it before importing flytekit, against flytekit itself."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

pytest.importorskip("flytekit")

from bridge.discovery import FLYTEKIT_SERVE_MODULES  # noqa: E402
from legacy._flytekit_api import flytekit_api  # noqa: E402
from legacy.flytekit_lazy import SERVED, WEBHOOK, LazyFlytekitImplementation  # noqa: E402
from modern.envelope import is_envelope  # noqa: E402
from modern.errors import ConnectorError  # noqa: E402

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("spec", SERVED, ids=lambda s: s.task_type)
def test_announced_metadata_is_what_flytekit_registers(spec) -> None:  # type: ignore[no-untyped-def]
    import importlib

    importlib.import_module(spec.module)
    api = flytekit_api()
    found = [c for c in api.registered() if (c.task_category.name, c.task_category.version) == (spec.task_type, spec.version)]
    assert len(found) == 1
    real = found[0]
    assert real.name == spec.name
    assert isinstance(real, api.sync_base) is spec.is_sync and isinstance(real, api.async_base) is not spec.is_sync
    assert type(real).__module__ == spec.origin
    assert spec.installed()


def test_served_specs_are_the_modules_pyflyte_serve_imports() -> None:
    assert tuple(s.module for s in SERVED) == FLYTEKIT_SERVE_MODULES
    assert (WEBHOOK.name, WEBHOOK.task_type, WEBHOOK.version, WEBHOOK.is_sync) == ("Webhook Connector", "webhook", 0, True)
    assert not dataclasses.replace(WEBHOOK, module="flytekit.extras.no_such_module").installed()


def test_first_calls_share_one_import_and_a_failure_is_a_connector_error() -> None:
    async def main() -> None:
        lazy = LazyFlytekitImplementation(WEBHOOK)
        assert not lazy.loaded and lazy.accepts_meta(b"") is is_envelope(b"")
        first, second = await asyncio.gather(lazy.real(), lazy.real())
        assert first is second and lazy.loaded
        assert (first.name, first.category, first.is_sync, first.origin) == (lazy.name, lazy.category, lazy.is_sync, lazy.origin)
        broken = LazyFlytekitImplementation(dataclasses.replace(WEBHOOK, task_type="no-such-type"))
        for _ in range(2):  # not cached: the next call tries again
            with pytest.raises(ConnectorError, match="registered no connector"):
                await broken.real()

    asyncio.run(main())


def test_discovery_defers_the_webhook_unless_flytekit_is_imported_or_asked_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    import modern
    from bridge.discovery import discover
    from modern.local import LocalImplementation

    import flytekit.extras.webhook  # noqa: F401  (flytekit's registry holds the webhook connector)

    eager, imported = modern.ConnectorRegistry(), modern.ConnectorRegistry()
    discover(eager, builtins=(), defer_sdks=False)
    discover(imported, builtins=())  # flytekit is in sys.modules: nothing left to save
    for registry in (eager, imported):
        (impl,) = registry.implementations("webhook", 0)
        assert isinstance(impl, LocalImplementation) and impl.describe() == "flytekit (flytekit.extras.webhook.connector)"
    with monkeypatch.context() as m:  # as in a fresh server process: flytekit not imported yet
        m.delitem(sys.modules, "flytekit")
        deferred = modern.ConnectorRegistry()
        discover(deferred, builtins=())
        assert "flytekit" not in sys.modules
    (lazy,) = deferred.implementations("webhook", 0)
    assert isinstance(lazy, LazyFlytekitImplementation) and not lazy.loaded
    assert lazy.describe() == "flytekit (flytekit.extras.webhook.connector)"
    # Not a local connector object until it is imported. (Only the webhook's category: discovery also adapts
    # what earlier tests left in flyte-sdk's process-wide registry.)
    assert [e for e in deferred.entries() if e.category == ("webhook", 0)] == []


def test_an_import_begun_on_a_loop_that_stopped_still_serves_the_next_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kit's in-process bridges serve one registry from one loop after another: a first call whose
    loop stops (``ServedBridge.close``) while flytekit imports must not leave the import bound to it."""
    import threading
    import time

    import legacy.flytekit_lazy as lazy_module

    load = lazy_module._load
    monkeypatch.setattr(lazy_module, "_load", lambda spec: (time.sleep(0.3), load(spec))[1])
    lazy = LazyFlytekitImplementation(WEBHOOK)
    first = asyncio.new_event_loop()
    thread = threading.Thread(target=first.run_forever)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(lazy.real(), first)
        time.sleep(0.05)
        first.call_soon_threadsafe(first.stop)  # stopped mid-import, its tasks never resumed
        thread.join()

        async def next_loop() -> Any:
            return await asyncio.wait_for(asyncio.gather(lazy.real(), lazy.real()), 10)

        one, two = asyncio.run(next_loop())
        assert one is two and lazy.loaded and one.name == WEBHOOK.name
    finally:
        first.close()


def test_a_cancelled_first_call_leaves_the_import_to_the_next() -> None:
    async def main() -> None:
        lazy = LazyFlytekitImplementation(WEBHOOK)
        first = asyncio.ensure_future(lazy.real())
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):  # still a cancellation, not a ConnectorError
            await first
        assert (await lazy.real()).name == WEBHOOK.name

    asyncio.run(main())
