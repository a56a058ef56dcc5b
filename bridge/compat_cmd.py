"""``flyte-bridge compat``: installed versions, whether they are supported, and the wire table.

The supported ranges are read from this project's own installed metadata (the requirement
specifiers in pyproject), so there is one source of truth. The v1/v2 compatibility table is
computed by ``translators.compat`` from the installed descriptors, not from a fixed list.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata
from typing import TextIO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

PROJECT = "flyte-connector-bridge"
PACKAGES: tuple[str, ...] = ("flyteidl", "flyteidl2", "protobuf", "grpcio", "flytekit", "flyte")
OPTIONAL: frozenset[str] = frozenset({"flytekit", "flyte"})


@dataclass(frozen=True)
class VersionRow:
    """One package's installed version and supported range."""

    package: str
    installed: str | None
    supported: str
    ok: bool | None


def _ranges() -> dict[str, str]:
    ranges: dict[str, str] = {}
    try:
        requires = metadata.requires(PROJECT) or []
    except metadata.PackageNotFoundError:
        return ranges
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        name = req.name.lower()
        if name in PACKAGES and name not in ranges:
            ranges[name] = str(req.specifier)
    return ranges


def version_rows() -> list[VersionRow]:
    """The installed version and supported range of each relevant package.

    Returns:
        One row per package; ``ok`` is None for an optional package that is not installed.
    """
    ranges = _ranges()
    rows = []
    for pkg in PACKAGES:
        spec = ranges.get(pkg, "")
        try:
            installed: str | None = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None:
            ok = None if pkg in OPTIONAL else False
        elif not spec:
            ok = True
        else:
            try:
                ok = Requirement(f"{pkg}{spec}").specifier.contains(Version(installed), prereleases=True)
            except InvalidVersion:
                ok = False
        rows.append(VersionRow(pkg, installed, spec or "any", ok))
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
        status = {True: "ok", False: "UNSUPPORTED", None: "not installed (optional)"}[r.ok]
        if r.installed is None and r.ok is False:
            status = "MISSING"
        print(f"{r.package:<10} {r.installed or '-':<12} {r.supported:<18} {status}", file=out)
    failed = any(r.ok is False for r in rows)
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
