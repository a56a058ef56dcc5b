"""The semantic fix-ups of DESIGN.md, each owning one marker bit (see ``translators._pair``)."""

from __future__ import annotations

import itertools
import keyword
from collections.abc import Callable, Sequence
from operator import attrgetter, methodcaller
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, unknown_fields
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from translators._protobuf_compat import is_repeated
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
    done_v2 = methodcaller("HasField", "task_category")  # propellers since 1.10 send the category

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
        # Without a repeated field on the path (see ``bind``), one attribute chain reaches the
        # resource; an unset one reads as phase 0 and state 0, which derives nothing either way.
        self._get: Callable[[Message], Message] | None = None

    def bind(self, v1_cls: type[Message], v2_cls: type[Message]) -> None:
        for d in (v1_cls.DESCRIPTOR, v2_cls.DESCRIPTOR):
            for name in self.path:
                field = d.fields_by_name[name]
                if is_repeated(field):
                    return
                d = field.message_type
        self._get = attrgetter(".".join(self.path)) if self.path else _itself
        self.done_v2 = attrgetter(".".join((*self.path, "phase")))  # phase set: nothing to derive

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

    def derive_v1(self, src: Message | None, out: Message, opts: dict[str, Any]) -> bool:
        permanent = opts.get("retryable_as_permanent", False) if opts else False
        if self._get is not None:
            res = self._get(out)
            phase = res.phase
            if permanent and phase == Phase.RETRYABLE_FAILED:
                res.phase = phase = Phase.FAILED
            if res.state:
                return False
            state = _STATE_OF_PHASE_GET(phase, 0)
            if state:
                res.state = state
                return True
            return False
        derived = False
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

    def undo_v2(self, m: Message) -> None:
        for res in at_path(m, self.path):
            res.phase = Phase.UNDEFINED

    def undo_v1(self, m1: Message) -> None:
        for res in at_path(m1, self.path):
            res.state = 0


def _itself(m: Message) -> Message:
    return m


_STATE_OF_PHASE_GET = STATE_OF_PHASE.get


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
    order, then the rest by name. Skips the work when already in order (the common case); a list
    whose names are exactly ``order``, in that order, is in order (even if ``order`` repeats one)."""
    order_entries(getattr(holder, field), order)


def order_entries(entries: Any, order: Sequence[str] = ()) -> None:
    """:func:`order_named` on the list itself."""
    if len(entries) < 2:
        return
    names = [e.name for e in entries]
    if not order:
        if names != sorted(names):
            entries.sort(key=_NAME)
        return
    if names == list(order):
        return
    rank = {name: i for i, name in enumerate(order)}
    big = len(rank)
    keys = [(rank.get(n, big), n) for n in names]
    if all(a <= b for a, b in zip(keys, keys[1:])):
        return
    entries.sort(key=lambda e: (rank.get(e.name, big), e.name))


_NAME = attrgetter("name")


# ---- shadow classes ---------------------------------------------------------------------------
# A *shadow* of a message type declares only the few fields one check needs, with the same field
# numbers; parsing the same bytes into it skips everything else in C (kept as unknown fields, a
# copy), which is far cheaper than a second full parse or than walking the full message in Python.

_SHADOW_POOL = descriptor_pool.DescriptorPool()
_SHADOW_FILES = itertools.count()
_F = descriptor_pb2.FieldDescriptorProto


class _Unsupported(Exception):
    """The message tree has a shape the shadow checks do not cover (the exact checks still run)."""


class _ShadowFile:
    def __init__(self) -> None:
        n = next(_SHADOW_FILES)
        self.package = f"translators_shadow{n}"
        self.proto = descriptor_pb2.FileDescriptorProto(name=f"translators_shadow{n}.proto",
                                                        package=self.package, syntax="proto3")
        self.messages: dict[str, descriptor_pb2.DescriptorProto] = {}

    def field(self, message: str, name: str, number: int, kind: int, type_name: str = "",
              repeated: bool = False) -> None:
        msg = self.messages.get(message)
        if msg is None:
            msg = self.messages[message] = self.proto.message_type.add(name=message)
        for f in msg.field:
            if f.number == number:
                if (f.name, f.type, f.type_name) != (name, kind, f".{self.package}.{type_name}" if type_name else ""):
                    raise _Unsupported(f"{message}: field {number} needed twice, differently")
                return
        f = msg.field.add(name=name, number=number, type=kind,
                          label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
        if type_name:
            f.type_name = f".{self.package}.{type_name}"

    def build(self, root: str) -> type[Message]:
        _SHADOW_POOL.Add(self.proto)
        return message_factory.GetMessageClass(_SHADOW_POOL.FindMessageTypeByName(f"{self.package}.{root}"))


def _shadow_name(d: Descriptor) -> str:
    return d.full_name.replace(".", "_")


def _add_path(shadow: _ShadowFile, path: Sequence[FieldDescriptor]) -> None:
    """Declare the message fields of ``path`` (all but its last field) in ``shadow``."""
    for f in path:
        if f.message_type is None or is_repeated(f):
            raise _Unsupported(f"{f.full_name} is not a singular message field")
        shadow.field(_shadow_name(f.containing_type), f.name, f.number, _F.TYPE_MESSAGE, _shadow_name(f.message_type))


def _attr_path(path: Sequence[FieldDescriptor]) -> str:
    return ".".join(f.name for f in path)


class MapLists:
    """The cheap, exact duplicate-name test of one message pair.

    A v2 list of ``{name, value}`` that is a v1 map loses an entry in v1 exactly when a name
    repeats, so it is enough to compare each list's length in v2 with its map's length in v1; the
    slow check (``compat.check_unique_names``, which names the duplicate) runs only when they
    differ. From bytes, without a v2 message, a shadow parse counts the v2 list entries.

    Built from the descriptors by :meth:`of`, which returns None for a tree it does not cover (a
    list below a repeated field, a recursive type): then the pair runs the slow check always.
    """

    def __init__(self, paths2: Sequence[str], paths1: Sequence[str], shadow: type[Message]) -> None:
        self._shadow = shadow.FromString
        # One C-level attribute chain per list, each side.
        self._pairs = tuple(zip(map(attrgetter, paths2), map(attrgetter, paths1)))
        # Each attribute step costs a upb wrapper (~0.1 us): lists under one message share the steps to it.
        self.same_counts = _counts_compared(paths2, paths1) or self._same_counts  # type: ignore[method-assign]

    @classmethod
    def of(cls, v1_cls: type[Message], v2_cls: type[Message]) -> MapLists | None:
        from translators.compat import _list_maps

        fields, relevant = _list_maps()
        try:
            paths = _map_list_paths(v2_cls.DESCRIPTOR, v1_cls.DESCRIPTOR, fields, relevant, frozenset())
            if not paths:
                raise _Unsupported("no lists")
            shadow = _ShadowFile()
            for p2, _ in paths:
                _add_path(shadow, p2[:-1])
                last = p2[-1]
                shadow.field(_shadow_name(last.containing_type), last.name, last.number, _F.TYPE_BYTES, repeated=True)
            return cls([_attr_path(p2) for p2, _ in paths], [_attr_path(p1) for _, p1 in paths],
                       shadow.build(_shadow_name(v2_cls.DESCRIPTOR)))
        except _Unsupported:
            return None

    def same_counts(self, m2: Message, m1: Message) -> bool:
        """True when every v1 map of ``m1`` kept every entry of its v2 list in ``m2``."""
        return self._same_counts(m2, m1)  # replaced per instance by the compiled comparison

    def _same_counts(self, m2: Message, m1: Message) -> bool:
        for get2, get1 in self._pairs:
            if len(get2(m2)) != len(get1(m1)):
                return False
        return True

    def same_counts_wire(self, data: bytes, m1: Message) -> bool:
        """:meth:`same_counts` for ``m1`` parsed from the v2 bytes ``data``."""
        try:
            s = self._shadow(data)
        except Exception:  # noqa: BLE001 (not ours to report: the slow check parses and says why)
            return False
        return self.same_counts(s, m1)  # the shadow has the v2 field names


def _counts_compared(paths2: Sequence[str], paths1: Sequence[str]) -> Callable[[Message, Message], bool] | None:
    """``same_counts`` as one compiled expression: ``len(m2.<p2>) == len(m1.<p1>) and ...``, the steps to a
    message that holds several lists taken once per side. None when a name is not an identifier."""
    split2, split1 = [p.split(".") for p in paths2], [p.split(".") for p in paths1]
    names = {n for p in (*split2, *split1) for n in p}
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        return None
    lines, tests, held = [], [], {}
    for p2, p1 in zip(split2, split1):
        key = (tuple(p2[:-2]), tuple(p1[:-2]))
        shared = bool(key[0]) and sum(1 for q2, q1 in zip(split2, split1) if (tuple(q2[:-2]), tuple(q1[:-2])) == key) > 1
        if shared and key not in held:
            held[key] = i = len(held)
            lines += [f"    a{i} = m2.{'.'.join(key[0])}", f"    b{i} = m1.{'.'.join(key[1])}"]
        if shared:
            i = held[key]
            tests.append(f"len(a{i}.{'.'.join(p2[-2:])}) == len(b{i}.{'.'.join(p1[-2:])})")
        else:
            tests.append(f"len(m2.{'.'.join(p2)}) == len(m1.{'.'.join(p1)})")
    source = "def same_counts(m2, m1):\n" + "\n".join([*lines, f"    return {' and '.join(tests) or 'True'}"]) + "\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<translators.MapLists>", "exec"), namespace)  # noqa: S102 (names checked above)
    return namespace["same_counts"]  # type: ignore[no-any-return]


def _map_list_paths(d2: Descriptor, d1: Descriptor, fields: dict[str, tuple[tuple[str, str], ...]],
                    relevant: frozenset[str], seen: frozenset[str]) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(v2 path, v1 path) of field descriptors to every v2 list that is a v1 map, below ``d2``."""
    if d2.full_name in seen:
        raise _Unsupported(f"{d2.full_name} is recursive")
    seen = seen | {d2.full_name}
    lists = {name for name, _ in fields.get(d2.full_name, ())}
    found: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
    for f2 in d2.fields:
        mt = f2.message_type
        if mt is None or mt.GetOptions().map_entry or (f2.name not in lists and mt.full_name not in relevant):
            continue
        f1 = d1.fields_by_number.get(f2.number)
        if f1 is None or f1.message_type is None:
            raise _Unsupported(f"{f2.full_name} has no v1 message field")
        if f2.name in lists:
            if not f1.message_type.GetOptions().map_entry:
                raise _Unsupported(f"{f1.full_name} is not a map")
            found.append(((f2,), (f1,)))
            continue
        if is_repeated(f2) or is_repeated(f1):
            raise _Unsupported(f"{f2.full_name} is repeated")
        for p2, p1 in _map_list_paths(mt, f1.message_type, fields, relevant, seen):
            found.append(((f2, *p2), (f1, *p1)))
    return found


class SameNames:
    """Whether two lists of ``{name, value}`` in the same bytes name the same entries in the same
    order (e.g. a request's inputs and its interface's declared inputs), without reading a name in
    Python: both lists parse into one shadow type that keeps only the names, and upb compares them.

    ``SameNames.of`` returns None when the two lists do not share their field and name numbers.
    """

    def __init__(self, shadow: type[Message], a: str, b: str) -> None:
        self._shadow = shadow.FromString
        self._a = attrgetter(a)
        self._b = attrgetter(b)

    @classmethod
    def of(cls, root: type[Message], a: Sequence[str], b: Sequence[str]) -> SameNames | None:
        try:
            pa, pb = _fields(root.DESCRIPTOR, a), _fields(root.DESCRIPTOR, b)
            la, lb = pa[-1], pb[-1]
            ka, kb = la.message_type.fields_by_number.get(1), lb.message_type.fields_by_number.get(1)
            if la.number != lb.number or not is_repeated(la) or not is_repeated(lb) or ka is None or kb is None \
                    or ka.type != FieldDescriptor.TYPE_STRING or kb.type != FieldDescriptor.TYPE_STRING:
                raise _Unsupported("the two lists differ in shape")
            shadow = _ShadowFile()
            shadow.field("Name", "name", 1, _F.TYPE_STRING)
            shadow.field("Names", "entries", la.number, _F.TYPE_MESSAGE, "Name", repeated=True)
            for path in (pa, pb):
                _add_path(shadow, path[:-2])
                box = path[-2]
                shadow.field(_shadow_name(box.containing_type), box.name, box.number, _F.TYPE_MESSAGE, "Names")
            return cls(shadow.build(_shadow_name(root.DESCRIPTOR)), _attr_path(pa[:-1]), _attr_path(pb[:-1]))
        except (_Unsupported, KeyError, IndexError):
            return None

    def __call__(self, data: bytes) -> bool:
        """True when both lists in ``data`` hold the same names in the same order (or both are empty)."""
        try:
            s = self._shadow(data)
        except Exception:  # noqa: BLE001 (the caller falls back to reading the names)
            return False
        s.DiscardUnknownFields()  # one call, recursive: the values, and any other field of the entries
        return self._a(s) == self._b(s)  # type: ignore[no-any-return]


def _fields(d: Descriptor, path: Sequence[str]) -> list[FieldDescriptor]:
    out = []
    for name in path:
        f = d.fields_by_name[name]
        out.append(f)
        d = f.message_type
    return out
