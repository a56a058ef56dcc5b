"""The start table: what this bridge serves, to whom, and which modules were skipped.

Printed to stderr (and logged) once the connectors are loaded, like ``c0``'s metadata table, with
three more columns: whether a connector is sync or async, which Flyte generations reach it, and its
source (the bridge's API, flytekit, flyte-sdk or an upstream, with the module or address). A category
that several sources serve gets one line saying how it is routed; modules that loaded but registered
no connector are listed apart.
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
    source: str = ""


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
    impls = getattr(registry, "all_implementations", None)
    if callable(impls):  # modern.ConnectorRegistry: each implementation knows its kind and source
        for i in impls():
            name, version = i.category
            rows.append(_row(i.name, name, version, "sync" if i.is_sync else "async", i.describe()))
        return sorted(rows, key=lambda r: (r.connector, r.category, r.source))
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


def routing_lines(registry: Any) -> list[str]:
    """One line per category that several implementations serve, saying which one each caller reaches.

    Args:
        registry: A ``modern.ConnectorRegistry``.
    """
    from modern.routing import V1, V2

    lines = []
    by_v2 = {impl.category: impl for impl in registry.primary(V2)}
    for kit in registry.primary(V1):  # what each generation's caller reaches, --prefer applied
        name, version = kit.category
        if len(registry.implementations(name, version)) < 2:
            continue
        pinned = registry.preferred(name)
        if pinned is not None:
            lines.append(f"{name} (v{version}): every call to {kit.key} (--prefer {name}={pinned})")
            continue
        lines.append(
            f"{name} (v{version}): flytekit templates and v1 callers -> {kit.key}; "
            f"flyte-sdk templates and v2 callers -> {by_v2[kit.category].key}; Get/Delete -> the one that created the task"
        )
    return lines


def _row(name: str, category: str, version: int, kind: str, source: str = "") -> ServedRow:
    # v1 reaches sync connectors through ExecuteTaskSync (and Create/Get when configured async);
    # v2 has no sync service, so it always goes through CreateTask/GetTask.
    generations = "v1 (ExecuteTaskSync, Create/Get) + v2" if kind == "sync" else "v1 + v2"
    return ServedRow(name, f"{category} (v{version})", kind, generations, source)


def _grid(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "+".join("-" * (w + 2) for w in widths)
    out = ["+" + line + "+", "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |", "+" + line + "+"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    out.append("+" + line + "+")
    return out


def format_start_table(
    rows: Sequence[ServedRow], report: DiscoveryReport | None = None, routes: Sequence[str] = ()
) -> str:
    """Render the served connectors (and any skipped modules) as a text table.

    Args:
        rows: From :func:`served_rows`.
        report: The discovery report, for the skipped and empty-modules sections.
        routes: From :func:`routing_lines`.

    Returns:
        The table text (several lines, no trailing newline).
    """
    lines = ["Connectors served by flyte-connector-bridge:"]
    if rows:
        lines += _grid(
            ("connector", "task category", "kind", "generations", "source"),
            [(r.connector, r.category, r.kind, r.generations, r.source) for r in rows],
        )
    else:
        lines.append("  (none: add connector modules with --modules or entry points)")
    if routes:
        lines.append("Routed (a category with several implementations):")
        lines += [f"  {line}" for line in routes]
    if report is not None and report.empty:
        lines.append("Loaded but registered no connector: " + ", ".join(f"{n} ({s})" for s, n in report.empty))
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


def format_secrets(rows: Sequence[Sequence[str]]) -> str:
    """The "Secrets" section: per connector the credentials it declares and whether the pod has each.

    ``found`` (and where), ``missing`` (a caller's connection can still carry it; a v1 caller's cannot)
    or ``caller only``. Names and places only, never a value.

    Args:
        rows: (connector, category and implementation, secret name, status, where) from
            ``bridge.commands.credentials.secret_rows``.
    """
    if not rows:
        return "Secrets: no served connector declares any"
    return "\n".join(["Secrets (filled per call when the caller does not send them):",
                      *_grid(("connector", "task category", "secret", "status", "where"), rows)])
