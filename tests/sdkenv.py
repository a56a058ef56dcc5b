"""Virtual environments with one SDK version (or one dependency set) plus this project installed editable.

The in-process interop tests of old flytekit versions, the gateway tests that run an old
``pyflyte serve agent`` and the compatibility matrix (``.ci/matrix.py``) each need a Python with a
given set of packages beside the bridge. One ``EnvSpec`` names that set; ``ensure(spec)`` builds
``.venvs/<name>`` once and reuses it while the spec, ``pyproject.toml`` and the constraints file are
unchanged (a stamp file records what was built). The pip cache is shared, so a rebuild downloads nothing
it has seen.

    python -m tests.sdkenv                 # build every SDK env the tests use (make sdk-envs)
    python -m tests.sdkenv flytekit-1.13   # build one
    python -m tests.sdkenv --list

Only the standard library is used here, so the matrix can import it from any Python.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENVS = REPO / ".venvs"


class EnvUnavailable(RuntimeError):
    """The env cannot exist on this machine (its Python is not installed)."""


@dataclass(frozen=True)
class EnvSpec:
    """One venv: a Python minor version, this project (editable, with extras) and extra requirements.

    Attributes:
        name: Directory name under ``.venvs/``.
        python: Python minor version, e.g. ``"3.11"``.
        extras: The project's extras to install (``"test,flytekit"``), or empty.
        requirements: Further requirement specifiers (``"flytekit==1.13.*"``).
        constraints: A pip constraints file, relative to the repository.
        upgrade: Re-resolve to the newest allowed versions on every ``ensure`` (the "newest" set).
        why: One line saying what the env is for (``--list``).
    """

    name: str
    python: str
    extras: str = ""
    requirements: tuple[str, ...] = ()
    constraints: str | None = None
    upgrade: bool = False
    why: str = field(default="", compare=False)

    @property
    def path(self) -> Path:
        return VENVS / self.name

    def bin(self, program: str) -> Path:
        """A program of the env (``python``, ``flyte-bridge``, ``pyflyte``)."""
        return self.path / "bin" / program


# The SDK envs the interop tests use. Each old flytekit gets the newest Python it supports
# (every flytekit before 1.16 says Requires-Python <3.13).
SDK_ENVS: dict[str, EnvSpec] = {
    spec.name: spec
    for spec in (
        EnvSpec("flytekit-1.11", "3.11", extras="test", requirements=("flytekit==1.11.*",),
                why="the declared floor: base_agent API; the in-process adapter's interop tests run here"),
        EnvSpec("flytekit-1.13", "3.11", requirements=("flytekit==1.13.*",),
                why="base_agent API, Resource.to_flyte_idl synchronous, newest protobuf"),
        EnvSpec("flytekit-1.15", "3.12", requirements=("flytekit==1.15.*",),
                why="base_agent API, Resource.to_flyte_idl a coroutine, grpcio<=1.68 so protobuf 5.29"),
        EnvSpec("flyte-plugins", "3.11", extras="test,flyte,plugins",
                why="real flyte-sdk plugins (flyteplugins-snowflake), kept out of the main venv's entry points"),
    )
}


def pyenv_root() -> Path:
    """``$PYENV_ROOT``, else ``pyenv root``, else ``~/.pyenv``."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            return Path(out)
    return Path.home() / ".pyenv"


def find_python(minor: str) -> Path:
    """The newest installed interpreter of a minor version: pyenv's versions first, then ``PATH``.

    Raises:
        EnvUnavailable: No such Python on this machine.
    """
    found = sorted(
        glob.glob(str(pyenv_root() / "versions" / f"{minor}.*" / "bin" / "python")),
        key=lambda p: tuple(int(x) for x in Path(p).parents[1].name.split(".") if x.isdigit()),
    )
    if found:
        return Path(found[-1])
    on_path = shutil.which(f"python{minor}")
    if on_path:
        return Path(on_path)
    raise EnvUnavailable(f"Python {minor} is not installed (looked in {pyenv_root()}/versions and PATH)")


def installed_pythons(minors: tuple[str, ...] = ("3.10", "3.11", "3.12", "3.13")) -> list[str]:
    """The minor versions of ``minors`` found on this machine."""
    out = []
    for minor in minors:
        with contextlib.suppress(EnvUnavailable):
            find_python(minor)
            out.append(minor)
    return out


def _fingerprint(spec: EnvSpec) -> str:
    h = hashlib.sha256(json.dumps(asdict(spec), sort_keys=True).encode())
    for rel in ("pyproject.toml", spec.constraints):
        if rel:
            h.update((REPO / rel).read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def _locked(spec: EnvSpec) -> Iterator[None]:
    # Two test sessions (or make and pytest) building the same env must not interleave.
    VENVS.mkdir(exist_ok=True)
    with open(VENVS / f".{spec.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _pip(spec: EnvSpec, log: Path, *args: str) -> None:
    cmd = [str(spec.bin("python")), "-m", "pip", "install", "--disable-pip-version-check", *args]
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        rc = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if rc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"pip failed building {spec.name} (rc {rc}, log {log}):\n{tail}")


def ensure(spec: EnvSpec, *, quiet: bool = True) -> EnvSpec:
    """Build ``.venvs/<spec.name>`` unless it is already built from the same inputs.

    Returns:
        The spec (for chaining: ``ensure(SDK_ENVS["flytekit-1.13"]).bin("flyte-bridge")``).

    Raises:
        EnvUnavailable: The spec's Python is not installed.
        RuntimeError: pip failed (the error holds the tail of the build log).
    """
    python = find_python(spec.python)
    stamp = spec.path / ".sdkenv-stamp"
    want = _fingerprint(spec)
    with _locked(spec):
        if stamp.exists() and stamp.read_text() == want and not spec.upgrade:
            return spec
        log = VENVS / f"{spec.name}.log"
        log.write_text("")
        if not quiet:
            print(f"sdkenv: building {spec.name} (Python {spec.python}; log {log.relative_to(REPO)})", flush=True)
        if stamp.exists():
            stamp.unlink()
        if not spec.bin("python").exists():
            subprocess.run([str(python), "-m", "venv", str(spec.path)], check=True)
            _pip(spec, log, "-q", "--upgrade", "pip")
        target = f"{REPO}[{spec.extras}]" if spec.extras else str(REPO)
        args = ["-e", target, *spec.requirements]
        if spec.constraints:
            args += ["-c", str(REPO / spec.constraints)]
        if spec.upgrade:
            args = ["--upgrade", "--upgrade-strategy", "eager", *args]
        _pip(spec, log, *args)
        stamp.write_text(want)
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sdkenv", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="envs to build (default: every SDK env)")
    parser.add_argument("--list", action="store_true", help="list the SDK envs and exit")
    args = parser.parse_args(argv)
    if args.list:
        for spec in SDK_ENVS.values():
            print(f"{spec.name:16} Python {spec.python}  {' '.join(spec.requirements):24} {spec.why}")
        return 0
    unknown = [n for n in args.names if n not in SDK_ENVS]
    if unknown:
        parser.error(f"unknown env(s) {unknown}; known: {sorted(SDK_ENVS)}")
    for name in args.names or list(SDK_ENVS):
        try:
            ensure(SDK_ENVS[name], quiet=False)
        except EnvUnavailable as exc:
            print(f"sdkenv: skipping {name}: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
