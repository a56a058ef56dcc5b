"""flytekit ``BaseSensor`` subclasses run by the bridge's engine when their module is allowed."""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path

import pytest

pytest.importorskip("flytekit")

from modern.errors import InvalidRequestError  # noqa: E402
from modern.sensors import ALLOWLIST_ENV, SensorEngine, SensorMeta, SensorRegistry  # noqa: E402
from translators._gen import v2_core_execution, v2_core_tasks  # noqa: E402

pytestmark = pytest.mark.interop
PHASE = v2_core_execution.TaskExecution

MODULE = textwrap.dedent(
    """
    from flytekit.sensor.base_sensor import BaseSensor

    class EvenSensor(BaseSensor):
        def __init__(self, name: str, **kwargs):
            super().__init__(name=name, **kwargs)

        async def poke(self, n: int) -> bool:
            return n % 2 == 0
    """
)


def test_allowed_flytekit_base_sensor_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"bridge_fk_sensor_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    engine = SensorEngine(SensorRegistry())
    t = v2_core_tasks.TaskTemplate(type="sensor")
    t.custom.update({"sensor_module": name, "sensor_name": "EvenSensor", "sensor_config": None})

    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    with pytest.raises(InvalidRequestError):
        asyncio.run(engine.create(t, "o", inputs={"n": 2}))

    monkeypatch.setenv(ALLOWLIST_ENV, name)
    even = asyncio.run(engine.create(t, "o", inputs={"n": 2}))
    odd = asyncio.run(engine.create(t, "o", inputs={"n": 3}))
    assert asyncio.run(engine.get(SensorMeta.decode(even.encode()))).phase == PHASE.SUCCEEDED
    assert asyncio.run(engine.get(SensorMeta.decode(odd.encode()))).phase == PHASE.RUNNING


def test_bridge_meta_is_readable_by_flytekit_sensor_metadata() -> None:
    """Meta the bridge writes decodes with flytekit's own SensorMetadata (mixed fleets during migration)."""
    from flytekit.sensor.base_sensor import SensorMetadata

    meta = SensorMeta(sensor_module="m", sensor_name="n", inputs={"path": "/p"})
    theirs = SensorMetadata.decode(meta.encode())
    assert (theirs.sensor_module, theirs.sensor_name, theirs.inputs) == ("m", "n", {"path": "/p"})
    # With a timeout the bridge needs two more fields; flytekit cannot read those (it has no timeout).
    timed = SensorMeta(sensor_module="m", sensor_name="n", timeout_s=3.0, started_at=1.0)
    assert SensorMeta.decode(timed.encode()) == timed
