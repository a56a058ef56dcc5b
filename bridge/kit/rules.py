"""The rules ``flyte-bridge check`` holds a connector to, each from what the real clients do (CLIENTS.md).

Every rule gives one ``Row``: PASS, FAIL or SKIP (not judged: another rule's finding explains it),
with the reason on one bounded line.

- ``metadata``: ListAgents, read as propeller builds its registry, routes the category to an Agent
  of the connector's name with the right ``is_sync``; ``supported_task_types`` names it; ListConnectors
  lists it under the connector's name.
- ``succeeds``: with the given template and inputs, both generations' tasks end in the expected
  phase (SUCCEEDED unless ``--expect-phase``) within ``--timeout``; otherwise the connector's message.
- ``deadline``: CreateTask and GetTask answer within the deadline the clients use (``--deadline``,
  default 3 s: FlytePropeller's default agent timeout). A Create past it is a failed attempt; under
  propeller more than 5 failed Gets end the task.
- ``loop``: no connector method blocks the bridge's event loop (every connector in the process
  shares it) for ``--max-loop-lag`` seconds or more.
- ``cancellation``: a call that overran its deadline was cancelled: the connector stopped running.
- ``stateless``: the ``resource_meta`` from create is answered by a fresh bridge process, the same
  way (replicas, restarts: propeller re-reads it from the workflow CRD).
- ``repeatable``: GetTask after a terminal phase keeps giving the same answer.
- ``delete``: DeleteTask twice (v2, then again, then v1 as a retried abort) is not an error.
- ``errors``: every failure came back with a bounded, one-message status (no traceback, not cut
  at the bridge's limit, not UNKNOWN), a failed phase's message has no traceback, and an unreadable
  ``resource_meta`` is INVALID_ARGUMENT.
- ``generations``: v1 and v2 reach the same phase with the same output names and types; values
  are compared only with ``--same-outputs`` (each generation ran its own job: ids and times differ).

Every GetTask and DeleteTask goes through the clients' drivers (:mod:`bridge.kit.clients`), so it
carries what that client sends (``connection`` on v2).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bridge.kit.clients import (
    CREATE_FAILED, GET_FAILED, MAX_SYSTEM_FAILURES, TIMED_OUT, Call, Driver, Outcome, drive, make_drivers,
    propeller_registry, rpc_failure,
)
from bridge.kit.probe import LoopMonitor, Probe
from bridge.kit.tasks import minimal_template
from bridge.kit.values import show, to_inputs
from modern.errors import MAX_DETAILS, TRUNCATED
from translators._gen import v1, v2, v2_core_execution, v2_types

RULES = ("metadata", "succeeds", "deadline", "loop", "cancellation", "stateless", "repeatable", "delete", "errors",
         "generations")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
_BAD_META = b"\xff flyte-bridge check: not a resource_meta"
_PHASE = v2_core_execution.TaskExecution
_RESOURCE_PHASES = set(_PHASE.Phase.keys())
ROW_CHARS = 300


@dataclass
class Row:
    """One rule's verdict for one connector: PASS, FAIL or SKIP (not judged, ``skipped``)."""

    rule: str
    passed: bool
    reason: str
    skipped: bool = False

    def __post_init__(self) -> None:
        # One line, bounded: a report row, whatever the connector's messages look like.
        text = " ".join(self.reason.split())
        self.reason = text if len(text) <= ROW_CHARS else text[: ROW_CHARS - 3] + "..."

    @classmethod
    def skip(cls, rule: str, reason: str) -> Row:
        """Not judged: another rule's finding decides (SKIP does not fail ``check``)."""
        return cls(rule, True, reason, skipped=True)

    @property
    def status(self) -> str:
        """``PASS``, ``FAIL`` or ``SKIP``."""
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"


@dataclass
class Options:
    """How hard ``check`` tries, and what the author declared."""

    poll: float = 0.2
    deadline: float = 3.0
    timeout: float = 60.0
    cancel_grace: float = 2.0
    expect_phase: str = "SUCCEEDED"
    same_outputs: bool = False
    max_loop_lag: float = 0.5


@dataclass
class Subject:
    """One connector under check: its registry entry, the task sent, and what it answered."""

    name: str
    category: tuple[str, int]
    is_sync: bool
    template: Any
    inputs: Any
    source: str = ""
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    #: (call, connector methods still running ``cancel_grace`` after it passed its deadline)
    overruns: list[tuple[Call, list[str]]] = field(default_factory=list)
    started: float = 0.0

    @property
    def label(self) -> str:
        """The name, and the implementation when it is not the bridge's own (``'X' (flyte-sdk)``)."""
        return f"{self.name} ({self.source})" if self.source and self.source != "bridge" else self.name


def _sensor_example(scratch: Path) -> tuple[Any, dict[str, Any]]:
    # The built-in sensor engine needs a sensor and its inputs: flytekit's FileSensor on a file that exists.
    template = minimal_template("sensor", 0, path=v2_types.SimpleType.STRING)
    template.custom.update({"sensor_module": "flytekit.sensor.file_sensor", "sensor_name": "FileSensor"})
    present = scratch / "present.txt"
    present.write_text("flyte-bridge check\n")
    return template, {"path": str(present)}


EXAMPLES: dict[str, Callable[[Path], tuple[Any, dict[str, Any]]]] = {"sensor": _sensor_example}
"""Categories whose minimal task needs more than a type: a template and inputs that should succeed."""


def example_task(category: tuple[str, int], scratch: Path) -> tuple[Any, dict[str, Any]]:
    """The minimal template (and native inputs) for ``category``."""
    make = EXAMPLES.get(category[0])
    if make is not None and category[1] == 0:
        return make(scratch)
    return minimal_template(*category), {}


def _overran(c: Call) -> bool:
    return c.code == "DEADLINE_EXCEEDED"


class Checker:
    """Runs the rules for subjects against bridge A (in process, probed) and B (a fresh process).

    Args:
        channel_a: Channel to the in-process bridge.
        fresh_address: A callable giving bridge B's address (it may still be starting).
        probe: The probe wrapped around A's connectors.
        options: Poll, deadline, timeout, expectations.
        monitor: The loop monitor running on A's event loop (None: the loop rule is skipped).
    """

    def __init__(self, channel_a: grpc.Channel, fresh_address: Callable[[], str], probe: Probe, options: Options,
                 monitor: LoopMonitor | None = None) -> None:
        self.channel_a = channel_a
        self.fresh_address = fresh_address
        self.probe = probe
        self.options = options
        self.monitor = monitor
        self._channel_b: grpc.Channel | None = None

    def close(self) -> None:
        """Close the channel to B."""
        if self._channel_b is not None:
            self._channel_b.close()

    def _b(self) -> grpc.Channel:
        if self._channel_b is None:
            self._channel_b = grpc.insecure_channel(self.fresh_address())
        return self._channel_b

    def check(self, subject: Subject) -> list[Row]:
        """Every rule, in ``RULES`` order."""
        subject.started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="flyte-bridge-check-") as scratch:
            drivers = make_drivers(self.channel_a, subject.template, subject.inputs, "both", Path(scratch) / "run",
                                   deadline=self.options.deadline)
            for d in drivers:  # one after the other: a connector's stall is then one generation's
                drive([d], poll=self.options.poll, timeout=self.options.timeout)
                subject.outcomes[d.generation] = d.outcome
                self._record(subject, d.outcome.calls)
            rows = {
                "metadata": self.metadata(subject),
                "stateless": self.stateless(subject),
                "repeatable": self.repeatable(subject),
                "delete": self.delete(subject, Path(scratch) / "delete"),
                "generations": self.generations(subject),
                "succeeds": self.succeeds(subject),
            }
            # After the others: these read every call they made.
            rows["errors"] = self.errors(subject, Path(scratch) / "errors")
            rows["deadline"] = self.deadline(subject)
            rows["loop"] = self.loop(subject)
            rows["cancellation"] = self.cancellation(subject)
        return [rows[r] for r in RULES]

    # -- helpers ---------------------------------------------------------------------------------
    def _driver(self, generation: str, subject: Subject, prefix: Path, channel: grpc.Channel | None = None) -> Driver:
        [d] = make_drivers(channel or self.channel_a, subject.template, subject.inputs, generation, prefix,
                           deadline=self.options.deadline)
        return d

    def _send(self, s: Subject, method: str, label: str, meta: bytes, generation: str = "v2",
              channel: grpc.Channel | None = None, prefix: Path | None = None) -> tuple[Any, Call]:
        """One GetTask/DeleteTask for ``meta`` as the ``generation`` client sends it."""
        d = self._driver(generation, s, prefix or Path(tempfile.gettempdir()) / "flyte-bridge-check", channel)
        got, call = d.resume(meta).send(method, label)
        self._record(s, [call])
        return got, call

    def _record(self, subject: Subject, calls: list[Call]) -> None:
        # Right after a call passed its deadline: did the connector stop? (Later it may have ended anyway.)
        subject.calls += calls
        for call in calls:
            if _overran(call):
                subject.overruns.append((call, self.probe.wait_idle(subject.category, self.options.cancel_grace)))

    def _call(self, subject: Subject, method: str, fn: Callable[[], Any]) -> tuple[Any, Call]:
        started = time.monotonic()
        result = None
        try:
            result = fn()
            call = Call(method, "OK", "", time.monotonic() - started, started)
        except grpc.RpcError as exc:
            call = Call(method, *rpc_failure(exc), time.monotonic() - started, started)
        self._record(subject, [call])
        return result, call

    @staticmethod
    def _terminal(o: Outcome) -> bool:
        return o.done and o.phase in _RESOURCE_PHASES and o.resource is not None

    @staticmethod
    def _describe(o: Outcome) -> str:
        return f"{o.phase}" + (f": {o.message}" if o.message else "")

    @staticmethod
    def _gets_all_overran(o: Outcome) -> bool:
        gets = [c for c in o.calls if c.method == "GetTask"]
        return o.phase == GET_FAILED and bool(gets) and all(_overran(c) for c in gets)

    def _no_answer(self, s: Subject) -> str | None:
        """Why the v2 task has no final answer to judge further, when a rule of its own says so."""
        o = s.outcomes["v2"]
        if self._gets_all_overran(o):
            return "not judged: GetTask never answered within the deadline (see deadline)"
        if not self._terminal(o):
            return f"not judged: the task did not end in a phase (see succeeds): v2 {o.phase}"
        return None

    # -- the rules ---------------------------------------------------------------------------------
    def metadata(self, s: Subject) -> Row:
        from translators._gen import v1_grpc, v2_grpc

        agents, call = self._call(s, "ListAgents", lambda: v1_grpc.AgentMetadataServiceStub(self.channel_a).ListAgents(
            v1.ListAgentsRequest(), timeout=self.options.deadline))
        if agents is None:
            return Row("metadata", False, f"ListAgents failed: {call.code}: {call.details}")
        name, version = s.category
        routed = propeller_registry(agents.agents).get(name, {})
        if version not in routed:
            shown = ", ".join(f"v{v}" for v in routed) or "nothing"
            return Row("metadata", False, f"propeller's registry from ListAgents routes {name!r} to {shown}, not v{version}"
                                          " (it keeps one version per name)")
        if routed[version] != s.is_sync:
            return Row("metadata", False, f"ListAgents says is_sync={routed[version]} for a "
                                          f"{'sync' if s.is_sync else 'async'} connector")
        holders = [a for a in agents.agents if any(c.name == name and c.version == version for c in a.supported_task_categories)]
        if not any(a.name.startswith(s.name) for a in holders):
            return Row("metadata", False, f"the Agent listing {name!r} is named {[a.name for a in holders]}, not {s.name!r}")
        if not any(name in a.supported_task_types for a in holders):
            return Row("metadata", False, f"supported_task_types of the Agent does not name {name!r} (older propellers read it)")
        listed, call = self._call(s, "ListConnectors", lambda: v2_grpc.ConnectorMetadataServiceStub(self.channel_a).ListConnectors(
            v2.ListConnectorsRequest(), timeout=self.options.deadline))
        if listed is None:
            return Row("metadata", False, f"ListConnectors failed: {call.code}: {call.details}")
        if not any(c.name == s.name and any(t.name == name and t.version == version for t in c.supported_task_categories)
                   for c in listed.connectors):
            return Row("metadata", False, f"ListConnectors does not list {name!r} v{version} under {s.name!r}")
        kind = "sync (v1 calls ExecuteTaskSync)" if s.is_sync else "async"
        return Row("metadata", True, f"{s.name!r} serves {name!r} v{version}, {kind}, in ListAgents and ListConnectors")

    def succeeds(self, s: Subject) -> Row:
        want = self.options.expect_phase
        ended = {g: o for g, o in s.outcomes.items()}
        if any(self._gets_all_overran(o) for o in ended.values()):
            return Row.skip("succeeds", "not judged: GetTask never answered within the deadline (see deadline)")
        for g, o in ended.items():
            if o.phase == want:
                continue
            if o.phase == TIMED_OUT:  # the client gave up (--timeout); not a phase a connector reports
                return Row("succeeds", False, f"{g} did not end within {self.options.timeout:g} s (--timeout); "
                                              f"last answer {o.resource and _PHASE.Phase.Name(o.resource.phase) or 'none'}")
            why = o.message or "(no message)"
            hint = "" if want != "SUCCEEDED" else " (if this end is what the template asks for: --expect-phase)"
            return Row("succeeds", False, f"{g} ended {o.phase}, not {want}: {why}"[: ROW_CHARS - len(hint)] + hint)
        took = max(o.elapsed() for o in ended.values())
        return Row("succeeds", True, f"both generations ended {want} in {took:.1f} s or less")

    def deadline(self, s: Subject) -> Row:
        limit = self.options.deadline
        creates = [c for c in s.calls if c.method in ("CreateTask", "ExecuteTaskSync") and _overran(c)]
        if creates:
            return Row("deadline", False, f"{creates[0].method} ran past the {limit:g} s deadline: the client counts "
                                          "a failed attempt (a user retry under propeller)")
        for g, o in s.outcomes.items():
            gets = [c for c in o.calls if c.method == "GetTask"]
            if self._gets_all_overran(o):
                return Row("deadline", False, f"every GetTask ({len(gets)} of {len(gets)}, {g}) ran past the {limit:g} s "
                                              f"deadline: under FlytePropeller {MAX_SYSTEM_FAILURES} failed Gets end the task")
        gets = [c for c in s.calls if c.method.startswith("GetTask")]
        if not gets:
            return Row("deadline", True, f"no GetTask (sync connector); every call answered within {limit:g} s")
        late = [c for c in gets if _overran(c)]
        slowest = max((c.seconds for c in gets if not _overran(c)), default=0.0)
        if late:
            return Row("deadline", True, f"{len(late)} of {len(gets)} GetTask calls ran past the {limit:g} s deadline; "
                                         f"the others answered (slowest {slowest:.2f} s), within propeller's "
                                         f"{MAX_SYSTEM_FAILURES} tolerated failures")
        return Row("deadline", True, f"{len(gets)} GetTask calls, each answered within the {limit:g} s deadline "
                                     f"(slowest {slowest:.2f} s)")

    def loop(self, s: Subject) -> Row:
        if self.monitor is None:
            return Row.skip("loop", "not measured")
        lag, who = self.monitor.worst(s.started)
        limit = self.options.max_loop_lag
        if lag >= limit:
            mine = [w for w in who if w.startswith(f"{s.category[0]}.")]
            where = f" (in {', '.join(sorted(set(mine or who)))})" if who else ""
            return Row("loop", False, f"blocks the event loop for {lag:.1f} s{where}: every connector in the process "
                                      "waits meanwhile; await, or run blocking code in a thread (asyncio.to_thread)")
        longest = f"longest stall {lag * 1000:.0f} ms" if lag else f"no stall over {self.monitor.threshold * 1000:.0f} ms"
        return Row("loop", True, f"the event loop never stood still {limit:g} s or more ({longest})")

    def cancellation(self, s: Subject) -> Row:
        if not s.overruns:
            return Row("cancellation", True, f"no call reached the {self.options.deadline:g} s deadline")
        stuck = [(call, still) for call, still in s.overruns if still]
        if stuck and self.monitor is not None:
            blocked = [(c, st) for c, st in stuck
                       if self.monitor.worst(c.started, c.started + c.seconds + self.options.cancel_grace)[0]
                       >= self.options.max_loop_lag]
            if len(blocked) == len(stuck):
                return Row.skip("cancellation", "not judged: the event loop was blocked when the calls overran "
                                                "(see loop); a blocked loop cannot cancel anything")
            stuck = [x for x in stuck if x not in blocked]
        if stuck:
            call, still = stuck[0]
            return Row("cancellation", False, f"{', '.join(sorted(set(still)))} still running {self.options.cancel_grace:g} s "
                                              f"after {call.method} passed its deadline: the connector ignores cancellation")
        return Row("cancellation", True, f"{len(s.overruns)} call(s) passed the {self.options.deadline:g} s deadline; "
                                         "the connector stopped each time")

    @staticmethod
    def _last_answer(o: Outcome) -> tuple[str, bytes] | None:
        """What the last GetTask of ``o`` answered: ("OK", resource bytes) or (status code, b"")."""
        gets = [c for c in o.calls if c.method == "GetTask"]
        if not gets:
            return None
        if gets[-1].code != "OK":
            return gets[-1].code, b""
        return "OK", o.resource.SerializeToString(deterministic=True) if o.resource is not None else b""

    @staticmethod
    def _answer(got: Any, call: Call) -> tuple[str, bytes]:
        return (call.code, b"") if got is None else ("OK", got.resource.SerializeToString(deterministic=True))

    @staticmethod
    def _show_answer(answer: tuple[str, bytes], call: Call | None = None) -> str:
        if answer[0] != "OK":
            return f"{answer[0]}" + (f": {call.details}" if call is not None and call.details else "")
        resource = v2.Resource.FromString(answer[1])
        return f"{_PHASE.Phase.Name(resource.phase)} {show(resource.message, 80)}"

    def stateless(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        here = self._last_answer(o)
        if not o.resource_meta or here is None:
            if o.phase in (CREATE_FAILED, "REFUSED") or s.is_sync:
                return Row.skip("stateless", f"no resource_meta to hand to another process: v2 {self._describe(o)}")
            return Row("stateless", False, f"no resource_meta to hand to another process: v2 {self._describe(o)}")
        skip = self._no_answer(s)
        if skip is not None:
            return Row.skip("stateless", skip)
        try:
            channel = self._b()
        except RuntimeError as exc:
            return Row("stateless", False, str(exc))
        got, call = self._send(s, "GetTask", "GetTask (fresh process)", o.resource_meta, channel=channel)
        there = self._answer(got, call)
        if there != here:
            return Row("stateless", False, f"from resource_meta alone a fresh process answers {self._show_answer(there, call)}; "
                                           f"this one {self._show_answer(here)}")
        return Row("stateless", True, f"a fresh process answered from resource_meta alone ({len(o.resource_meta)} bytes) "
                                      f"as this one did: {self._show_answer(there)}")

    def repeatable(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        first = self._last_answer(o)
        if first is None and s.is_sync:
            return Row.skip("repeatable", "a sync connector: nothing to poll")
        skip = self._no_answer(s)
        if first is None or skip is not None:
            return Row.skip("repeatable", skip or f"no final answer to repeat: v2 {self._describe(o)}")
        for attempt in (2, 3):
            got, call = self._send(s, "GetTask", "GetTask (repeat)", o.resource_meta)
            again = self._answer(got, call)
            if again != first:
                return Row("repeatable", False, f"GetTask #{attempt} answered {self._show_answer(again, call)}, "
                                                f"the first {self._show_answer(first)}")
        return Row("repeatable", True, f"GetTask answered {self._show_answer(first)} 3 times")

    def delete(self, s: Subject, prefix: Path) -> Row:
        v2d = self._driver("v2", s, prefix)
        v2d.start()
        self._record(s, v2d.outcome.calls)
        meta = v2d.outcome.resource_meta
        if not meta:
            return Row("delete", False, f"create failed, nothing to delete: {self._describe(v2d.outcome)}")
        for label, generation in (("DeleteTask (v2)", "v2"), ("DeleteTask (v2, again)", "v2"),
                                  ("DeleteTask (v1, a retried abort)", "v1")):
            ok, call = self._send(s, "DeleteTask", label, meta, generation, prefix=prefix)
            if ok is None:
                return Row("delete", False, f"{label} failed: {call.code}: {call.details}")
        return Row("delete", True, "DeleteTask three times on one task: no error")

    def errors(self, s: Subject, prefix: Path) -> Row:
        _, bad = self._send(s, "GetTask", "GetTask (unreadable resource_meta)", _BAD_META, prefix=prefix)
        problems = []
        if bad.code != "INVALID_ARGUMENT":
            problems.append(f"an unreadable resource_meta gave {bad.code}, not INVALID_ARGUMENT")
        failures = [c for c in s.calls if c.code not in ("OK", "DEADLINE_EXCEEDED")]
        for c in failures:
            if _TRACEBACK.search(c.details):
                problems.append(f"{c.method}: {c.code} carries a traceback")
            elif c.details.endswith(TRUNCATED) or len(c.details) >= MAX_DETAILS:
                problems.append(f"{c.method}: {c.code} message is {len(c.details)}+ chars, cut at the bridge's limit")
            elif c.code == "UNKNOWN":
                problems.append(f"{c.method}: UNKNOWN (an exception escaped)")
        noisy = [g for g, o in s.outcomes.items() if o.phase in ("FAILED", "RETRYABLE_FAILED") and _TRACEBACK.search(o.message)]
        if noisy:
            problems.append(f"the failed task's message ({', '.join(noisy)}) carries a traceback: "
                            "the user reads it as the task's error")
        if problems:
            return Row("errors", False, "; ".join(dict.fromkeys(problems)))
        return Row("errors", True, f"{len(failures)} failure(s), each a bounded message without traceback; "
                                   "an unreadable resource_meta is INVALID_ARGUMENT")

    def generations(self, s: Subject) -> Row:
        a, b = s.outcomes["v1"], s.outcomes["v2"]
        if a.phase != b.phase:
            return Row("generations", False, f"v1 {self._describe(a)}; v2 {self._describe(b)}")
        how = "ExecuteTaskSync" if a.sync else "CreateTask/GetTask"
        if not (a.succeeded and b.succeeded):
            return Row("generations", True, f"both {a.phase} (v1 through {how})")
        ta, tb = _types(a.outputs), _types(b.outputs)
        if ta != tb:
            return Row("generations", False, f"output names/types differ: v1 {_show_types(ta)}, v2 {_show_types(tb)}")
        shown = _show_types(ta)
        if a.outputs == b.outputs:
            equal = f"with equal outputs ({shown})" if shown else "without outputs"
            return Row("generations", True, f"both SUCCEEDED {equal} (v1 through {how})")
        values = f"v1 {show(a.outputs, 80)}, v2 {show(b.outputs, 80)}"
        if self.options.same_outputs:
            return Row("generations", False, f"output values differ (--same-outputs): {values}")
        return Row("generations", True, f"both SUCCEEDED with outputs ({shown}); values differ ({values}), not compared: "
                                        "each generation ran its own job (--same-outputs compares them)")


def _types(outputs: dict[str, Any] | None) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in (outputs or {}).items()}


def _show_types(types: dict[str, str]) -> str:
    return ", ".join(f"{k}: {t}" for k, t in sorted(types.items()))


def subject_for(entry: Any, template: Any | None, inputs: dict[str, Any] | None, scratch: Path) -> Subject:
    """The subject for a registry entry: the given template and inputs, or its category's minimal task."""
    if template is None:
        template, inputs = example_task(entry.category, scratch)
    source = str(getattr(entry.connector, "implementation_source", "bridge"))
    return Subject(entry.name, entry.category, entry.is_sync, template, to_inputs(inputs or {}, template), source)


__all__ = ["EXAMPLES", "RULES", "Checker", "Options", "Row", "Subject", "example_task", "subject_for"]
