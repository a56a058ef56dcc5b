"""The rules ``flyte-bridge check`` holds a connector to, each from what the real clients do (CLIENTS.md).

Every rule gives one ``Row``: PASS or FAIL with the reason.

- ``metadata``: ListAgents, read as propeller builds its registry, routes the category to an Agent
  of the connector's name with the right ``is_sync``; ``supported_task_types`` names it; ListConnectors
  lists it under the connector's name.
- ``stateless``: the ``resource_meta`` from create is answered by a fresh bridge process, the same
  way (replicas, restarts: propeller re-reads it from the workflow CRD).
- ``repeatable``: GetTask after a terminal phase keeps giving the same answer.
- ``delete``: DeleteTask twice (v2, then again, then v1 as a retried abort) is not an error.
- ``errors``: every failure came back with a bounded, one-message status (no traceback, not cut
  at the bridge's limit, not UNKNOWN), and an unreadable ``resource_meta`` is INVALID_ARGUMENT.
- ``deadline``: a call that overran its deadline was cancelled: the connector stopped running.
- ``generations``: v1 and v2 reach the same phase with the same outputs.
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

from bridge.kit.clients import DRIVERS, Call, Driver, Outcome, drive, propeller_registry, rpc_failure
from bridge.kit.probe import Probe
from bridge.kit.tasks import minimal_template
from bridge.kit.values import show, to_inputs
from modern.errors import MAX_DETAILS, TRUNCATED
from translators._gen import v1, v2, v2_core_execution, v2_types

RULES = ("metadata", "stateless", "repeatable", "delete", "errors", "deadline", "generations")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
_BAD_META = b"\xff flyte-bridge check: not a resource_meta"
_PHASE = v2_core_execution.TaskExecution
_RESOURCE_PHASES = set(_PHASE.Phase.keys())


@dataclass
class Row:
    """One rule's verdict for one connector."""

    rule: str
    passed: bool
    reason: str

    def __post_init__(self) -> None:
        # One line, bounded: a report row, whatever the connector's messages look like.
        text = " ".join(self.reason.split())
        self.reason = text if len(text) <= 300 else text[:297] + "..."

    @property
    def status(self) -> str:
        """``PASS`` or ``FAIL``."""
        return "PASS" if self.passed else "FAIL"


@dataclass
class Options:
    """How hard ``check`` tries."""

    poll: float = 0.2
    deadline: float = 5.0
    timeout: float = 60.0
    cancel_grace: float = 2.0


@dataclass
class Subject:
    """One connector under check: its registry entry, the task sent, and what it answered."""

    name: str
    category: tuple[str, int]
    is_sync: bool
    template: Any
    inputs: Any
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    #: (call, connector methods still running ``cancel_grace`` after it passed its deadline)
    overruns: list[tuple[Call, list[str]]] = field(default_factory=list)


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


class Checker:
    """Runs the rules for subjects against bridge A (in process, probed) and B (a fresh process).

    Args:
        channel_a: Channel to the in-process bridge.
        fresh_address: A callable giving bridge B's address (it may still be starting).
        probe: The probe wrapped around A's connectors.
        options: Poll, deadline, timeout.
    """

    def __init__(self, channel_a: grpc.Channel, fresh_address: Callable[[], str], probe: Probe, options: Options) -> None:
        self.channel_a = channel_a
        self.fresh_address = fresh_address
        self.probe = probe
        self.options = options
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
        with tempfile.TemporaryDirectory(prefix="flyte-bridge-check-") as scratch:
            for g in ("v1", "v2"):
                d = self._driver(g, subject, Path(scratch) / g)
                drive([d], poll=self.options.poll, timeout=self.options.timeout)
                subject.outcomes[g] = d.outcome
                self._record(subject, d.outcome.calls)
            rows = {
                "metadata": self.metadata(subject),
                "stateless": self.stateless(subject),
                "repeatable": self.repeatable(subject),
                "delete": self.delete(subject, Path(scratch) / "delete"),
                "generations": self.generations(subject),
            }
            rows["errors"] = self.errors(subject)  # after the others: it reads every call they made
            rows["deadline"] = self.deadline(subject)
        return [rows[r] for r in RULES]

    # -- helpers ---------------------------------------------------------------------------------
    def _driver(self, generation: str, subject: Subject, prefix: Path, channel: grpc.Channel | None = None) -> Driver:
        prefix.mkdir(parents=True, exist_ok=True)
        d = DRIVERS[generation](channel or self.channel_a, subject.template, subject.inputs,
                                output_prefix=str(prefix), deadline=self.options.deadline)
        d.max_get_failures = 0  # a GetTask error is itself a finding: stop at the first
        return d

    def _record(self, subject: Subject, calls: list[Call]) -> None:
        # Right after a call passed its deadline: did the connector stop? (Later it may have ended anyway.)
        subject.calls += calls
        for call in calls:
            if call.code == "DEADLINE_EXCEEDED":
                subject.overruns.append((call, self.probe.wait_idle(subject.category, self.options.cancel_grace)))

    def _call(self, subject: Subject, method: str, fn: Callable[[], Any]) -> tuple[Any, Call]:
        started = time.monotonic()
        result = None
        try:
            result = fn()
            call = Call(method, "OK", "", time.monotonic() - started)
        except grpc.RpcError as exc:
            call = Call(method, *rpc_failure(exc), time.monotonic() - started)
        self._record(subject, [call])
        return result, call

    def _get_v2(self, subject: Subject, channel: grpc.Channel, meta: bytes, method: str) -> tuple[Any, Call]:
        from translators._gen import v2_grpc

        stub = v2_grpc.AsyncConnectorServiceStub(channel)
        request = v2.GetTaskRequest(task_category=v2.TaskCategory(name=subject.category[0], version=subject.category[1]),
                                    resource_meta=meta, output_prefix="/tmp/flyte-bridge-check")
        return self._call(subject, method, lambda: stub.GetTask(request, timeout=self.options.deadline))

    @staticmethod
    def _terminal(o: Outcome) -> bool:
        return o.done and o.phase in _RESOURCE_PHASES and o.resource is not None

    @staticmethod
    def _same(a: Any, b: Any) -> bool:
        return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)

    @staticmethod
    def _describe(o: Outcome) -> str:
        return f"{o.phase}" + (f": {o.message}" if o.message else "")

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
        return f"{_PHASE.Phase.Name(resource.phase)} {resource.message!r}"

    def stateless(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        here = self._last_answer(o)
        if not o.resource_meta or here is None:
            return Row("stateless", False, f"no resource_meta to hand to another process: v2 {self._describe(o)}")
        try:
            channel = self._b()
        except RuntimeError as exc:
            return Row("stateless", False, str(exc))
        got, call = self._get_v2(s, channel, o.resource_meta, "GetTask (fresh process)")
        there = self._answer(got, call)
        if there != here and (here[0] != "OK" or self._terminal(o)):
            return Row("stateless", False, f"from resource_meta alone a fresh process answers {self._show_answer(there, call)}; "
                                           f"this one {self._show_answer(here)}")
        return Row("stateless", True, f"a fresh process answered from resource_meta alone ({len(o.resource_meta)} bytes) "
                                      f"as this one did: {self._show_answer(there)}")

    def repeatable(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        first = self._last_answer(o)
        if first is None or (first[0] == "OK" and not self._terminal(o)):
            return Row("repeatable", False, f"no final answer to repeat: v2 {self._describe(o)}")
        for attempt in (2, 3):
            got, call = self._get_v2(s, self.channel_a, o.resource_meta, "GetTask (repeat)")
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
        name, version = s.category
        from translators._gen import v1_grpc, v2_grpc

        v2_stub, v1_stub = v2_grpc.AsyncConnectorServiceStub(self.channel_a), v1_grpc.AsyncAgentServiceStub(self.channel_a)
        attempts = [
            ("DeleteTask (v2)", lambda: v2_stub.DeleteTask(v2.DeleteTaskRequest(
                task_category=v2.TaskCategory(name=name, version=version), resource_meta=meta), timeout=self.options.deadline)),
            ("DeleteTask (v2, again)", lambda: v2_stub.DeleteTask(v2.DeleteTaskRequest(
                task_category=v2.TaskCategory(name=name, version=version), resource_meta=meta), timeout=self.options.deadline)),
            ("DeleteTask (v1, a retried abort)", lambda: v1_stub.DeleteTask(v1.DeleteTaskRequest(
                task_type=name, task_category=v1.TaskCategory(name=name, version=version), resource_meta=meta),
                timeout=self.options.deadline)),
        ]
        for label, fn in attempts:
            ok, call = self._call(s, label, fn)
            if ok is None:
                return Row("delete", False, f"{label} failed: {call.code}: {call.details}")
        return Row("delete", True, "DeleteTask three times on one task: no error")

    def errors(self, s: Subject) -> Row:
        _, bad = self._get_v2(s, self.channel_a, _BAD_META, "GetTask (unreadable resource_meta)")
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
        if problems:
            return Row("errors", False, "; ".join(dict.fromkeys(problems))[:500])
        return Row("errors", True, f"{len(failures)} failure(s), each a bounded message without traceback; "
                                   "an unreadable resource_meta is INVALID_ARGUMENT")

    def deadline(self, s: Subject) -> Row:
        if not s.overruns:
            return Row("deadline", True, f"no call reached the {self.options.deadline:g} s deadline")
        for call, still in s.overruns:
            if still:
                return Row("deadline", False, f"{', '.join(sorted(set(still)))} still running {self.options.cancel_grace:g} s "
                                              f"after {call.method} passed its deadline: the connector ignores cancellation")
        return Row("deadline", True, f"{len(s.overruns)} call(s) passed the {self.options.deadline:g} s deadline; "
                                     "the connector stopped each time")

    def generations(self, s: Subject) -> Row:
        a, b = s.outcomes["v1"], s.outcomes["v2"]
        if a.phase != b.phase:
            return Row("generations", False, f"v1 {self._describe(a)}; v2 {self._describe(b)}")
        if a.outputs != b.outputs:
            return Row("generations", False, f"outputs differ: v1 {show(a.outputs, 120)}, v2 {show(b.outputs, 120)}")
        how = "ExecuteTaskSync" if a.sync else "CreateTask/GetTask"
        equal = " with equal outputs" if a.succeeded else ""
        return Row("generations", True, f"both {a.phase}{equal} (v1 through {how})")


def subject_for(entry: Any, template: Any | None, inputs: dict[str, Any] | None, scratch: Path) -> Subject:
    """The subject for a registry entry: the given template and inputs, or its category's minimal task."""
    if template is None:
        template, inputs = example_task(entry.category, scratch)
    return Subject(entry.name, entry.category, entry.is_sync, template, to_inputs(inputs or {}, template))


__all__ = ["EXAMPLES", "RULES", "Checker", "Options", "Row", "Subject", "example_task", "subject_for"]
