"""Imports point one way only (import-linter): translators <- modern <- legacy <- bridge, and inside
bridge/ nothing outside bridge.commands imports a command."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_layers_contract_is_kept() -> None:
    exe = pathlib.Path(sys.executable).with_name("lint-imports")
    res = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    # Every contract pyproject.toml declares (tomllib is 3.11+, the project supports 3.10) was checked.
    section = (ROOT / "pyproject.toml").read_text().split("[tool.importlinter]", 1)[1]
    section = re.split(r"^\[(?!\[tool\.importlinter\.)", section, flags=re.M)[0]
    names = re.findall(r'^name = "(.+)"$', section, flags=re.M)
    assert len(names) >= 2
    for name in names:
        assert f"{name} KEPT" in res.stdout, res.stdout
    assert f"{len(names)} kept, 0 broken" in res.stdout
