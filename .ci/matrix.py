"""The compatibility matrix: the suite on every supported Python found here, at the lowest declared
versions of every dependency and at the newest, plus the translators under pure-Python protobuf.

    python3 .ci/matrix.py                      # everything (make test-matrix)
    python3 .ci/matrix.py --pythons 3.12 --sets lowest
    python3 .ci/matrix.py --readme-only        # re-render the docs table from .ci/matrix.json

Each (Python, set) gets its own venv under ``.venvs/`` (``tests.sdkenv``; the pip cache is shared):
``lowest`` installs the core and the ``test``/``fsspec`` extras with ``constraints/lowest.txt`` (each SDK
pins its own IDL and grpcio, so the SDK extras' lowest versions are tested in their own venvs:
``tests/sdkenv.py``), ``newest`` installs every extra and re-resolves to the newest allowed
versions every run, ``pure-protobuf`` reuses the newest venv and runs ``tests/translators`` with
``PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python``. Results (counts from pytest's JUnit XML, the
versions that were installed, minutes taken) go to ``.ci/matrix.json`` and into docs/compatibility.md
between the ``matrix:start``/``matrix:end`` markers; nothing else in that page is touched.
Only the standard library is used: any Python can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.sdkenv import VENVS, EnvSpec, EnvUnavailable, ensure, installed_pythons  # noqa: E402

ALL_EXTRAS = "test,flytekit,flyte,fsspec"
LOWEST = "constraints/lowest.txt"
RESULTS = REPO / ".ci" / "matrix.json"
MATRIX_PAGE = REPO / "docs" / "compatibility.md"
START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
SHOWN = ("protobuf", "grpcio", "flyteidl", "flyteidl2", "flytekit", "flyte")


@dataclass(frozen=True)
class DepSet:
    """One column of the matrix: how the venv is resolved and what runs in it."""

    name: str
    extras: str = ALL_EXTRAS
    constraints: str | None = None
    upgrade: bool = False
    venv_of: str | None = None  # reuse another set's venv
    paths: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    requirements: tuple[str, ...] = ()
    below_python: str | None = None  # the set's packages say Requires-Python below this


SETS: dict[str, DepSet] = {
    s.name: s
    for s in (
        DepSet("lowest", extras="test,fsspec", constraints=LOWEST),
        DepSet("newest", upgrade=True),
        DepSet("pure-protobuf", venv_of="newest", paths=("tests/translators",),
               env=(("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python"),)),
        # The declared flytekit floor (pyproject: flytekit>=1.11): the in-process adapter's interop tests.
        DepSet("flytekit-1.11", extras="test", requirements=("flytekit==1.11.*",), below_python="3.13",
               paths=("tests/interop/test_flytekit_adapter.py",)),
    )
}


@dataclass
class Cell:
    python: str
    deps: str
    result: str  # "passed", "failed", "install failed", "unavailable"
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    minutes: float = 0.0
    build_minutes: float = 0.0
    versions: dict[str, str] | None = None
    note: str = ""
    commit: str = ""


def spec_for(python: str, deps: DepSet) -> EnvSpec:
    base = SETS[deps.venv_of] if deps.venv_of else deps
    return EnvSpec(f"py{python}-{base.name}", python, extras=base.extras, requirements=base.requirements,
                   constraints=base.constraints, upgrade=base.upgrade, why=f"matrix: {base.name} dependencies")


def _versions(spec: EnvSpec) -> dict[str, str]:
    out = subprocess.run([str(spec.bin("python")), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                         capture_output=True, text=True, check=False).stdout
    found = {p["name"].lower(): p["version"] for p in json.loads(out or "[]")}
    return {name: found[name] for name in SHOWN if name in found}


def xml_of(python: str, deps: str) -> Path:
    return VENVS / f"{spec_for(python, SETS[deps]).name}-{deps}.xml"


def failures(xml: Path) -> list[str]:
    """The ids of the failed and erroring tests of a JUnit XML (empty if there is none)."""
    if not xml.exists():
        return []
    out = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            out.append(f"{module}.py::{case.get('name')}" if module else str(case.get("name")))
    return out


def _counts(xml: Path) -> tuple[int, int, int, int]:
    suites = ET.parse(xml).getroot()
    suites = [suites] if suites.tag == "testsuite" else list(suites)
    total = failed = skipped = errors = 0
    for s in suites:
        total += int(s.get("tests", 0))
        failed += int(s.get("failures", 0))
        skipped += int(s.get("skipped", 0))
        errors += int(s.get("errors", 0))
    return total - failed - skipped - errors, failed, skipped, errors


def head() -> str:
    """The commit the cells run at (with ``+`` when the work tree differs from it)."""
    git = ["git", "-C", str(REPO)]
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", ".", ":!README.md", ":!docs/compatibility.md", ":!.ci/matrix.json"],
                           check=False).returncode
    return sha + ("+" if dirty else "")


def run_cell(python: str, deps: DepSet, built: set[str]) -> Cell:
    spec = spec_for(python, deps)
    if deps.constraints and not (REPO / deps.constraints).exists():
        return Cell(python, deps.name, "unavailable", note=f"{deps.constraints} missing")
    if deps.below_python and tuple(map(int, python.split("."))) >= tuple(map(int, deps.below_python.split("."))):
        return Cell(python, deps.name, "unavailable", note=f"{' '.join(deps.requirements)} needs Python < {deps.below_python}")
    t0 = time.monotonic()
    try:
        if spec.name not in built:  # pure-protobuf reuses the venv newest just built
            ensure(spec, quiet=False)
            built.add(spec.name)
    except EnvUnavailable as exc:
        return Cell(python, deps.name, "unavailable", note=str(exc))
    except RuntimeError as exc:
        last = [line for line in str(exc).splitlines() if "ERROR" in line or "error" in line][-1:]
        return Cell(python, deps.name, "install failed", minutes=(time.monotonic() - t0) / 60,
                    note=(last[0] if last else str(exc).splitlines()[0])[:160])
    build = (time.monotonic() - t0) / 60
    xml = xml_of(python, deps.name)
    log = VENVS / f"{spec.name}-{deps.name}.pytest.log"
    xml.unlink(missing_ok=True)
    cmd = [str(spec.bin("python")), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}", *deps.paths]
    print(f"matrix: Python {python} / {deps.name}: {' '.join(cmd[1:])}", flush=True)
    with open(log, "w") as out:
        rc = subprocess.run(cmd, cwd=REPO, env={**os.environ, **dict(deps.env)}, stdout=out,
                            stderr=subprocess.STDOUT, check=False).returncode
    minutes = (time.monotonic() - t0) / 60
    if not xml.exists():
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [f"pytest rc {rc}"]
        return Cell(python, deps.name, "failed", minutes=minutes, build_minutes=build, versions=_versions(spec),
                    note=tail[0][:160])
    passed, failed, skipped, errors = _counts(xml)
    result = "passed" if rc == 0 else "failed"
    return Cell(python, deps.name, result, passed, failed, skipped, errors, minutes, build, _versions(spec))


def render(cells: list[Cell]) -> str:
    lines = [
        START,
        "<!-- written by `make test-matrix` (.ci/matrix.py); edit the script, not this table -->",
        "",
        "| Python | dependencies | result | passed | failed | skipped | errors | minutes | commit | protobuf / grpcio / flyteidl / flyteidl2 / flytekit / flyte |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in cells:
        v = c.versions or {}
        versions = " / ".join(v.get(n, "-") for n in SHOWN) if v else c.note
        lines.append(f"| {c.python} | {c.deps} | {c.result} | {c.passed} | {c.failed} | {c.skipped} | {c.errors} "
                     f"| {c.minutes:.1f} | {c.commit} | {versions} |")
    failed = [(c, f) for c in cells for f in failures(xml_of(c.python, c.deps))]
    if failed:
        lines += ["", "Failed:", ""]
        lines += [f"- {c.python} / {c.deps}: `{f}`" for c, f in failed]
    lines += ["", END]
    return "\n".join(lines)


def write_readme(cells: list[Cell]) -> None:
    text = MATRIX_PAGE.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + render(cells) + tail
    else:
        raise SystemExit(f"{MATRIX_PAGE.relative_to(REPO)} has no {START} ... {END} section")
    MATRIX_PAGE.write_text(text)


def _run_unrecorded(pythons: list[str], sets: list[str]) -> int:
    built: set[str] = set()
    ok = True
    for python in pythons:
        for name in sets:
            cell = run_cell(python, SETS[name], built)
            log = VENVS / f"{spec_for(python, SETS[name]).name}-{name}.pytest.log"
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            print(f"matrix: Python {python} / {name} dependencies: {cell.result} ({cell.note or 'pytest log ' + str(log)})")
            print("\n".join(f"  {line}" for line in tail), flush=True)
            ok = ok and cell.result in ("passed", "unavailable")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythons", nargs="*", default=None, help=f"default: those of {SUPPORTED} installed here")
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--readme-only", action="store_true", help="re-render the table in docs/compatibility.md from .ci/matrix.json")
    parser.add_argument("--no-readme", action="store_true",
                        help="record the cells in .ci/matrix.json but leave docs/compatibility.md (re-render it with --readme-only)")
    parser.add_argument("--no-record", action="store_true",
                        help="run the cells and print each one's pytest summary, writing neither .ci/matrix.json nor "
                             "docs/compatibility.md (make test runs the lowest set this way)")
    args = parser.parse_args(argv)
    if args.readme_only:
        write_readme([Cell(**c) for c in json.loads(RESULTS.read_text())])
        return 0
    pythons = args.pythons or installed_pythons(SUPPORTED)
    if args.no_record:
        return _run_unrecorded(pythons, args.sets)
    # Keep the cells of an earlier run that this run does not redo, so partial runs add up.
    previous = [Cell(**c) for c in json.loads(RESULTS.read_text())] if RESULTS.exists() else []
    cells = {(c.python, c.deps): c for c in previous}
    built: set[str] = set()
    for python in pythons:
        for name in args.sets:
            cell = run_cell(python, SETS[name], built)
            cell.commit = head()
            print(f"matrix: Python {python} / {name}: {cell.result} {cell.passed}/{cell.failed}/{cell.skipped}/"
                  f"{cell.errors} in {cell.minutes:.1f} min (venv {cell.build_minutes:.1f}) {cell.note}", flush=True)
            cells[(python, name)] = cell
            ordered = sorted(cells.values(), key=lambda c: (c.python, list(SETS).index(c.deps)))
            RESULTS.write_text(json.dumps([asdict(c) for c in ordered], indent=1) + "\n")
            if not args.no_readme:
                write_readme(ordered)
    return 0 if all(c.result in ("passed", "unavailable") for c in cells.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
