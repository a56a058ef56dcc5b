"""The Flyte 1 view of the registry: ``Agent`` groups as FlytePropeller needs them.

Propeller (CLIENTS.md section 1) keeps ``map[task type]map[version]Agent`` and every write replaces
the inner map, so only one version per task type survives; and it copies ``is_sync`` from the
enclosing Agent onto every task type in it. Hence:

- one version per task type name is advertised: version 0 when registered (it matches the version
  implied by ``supported_task_types``), else the highest;
- sync and async connectors never share an Agent: when one name has both, the sync group is named
  ``"<name> (sync)"``.

The view is hub data (not a translation), kept here so both faces could use it; it is rebuilt only
when the registry changes (ListAgents is polled every 10 s by every propeller).
"""

from __future__ import annotations

from dataclasses import dataclass

from modern.errors import ConnectorNotFoundError
from modern.implementation import Implementation
from modern.registry import ConnectorRegistry
from modern.routing import V1, V2
from translators._gen import v2

SYNC_SUFFIX = " (sync)"


@dataclass(frozen=True)
class AgentGroup:
    """One v1 ``Agent``: a name, sync or not, and its task categories (as a v2 ``Connector``)."""

    connector: v2.Connector
    is_sync: bool

    @property
    def name(self) -> str:
        """The Agent's name."""
        return self.connector.name


def _preferred(current: Implementation | None, candidate: Implementation) -> bool:
    if current is None:
        return True
    cur_v, new_v = current.category[1], candidate.category[1]
    if cur_v == 0:
        return False
    return new_v == 0 or new_v > cur_v


def build_groups(entries: list[Implementation]) -> list[AgentGroup]:
    """Group registered connectors into v1 Agents (rules in the module docstring).

    Args:
        entries: One implementation per category (``registry.primary("v1")``), in registration order.

    Returns:
        The groups, in order of first registration.
    """
    chosen: dict[str, Implementation] = {}
    kinds: dict[str, set[bool]] = {}
    for e in entries:
        task_type = e.category[0]
        if _preferred(chosen.get(task_type), e):
            chosen[task_type] = e
        kinds.setdefault(e.name, set()).add(e.is_sync)
    groups: dict[tuple[str, bool], v2.Connector] = {}
    for e in entries:
        task_type, version = e.category
        if chosen[task_type] is not e:
            continue
        label = e.name + SYNC_SUFFIX if e.is_sync and len(kinds[e.name]) > 1 else e.name
        conn = groups.get((label, e.is_sync))
        if conn is None:
            conn = groups[(label, e.is_sync)] = v2.Connector(name=label)
        conn.supported_task_categories.add(name=task_type, version=version)
    return [AgentGroup(c, is_sync) for (_, is_sync), c in groups.items()]


class AgentView:
    """Cached ``AgentGroup``s of a registry.

    Listed are the implementations a v1 caller reaches by default (one per category). A name only
    Flyte 2 callers are shown (another SDK's connector for the same category) still answers GetAgent.
    """

    def __init__(self, registry: ConnectorRegistry) -> None:
        self._registry = registry
        self._generation = -1
        self._groups: list[AgentGroup] = []
        self._by_name: dict[str, AgentGroup] = {}

    def groups(self) -> list[AgentGroup]:
        """All groups (rebuilt only when the registry changed)."""
        if self._generation != self._registry.generation:
            groups = build_groups(self._registry.primary(V1))
            by_name = {g.name: g for g in build_groups(self._registry.primary(V2))}
            by_name.update((g.name, g) for g in groups)
            self._by_name = by_name
            self._groups = groups
            self._generation = self._registry.generation
        return self._groups

    def group(self, name: str) -> AgentGroup:
        """The group named ``name``.

        Raises:
            ConnectorNotFoundError: No such Agent.
        """
        self.groups()
        found = self._by_name.get(name)
        if found is None:
            raise ConnectorNotFoundError(f"agent {name!r}", self._by_name)
        return found


__all__ = ["SYNC_SUFFIX", "AgentGroup", "AgentView", "build_groups"]
