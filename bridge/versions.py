"""The one table of supported versions: the SDKs the bridge adapts and the IDLs and runtimes it reads.

``flyte-bridge compat`` prints each installed package against its range and ``flyte-bridge serve``
says at start, in one line per package, when one is outside it and what to do. The ranges are the
tested ones (see ``make test-matrix`` and the reasons beside each floor in ``pyproject.toml``); a
test keeps them in step with the requirements the project declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from legacy._flytekit_api import OLDEST_ADAPTED


@dataclass(frozen=True)
class Supported:
    """One package's supported range and what to do with a version outside it."""

    package: str
    """The distribution name (``pip install`` name)."""
    spec: str
    """The supported range, a PEP 440 specifier set."""
    optional: bool
    """An extra: not being installed is fine."""
    outside: str
    """What happens outside the range and what to do, completing "<package> <version> is <where>: "."""

    @property
    def floor(self) -> str | None:
        """The lowest supported version (the ``>=`` bound), if the range has one."""
        return next((s.version for s in SpecifierSet(self.spec) if s.operator == ">="), None)

    def where(self, installed: str) -> str | None:
        """None when ``installed`` is in range, else "older than X" or "outside <range>"."""
        try:
            version = Version(installed)
        except InvalidVersion:
            return f"not a version this bridge can compare with {self.spec}"
        if SpecifierSet(self.spec).contains(version, prereleases=True):
            return None
        if self.floor is not None and version < Version(self.floor):
            return f"older than {self.floor}"
        return f"outside the supported {self.spec}"


SUPPORTED: tuple[Supported, ...] = (
    Supported(
        "flytekit", f">={OLDEST_ADAPTED},<2", optional=True,
        outside="its connectors cannot be adapted; run them behind --upstream",
    ),
    Supported(
        "flyte", ">=2.5.18", optional=True,
        outside="its connectors may not be adapted; upgrade flyte or run them behind --upstream",
    ),
    Supported(
        "flyteidl", ">=1.14,<2", optional=False,
        outside="the v1 (Flyte 1) API may not translate; pip install 'flyteidl>=1.14,<2'",
    ),
    Supported(
        "flyteidl2", ">=2.0.36,<3", optional=False,
        outside="the v2 (Flyte 2) API may not translate; pip install 'flyteidl2>=2.0.36,<3'",
    ),
    Supported(
        "protobuf", ">=5.26", optional=False,
        outside="messages may not parse; pip install 'protobuf>=5.26'",
    ),
    Supported(
        "grpcio", ">=1.60", optional=False,
        outside="the server may not start; pip install 'grpcio>=1.60'",
    ),
)


def installed_version(package: str) -> str | None:
    """The installed version of ``package``, or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def outside_range() -> list[str]:
    """One line per installed package outside its supported range: what it is and what to do.

    For example ``flytekit 1.10.7 is older than 1.11: its connectors cannot be adapted; run them
    behind --upstream``.
    """
    lines = []
    for s in SUPPORTED:
        installed = installed_version(s.package)
        where = s.where(installed) if installed is not None else None
        if where is not None:
            lines.append(f"{s.package} {installed} is {where}: {s.outside}")
    return lines


__all__ = ["SUPPORTED", "Supported", "installed_version", "outside_range"]
