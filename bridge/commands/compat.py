"""``flyte-bridge compat``: installed versions against their supported ranges, and the wire table.

The supported ranges come from one table, :data:`bridge.versions.SUPPORTED`. The v1/v2
compatibility table is computed by ``translators.compat`` from the installed descriptors, not
from a fixed list.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from bridge import versions


@dataclass(frozen=True)
class VersionRow:
    """One package's installed version and supported range."""

    package: str
    installed: str | None
    supported: str
    ok: bool | None
    """True in range, False outside it (or a required package missing), None an extra not installed."""
    where: str | None = None
    """Why not ok: "older than X", "outside the supported R", "missing"."""


def version_rows() -> list[VersionRow]:
    """The installed version and supported range of each package of :data:`bridge.versions.SUPPORTED`."""
    rows = []
    for s in versions.SUPPORTED:
        installed = versions.installed_version(s.package)
        if installed is None:
            rows.append(VersionRow(s.package, None, s.spec, None if s.optional else False, None if s.optional else "missing"))
            continue
        where = s.where(installed)
        rows.append(VersionRow(s.package, installed, s.spec, where is None, where))
    return rows


def compat_command(out: TextIO | None = None) -> int:
    """Print the versions and the compatibility table.

    Args:
        out: Where to print (stdout by default).

    Returns:
        0 when every installed package is in range and no field number collides, else 1.
    """
    out = out or sys.stdout
    rows = version_rows()
    print(f"{'package':<10} {'installed':<12} {'supported':<18} status", file=out)
    for r in rows:
        status = "ok" if r.ok else "not installed (optional)" if r.ok is None else f"UNSUPPORTED ({r.where})"
        print(f"{r.package:<10} {r.installed or '-':<12} {r.supported:<18} {status}", file=out)
    failed = any(r.ok is False for r in rows)
    for line in versions.outside_range():
        print(line, file=out)
    print(file=out)
    try:
        from translators import compat
    except ImportError as exc:
        # TODO(lead): translators.compat provides table()/format_table(); until then only versions.
        print(f"compatibility table unavailable: translators.compat ({type(exc).__name__})", file=out)
        return 1 if failed else 0
    print("v1 (flyteidl) <-> v2 (flyteidl2) wire compatibility, from the installed descriptors:", file=out)
    print(compat.format_table(), file=out)
    collisions = [r for r in compat.table() if getattr(r, "kind", "") == "collision"]
    if collisions:
        print(f"{len(collisions)} field number(s) collide: translation would be unsafe", file=out)
        failed = True
    return 1 if failed else 0
