"""``Upstreams``: the upstream servers' metadata, learned at start and refreshed, kept in the registry.

For each ``--upstream`` the manager detects the server's generation from its metadata service (v2
``ListConnectors`` first, then v1 ``ListAgents``; a ``v1://``/``v2://`` prefix skips detection),
learns its connectors and task categories (with ``is_sync`` from v1 ``Agent``s), and keeps one
``UpstreamImplementation`` per category in the registry. Every ``interval`` seconds it asks again with
a short timeout:

- the upstream answers: categories it no longer lists are removed, new ones added;
- it does not answer: it is *down*. Its categories stay, so calls reach it and get UNAVAILABLE (which
  callers retry), and the same ``resource_meta`` answers once it is back, without a restart.
- it has never answered (down since the bridge started): the registry counts it as *pending*, so a
  call for an unknown category is UNAVAILABLE rather than NOT_FOUND until it answers.

Calls tell first, so they move the state too (``UpstreamClient.observer``): a call that fails for want
of a connection marks its upstream down at once, and a call it answers marks it up again (and asks it
for its connectors at once, so the registry catches up). The refresh stays the signal while no calls
come. Neither removes a category from the listing: only the upstream's own answer does.

``flyte_bridge_upstream_up{upstream}`` (``bridge.server.metrics``) and the start table show each one's state.
Everything runs on the serving loop, where the channels live.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from bridge.server.metrics import upstream_up_gauge
from bridge.upstream.client import UpstreamClient, parse_address
from bridge.upstream.dialect import DIALECTS, Dialect
from bridge.upstream.implementation import UpstreamImplementation
from modern.errors import BridgeError, StatusError, bounded
from modern.implementation import upstream_key
from modern.registry import ConnectorRegistry
from modern.routing import V1, V2
from translators._gen import v1, v2

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
PROBE_TIMEOUT = 3.0

#: (connector name, (task type name, version), is_sync) as an upstream lists it.
Listed = tuple[str, tuple[str, int], bool]


def _listed_v1(data: bytes) -> list[Listed]:
    out: list[Listed] = []
    for agent in v1.ListAgentsResponse.FromString(data).agents:
        cats = [(c.name, c.version) for c in agent.supported_task_categories]
        cats = cats or [(t, 0) for t in agent.supported_task_types]  # agents before task categories
        out += [(agent.name, cat, agent.is_sync) for cat in cats]
    return out


def _listed_v2(data: bytes) -> list[Listed]:
    return [
        (c.name, (cat.name, cat.version), False)
        for c in v2.ListConnectorsResponse.FromString(data).connectors
        for cat in c.supported_task_categories
    ]


_LISTED = {V1: _listed_v1, V2: _listed_v2}


@dataclass
class Upstream:
    """One ``--upstream``: where it is, what it speaks, whether it answers, what it serves here."""

    address: str
    target: str
    forced: str | None
    client: UpstreamClient | None = None
    generation: str | None = None
    up: bool = False
    answered: bool = False
    error: str = "not asked yet"
    calls: int = 0  # calls whose outcome said up or down (``Upstreams._observed``)
    impls: dict[tuple[str, int], UpstreamImplementation] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return upstream_key(self.target)

    def generations(self) -> list[str]:
        """The generations to try, most likely first."""
        if self.forced:
            return [self.forced]
        known = self.generation or V2
        return [known, V1 if known == V2 else V2]


@dataclass(frozen=True)
class UpstreamStatus:
    """One upstream as the start table shows it."""

    address: str
    generation: str
    state: str
    detail: str


class Upstreams:
    """The upstream servers of one bridge process.

    Args:
        registry: Where their implementations go.
        addresses: ``--upstream`` values (``[v1://|v2://]TARGET``).
        credentials: TLS channel credentials for all of them, or None for plaintext.
        interval: Seconds between metadata refreshes.
        probe_timeout: Deadline of each metadata call.
        channel_options: Extra channel options (message size limits).
    """

    def __init__(
        self,
        registry: ConnectorRegistry,
        addresses: Iterable[str],
        credentials: grpc.ChannelCredentials | None = None,
        *,
        interval: float = REFRESH_SECONDS,
        probe_timeout: float = PROBE_TIMEOUT,
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self.registry = registry
        by_target: dict[str, Upstream] = {}
        for address in addresses:  # a target named twice is one upstream (the first spelling wins)
            target, forced = parse_address(address)
            by_target.setdefault(target, Upstream(address, target, forced))
        self.upstreams = list(by_target.values())
        self.credentials = credentials
        self.interval = interval
        self.probe_timeout = probe_timeout
        self.channel_options = tuple(channel_options)
        self._task: asyncio.Task[None] | None = None
        self._catching_up: set[asyncio.Task[None]] = set()  # refreshes a call's success asked for
        self._gauge = upstream_up_gauge()

    async def start(self) -> None:
        """Open the channels, ask every upstream once, then refresh in the background (on this loop)."""
        for u in self.upstreams:
            u.client = UpstreamClient(u.target, self.credentials, self.channel_options)
            u.client.observer = functools.partial(self._observed, u)
            self.registry.expect(u.key)
            self._gauge.labels(upstream=u.target).set(0)
        await self.refresh()
        self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def close(self) -> None:
        """Stop refreshing and close the channels."""
        tasks = [t for t in (self._task, *self._catching_up) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        for u in self.upstreams:
            if u.client is not None:
                await u.client.close()

    async def refresh(self) -> None:
        """Ask every upstream for its connectors now (concurrently)."""
        await asyncio.gather(*(self._refresh(u) for u in self.upstreams))

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._logged(self.refresh())

    @staticmethod
    async def _logged(refresh: Any) -> None:
        """Await a refresh; an unexpected failure is logged, never raised (a round, or a call's catch-up)."""
        try:
            await refresh
        except Exception:  # never let one bad round stop the refreshing
            log.exception("upstream refresh failed")

    async def _list(self, u: Upstream) -> tuple[Dialect, list[Listed]]:
        assert u.client is not None
        unimplemented: StatusError | None = None
        for generation in u.generations():
            d = DIALECTS[generation]
            try:
                path = d.path(d.list_method, d.metadata_service)
                # An upstream that answered before may be back while its channel waits out a reconnect
                # backoff (after a call's own channel reconnected): the probe waits for a real attempt.
                data = await u.client.unary(path, b"", self.probe_timeout, observe=False, wait_for_ready=u.answered)
            except StatusError as exc:
                if exc.code != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                unimplemented = exc
                continue
            try:
                return d, _LISTED[generation](data)
            except DecodeError:
                raise StatusError(
                    grpc.StatusCode.INTERNAL, f"upstream {u.target}: {d.list_method} answer does not parse"
                ) from None
        assert unimplemented is not None
        raise StatusError(
            grpc.StatusCode.UNIMPLEMENTED,
            f"upstream {u.target} serves no connector metadata service ({unimplemented.details})",
        )

    async def _refresh(self, u: Upstream) -> None:
        calls_before = u.calls
        try:
            d, listed = await self._list(u)
        except BridgeError as exc:
            if u.calls != calls_before and u.up:  # a call it answered meanwhile is the newer evidence
                return
            details = exc.details
            if exc.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                details = f"upstream {u.target} is unavailable: no answer to its metadata call within {self.probe_timeout:g} s"
            if u.up or u.error != details:
                log.warning("upstream %s is down: %s", u.target, details)
            u.up, u.error = False, details
            self._gauge.labels(upstream=u.target).set(0)
            return
        if not u.up:
            log.info("upstream %s is up (%s, %d task categories)", u.target, d.generation, len(listed))
        u.generation, u.up, u.answered, u.error = d.generation, True, True, ""
        self._sync(u, d, listed)
        self.registry.expect(u.key, pending=False)
        self._gauge.labels(upstream=u.target).set(1)

    def _observed(self, u: Upstream, answered: bool, details: str) -> None:
        """A call to ``u`` was answered (``answered``) or failed for want of a connection (``details``).

        Runs on the serving loop after the call (``UpstreamClient.observer``); a no-op unless the state
        changes, so it costs a comparison per call.
        """
        u.calls += 1
        if answered == u.up or not u.answered:  # never listed yet: the refresh decides (generation, categories)
            return
        if answered:
            log.info("upstream %s answers calls again", u.target)
            u.up, u.error = True, ""
            # Catch up with what it serves now.
            task = asyncio.get_running_loop().create_task(self._logged(self._refresh(u)))
            self._catching_up.add(task)
            task.add_done_callback(self._catching_up.discard)
        else:
            log.warning("upstream %s is down: %s", u.target, details)
            u.up, u.error = False, details
        self._gauge.labels(upstream=u.target).set(1 if answered else 0)

    def _sync(self, u: Upstream, d: Dialect, listed: list[Listed]) -> None:
        """Make the registry hold exactly what ``u`` lists (changing nothing that did not change)."""
        assert u.client is not None
        wanted: dict[tuple[str, int], tuple[str, bool]] = {}
        for name, category, is_sync in listed:
            wanted.setdefault(category, (name, is_sync))
        for category, impl in list(u.impls.items()):
            if wanted.get(category) != (impl.name, impl.is_sync) or impl.dialect is not d:
                self.registry.remove(impl)
                del u.impls[category]
        for category, (name, is_sync) in wanted.items():
            if category not in u.impls:
                impl = UpstreamImplementation(u.client, d, name, category, is_sync)
                self.registry.add(impl, override=True)
                u.impls[category] = impl

    def statuses(self) -> list[UpstreamStatus]:
        """Each upstream's address, generation, up/down and what it serves (or why it is down)."""
        out = []
        for u in self.upstreams:
            served = ", ".join(f"{name} (v{version})" for name, version in u.impls)
            detail = bounded(served or "no task categories", 160) if u.up else bounded(u.error, 160)
            out.append(UpstreamStatus(u.address, u.generation or u.forced or "?", "up" if u.up else "down", detail))
        return out


__all__ = ["PROBE_TIMEOUT", "REFRESH_SECONDS", "UpstreamStatus", "Upstreams"]
