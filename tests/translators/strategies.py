"""Hypothesis strategies that build arbitrary protobuf messages from their descriptors.

Every field kind is covered: scalars, enums (including values neither generation names), nested
messages (depth-bounded, so recursive types such as Literal terminate), repeated fields, maps,
oneofs (at most one member set) and unknown fields (numbers unused by both generations).

One exception: the pure-Python protobuf runtime keeps no unknown fields on a map entry (upb keeps
them), so there the entries of a v2 list that travels as a v1 map (``NamedLiteral``, ``VariableEntry``)
get none of their own; what they contain still does.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import api_implementation
from google.protobuf.message import Message
from hypothesis import strategies as st

from translators import compat
from translators._protobuf_compat import is_repeated
from translators._pair import encode_varint as _varint

F = FieldDescriptor
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
_INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
#: Unknown fields use numbers no flyteidl message declares, so they cannot collide with the other side.
UNKNOWN_NUMBERS = st.integers(min_value=9000, max_value=9100)


@st.composite
def unknown_fields_bytes(draw: st.DrawFn) -> bytes:
    """A few unknown fields (varint or length-delimited) as raw wire bytes."""
    out = b""
    for _ in range(draw(st.integers(0, 2))):
        number = draw(UNKNOWN_NUMBERS)
        if draw(st.booleans()):
            out += _varint(number << 3) + _varint(draw(st.integers(0, 2**40)))
        else:
            payload = draw(st.binary(max_size=8))
            out += _varint(number << 3 | 2) + _varint(len(payload)) + payload
    return out


def _scalar(f: FieldDescriptor) -> st.SearchStrategy[Any]:
    if f.type in _INT_RANGES:
        lo, hi = _INT_RANGES[f.type]
        return st.integers(lo, hi)
    if f.type == F.TYPE_BOOL:
        return st.booleans()
    if f.type == F.TYPE_STRING:
        return TEXT
    if f.type == F.TYPE_BYTES:
        return st.binary(max_size=16)
    if f.type == F.TYPE_DOUBLE:
        return st.floats(allow_nan=False)
    if f.type == F.TYPE_FLOAT:
        return st.floats(allow_nan=False, width=32)
    if f.type == F.TYPE_ENUM:
        known = [v.number for v in f.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(0, 120))  # open enums keep unknown values
    raise AssertionError(f"unhandled field type {f.type} of {f.full_name}")


@st.composite
def messages(draw: st.DrawFn, cls: type[Message], depth: int = 3, unknown: bool = True) -> Message:
    """An arbitrary message of ``cls``."""
    msg = cls()
    _fill(draw, msg, msg.DESCRIPTOR, depth, unknown)
    return msg


_MAP_ENTRIES_DROP_UNKNOWN = api_implementation.Type() == "python"


def _entries_keep_unknown(d: Descriptor, f: FieldDescriptor) -> bool:
    if not _MAP_ENTRIES_DROP_UNKNOWN:
        return True
    return f.name not in {name for name, _key in compat._list_maps()[0].get(d.full_name, ())}


def _fill(draw: st.DrawFn, msg: Message, d: Descriptor, depth: int, unknown: bool, own_unknown: bool = True) -> None:
    oneof_choice = {o.name: draw(st.sampled_from([None, *[f.name for f in o.fields]])) for o in d.oneofs
                    if not (len(o.fields) == 1 and o.name.startswith("_"))}
    for f in d.fields:
        o = f.containing_oneof
        if o is not None and o.name in oneof_choice and oneof_choice[o.name] != f.name:
            continue
        if o is None and not draw(st.booleans()):
            continue
        if f.message_type is not None and depth <= 0:
            continue
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            key_f = f.message_type.fields_by_name["key"]
            val_f = f.message_type.fields_by_name["value"]
            container = getattr(msg, f.name)
            for key in draw(st.lists(_scalar(key_f), max_size=3, unique=True)):
                if val_f.message_type is not None:
                    _fill(draw, container[key], val_f.message_type, depth - 1, unknown)
                else:
                    container[key] = draw(_scalar(val_f))
        elif is_repeated(f):
            container = getattr(msg, f.name)
            n = draw(st.integers(0, 2))
            for _ in range(n):
                if f.message_type is not None:
                    _fill(draw, container.add(), f.message_type, depth - 1, unknown, _entries_keep_unknown(d, f))
                else:
                    container.append(draw(_scalar(f)))
        elif f.message_type is not None:
            sub = getattr(msg, f.name)
            sub.SetInParent()
            _fill(draw, sub, f.message_type, depth - 1, unknown)
        else:
            setattr(msg, f.name, draw(_scalar(f)))
    if unknown and own_unknown and draw(st.integers(0, 4)) == 0:
        msg.MergeFromString(draw(unknown_fields_bytes()))
