"""The declared flytekit floor (``flytekit>=1.11``): the in-process adapter's interop tests run under
flytekit 1.11 in its own venv (``.venvs/flytekit-1.11``, ``tests.sdkenv``, built by ``make sdk-envs``)."""

from __future__ import annotations

import subprocess

import pytest

from tests.bridge._helpers import REPO
from tests.sdkenv import SDK_ENVS, EnvUnavailable, ensure

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]
FLOOR = "flytekit-1.11"


def test_the_adapter_tests_pass_at_flytekit_1_11() -> None:
    try:
        spec = ensure(SDK_ENVS[FLOOR])
    except EnvUnavailable as exc:
        pytest.skip(str(exc))
    version = subprocess.run([str(spec.bin("python")), "-c", "import flytekit; print(flytekit.__version__)"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("1.11."), version
    done = subprocess.run([str(spec.bin("python")), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "-rs", "tests/interop/test_flytekit_adapter.py"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "error" not in done.stdout.splitlines()[-1], done.stdout[-1000:]
