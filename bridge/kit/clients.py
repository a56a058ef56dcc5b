"""FlytePropeller (Flyte 1) and the Flyte 2 executor as clients, call for call (CLIENTS.md 1 and 2).

A ``Driver`` runs one task through one generation's generated stubs, the way that client does:

- v1 (``V1Driver``): ``ListAgents`` decides the route as propeller's registry does (the last
  category written for a name wins; ``is_sync`` comes from the enclosing Agent; a type not listed
  never reaches the connector). A sync agent gets one ``ExecuteTaskSync`` (header, inputs, close,
  one Recv that must be a header with a terminal phase); otherwise ``CreateTask`` with a
  ``LiteralMap``, then ``GetTask`` with ``task_type`` + ``task_category`` + ``output_prefix``.
  ``phase`` UNDEFINED falls back to the deprecated ``state``.
- v2 (``V2Driver``): the template must carry ``custom`` (the executor refuses it otherwise, before
  any call) and ``custom`` is read as the ``Connection``; ``CreateTask`` with ``Inputs`` and the
  connection, then ``GetTask`` with ``task_category``, ``output_prefix`` and the connection.
  UNDEFINED or an unknown phase is a system error.

Both: container ``args`` are rendered before CreateTask as propeller renders them
(:mod:`bridge.kit.render`: ``{{.Inputs.x}}``, ``{{.OutputPrefix}}``...; one that does not render ends
the task ``REFUSED`` before any call); a Create error is a retryable user failure; a Get error counts toward the cutoff (polling
stops once more than 5 failed, and the count is never reset); outputs come from
``resource.outputs``, else from ``{output_prefix}/outputs.pb`` when the prefix is a local path;
``DeleteTask`` goes out only on abort (``abort``), never after completion, never without meta.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from bridge.kit.render import RenderError, rendered
from bridge.kit.tasks import as_v1
from bridge.kit.values import to_native, v1_literal_map
from modern._values import TERMINAL_PHASES
from translators._gen import v1, v1_core_literals, v1_grpc, v2, v2_core_execution, v2_grpc, v2_security
from translators._protobuf_compat import known_fields

Phase = v2_core_execution.TaskExecution
CLIENT_NAMES = {"v1": "FlytePropeller", "v2": "the Flyte 2 executor"}
MAX_SYSTEM_FAILURES = 5
"""Propeller's ``MaxSystemFailures``: GetTask polling stops once more calls than this failed."""

# The hub's terminal phases. v1 does not list RETRYABLE_FAILED as terminal (v2 does), but maps it to a
# retryable failure: either way the attempt ends there.
_ENDS_ATTEMPT = TERMINAL_PHASES
_STATE_TO_PHASE = {
    v1.State.RETRYABLE_FAILURE: Phase.RETRYABLE_FAILED,  # the zero value: a resource with neither field set
    v1.State.PERMANENT_FAILURE: Phase.FAILED,
    v1.State.PENDING: Phase.QUEUED,
    v1.State.RUNNING: Phase.RUNNING,
    v1.State.SUCCEEDED: Phase.SUCCEEDED,
}

# Outcomes that are not a connector phase: what the client itself concluded.
NOT_ROUTED = "NOT_ROUTED"  # v1: ListAgents does not list the category, propeller would not call the bridge
REFUSED = "REFUSED"  # the client refuses the template before any call (no custom; args that do not render)
CREATE_FAILED = "CREATE_FAILED"  # a retryable user failure that uses up a retry
GET_FAILED = "GET_FAILED"  # more than 5 GetTask errors (AutoRefreshCacheFailed, or stuck at the last phase)
SYSTEM_ERROR = "SYSTEM_ERROR"  # an answer the client cannot read (unknown phase, bad sync header)
ABORTED_BY_USER = "ABORTED_BY_USER"  # Ctrl-C: DeleteTask was sent
TIMED_OUT = "TIMED_OUT"  # --timeout passed: DeleteTask was sent


@dataclass
class Call:
    """One RPC a driver made."""

    method: str
    code: str
    details: str
    seconds: float
    #: ``time.monotonic()`` when the call went out.
    started: float = 0.0


@dataclass
class Outcome:
    """Where one generation's task is, or how it ended."""

    generation: str
    phase: str = "NOT_STARTED"
    message: str = ""
    log_links: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] | None = None
    resource: Any = None
    resource_meta: bytes = b""
    done: bool = False
    sync: bool = False
    started: float = 0.0
    ended: float | None = None
    calls: list[Call] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Whether the task ended SUCCEEDED."""
        return self.done and self.phase == "SUCCEEDED"

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since create (until the end once done)."""
        end = self.ended if self.ended is not None else (time.monotonic() if now is None else now)
        return max(0.0, end - self.started) if self.started else 0.0


def propeller_registry(agents: Iterable[Any]) -> dict[str, dict[int, bool]]:
    """Propeller's ``map[name]map[version]isSync`` from ``ListAgents`` agents (agent/client.go:94-171).

    Each ``supported_task_types`` entry writes version 0 and each category writes its version; every
    write replaces the inner map, so the last one for a name wins.
    """
    registry: dict[str, dict[int, bool]] = {}
    for agent in agents:
        for name in agent.supported_task_types:
            registry[name] = {0: agent.is_sync}
        for cat in agent.supported_task_categories:
            registry[cat.name] = {cat.version: agent.is_sync}
    return registry


def rpc_failure(exc: grpc.RpcError) -> tuple[str, str]:
    """(code name, details) of a failed call."""
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
    return (code.name if code is not None else "UNKNOWN", details or "")


def execution_metadata(template: Any) -> v1.TaskExecutionMetadata:
    """The v1 ``TaskExecutionMetadata`` propeller fills (agent/plugin.go:433-445): no attempts, no overrides."""
    meta = v1.TaskExecutionMetadata(namespace="flyte-bridge-local", k8s_service_account="default")
    tid = meta.task_execution_id
    tid.task_id.resource_type = 1  # TASK
    tid.task_id.project, tid.task_id.domain = template.id.project or "flyte-bridge", template.id.domain or "development"
    tid.task_id.name, tid.task_id.version = template.id.name or "task", template.id.version or "local"
    tid.node_execution_id.node_id = "n0"
    execution = tid.node_execution_id.execution_id
    execution.project, execution.domain, execution.name = tid.task_id.project, tid.task_id.domain, "flyte-bridge-run"
    return meta


class Driver:
    """One task through one generation's client. Subclasses say what differs; this holds the sequence."""

    generation = ""

    def __init__(
        self,
        channel: grpc.Channel,
        template: Any,
        inputs: Any,
        *,
        output_prefix: str,
        deadline: float | None = 10.0,
        on_update: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.channel = channel
        self.template = template  # v2 TaskTemplate
        self.sent = template  # what CreateTask carries: container args rendered (start)
        self.inputs = inputs  # v2 Inputs
        self.output_prefix = output_prefix
        self.deadline = deadline
        self.on_update = on_update or (lambda _o: None)
        self.outcome = Outcome(self.generation)
        self._get_failures = 0
        #: GetTask errors tolerated before polling stops (propeller: more than 5); ``check`` uses 0.
        self.max_get_failures = MAX_SYSTEM_FAILURES
        self.category = (template.type, template.task_type_version)

    # -- the sequence -----------------------------------------------------------------------
    def start(self) -> None:
        """Create the task (or run it, for a sync agent)."""
        self.outcome.started = time.monotonic()
        refusal = self.route()
        if refusal is not None:
            self._end(refusal[0], refusal[1])
            return
        try:
            self.sent = rendered(self.template, self.inputs, self.output_prefix)
        except RenderError as exc:
            self._end(REFUSED, f"{CLIENT_NAMES[self.generation]} cannot render the container args: {exc}")
            return
        if self.sent is not self.template:
            self._write_inputs()
        if self.outcome.sync:
            self.run_sync()
            return
        try:
            response = self._call("CreateTask", self.create)
        except grpc.RpcError as exc:
            code, details = rpc_failure(exc)
            self._end(CREATE_FAILED, f"failed to create task from agent with rpc error: code = {code} desc = {details}")
            return
        self.outcome.resource_meta = bytes(response.resource_meta)
        self.outcome.phase = "CREATED"
        self.on_update(self.outcome)

    def poll(self) -> None:
        """One GetTask, as the client's resync does."""
        if self.outcome.done:
            return
        try:
            response = self._call("GetTask", self.get)
        except grpc.RpcError as exc:
            self._get_failures += 1
            code, details = rpc_failure(exc)
            self.outcome.message = f"GetTask failed ({self._get_failures}): {code}: {details}"
            if self._get_failures > self.max_get_failures:
                self._end(GET_FAILED, self.outcome.message)
            else:
                self.on_update(self.outcome)
            return
        self.observe(response.resource)

    def abort(self, why: str = ABORTED_BY_USER) -> None:
        """DeleteTask for a started, unfinished task (what an abort sends); then mark it ``why``."""
        if self.outcome.done:
            return
        note = ""
        if self.outcome.resource_meta:
            try:
                self._call("DeleteTask", self.delete)
                note = "DeleteTask sent"
            except grpc.RpcError as exc:
                note = "DeleteTask failed: {}: {}".format(*rpc_failure(exc))
        self._end(why, note or "nothing to delete")

    def observe(self, resource: Any) -> None:
        """Take one answer: phase, message, log links, and outputs once it succeeded."""
        o = self.outcome
        o.resource = resource
        phase = self.phase_of(resource)
        if phase is None:
            self._end(SYSTEM_ERROR, f"undefined or unknown phase {resource.phase}: {self.generation} reads it as a system error")
            return
        o.message = resource.message
        o.log_links = [(link.name, link.uri) for link in resource.log_links]
        o.phase = Phase.Phase.Name(phase)
        if phase == Phase.SUCCEEDED:
            o.outputs = self._outputs(resource)
        if phase in _ENDS_ATTEMPT:
            self._end(o.phase, o.message)
        else:
            self.on_update(o)

    # -- helpers -------------------------------------------------------------------------------
    def send(self, method: str, label: str | None = None) -> tuple[Any, Call]:
        """One ``GetTask`` or ``DeleteTask`` as this client builds it, for ``outcome.resource_meta``.

        ``check`` resumes a task this way (``resume``) in another process or after it ended.

        Returns:
            (the response or None, the ``Call``, recorded in ``outcome.calls`` under ``label``).
        """
        fn = {"GetTask": self.get, "DeleteTask": self.delete}[method]
        try:
            return self._call(label or method, fn), self.outcome.calls[-1]
        except grpc.RpcError:
            return None, self.outcome.calls[-1]

    def resume(self, resource_meta: bytes) -> Driver:
        """Take over a task created elsewhere: later ``send``/``poll`` calls use ``resource_meta``."""
        self.outcome.resource_meta = resource_meta
        self.outcome.started = self.outcome.started or time.monotonic()
        return self

    def _call(self, method: str, fn: Callable[[float | None], Any]) -> Any:
        started = time.monotonic()
        try:
            result = fn(self.deadline)
        except grpc.RpcError as exc:
            code, details = rpc_failure(exc)
            self.outcome.calls.append(Call(method, code, details, time.monotonic() - started, started))
            raise
        self.outcome.calls.append(Call(method, "OK", "", time.monotonic() - started, started))
        return result

    def _write_inputs(self) -> None:
        # {{.Input}} names {input prefix}/inputs.pb: write it there when the prefix is a local directory.
        if "://" in self.output_prefix:
            return
        folder = Path(self.output_prefix) / "inputs"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "inputs.pb").write_bytes(v1_literal_map(self.inputs).SerializeToString())
        except OSError:
            pass  # a prefix we cannot write: the connector finds no file, as it would with a bad prefix

    def _end(self, phase: str, message: str) -> None:
        self.outcome.phase, self.outcome.message = phase, message
        self.outcome.done, self.outcome.ended = True, time.monotonic()
        self.on_update(self.outcome)

    def _outputs(self, resource: Any) -> dict[str, Any] | None:
        declared = list(self.template.interface.outputs.variables)
        if len(resource.outputs.literals):
            return to_native(resource.outputs, self.template)
        if not declared:
            return {}
        # No inline outputs: the client reads {output_prefix}/outputs.pb (here, a local path only).
        path = Path(self.output_prefix) / "outputs.pb"
        try:
            return to_native(v1_core_literals.LiteralMap.FromString(path.read_bytes()), self.template)
        except OSError:
            self.outcome.message = f"no outputs in the resource and none at {path}"
            return None

    # -- what each generation fills in ---------------------------------------------------------
    def route(self) -> tuple[str, str] | None:
        """None to go ahead, or (outcome, message) when the client would not call at all."""
        return None

    def phase_of(self, resource: Any) -> int | None:
        raise NotImplementedError

    def create(self, timeout: float | None) -> Any:
        raise NotImplementedError

    def get(self, timeout: float | None) -> Any:
        raise NotImplementedError

    def delete(self, timeout: float | None) -> Any:
        raise NotImplementedError

    def run_sync(self) -> None:
        raise NotImplementedError


class V1Driver(Driver):
    """FlytePropeller's agent plugin (``flyteidl`` stubs)."""

    generation = "v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_stub = v1_grpc.AsyncAgentServiceStub(self.channel)
        name, version = self.category
        self.category_msg = v1.TaskCategory(name=name, version=version)

    def route(self) -> tuple[str, str] | None:
        stub = v1_grpc.AgentMetadataServiceStub(self.channel)
        try:
            agents = self._call("ListAgents", lambda t: stub.ListAgents(v1.ListAgentsRequest(), timeout=t)).agents
        except grpc.RpcError as exc:
            return NOT_ROUTED, "ListAgents failed ({}: {}): propeller skips this deployment".format(*rpc_failure(exc))
        name, version = self.category
        versions = propeller_registry(agents).get(name, {})
        if version not in versions:
            listed = ", ".join(f"v{v}" for v in versions) or "not listed"
            return NOT_ROUTED, (
                f"ListAgents does not advertise {name!r} v{version} ({listed}): propeller would run the task "
                "with its default plugin, not the connector"
            )
        self.outcome.sync = versions[version]
        return None

    def phase_of(self, resource: Any) -> int | None:
        if resource.phase == Phase.UNDEFINED:
            return _STATE_TO_PHASE.get(resource.state)  # the deprecated field decides
        return resource.phase if resource.phase in Phase.Phase.values() else None

    def create(self, timeout: float | None) -> Any:
        request = v1.CreateTaskRequest(
            inputs=v1_literal_map(self.inputs),
            template=as_v1(self.sent),
            output_prefix=self.output_prefix,
            task_execution_metadata=execution_metadata(self.template),
        )
        return self.async_stub.CreateTask(request, timeout=timeout)

    def get(self, timeout: float | None) -> Any:
        request = v1.GetTaskRequest(
            task_type=self.category[0],
            task_category=self.category_msg,
            resource_meta=self.outcome.resource_meta,
            # Sent by propeller since v1.15.1; the field exists from flyteidl 1.15.2 on.
            **known_fields(v1.GetTaskRequest, output_prefix=self.output_prefix),
        )
        return self.async_stub.GetTask(request, timeout=timeout)

    def delete(self, timeout: float | None) -> Any:
        request = v1.DeleteTaskRequest(
            task_type=self.category[0], task_category=self.category_msg, resource_meta=self.outcome.resource_meta
        )
        return self.async_stub.DeleteTask(request, timeout=timeout)

    def run_sync(self) -> None:
        header = v1.CreateRequestHeader(
            template=as_v1(self.sent),
            output_prefix=self.output_prefix,
            task_execution_metadata=execution_metadata(self.template),
        )
        requests = [v1.ExecuteTaskSyncRequest(header=header), v1.ExecuteTaskSyncRequest(inputs=v1_literal_map(self.inputs))]
        stub = v1_grpc.SyncAgentServiceStub(self.channel)

        def _one(timeout: float | None) -> Any:
            stream = stub.ExecuteTaskSync(iter(requests), timeout=timeout)
            try:
                return next(stream)  # the client reads exactly one message
            finally:
                stream.cancel()

        try:
            first = self._call("ExecuteTaskSync", _one)
        except StopIteration:
            self._end(SYSTEM_ERROR, "ExecuteTaskSync closed without a response")
            return
        except grpc.RpcError as exc:
            code, details = rpc_failure(exc)
            self._end(CREATE_FAILED, f"failed to execute task from agent with rpc error: code = {code} desc = {details}")
            return
        if first.WhichOneof("res") != "header":
            self._end(SYSTEM_ERROR, "the first ExecuteTaskSync response is not a header")
            return
        resource = first.header.resource
        if resource.phase not in _ENDS_ATTEMPT:
            self._end(SYSTEM_ERROR, f"sync answer with non-terminal phase {resource.phase}: propeller breaks on it")
            return
        self.observe(resource)


class V2Driver(Driver):
    """The Flyte 2 executor's connector plugin (``flyteidl2`` stubs)."""

    generation = "v2"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_stub = v2_grpc.AsyncConnectorServiceStub(self.channel)
        name, version = self.category
        self.category_msg = v2.TaskCategory(name=name, version=version)
        # The executor reads template.custom as the Connection and sends it on Create, Get and Delete.
        self.connection = v2_security.Connection()
        self._refusal: str | None = None
        if not self.template.HasField("custom"):
            self._refusal = "the template has no custom: the Flyte 2 executor fails the task before any call"
        else:
            try:
                json_format.ParseDict(json_format.MessageToDict(self.template.custom), self.connection,
                                      ignore_unknown_fields=True)
            except json_format.ParseError as exc:
                self._refusal = f"template.custom does not read as a Connection: {str(exc)[:200]}"

    def route(self) -> tuple[str, str] | None:
        return (REFUSED, self._refusal) if self._refusal is not None else None

    def phase_of(self, resource: Any) -> int | None:
        known = resource.phase in Phase.Phase.values() and resource.phase != Phase.UNDEFINED
        return resource.phase if known else None

    def create(self, timeout: float | None) -> Any:
        request = v2.CreateTaskRequest(
            inputs=self.inputs,
            template=self.sent,
            output_prefix=self.output_prefix,
            task_execution_metadata=v2.TaskExecutionMetadata.FromString(
                execution_metadata(self.template).SerializeToString()
            ),
            connection=self.connection,
        )
        return self.async_stub.CreateTask(request, timeout=timeout)

    def get(self, timeout: float | None) -> Any:
        request = v2.GetTaskRequest(
            task_category=self.category_msg,
            resource_meta=self.outcome.resource_meta,
            output_prefix=self.output_prefix,
            connection=self.connection,
        )
        return self.async_stub.GetTask(request, timeout=timeout)

    def delete(self, timeout: float | None) -> Any:
        request = v2.DeleteTaskRequest(
            task_category=self.category_msg, resource_meta=self.outcome.resource_meta, connection=self.connection
        )
        return self.async_stub.DeleteTask(request, timeout=timeout)


DRIVERS: dict[str, type[Driver]] = {"v1": V1Driver, "v2": V2Driver}
GENERATIONS = ("v1", "v2", "both")


def generations_of(generation: str) -> list[str]:
    """``["v1"]``, ``["v2"]`` or, for ``both``, ``["v1", "v2"]``.

    Raises:
        ValueError: Not one of ``v1``, ``v2``, ``both``.
    """
    if generation not in GENERATIONS:
        raise ValueError(f"generation must be v1, v2 or both, not {generation!r}")
    return ["v1", "v2"] if generation == "both" else [generation]


def make_drivers(
    channel: grpc.Channel,
    template: Any,
    inputs: Any,
    generation: str,
    scratch: Path,
    *,
    output_prefix: str | None = None,
    deadline: float | None = 10.0,
    on_update: Callable[[Outcome], None] | None = None,
) -> list[Driver]:
    """One driver per generation asked (``both`` is v1 then v2), each with its own output directory.

    Args:
        scratch: Each generation's ``output_prefix`` is ``scratch/<generation>`` (created), unless
            ``output_prefix`` is given (then every generation gets that one).
    """
    drivers = []
    for g in generations_of(generation):
        prefix = output_prefix
        if prefix is None:
            path = Path(scratch) / g
            path.mkdir(parents=True, exist_ok=True)
            prefix = str(path)
        drivers.append(DRIVERS[g](channel, template, inputs, output_prefix=prefix, deadline=deadline, on_update=on_update))
    return drivers


def drive(
    drivers: list[Driver],
    *,
    poll: float,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Create every task, then poll each every ``poll`` seconds until all ended (or ``timeout``).

    A ``KeyboardInterrupt`` propagates: the caller aborts (``Driver.abort``) what is still running.
    """
    began = time.monotonic()
    for d in drivers:
        d.start()
    while not all(d.outcome.done for d in drivers):
        if timeout is not None and time.monotonic() - began >= timeout:
            for d in drivers:
                d.abort(TIMED_OUT)
            return
        sleep(poll)
        for d in drivers:
            d.poll()


__all__ = [
    "ABORTED_BY_USER",
    "CREATE_FAILED",
    "DRIVERS",
    "GENERATIONS",
    "GET_FAILED",
    "NOT_ROUTED",
    "REFUSED",
    "SYSTEM_ERROR",
    "TIMED_OUT",
    "Call",
    "Driver",
    "Outcome",
    "V1Driver",
    "V2Driver",
    "drive",
    "generations_of",
    "make_drivers",
    "propeller_registry",
]
