"""Unit tests of the sensor engine, called directly (no server): phases, allowlist, timeout, size cap."""

from __future__ import annotations

import asyncio
import datetime
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import duration_pb2
from hypothesis import given
from hypothesis import strategies as st

from modern.errors import ConnectorError, InvalidRequestError
from modern.sensors import ALLOWLIST_ENV, Sensor, SensorEngine, SensorMeta, SensorRegistry
from modern.sensors._values import from_json, to_json
from modern.sensors.builtin import FLYTEKIT_FILE_SENSOR, FileSensor, register_builtin_sensors, register_into
from translators._gen import v2_core_execution, v2_core_tasks

PHASE = v2_core_execution.TaskExecution
pytestmark = pytest.mark.anyio


def template(module: str, name: str, config: dict[str, Any] | None = None, timeout_s: float | None = None):
    """A v2 TaskTemplate shaped like the ones flytekit writes for its sensors."""
    t = v2_core_tasks.TaskTemplate(type="sensor")
    t.custom.update({"sensor_module": module, "sensor_name": name, "sensor_config": config})
    if timeout_s is not None:
        t.metadata.timeout.CopyFrom(duration_pb2.Duration(seconds=int(timeout_s), nanos=int(timeout_s % 1 * 1e9)))
    return t


def engine(clock=None, **kw: Any) -> SensorEngine:
    sensors = SensorRegistry(read_env=True)
    register_builtin_sensors(sensors)
    return SensorEngine(sensors, **({"clock": clock} if clock else {}), **kw)


def roundtrip(meta: SensorMeta) -> SensorMeta:
    """What a client sends back: the bytes, decoded by (possibly) another replica."""
    return SensorMeta.decode(meta.encode())


async def test_file_sensor_running_then_succeeded(tmp_path: Path) -> None:
    eng = engine()
    target = tmp_path / "flag"
    meta = await eng.create(template(*FLYTEKIT_FILE_SENSOR), "s3://out", inputs={"path": str(target)})
    assert (await eng.get(roundtrip(meta))).phase == PHASE.RUNNING
    target.write_text("x")
    assert (await eng.get(roundtrip(meta))).phase == PHASE.SUCCEEDED
    await eng.delete(meta)


async def test_file_sensor_file_url_and_fsspec_memory(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    sensor = FileSensor()
    assert await sensor.poke(path=(tmp_path / "a").as_uri()) is False
    (tmp_path / "a").write_text("x")
    assert await sensor.poke(path=(tmp_path / "a").as_uri()) is True
    url = f"memory://bridge-test/{uuid.uuid4().hex}"
    assert await sensor.poke(path=url) is False
    with fsspec.open(url, "w") as f:
        f.write("x")
    assert await sensor.poke(path=url) is True


def _write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> tuple[str, Path]:
    """A fresh importable module whose import leaves a marker file behind."""
    name = f"bridge_test_sensor_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / f"{name}.imported"
    code = f"from pathlib import Path\nPath({str(marker)!r}).write_text('1')\n" + textwrap.dedent(body)
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, marker


CUSTOM = """
from modern.sensors import Sensor

class Threshold(Sensor):
    async def poke(self, value: int) -> bool:
        return value >= self.config.get("min", 10)

class NotASensor:
    pass
"""


async def test_disallowed_module_rejected_and_never_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    name, marker = _write_module(tmp_path, monkeypatch, CUSTOM)
    eng = engine()
    with pytest.raises(InvalidRequestError) as err:
        await eng.create(template(name, "Threshold"), "o", inputs={"value": 1})
    assert err.value.code.name == "INVALID_ARGUMENT"
    # A forged resource_meta naming the module is refused the same way.
    forged = SensorMeta(sensor_module=name, sensor_name="Threshold", inputs={"value": 1})
    with pytest.raises(InvalidRequestError):
        await eng.get(roundtrip(forged))
    assert name not in sys.modules
    assert not marker.exists()


async def test_allowlisted_module_runs_with_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name, marker = _write_module(tmp_path, monkeypatch, CUSTOM)
    monkeypatch.setenv(ALLOWLIST_ENV, f"some.other, {name}")
    eng = engine()
    meta = await eng.create(template(name, "Threshold", config={"min": 5}), "o", inputs={"value": 7})
    assert (await eng.get(roundtrip(meta))).phase == PHASE.SUCCEEDED
    meta = await eng.create(template(name, "Threshold", config={"min": 50}), "o", inputs={"value": 7})
    assert (await eng.get(roundtrip(meta))).phase == PHASE.RUNNING
    assert marker.exists()
    # Allowed module, but the name is not a sensor class.
    meta = await eng.create(template(name, "NotASensor"), "o")
    with pytest.raises(InvalidRequestError):
        await eng.get(meta)


async def test_allowlist_api_and_package_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)
    sensors = SensorRegistry()
    assert not sensors.is_allowed("pkg.sub", "X")
    sensors.allow_modules("pkg.*")
    assert sensors.is_allowed("pkg", "X") and sensors.is_allowed("pkg.sub.deep", "X")
    assert not sensors.is_allowed("pkgx", "X")
    with pytest.raises(InvalidRequestError):
        sensors.allow_modules("not a module")


async def test_allowlisted_module_that_fails_to_import_is_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"bridge_missing_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(ALLOWLIST_ENV, missing)
    eng = engine()
    meta = await eng.create(template(missing, "S"), "o")
    with pytest.raises(ConnectorError) as err:
        await eng.get(meta)
    assert "Traceback" not in err.value.details and missing in err.value.details


@pytest.mark.parametrize(
    ("module", "name"),
    [("", "X"), ("os;rm", "X"), ("a..b", "X"), ("ok", "bad name"), (None, "X"), ("ok", 3)],
)
async def test_malformed_sensor_names(module: Any, name: Any) -> None:
    t = v2_core_tasks.TaskTemplate(type="sensor")
    t.custom.update({"sensor_module": module, "sensor_name": name})
    with pytest.raises(InvalidRequestError):
        await engine().create(t, "o")


async def test_registered_sensor_needs_no_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWLIST_ENV, raising=False)

    class Always(Sensor):
        async def poke(self, **inputs: Any) -> bool:
            return bool(self.config["answer"])

    eng = engine()
    eng.sensors.register(Always, "made.up.module", "Always")
    meta = await eng.create(template("made.up.module", "Always", config={"answer": True}), "o")
    assert (await eng.get(roundtrip(meta))).phase == PHASE.SUCCEEDED
    assert "made.up.module" not in sys.modules
    with pytest.raises(ValueError):
        eng.sensors.register(FileSensor, "made.up.module", "Always")


async def test_timeout_fails_with_message_and_success_is_repeatable(tmp_path: Path) -> None:
    now = [1000.0]
    eng = engine(clock=lambda: now[0])
    target = tmp_path / "late"
    meta = roundtrip(await eng.create(template(*FLYTEKIT_FILE_SENSOR, timeout_s=5), "o", inputs={"path": str(target)}))
    assert meta.timeout_s == 5 and meta.started_at == 1000.0
    now[0] = 1004.0
    assert (await eng.get(meta)).phase == PHASE.RUNNING
    now[0] = 1006.0
    res = await eng.get(meta)
    assert res.phase == PHASE.FAILED
    assert "timed out" in res.message and "5s" in res.message
    # A condition that holds answers SUCCEEDED, also when asked again past the deadline.
    target.write_text("x")
    assert (await eng.get(meta)).phase == PHASE.SUCCEEDED


async def test_timeout_real_clock_short() -> None:
    eng = engine()
    meta = await eng.create(template(*FLYTEKIT_FILE_SENSOR, timeout_s=0.2), "o", inputs={"path": "/nonexistent/x"})
    assert (await eng.get(roundtrip(meta))).phase == PHASE.RUNNING
    await asyncio.sleep(0.3)
    assert (await eng.get(roundtrip(meta))).phase == PHASE.FAILED


async def test_hanging_poke_past_timeout_fails() -> None:
    class Hang(Sensor):
        async def poke(self, **inputs: Any) -> bool:
            await asyncio.sleep(60)
            return True

    now = [0.0]
    eng = engine(clock=lambda: now[0])
    eng.sensors.register(Hang, "hang", "Hang")
    meta = await eng.create(template("hang", "Hang", timeout_s=1), "o")
    now[0] = 0.5  # 0.5 s left, but the poke gets at least the 1 s grace, then the clock says past.

    async def advance() -> None:
        await asyncio.sleep(0.1)
        now[0] = 2.0

    _, res = await asyncio.gather(advance(), eng.get(meta))
    assert res.phase == PHASE.FAILED


async def test_meta_size_is_capped() -> None:
    eng = engine(max_meta_bytes=1024)
    with pytest.raises(InvalidRequestError) as err:
        await eng.create(template(*FLYTEKIT_FILE_SENSOR), "o", inputs={"path": "x" * 2000})
    assert "too large" in err.value.details and "1024" in err.value.details


async def test_unstorable_input_is_invalid() -> None:
    with pytest.raises(InvalidRequestError):
        await engine().create(template(*FLYTEKIT_FILE_SENSOR), "o", inputs={"path": object()})


async def test_flytekit_shaped_meta_is_accepted(tmp_path: Path) -> None:
    """Meta written by flytekit's SensorEngine (no timeout fields) is answered too."""
    raw = (
        b'{"sensor_module": "flytekit.sensor.file_sensor", "sensor_name": "FileSensor",'
        b' "sensor_config": null, "inputs": {"path": "%s"}}' % str(tmp_path).encode()
    )
    assert (await engine().get(SensorMeta.decode(raw))).phase == PHASE.SUCCEEDED


def test_builtin_registers_engine_with_override() -> None:
    from modern.registry import ConnectorRegistry

    reg = ConnectorRegistry()
    first = register_into(reg, SensorRegistry())
    second = register_into(reg, SensorRegistry())
    assert reg.get_connector("sensor") is second is not first
    from modern.registry import default_registry

    assert isinstance(default_registry().get_connector("sensor"), SensorEngine)


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
    st.timedeltas(min_value=datetime.timedelta(days=-999), max_value=datetime.timedelta(days=999)),
)
_values = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1, max_size=10), _values, max_size=5))
def test_values_round_trip_through_meta_for_every_value(inputs: dict[str, Any]) -> None:
    meta = SensorMeta(sensor_module="m", sensor_name="n", inputs=to_json(inputs))
    back = from_json(SensorMeta.decode(meta.encode()).inputs)
    assert back == _lists(inputs)


def _lists(v: Any) -> Any:
    # JSON has no tuple; timedeltas round-trip through float seconds exactly at microsecond scale.
    if isinstance(v, (list, tuple)):
        return [_lists(x) for x in v]
    if isinstance(v, dict):
        return {k: _lists(x) for k, x in v.items()}
    return v
