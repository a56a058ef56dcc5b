"""List the fields a message carries without a home in its own generation (unknown fields)."""

from __future__ import annotations

from google.protobuf import unknown_fields
from google.protobuf.message import Message

from translators._protobuf_compat import is_repeated
from translators._pair import MARKER_FIELD
from translators.compat import table

_NAMES: dict[tuple[str, int], str] | None = None


def _other_names() -> dict[tuple[str, int], str]:
    """(message full name, field number) -> the other generation's field name, for one-sided rows."""
    global _NAMES
    if _NAMES is None:
        names: dict[tuple[str, int], str] = {}
        for r in table():
            if r.kind == "only_v1" and r.v2_message:
                names[(r.v2_message, r.number)] = str(r.v1_field)
            elif r.kind == "only_v2" and r.v1_message:
                names[(r.v1_message, r.number)] = str(r.v2_field)
        _NAMES = names
    return _NAMES


def unmapped_fields(msg: Message, prefix: str = "") -> list[str]:
    found: list[str] = []
    names = _other_names()
    full = msg.DESCRIPTOR.full_name
    for f in unknown_fields.UnknownFieldSet(msg):
        if f.field_number == MARKER_FIELD:
            continue
        label = names.get((full, f.field_number), f"#{f.field_number}")
        path = f"{prefix}{label}"
        if path not in found:
            found.append(path)
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if is_repeated(fd):
            if fd.message_type.GetOptions().map_entry:
                items = [(k, v) for k, v in value.items() if isinstance(v, Message)]
                for k, v in items:
                    found.extend(unmapped_fields(v, f"{prefix}{fd.name}[{k}]."))
            else:
                for i, v in enumerate(value):
                    found.extend(unmapped_fields(v, f"{prefix}{fd.name}[{i}]."))
        else:
            found.extend(unmapped_fields(value, f"{prefix}{fd.name}."))
    return found


