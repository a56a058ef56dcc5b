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
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m == 'bridge.server.assembly'))")
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


_ORDER_CONNECTOR = '''
from dataclasses import dataclass
from flyteidl2.core.execution_pb2 import TaskExecution
from modern import AsyncConnector, ConnectorRegistry, Resource, ResourceMeta

@dataclass
class Meta(ResourceMeta):
    n: int = 0

class {cls}(AsyncConnector):
    name = "{name}"
    task_type_name = "{task_type}"
    metadata_type = Meta

    async def create(self, task_template, output_prefix, inputs=None, **kwargs):
        return Meta(1)

    async def get(self, resource_meta, **kwargs):
        return Resource(phase=TaskExecution.SUCCEEDED)

    async def delete(self, resource_meta, **kwargs):
        return None

ConnectorRegistry.register({cls}())
'''

_ORDER_TESTS = {
    "a": '''
import pytest
from translators._gen import v2

@pytest.mark.flyte_bridge("marker_conn")
def test_a_sees_its_marker_module_and_the_ini_one(flyte_bridge):
    names = {c.name for c in flyte_bridge.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=5).connectors}
    assert {"Marker Conn", "Ini Conn"} <= names
    assert flyte_bridge.create_and_wait(flyte_bridge.template("marker_task")).phase == "SUCCEEDED"
''',
    "b": '''
from translators._gen import v2

def test_b_sees_only_the_ini_module(flyte_bridge):
    names = {c.name for c in flyte_bridge.v2.metadata.ListConnectors(v2.ListConnectorsRequest(), timeout=5).connectors}
    assert "Ini Conn" in names and "Marker Conn" not in names
    out = flyte_bridge.create_and_wait(flyte_bridge.template("marker_task"))
    assert out.phase == "CREATE_FAILED" and "NOT_FOUND" in out.message
''',
}


def test_plugin_serves_each_test_its_own_modules_in_either_order(tmp_path: Path) -> None:
    # Test a's marker loads marker_conn; test b must not see it, whether it runs after a or before.
    (tmp_path / "marker_conn.py").write_text(_ORDER_CONNECTOR.format(cls="MarkerConn", name="Marker Conn",
                                                                     task_type="marker_task"))
    (tmp_path / "ini_conn.py").write_text(_ORDER_CONNECTOR.format(cls="IniConn", name="Ini Conn", task_type="ini_task"))
    (tmp_path / "pytest.ini").write_text("[pytest]\nflyte_bridge_modules = ini_conn\nflyte_bridge_entry_points = false\n")
    e = env()
    e["PYTHONPATH"] = f"{tmp_path}:{e['PYTHONPATH']}"
    for order in ("ab", "ba"):
        (tmp_path / "test_order.py").write_text("\n".join(_ORDER_TESTS[k] for k in order))
        done = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:randomly",
                               "-p", "bridge.pytest_plugin", "test_order.py"],
                              capture_output=True, text=True, env=e, cwd=tmp_path, timeout=180)
        assert done.returncode == 0, order + "\n" + done.stdout + done.stderr
        ran = [line.split("::")[1].split(" ")[0] for line in done.stdout.splitlines() if "::test_" in line and "PASSED" in line]
        assert [t[len("test_")] for t in ran] == list(order), done.stdout
