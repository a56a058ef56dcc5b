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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from bridge.kit.clients import DRIVERS, Call, Driver, Outcome, drive, propeller_registry, rpc_failure
from bridge.kit.probe import Probe
from bridge.kit.tasks import minimal_template
from bridge.kit.values import show, to_inputs
from modern.errors import MAX_DETAILS
from translators._gen import v1, v2, v2_core_execution, v2_types

RULES = ("metadata", "stateless", "repeatable", "delete", "errors", "deadline", "generations")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")
_TRUNCATED = "...(truncated)"
_BAD_META = b"\xff flyte-bridge check: not a resource_meta"
_PHASE = v2_core_execution.TaskExecution
_RESOURCE_PHASES = set(_PHASE.Phase.keys())


@dataclass
class Row:
    """One rule's verdict for one connector."""

    rule: str
    passed: bool
    reason: str

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
                subject.calls += d.outcome.calls
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

    def _call(self, subject: Subject, method: str, fn: Callable[[], Any]) -> tuple[Any, Call]:
        import time

        started = time.monotonic()
        try:
            result = fn()
        except grpc.RpcError as exc:
            call = Call(method, *rpc_failure(exc), time.monotonic() - started)
            subject.calls.append(call)
            return None, call
        call = Call(method, "OK", "", time.monotonic() - started)
        subject.calls.append(call)
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

    def stateless(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        if not o.resource_meta:
            return Row("stateless", False, f"no resource_meta to hand to another process: v2 {self._describe(o)}")
        try:
            channel = self._b()
        except RuntimeError as exc:
            return Row("stateless", False, str(exc)[:300])
        got, call = self._get_v2(s, channel, o.resource_meta, "GetTask (fresh process)")
        if got is None:
            return Row("stateless", False, f"a fresh process could not answer GetTask from resource_meta alone: "
                                           f"{call.code}: {call.details}")
        if self._terminal(o) and not self._same(got.resource, o.resource):
            return Row("stateless", False, f"a fresh process answers {_PHASE.Phase.Name(got.resource.phase)} "
                                           f"{got.resource.message!r}, this one {o.phase} {o.message!r}")
        return Row("stateless", True, f"a fresh process answered from resource_meta alone ({len(o.resource_meta)} bytes)")

    def repeatable(self, s: Subject) -> Row:
        o = s.outcomes["v2"]
        if not self._terminal(o):
            return Row("repeatable", False, f"no terminal answer to repeat: v2 {self._describe(o)}")
        for attempt in (1, 2):
            got, call = self._get_v2(s, self.channel_a, o.resource_meta, "GetTask (repeat)")
            if got is None:
                return Row("repeatable", False, f"GetTask #{attempt} after {o.phase} failed: {call.code}: {call.details}")
            if not self._same(got.resource, o.resource):
                return Row("repeatable", False, f"GetTask #{attempt} after {o.phase} answered "
                                                f"{_PHASE.Phase.Name(got.resource.phase)} {got.resource.message!r}")
        return Row("repeatable", True, f"{o.phase} answered identically 3 times")

    def delete(self, s: Subject, prefix: Path) -> Row:
        v2d = self._driver("v2", s, prefix)
        v2d.start()
        s.calls += v2d.outcome.calls
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
            elif c.details.endswith(_TRUNCATED) or len(c.details) >= MAX_DETAILS:
                problems.append(f"{c.method}: {c.code} message is {len(c.details)}+ chars, cut at the bridge's limit")
            elif c.code == "UNKNOWN":
                problems.append(f"{c.method}: UNKNOWN (an exception escaped)")
        if problems:
            return Row("errors", False, "; ".join(dict.fromkeys(problems))[:500])
        return Row("errors", True, f"{len(failures)} failure(s), each a bounded message without traceback; "
                                   "an unreadable resource_meta is INVALID_ARGUMENT")

    def deadline(self, s: Subject) -> Row:
        overran = [c for c in s.calls if c.code == "DEADLINE_EXCEEDED"]
        if not overran:
            return Row("deadline", True, f"no call reached the {self.options.deadline:g} s deadline")
        still = self.probe.wait_idle(s.category, self.options.cancel_grace)
        if still:
            return Row("deadline", False, f"{', '.join(sorted(set(still)))} still running {self.options.cancel_grace:g} s after "
                                          f"{overran[0].method} passed its deadline: the connector ignores cancellation")
        return Row("deadline", True, f"{overran[0].method} passed its {self.options.deadline:g} s deadline and was cancelled")

    def generations(self, s: Subject) -> Row:
        a, b = s.outcomes["v1"], s.outcomes["v2"]
        if a.phase != b.phase:
            return Row("generations", False, f"v1 {self._describe(a)}; v2 {self._describe(b)}")
        if a.outputs != b.outputs:
            return Row("generations", False, f"outputs differ: v1 {show(a.outputs, 120)}, v2 {show(b.outputs, 120)}")
        how = "ExecuteTaskSync" if a.sync else "CreateTask/GetTask"
        return Row("generations", True, f"both {a.phase} with equal outputs (v1 through {how})")


def subject_for(entry: Any, template: Any | None, inputs: dict[str, Any] | None, scratch: Path) -> Subject:
    """The subject for a registry entry: the given template and inputs, or its category's minimal task."""
    if template is None:
        template, inputs = example_task(entry.category, scratch)
    return Subject(entry.name, entry.category, entry.is_sync, template, to_inputs(inputs or {}, template))


__all__ = ["EXAMPLES", "RULES", "Checker", "Options", "Row", "Subject", "example_task", "subject_for"]
