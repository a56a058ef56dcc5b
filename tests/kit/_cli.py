"""Run ``python -m bridge ...`` as a user would, with this repository (and tests.kit) importable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    """The environment of a CLI subprocess: the repo on PYTHONPATH, no colours, no TTY tricks."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


def bridge(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bridge ARGS``, waited for, output captured."""
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True,
                          env=env(), cwd=cwd or REPO, timeout=timeout)


def template(path: Path, task_type: str, inputs: dict[str, str], outputs: dict[str, str] | None = None) -> Path:
    """Write a TaskTemplate JSON (simple types by name) to ``path``."""
    def variables(d: dict[str, str]) -> dict[str, Any]:
        return {"variables": {k: {"type": {"simple": v}} for k, v in d.items()}}

    doc = {"id": {"name": f"tests.kit.{task_type}"}, "type": task_type, "custom": {},
           "interface": {"inputs": variables(inputs), "outputs": variables(outputs if outputs is not None else inputs)}}
    path.write_text(json.dumps(doc))
    return path
