"""A FileSensor task serialized by flytekit, served by a bridge process in which flytekit cannot be
imported at all (a ``sys.meta_path`` blocker): the built-in file sensor answers through both stubs."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("flytekit")

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name == "flytekit" or name.startswith("flytekit."):
                raise ImportError("flytekit is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())

    from modern.registry import ConnectorRegistry
    from modern.sensors.builtin import register_into
    from tests._servers import serving
    from translators._gen import v1, v1_core_literals, v1_core_tasks, v2, v2_core_tasks
    from translators.literals import native_to_inputs

    template_bytes = Path(sys.argv[1]).read_bytes()
    target = Path(sys.argv[2])

    async def main():
        reg = ConnectorRegistry()
        register_into(reg)
        t2 = v2_core_tasks.TaskTemplate.FromString(template_bytes)
        lits = native_to_inputs({"path": str(target)}, t2.interface.inputs)
        async with serving(reg) as s:
            r1 = v1.CreateTaskRequest(template=v1_core_tasks.TaskTemplate.FromString(template_bytes), output_prefix="o",
                                      inputs=v1_core_literals.LiteralMap.FromString(lits.SerializeToString()))
            m1 = (await s.v1.async_.CreateTask(r1, timeout=20)).resource_meta
            m2 = (await s.v2.async_.CreateTask(v2.CreateTaskRequest(template=t2, inputs=lits, output_prefix="o"), timeout=20)).resource_meta

            async def phases():
                a = (await s.v1.async_.GetTask(v1.GetTaskRequest(task_category=v1.TaskCategory(name="sensor"), resource_meta=m1), timeout=20)).resource.phase
                b = (await s.v2.async_.GetTask(v2.GetTaskRequest(task_category=v2.TaskCategory(name="sensor"), resource_meta=m2), timeout=20)).resource.phase
                return a, b

            before = await phases()
            target.write_text("x")
            after = await phases()
        print("PHASES", before, after, "flytekit" in sys.modules)

    asyncio.run(main())
    """
)


def test_file_sensor_served_without_flytekit(tmp_path: Path) -> None:
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.sensor.file_sensor import FileSensor
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(image_config=ImageConfig.auto_default_image())
    template = get_serializable(collections.OrderedDict(), settings, FileSensor(name="wait_nofk")).template
    (tmp_path / "t.pb").write_bytes(template.to_flyte_idl().SerializeToString())
    (tmp_path / "child.py").write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FLYTE_BRIDGE_SENSOR_MODULES", None)
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "child.py"), str(tmp_path / "t.pb"), str(tmp_path / "flag")],
        capture_output=True, text=True, timeout=50, env=env, cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # RUNNING (2) on both generations, then SUCCEEDED (3) on both; flytekit never imported.
    assert "PHASES (2, 2) (3, 3) False" in proc.stdout, proc.stdout + proc.stderr[-2000:]
