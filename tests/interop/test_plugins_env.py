"""Real flyte-sdk plugin packages (the ``plugins`` extra) are tested in a venv of their own
(``.venvs/flyte-plugins``, ``tests.sdkenv``, built by ``make sdk-envs``).

A plugin registers a ``flyte.connectors`` entry point, so installed in the main venv it would change what
every default ``serve`` in the suite loads and imports. Here its interop tests run where it is installed,
and must run there: a skip inside that venv is a failure.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.bridge._helpers import REPO
from tests.sdkenv import SDK_ENVS, EnvUnavailable, ensure

pytestmark = [pytest.mark.interop, pytest.mark.timeout(900)]
PLUGIN_TESTS = ("tests/interop/test_credentials_snowflake.py",)


def test_the_plugin_tests_pass_where_the_plugins_are_installed() -> None:
    try:
        spec = ensure(SDK_ENVS["flyte-plugins"])
    except EnvUnavailable as exc:
        pytest.skip(str(exc))
    done = subprocess.run([str(spec.bin("python")), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *PLUGIN_TESTS],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in last and "skipped" not in last and "error" not in last, done.stdout[-2000:]
