"""What the pytest plugin's ``flyte_bridge`` fixture gives a test: a served bridge, stubs, and helpers.

    def test_my_connector(flyte_bridge):
        t = flyte_bridge.template("my_type", inputs={"x": int}, outputs={"y": int})
        out = flyte_bridge.create_and_wait(t, {"x": 1}, generation="both")
        assert out.v1.outputs == out["v2"].outputs == {"y": 2}

``create_and_wait`` always returns an :class:`Outcomes`: a read-only mapping generation -> ``Outcome``
(``out["v2"]``, ``out.v2``, ``list(out)``) for one generation or both. With one generation it also
reads as that ``Outcome`` (``out.phase``, ``out.outputs``), so ``create_and_wait(t).outputs`` works.

``create_and_wait`` drives the task with the same clients as ``flyte-bridge run``
(:mod:`bridge.kit.clients`): v1 as FlytePropeller (ExecuteTaskSync for a sync connector), v2 as the
Flyte 2 executor. The task is a TaskTemplate of either generation, a flytekit or flyte-sdk task
object, a template file or ``FILE.py:TASK``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bridge.kit.clients import Outcome, drive, make_drivers
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


class Outcomes(Mapping[str, Outcome]):
    """What ``create_and_wait`` returns, for one generation or both: generation -> ``Outcome``.

    Index it (``out["v1"]``) or use the attributes ``.v1``/``.v2``; a generation that did not run
    is a ``KeyError`` (index) or ``AttributeError`` (attribute) naming the ones that did. With exactly
    one generation the object also reads as its ``Outcome``: ``out.phase``, ``out.outputs``,
    ``out.succeeded``...
    """

    def __init__(self, outcomes: Mapping[str, Outcome]) -> None:
        self._outcomes = dict(outcomes)

    def __getitem__(self, generation: str) -> Outcome:
        try:
            return self._outcomes[generation]
        except KeyError:
            raise KeyError(f"{generation!r} did not run (ran: {', '.join(self._outcomes)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)

    @property
    def v1(self) -> Outcome:
        """FlytePropeller's outcome."""
        return self._attr("v1")

    @property
    def v2(self) -> Outcome:
        """The Flyte 2 executor's outcome."""
        return self._attr("v2")

    def _attr(self, generation: str) -> Outcome:
        if generation not in self._outcomes:
            raise AttributeError(f"{generation} did not run (ran: {', '.join(self._outcomes)})")
        return self._outcomes[generation]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in ("v1", "v2"):  # the property raised: that generation did not run
            return self._attr(name)
        outcomes = self.__dict__.get("_outcomes", {})
        if len(outcomes) == 1:
            return getattr(next(iter(outcomes.values())), name)
        raise AttributeError(f"{name!r}: {len(outcomes)} generations ran; read out.v1.{name} or out['v2'].{name}")

    @property
    def succeeded(self) -> bool:
        """Whether every generation that ran ended SUCCEEDED."""
        return all(o.succeeded for o in self._outcomes.values())

    def __repr__(self) -> str:
        return "Outcomes(" + ", ".join(f"{g}={o.phase}" for g, o in self._outcomes.items()) + ")"


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
    ) -> Outcomes:
        """Run ``task`` to its end as the client(s) of ``generation`` do.

        Args:
            task: TaskTemplate (either generation), SDK task object, template file or ``FILE.py:TASK``.
            inputs: Native input values (converted by the task's interface).
            generation: ``v1``, ``v2`` or ``both``.
            poll: Seconds between GetTask calls.
            deadline: Per-call deadline in seconds.
            timeout: Abort (DeleteTask) after this many seconds; the outcome is then ``TIMED_OUT``.

        Returns:
            ``Outcomes``: generation -> ``Outcome`` (``phase``, ``message``, ``outputs`` as native
            values, ``log_links``, ``resource``, ``resource_meta``, ``calls``); ``out["v2"]`` and
            ``out.v2`` for either kind of run, and ``out.phase`` etc. when one generation ran.

        Raises:
            ValueError: ``generation`` is not v1, v2 or both.
            bridge.kit.values.InputsError: An input is not declared or does not fit its type.
        """
        template = load_target(task)
        literals = to_inputs(dict(inputs or {}), template)
        self._runs += 1
        drivers = make_drivers(self.channel, template, literals, generation, self.scratch / f"run{self._runs}",
                               deadline=deadline)
        drive(drivers, poll=poll, timeout=timeout)
        return Outcomes({d.generation: d.outcome for d in drivers})


__all__ = ["BridgeHarness", "Outcomes"]
