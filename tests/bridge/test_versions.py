"""The supported-versions table: range checks, the advice lines, and agreement with pyproject."""

from __future__ import annotations

import io
import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bridge import versions
from bridge.commands.compat import compat_command, version_rows
from bridge.versions import SUPPORTED, Supported

FLYTEKIT = next(s for s in SUPPORTED if s.package == "flytekit")


@pytest.mark.parametrize(
    ("installed", "where"),
    [
        ("1.11.0", None),
        ("1.15.3", None),
        ("1.16.0rc1", None),
        ("1.10.7", "older than 1.11"),
        ("0.32.0", "older than 1.11"),
        ("2.0.0", "outside the supported >=1.11,<2"),
        ("not-a-version", "not a version this bridge can compare with >=1.11,<2"),
    ],
)
def test_where_an_installed_version_falls(installed: str, where: str | None) -> None:
    assert FLYTEKIT.where(installed) == where


def test_the_floor_is_the_lower_bound() -> None:
    assert FLYTEKIT.floor == "1.11"
    assert Supported("x", "<3", optional=True, outside="").floor is None


def _pretend_installed(monkeypatch: pytest.MonkeyPatch, found: dict[str, str | None]) -> None:
    real = versions.installed_version
    monkeypatch.setattr(versions, "installed_version", lambda p: found[p] if p in found else real(p))


def test_outside_range_names_the_package_the_version_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_installed(monkeypatch, {"flytekit": "1.10.7", "flyte": None})
    lines = versions.outside_range()
    assert "flytekit 1.10.7 is older than 1.11: its connectors cannot be adapted; run them behind --upstream" in lines
    assert not any(line.startswith("flyte ") for line in lines)  # not installed is not outside


def test_in_range_versions_say_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_installed(monkeypatch, {s.package: s.floor for s in SUPPORTED})
    assert versions.outside_range() == []


def test_compat_rows_carry_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_installed(monkeypatch, {"flytekit": "2.1.0", "flyte": None, "protobuf": "4.25.3"})
    rows = {r.package: r for r in version_rows()}
    assert (rows["flytekit"].ok, rows["flytekit"].where) == (False, "outside the supported >=1.11,<2")
    assert (rows["flyte"].ok, rows["flyte"].installed) == (None, None)
    assert (rows["protobuf"].ok, rows["protobuf"].where) == (False, "older than 5.26")


def test_compat_prints_each_package_against_its_range_and_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    _pretend_installed(monkeypatch, {"flytekit": "1.9.3"})
    out = io.StringIO()
    assert compat_command(out) == 1
    text = out.getvalue()
    assert re.search(r"^flytekit +1\.9\.3 +>=1\.11,<2 +UNSUPPORTED \(older than 1\.11\)$", text, re.M), text
    assert "flytekit 1.9.3 is older than 1.11: its connectors cannot be adapted; run them behind --upstream" in text
    for s in SUPPORTED:
        assert re.search(rf"^{s.package} ", text, re.M), s.package


def _declared() -> dict[str, SpecifierSet]:
    found: dict[str, SpecifierSet] = {}
    for text in metadata.requires("flyte-connector-bridge") or []:
        req = Requirement(text)
        found.setdefault(req.name.lower(), req.specifier)
    return found


def test_the_table_is_what_pyproject_declares() -> None:
    declared = _declared()
    for s in SUPPORTED:
        assert s.package in declared, s.package
        if s.package == "flytekit":
            # The adapter's range; the extra may install a narrower one, never an older one.
            floor = next(x.version for x in declared[s.package] if x.operator == ">=")
            assert Version(floor) >= Version(str(s.floor)), (s.package, str(declared[s.package]))
            continue
        assert declared[s.package] == SpecifierSet(s.spec), (s.package, str(declared[s.package]), s.spec)
