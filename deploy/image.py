"""Build the bridge's container image (``make image``) with podman, from ``deploy/Containerfile``.

    python3 deploy/image.py                                   # BASE = the Containerfile's default
    python3 deploy/image.py --base local                      # a Debian base made here with mmdebstrap
    python3 deploy/image.py --extras flytekit,flyte --plugins "flyteplugins-snowflake" --tag my/bridge:1

What it does, in order:

1. Makes sure podman, buildah, mmdebstrap and runc are installed (as root: ``apt-get install``; otherwise it
   stops with a message saying what to install: exit code 3).
2. ``--base local``: builds ``localhost/flyte-bridge-base:bookworm`` from Debian's packages with mmdebstrap
   (Debian 12's Python 3.11, python3-venv, CA certificates) unless that image exists already, so repeated
   builds skip it. Used where container registries are unreachable (this project's CI).
3. ``podman build --runtime runc`` with the build arguments and, when ``/etc/ssl/certs/ca-certificates.crt``
   exists, that bundle as the ``cacert`` build secret (the Containerfile uses it for pip only when it is
   non-empty: see the Containerfile).

``--runtime runc`` is needed on machines whose cgroups are in hybrid mode (crun refuses them) and is harmless
elsewhere. Only the standard library is used: any Python 3 runs this.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTAINERFILE = REPO / "deploy" / "Containerfile"
DEFAULT_TAG = "localhost/flyte-connector-bridge:0.1.0"
LOCAL_BASE = "localhost/flyte-bridge-base:bookworm"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
TOOLS = {"podman": "podman", "buildah": "buildah", "mmdebstrap": "mmdebstrap", "runc": "runc"}
UNAVAILABLE = 3


class ToolsUnavailable(RuntimeError):
    """podman (or what it needs) is missing and cannot be installed here."""


def _missing() -> list[str]:
    # runc lives in /usr/sbin, which a non-root PATH may lack.
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [pkg for tool, pkg in TOOLS.items() if shutil.which(tool, path=path) is None]


def ensure_tools(*, quiet: bool = False) -> None:
    """Install podman, buildah, mmdebstrap and runc from Debian's packages when any is missing.

    Raises:
        ToolsUnavailable: Something is missing and this process cannot install it (not root, no apt-get,
            or apt-get failed), or podman cannot run a container here.
    """
    missing = _missing()
    if missing:
        if os.geteuid() != 0:
            raise ToolsUnavailable(f"{', '.join(missing)} not installed and not root: run "
                                   f"`sudo apt-get install -y {' '.join(TOOLS.values())}`")
        if shutil.which("apt-get") is None:
            raise ToolsUnavailable(f"{', '.join(missing)} not installed and no apt-get to install them")
        if not quiet:
            print(f"image: installing {' '.join(TOOLS.values())} (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *TOOLS.values()]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise ToolsUnavailable(f"`{' '.join(cmd)}` failed: {' / '.join(tail)}")
    probe = subprocess.run(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"], capture_output=True,
                           text=True, check=False)
    if probe.returncode != 0:
        tail = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        raise ToolsUnavailable(f"podman cannot run here: {tail[0]}")


def image_exists(tag: str) -> bool:
    return subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0


def ensure_local_base(tag: str = LOCAL_BASE, *, quiet: bool = False) -> str:
    """A Python base image made of Debian packages (mmdebstrap | podman import), built once and kept.

    Returns:
        The base image's tag.
    """
    if image_exists(tag):
        return tag
    if not quiet:
        print(f"image: building the base {tag} from Debian's packages (mmdebstrap, about 30 s)", flush=True)
    t0 = time.monotonic()
    debstrap = subprocess.Popen(
        ["mmdebstrap", "--quiet", "--variant=apt", "--include=python3,python3-venv,ca-certificates", "bookworm", "-"],
        stdout=subprocess.PIPE,
    )
    imported = subprocess.run(["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", tag],
                              stdin=debstrap.stdout, capture_output=True, text=True, check=False)
    assert debstrap.stdout is not None
    debstrap.stdout.close()
    if debstrap.wait() != 0 or imported.returncode != 0:
        raise RuntimeError(f"building {tag} failed (mmdebstrap exit {debstrap.returncode}): {imported.stderr.strip()[-500:]}")
    if not quiet:
        print(f"image: base {tag} built in {time.monotonic() - t0:.0f} s", flush=True)
    return tag


def build_command(tag: str, *, base: str | None, extras: str, plugins: str, constraints: str | None) -> list[str]:
    """The ``podman build`` command line for the given build arguments."""
    cmd = ["podman", "build", "--runtime", "runc", "-f", str(CONTAINERFILE), "-t", tag,
           "--build-arg", f"EXTRAS={extras}", "--build-arg", f"PLUGINS={plugins}"]
    if base:
        cmd += ["--build-arg", f"BASE={base}"]
    if constraints:
        cmd += ["--build-arg", f"CONSTRAINTS={constraints}"]
    if CA_BUNDLE.is_file():
        cmd += ["--secret", f"id=cacert,src={CA_BUNDLE}"]
    return [*cmd, str(REPO)]


def build(tag: str = DEFAULT_TAG, *, base: str | None = None, extras: str = "", plugins: str = "",
          constraints: str | None = None, quiet: bool = False) -> float:
    """Build the image (installing the tools and the local base first when asked).

    Args:
        tag: The image name.
        base: ``None`` for the Containerfile's default, ``"local"`` for the mmdebstrap base, or an image.
        extras: The project's extras (``flytekit,flyte``).
        plugins: Further pip requirements, space-separated.
        constraints: The constraints file inside the build context (default: the Containerfile's).
        quiet: Only podman's own output.

    Returns:
        Seconds the ``podman build`` took.

    Raises:
        ToolsUnavailable: podman is missing and cannot be installed, or cannot run.
        subprocess.CalledProcessError: The build failed.
    """
    ensure_tools(quiet=quiet)
    if base == "local":
        base = ensure_local_base(quiet=quiet)
    cmd = build_command(tag, base=base, extras=extras, plugins=plugins, constraints=constraints)
    if not quiet:
        print("image: " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL if quiet else None)
    return time.monotonic() - t0


def image_size(tag: str) -> int:
    """The image's size in bytes as podman reports it."""
    out = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", tag], capture_output=True,
                         text=True, check=True).stdout
    return int(out.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/image.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image name (default {DEFAULT_TAG})")
    parser.add_argument("--base", default=None,
                        help="base image; 'local' builds one from Debian's packages (default: python:3.12-slim)")
    parser.add_argument("--extras", default="", help="the project's extras, e.g. flytekit,flyte")
    parser.add_argument("--plugins", default="", help='more pip requirements, e.g. "flyteplugins-snowflake"')
    parser.add_argument("--constraints", default=None, help="constraints file in the repository "
                                                            "(default constraints/image.txt)")
    args = parser.parse_args(argv)
    try:
        seconds = build(args.tag, base=args.base or None, extras=args.extras, plugins=args.plugins,
                        constraints=args.constraints)
    except ToolsUnavailable as exc:
        print(f"image: cannot build: {exc}", file=sys.stderr)
        return UNAVAILABLE
    except subprocess.CalledProcessError as exc:
        hint = ""
        if not args.base:
            hint = (" (if the base could not be pulled because no registry is reachable, build on a base made "
                    "of Debian's packages: `make image BASE=local`)")
        print(f"image: podman build failed with exit code {exc.returncode}{hint}", file=sys.stderr)
        return 1
    print(f"image: built {args.tag} in {seconds:.0f} s, {image_size(args.tag) / 1e6:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
