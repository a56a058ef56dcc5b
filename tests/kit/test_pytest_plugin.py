"""The pytest plugin loads cheaply everywhere and works in an author's project of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.kit._cli import env

HEAVY = ("grpc", "google", "flyteidl", "flyteidl2", "flytekit", "flyte", "modern", "legacy", "translators")


def test_plugin_module_imports_only_pytest() -> None:
    code = ("import sys, bridge.pytest_plugin; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m == 'bridge.server'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_plugin_in_an_author_project(tmp_path: Path) -> None:
    # An author's project: their connector module, an ini option naming it, a test using the fixture.
    (tmp_path / "my_connector.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from flyteidl2.core.execution_pb2 import TaskExecution
        from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

        @dataclass
        class Meta(ResourceMeta):
            n: int = 0

        class Square(AsyncConnector):
            name = "Square"
            task_type_name = "square"
            metadata_type = Meta

            async def create(self, task_template, output_prefix, inputs=None, **kwargs):
                return Meta(inputs["n"])

            async def get(self, resource_meta, **kwargs):
                return Resource(phase=TaskExecution.SUCCEEDED, outputs={"sq": resource_meta.n ** 2})

            async def delete(self, resource_meta, **kwargs):
                return None

        ConnectorRegistry.register(Square())
    '''))
    (tmp_path / "pytest.ini").write_text("[pytest]\nflyte_bridge_modules = my_connector\nflyte_bridge_entry_points = false\n")
    (tmp_path / "test_square.py").write_text(textwrap.dedent('''
        def test_square(flyte_bridge):
            t = flyte_bridge.template("square", inputs={"n": int}, outputs={"sq": int})
            out = flyte_bridge.create_and_wait(t, {"n": 7}, generation="both")
            assert out["v1"].outputs == out["v2"].outputs == {"sq": 49}
    '''))
    e = env()
    e["PYTHONPATH"] = f"{tmp_path}:{e['PYTHONPATH']}"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bridge.pytest_plugin"],
                          capture_output=True, text=True, env=e, cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
