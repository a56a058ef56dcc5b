"""The start table: what this bridge serves, to whom, and which modules were skipped.

Printed to stderr (and logged) once the connectors are loaded, like ``c0``'s metadata table, with
two more columns: whether a connector is sync or async and which Flyte generations reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bridge.discovery import DiscoveryReport


@dataclass(frozen=True)
class ServedRow:
    """One served (connector, task category)."""

    connector: str
    category: str
    kind: str
    generations: str


def _kind(connector: Any) -> str:
    import modern

    sync_cls = getattr(modern, "SyncConnector", None)
    if sync_cls is not None and isinstance(connector, sync_cls):
        return "sync"
    return "sync" if callable(getattr(connector, "do", None)) else "async"


def served_rows(registry: Any) -> list[ServedRow]:
    """List every (connector, category) in ``registry``.

    Args:
        registry: A ``modern.ConnectorRegistry``.

    Returns:
        Rows sorted by connector name, then category.
    """
    rows: list[ServedRow] = []
    entries = getattr(registry, "entries", None)
    if callable(entries):  # modern.ConnectorRegistry: each entry knows whether it is sync
        for e in entries():
            name, version = e.category
            rows.append(_row(e.name, name, version, "sync" if e.is_sync else "async"))
        return sorted(rows, key=lambda r: (r.connector, r.category))
    for item in registry.list_connectors():
        if hasattr(item, "supported_task_categories"):  # a v2 Connector message
            for cat in item.supported_task_categories:
                try:
                    kind = _kind(registry.get_connector(cat.name, cat.version))
                except Exception:
                    kind = "?"
                rows.append(_row(item.name, cat.name, cat.version, kind))
        else:  # a connector instance
            rows.append(
                _row(
                    getattr(item, "name", type(item).__name__),
                    item.task_type_name,
                    getattr(item, "task_type_version", 0),
                    _kind(item),
                )
            )
    return sorted(rows, key=lambda r: (r.connector, r.category))


def _row(name: str, category: str, version: int, kind: str) -> ServedRow:
    # v1 reaches sync connectors through ExecuteTaskSync (and Create/Get when configured async);
    # v2 has no sync service, so it always goes through CreateTask/GetTask.
    generations = "v1 (ExecuteTaskSync, Create/Get) + v2" if kind == "sync" else "v1 + v2"
    return ServedRow(name, f"{category} (v{version})", kind, generations)


def _grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = ["+" + line + "+", "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |", "+" + line + "+"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    out.append("+" + line + "+")
    return out


def format_start_table(rows: Sequence[ServedRow], report: DiscoveryReport | None = None) -> str:
    """Render the served connectors (and any skipped modules) as a text table.

    Args:
        rows: From :func:`served_rows`.
        report: The discovery report, for the skipped-modules section.

    Returns:
        The table text (several lines, no trailing newline).
    """
    lines = ["Connectors served by flyte-connector-bridge:"]
    if rows:
        lines += _grid(
            ("connector", "task category", "kind", "generations"),
            [(r.connector, r.category, r.kind, r.generations) for r in rows],
        )
    else:
        lines.append("  (none: add connector modules with --modules or entry points)")
    if report is not None and report.failed:
        lines.append("Skipped (failed to load):")
        lines += _grid(("source", "name", "error"), [(f.source, f.name, f.error) for f in report.failed])
    return "\n".join(lines)


def format_upstreams(statuses: Sequence[Any]) -> str:
    """The "Upstreams" section: each ``--upstream``, its generation and whether it answers.

    Args:
        statuses: ``bridge.upstream.UpstreamStatus`` rows.
    """
    rows = [(u.address, u.generation, u.state, u.detail) for u in statuses]
    return "\n".join(["Upstreams:", *_grid(("upstream", "generation", "state", "serves / last error"), rows)])
