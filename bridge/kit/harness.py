"""What the pytest plugin's ``flyte_bridge`` fixture gives a test: a served bridge, stubs, and helpers.

    def test_my_connector(flyte_bridge):
        t = flyte_bridge.template("my_type", inputs={"x": int}, outputs={"y": int})
        out = flyte_bridge.create_and_wait(t, {"x": 1}, generation="both")
        assert out["v1"].outputs == out["v2"].outputs == {"y": 2}

``create_and_wait`` drives the task with the same clients as ``flyte-bridge run``
(:mod:`bridge.kit.clients`): v1 as FlytePropeller (ExecuteTaskSync for a sync connector), v2 as the
Flyte 2 executor. The task is a TaskTemplate of either generation, a flytekit or flyte-sdk task
object, a template file or ``FILE.py:TASK``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.kit.clients import DRIVERS, Outcome, drive
from bridge.kit.served import ServedBridge, Stubs
from bridge.kit.tasks import load_target, minimal_template
from bridge.kit.values import to_inputs
from translators._gen import v2_types

_PY_TYPES = {int: "INTEGER", float: "FLOAT", str: "STRING", bool: "BOOLEAN"}


def _simple(kind: Any) -> int:
    name = _PY_TYPES.get(kind, kind)
    if not isinstance(name, str) or name not in v2_types.SimpleType.keys():
        raise TypeError(f"{kind!r} is not int, float, str, bool or a SimpleType name")
    return v2_types.SimpleType.Value(name)


class BridgeHarness:
    """A served bridge for one test: its address, channel, stubs of both generations, and helpers.

    Args:
        served: The running bridge.
        scratch: A directory for output prefixes.
    """

    def __init__(self, served: ServedBridge, scratch: Path | None = None) -> None:
        self.served = served
        self.address = served.address
        self.channel = served.channel
        self.registry = served.registry
        self.v1: Stubs = served.stubs("v1")
        self.v2: Stubs = served.stubs("v2")
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="flyte-bridge-test-"))
        self._runs = 0

    def template(
        self,
        task_type: str,
        *,
        version: int = 0,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> Any:
        """A v2 TaskTemplate for ``task_type`` with simple typed inputs and outputs.

        Args:
            task_type: The category name.
            version: The category version.
            inputs: Name -> ``int``/``float``/``str``/``bool`` or a ``SimpleType`` name.
            outputs: Same, for outputs.
            custom: ``template.custom`` (always present, as the Flyte 2 executor requires).
        """
        t = minimal_template(task_type, version, **{k: _simple(v) for k, v in (inputs or {}).items()})
        for key, kind in (outputs or {}).items():
            t.interface.outputs.variables.add(key=key).value.type.simple = _simple(kind)
        if custom:
            t.custom.update(dict(custom))
        return t

    def create_and_wait(
        self,
        task: Any,
        inputs: Mapping[str, Any] | None = None,
        generation: str = "v2",
        *,
        poll: float = 0.05,
        deadline: float | None = 10.0,
        timeout: float | None = 60.0,
    ) -> Outcome | dict[str, Outcome]:
        """Run ``task`` to its end as the client(s) of ``generation`` do.

        Args:
            task: TaskTemplate (either generation), SDK task object, template file or ``FILE.py:TASK``.
            inputs: Native input values (converted by the task's interface).
            generation: ``v1``, ``v2`` or ``both``.
            poll: Seconds between GetTask calls.
            deadline: Per-call deadline in seconds.
            timeout: Abort (DeleteTask) after this many seconds; the outcome is then ``TIMED_OUT``.

        Returns:
            The ``Outcome`` (``phase``, ``message``, ``outputs`` as native values, ``log_links``,
            ``resource``, ``resource_meta``, ``calls``), or ``{"v1": ..., "v2": ...}`` for ``both``.
        """
        if generation not in ("v1", "v2", "both"):
            raise ValueError(f"generation must be v1, v2 or both, not {generation!r}")
        template = load_target(task)
        literals = to_inputs(dict(inputs or {}), template)
        self._runs += 1
        drivers = []
        for g in ["v1", "v2"] if generation == "both" else [generation]:
            prefix = self.scratch / f"run{self._runs}-{g}"
            prefix.mkdir(parents=True, exist_ok=True)
            drivers.append(DRIVERS[g](self.channel, template, literals, output_prefix=str(prefix), deadline=deadline))
        drive(drivers, poll=poll, timeout=timeout)
        if generation == "both":
            return {d.generation: d.outcome for d in drivers}
        return drivers[0].outcome


__all__ = ["BridgeHarness"]
