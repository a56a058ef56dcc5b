"""The semantic fix-ups of DESIGN.md, each owning one marker bit (see ``translators._pair``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf import unknown_fields
from google.protobuf.message import Message

from translators._gen import v1, v2_core_execution
from translators._pair import Fixup, at_path

Phase = v2_core_execution.TaskExecution

#: v1 ``Resource.state`` for each phase, for propellers older than 1.10.7 that read only ``state``.
STATE_OF_PHASE: dict[int, int] = {
    Phase.UNDEFINED: v1.RETRYABLE_FAILURE,
    Phase.QUEUED: v1.PENDING,
    Phase.WAITING_FOR_RESOURCES: v1.PENDING,
    Phase.INITIALIZING: v1.PENDING,
    Phase.RUNNING: v1.RUNNING,
    Phase.SUCCEEDED: v1.SUCCEEDED,
    Phase.ABORTED: v1.PERMANENT_FAILURE,
    Phase.FAILED: v1.PERMANENT_FAILURE,
    Phase.RETRYABLE_FAILED: v1.RETRYABLE_FAILURE,
}
#: The phase a state-only v1 connector meant. Lossy the other way (several phases share a state),
#: so this is written out rather than derived as an inverse.
PHASE_OF_STATE: dict[int, int] = {
    v1.PENDING: Phase.QUEUED,
    v1.RUNNING: Phase.RUNNING,
    v1.SUCCEEDED: Phase.SUCCEEDED,
    v1.PERMANENT_FAILURE: Phase.FAILED,
    v1.RETRYABLE_FAILURE: Phase.RETRYABLE_FAILED,
}

_LEN, _VARINT = 2, 0


def unknown_value(msg: Message, number: int, wire_type: int) -> Any:
    """The last value of unknown field ``number`` in ``msg`` (None when absent)."""
    value = None
    for field in unknown_fields.UnknownFieldSet(msg):
        if field.field_number == number and field.wire_type == wire_type:
            value = field.data
    return value


class TaskTypeFixup(Fixup):
    """v1 requests naming only the deprecated ``task_type`` get ``task_category = {task_type, 0}``;
    v2 requests gain ``task_type = task_category.name`` going to v1, as propeller sends it."""

    bit = 1

    def derive_v2(self, src: Message | None, out: Message) -> bool:
        if out.HasField("task_category"):
            return False
        if src is not None:
            task_type = src.task_type
        else:
            raw = unknown_value(out, 1, _LEN)
            task_type = raw.decode("utf-8", "replace") if raw else ""
        if not task_type:
            return False
        out.task_category.name = task_type
        return True

    def derive_v1(self, src: Message, out: Message, opts: dict[str, Any]) -> bool:
        if out.task_type or not out.task_category.name:
            return False
        out.task_type = out.task_category.name
        return True

    def undo_v2(self, m2: Message) -> None:
        m2.ClearField("task_category")

    def undo_v1(self, m1: Message) -> None:
        m1.ClearField("task_type")


class StateFixup(Fixup):
    """v1 ``Resource.state`` is derived from ``phase``; a state-only v1 resource gets its phase."""

    bit = 2

    def __init__(self, path: Sequence[str]) -> None:
        self.path = tuple(path)

    def derive_v2(self, src: Message | None, out: Message) -> bool:
        derived = False
        targets = at_path(out, self.path)
        sources = at_path(src, self.path) if src is not None else [None] * len(targets)
        for s, res in zip(sources, targets):
            if res.phase != Phase.UNDEFINED:
                continue
            state = s.state if s is not None else unknown_value(res, 1, _VARINT)
            if state:  # 0 (RETRYABLE_FAILURE) is indistinguishable from unset on the wire
                res.phase = PHASE_OF_STATE.get(state, Phase.UNDEFINED)
                derived = derived or res.phase != Phase.UNDEFINED
        return derived

    def derive_v1(self, src: Message, out: Message, opts: dict[str, Any]) -> bool:
        derived = False
        permanent = opts.get("retryable_as_permanent", False)
        for res in at_path(out, self.path):
            if permanent and res.phase == Phase.RETRYABLE_FAILED:
                # Propellers before 1.16 treat phase 8 as a system error; opt-in, not lossless.
                res.phase = Phase.FAILED
            if res.state == 0:
                state = STATE_OF_PHASE.get(res.phase, 0)
                if state:
                    res.state = state
                    derived = True
        return derived

    def undo_v2(self, m2: Message) -> None:
        for res in at_path(m2, self.path):
            res.phase = Phase.UNDEFINED

    def undo_v1(self, m1: Message) -> None:
        for res in at_path(m1, self.path):
            res.state = 0


class AgentFixup(Fixup):
    """v1 ``Agent.supported_task_types`` and ``is_sync`` have no v2 home: computed going to v1
    (``is_sync`` from the ``is_sync`` option: a bool or a callable on the connector name).

    All or nothing per message: if any agent already carries v1 fields (translated earlier with
    ``mark=False``), nothing is derived, so one marker bit describes every agent exactly.
    Nothing is derived going to v2: a v2 connector is its name and categories.
    """

    bit = 4

    def __init__(self, path_v1: Sequence[str], path_v2: Sequence[str]) -> None:
        # ``agent``/``agents`` are named ``connector``/``connectors`` in v2 (same field numbers).
        self.path_v1 = tuple(path_v1)
        self.path_v2 = tuple(path_v2)

    def derive_v1(self, src: Message, out: Message, opts: dict[str, Any]) -> bool:
        agents = at_path(out, self.path_v1)
        if not agents or any(a.supported_task_types or a.is_sync for a in agents):
            return False
        is_sync = opts.get("is_sync", False)
        for agent in agents:
            agent.supported_task_types.extend(dict.fromkeys(c.name for c in agent.supported_task_categories))
            agent.is_sync = bool(is_sync(agent.name) if callable(is_sync) else is_sync)
        return True

    def undo_v1(self, m1: Message) -> None:
        for agent in at_path(m1, self.path_v1):
            agent.ClearField("supported_task_types")
            agent.is_sync = False


def order_named(holder: Message, field: str, order: Sequence[str] = ()) -> None:
    """Sort ``holder.<field>`` (a list of ``{name, value}``): names in ``order`` first, in that
    order, then the rest by name. Skips the work when already in order (the common case)."""
    entries = getattr(holder, field)
    if len(entries) < 2:
        return
    rank = {name: i for i, name in enumerate(order)}
    big = len(rank)

    def key(e: Message) -> tuple[int, str]:
        return (rank.get(e.name, big), e.name)

    keys = [key(e) for e in entries]
    if all(a <= b for a, b in zip(keys, keys[1:])):
        return
    entries.sort(key=key)
