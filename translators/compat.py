"""The v1 <-> v2 compatibility table, computed from the installed descriptors at import.

Both generations' message trees are walked in step, by field number, from the request and response
types of the five services. Every field lands in one row: ``identical`` (same number, name and
wire type), ``renamed`` (same number and wire type, other name), ``only_v1``, ``only_v2``, or
``collision`` (same number, incompatible wire type). A collision makes translation by re-parse
unsound, so importing ``translators`` fails loudly with ``WireCompatibilityError`` when a new
flyteidl ships one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from functools import cache

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from translators._protobuf_compat import is_repeated
from translators._gen import v1, v1_core_literals, v1_service, v2, v2_service, v2_task_common
from translators.errors import DuplicateNameError, WireCompatibilityError

KINDS = ("identical", "renamed", "only_v1", "only_v2", "collision")

#: Services paired by role, and methods renamed between the generations.
SERVICE_PAIRS = (
    ("flyteidl.service.AsyncAgentService", "flyteidl2.connector.AsyncConnectorService"),
    ("flyteidl.service.AgentMetadataService", "flyteidl2.connector.ConnectorMetadataService"),
    ("flyteidl.service.SyncAgentService", None),
)
METHOD_RENAMES = {"GetAgent": "GetConnector", "ListAgents": "ListConnectors"}


@dataclass(frozen=True)
class Row:
    """One field number of one message pair."""

    v1_message: str
    v2_message: str
    number: int
    v1_field: str | None
    v2_field: str | None
    kind: str
    wire: str

    @property
    def message(self) -> str:
        return self.v1_message or self.v2_message


@dataclass(frozen=True)
class EnumRow:
    """One enum value number of one enum pair."""

    v1_enum: str
    v2_enum: str
    number: int
    v1_name: str | None
    v2_name: str | None
    kind: str


def _wire(f: FieldDescriptor) -> str:
    label = "repeated " if is_repeated(f) else ""
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        entry = f.message_type.GetOptions().map_entry
        return label + ("map-entry" if entry else "message")
    return label + {FieldDescriptor.TYPE_ENUM: "enum"}.get(f.type, f"type{f.type}")


def _compatible(f1: FieldDescriptor, f2: FieldDescriptor) -> bool:
    if is_repeated(f1) != is_repeated(f2):
        return False
    if f1.type == f2.type:
        return True
    # Message and group encode differently; string vs bytes differ in UTF-8 validation. Both collide.
    return False


class _Walker:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.enum_rows: list[EnumRow] = []
        self.seen: set[tuple[str, str]] = set()
        self.seen_enums: set[tuple[str, str]] = set()
        self.v1_messages: set[str] = set()
        self.v2_messages: set[str] = set()

    def pair(self, d1: Descriptor | None, d2: Descriptor | None) -> None:
        key = (d1.full_name if d1 else "", d2.full_name if d2 else "")
        if key in self.seen:
            return
        self.seen.add(key)
        if d1:
            self.v1_messages.add(d1.full_name)
        if d2:
            self.v2_messages.add(d2.full_name)
        f1s = {f.number: f for f in d1.fields} if d1 else {}
        f2s = {f.number: f for f in d2.fields} if d2 else {}
        for number in sorted(f1s.keys() | f2s.keys()):
            f1, f2 = f1s.get(number), f2s.get(number)
            if f1 and f2:
                if not _compatible(f1, f2):
                    kind = "collision"
                else:
                    kind = "identical" if f1.name == f2.name else "renamed"
                    self._children(f1, f2)
            elif f1:
                kind = "only_v1"
                self._children(f1, None)
            else:
                kind = "only_v2"
                self._children(None, f2)
            self.rows.append(
                Row(key[0], key[1], number, f1.name if f1 else None, f2.name if f2 else None, kind,
                    _wire(f1 or f2))  # type: ignore[arg-type]
            )

    def _children(self, f1: FieldDescriptor | None, f2: FieldDescriptor | None) -> None:
        m1 = f1.message_type if f1 else None
        m2 = f2.message_type if f2 else None
        if m1 or m2:
            if m1 and not m2:
                m2 = _counterpart(m1, "message")
            elif m2 and not m1:
                m1 = _counterpart(m2, "message")
            self.pair(m1, m2)
        e1 = f1.enum_type if f1 else None
        e2 = f2.enum_type if f2 else None
        if e1 or e2:
            if e1 and not e2:
                e2 = _counterpart(e1, "enum")
            elif e2 and not e1:
                e1 = _counterpart(e2, "enum")
            self.enums(e1, e2)

    def enums(self, e1: EnumDescriptor | None, e2: EnumDescriptor | None) -> None:
        key = (e1.full_name if e1 else "", e2.full_name if e2 else "")
        if key in self.seen_enums:
            return
        self.seen_enums.add(key)
        v1s = {v.number: v.name for v in e1.values} if e1 else {}
        v2s = {v.number: v.name for v in e2.values} if e2 else {}
        for number in sorted(v1s.keys() | v2s.keys()):
            a, b = v1s.get(number), v2s.get(number)
            kind = ("identical" if a == b else "renamed") if a and b else ("only_v1" if a else "only_v2")
            self.enum_rows.append(EnumRow(key[0], key[1], number, a, b, kind))


def _method_pairs() -> Iterator[tuple[Descriptor | None, Descriptor | None]]:
    s1 = v1_service.DESCRIPTOR.services_by_name
    s2 = v2_service.DESCRIPTOR.services_by_name
    for n1, n2 in SERVICE_PAIRS:
        svc1 = s1[n1.rsplit(".", 1)[1]]
        svc2 = s2[n2.rsplit(".", 1)[1]] if n2 else None
        for m in svc1.methods:
            other = svc2.methods_by_name.get(METHOD_RENAMES.get(m.name, m.name)) if svc2 else None
            yield m.input_type, other.input_type if other else None
            yield m.output_type, other.output_type if other else None
    # Pairs the sync emulation relies on (DESIGN.md "Across generations").
    yield v1.CreateRequestHeader.DESCRIPTOR, v2.CreateRequestHeader.DESCRIPTOR
    yield v1.ExecuteTaskSyncResponseHeader.DESCRIPTOR, v2.GetTaskResponse.DESCRIPTOR
    yield v1_core_literals.LiteralMap.DESCRIPTOR, v2_task_common.Inputs.DESCRIPTOR
    yield v1_core_literals.LiteralMap.DESCRIPTOR, v2_task_common.Outputs.DESCRIPTOR


@cache
def _walk() -> _Walker:
    w = _Walker()
    for d1, d2 in _method_pairs():
        w.pair(d1, d2)
    return w


def table() -> list[Row]:
    """Every field number of every message pair reachable from the services."""
    return list(_walk().rows)


def enum_table() -> list[EnumRow]:
    """Every value number of every enum pair reachable from the services."""
    return list(_walk().enum_rows)


def reachable_messages() -> tuple[set[str], set[str]]:
    """Full names of the v1 and v2 messages the walk visited."""
    w = _walk()
    return set(w.v1_messages), set(w.v2_messages)


def collisions() -> list[Row]:
    return [r for r in _walk().rows if r.kind == "collision"]


def check() -> None:
    """Raise ``WireCompatibilityError`` when any field number collides."""
    bad = collisions()
    if bad:
        raise WireCompatibilityError(
            [f"{r.v1_message}#{r.number} ({r.v1_field}) vs {r.v2_message}#{r.number} ({r.v2_field})" for r in bad]
        )


def format_table(kinds: tuple[str, ...] = ("renamed", "only_v1", "only_v2", "collision")) -> str:
    """The table as text: one line per row of the given kinds, then counts of every kind."""
    rows = _walk().rows
    lines = [f"{'kind':<10} {'v1 field':<62} {'v2 field':<62} #"]
    for r in rows:
        if r.kind in kinds:
            left = f"{r.v1_message}.{r.v1_field}" if r.v1_field else "-"
            right = f"{r.v2_message}.{r.v2_field}" if r.v2_field else "-"
            lines.append(f"{r.kind:<10} {left:<62} {right:<62} {r.number}")
    for e in _walk().enum_rows:
        if e.kind != "identical":
            left = f"{e.v1_enum}.{e.v1_name}" if e.v1_name else "-"
            right = f"{e.v2_enum}.{e.v2_name}" if e.v2_name else "-"
            lines.append(f"{'enum ' + e.kind:<10} {left:<62} {right:<62} {e.number}")
    counts = {k: sum(1 for r in rows if r.kind == k) for k in KINDS}
    lines.append("counts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return "\n".join(lines)


# ---- names that must stay unique going to v1 (a v2 list that is a v1 map) ------------------------
@cache
def _list_maps() -> tuple[dict[str, tuple[tuple[str, str], ...]], frozenset[str]]:
    """Per v2 message: its list fields that are v1 maps (field, key name); and the v2 messages from
    which such a field can be reached (the only ones a uniqueness check must descend into)."""
    w = _walk()
    fields_by_msg: dict[str, list[tuple[str, str]]] = {}
    edges: dict[str, set[str]] = {}
    for v1_name, v2_name in w.seen:
        if not v1_name or not v2_name:
            continue
        d1 = _descriptor(v1_name)
        d2 = _descriptor(v2_name)
        for f2 in d2.fields:
            f1 = d1.fields_by_number.get(f2.number)
            if f2.message_type is None:
                continue
            edges.setdefault(v2_name, set()).add(f2.message_type.full_name)
            if f1 is not None and f1.message_type is not None and f1.message_type.GetOptions().map_entry \
                    and not f2.message_type.GetOptions().map_entry:
                key = f2.message_type.fields_by_number[1].name
                fields_by_msg.setdefault(v2_name, []).append((f2.name, key))
    relevant = set(fields_by_msg)
    changed = True
    while changed:
        changed = False
        for src, dsts in edges.items():
            if src not in relevant and dsts & relevant:
                relevant.add(src)
                changed = True
    return {k: tuple(v) for k, v in fields_by_msg.items()}, frozenset(relevant)


_PACKAGES = (("flyteidl.admin.", "flyteidl2.connector."), ("flyteidl.core.", "flyteidl2.core."))


def _counterpart(d: Any, kind: str) -> Any:
    """The same-named type of the other generation, for a field that exists on one side only
    (so e.g. v1 ``ExecuteTaskSyncRequest.header`` is still compared with v2 ``CreateRequestHeader``)."""
    from google.protobuf import descriptor_pool

    pool = descriptor_pool.Default()
    find = pool.FindMessageTypeByName if kind == "message" else pool.FindEnumTypeByName
    for a, b in _PACKAGES:
        for src, dst in ((a, b), (b, a)):
            if d.full_name.startswith(src):
                try:
                    return find(dst + d.full_name[len(src):])
                except KeyError:
                    return None
    return None


def _descriptor(full_name: str) -> Descriptor:
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindMessageTypeByName(full_name)


def check_unique_names(m2: Message) -> None:
    """Raise ``DuplicateNameError`` if a v2 list that is a v1 map repeats a name, anywhere in ``m2``."""
    fields, relevant = _list_maps()
    _check(m2, fields, relevant)


def _check(m: Message, fields: dict[str, tuple[tuple[str, str], ...]], relevant: frozenset[str]) -> None:
    name = m.DESCRIPTOR.full_name
    for field, key in fields.get(name, ()):
        seen: set[str] = set()
        for entry in getattr(m, field):
            value = getattr(entry, key)
            if value in seen:
                raise DuplicateNameError(value, f"{name}.{field}")
            seen.add(value)
    for fd, value in m.ListFields():
        if fd.message_type is None or fd.message_type.full_name not in relevant:
            continue
        if is_repeated(fd):
            if not fd.message_type.GetOptions().map_entry:
                for item in value:
                    _check(item, fields, relevant)
        else:
            _check(value, fields, relevant)


check()
