"""The translation machinery shared by every message family: re-parse plus fix-ups.

The two generations share a wire format (``translators.compat`` proves it from the installed
descriptors), so translating a message is serialising it and parsing the bytes as the other
generation's class. Fields without a home on the other side survive as protobuf unknown fields.

What is not wire-level is a *fix-up*: a field of the target that is derived from the source
(``task_category`` from the deprecated ``task_type``, ``state`` from ``phase``...). A derived field
would break the round trip, so a translation of a message type that has fix-ups appends one varint
field with a reserved number, the *marker*, whose bits name what was derived. Translating a marked message back
clears exactly those fields and derives nothing, so ``to_v1(to_v2(m)) == m`` for every ``m``.
Servers, which never translate back, pass ``mark=False`` and send clean messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError, Message

from translators.errors import WireDecodeError

#: Highest legal field number: no flyteidl message will ever declare it.
MARKER_FIELD = (1 << 29) - 1
_MARKER_TAG = bytes.fromhex("f8ffffff0f")  # varint(MARKER_FIELD << 3 | 0)
#: Always set in a marker: "translated from the other generation, derive nothing going back"
#: (without it, a v1 resource with only ``phase`` would gain a derived ``state`` on the way back).
TRANSLATED = 0x40

V1 = TypeVar("V1", bound=Message)
V2 = TypeVar("V2", bound=Message)


def encode_varint(n: int) -> bytes:
    """Protobuf base-128 varint encoding of a non-negative integer."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _marker_bytes(bits: int) -> bytes:
    return _MARKER_TAG + bytes((bits,))


def split_marker(data: bytes) -> tuple[bytes, int]:
    """Return ``data`` without a trailing marker, and the marker's bits (0 when absent).

    Unknown fields are serialised after known ones, so the marker, appended last, ends the bytes.
    """
    if len(data) >= 6 and data[-1] < 0x80 and data[-6:-1] == _MARKER_TAG:
        return data[:-6], data[-1]
    return data, 0


def parse(cls: type[V2], data: bytes) -> V2:
    """Parse ``data`` as ``cls``, turning protobuf's error into a bounded ``WireDecodeError``."""
    try:
        return cls.FromString(data)
    except DecodeError as err:
        raise WireDecodeError(cls.DESCRIPTOR.full_name, str(err) or "malformed protobuf") from None
    except (TypeError, ValueError) as err:  # e.g. memoryview of the wrong kind
        raise WireDecodeError(cls.DESCRIPTOR.full_name, str(err)) from None


class Fixup:
    """One semantic fix-up, owning one marker bit.

    ``derive_v2``/``derive_v1`` fill fields of a freshly re-parsed target and return True when they
    derived anything; ``undo_v2``/``undo_v1`` clear what a previous derivation put into a source.
    """

    bit: int = 0

    def derive_v2(self, src: Message | None, out: Message) -> bool:
        """``src`` is the v1 source, or None when ``out`` was parsed straight from v1 bytes
        (then v1-only fields are read from ``out``'s unknown fields)."""
        return False

    def derive_v1(self, src: Message, out: Message, opts: dict[str, Any]) -> bool:
        return False

    def undo_v2(self, m2: Message) -> None:
        """Clear the fields ``derive_v2`` set in a v2 message."""

    def undo_v1(self, m1: Message) -> None:
        """Clear the fields ``derive_v1`` set in a v1 message."""


def at_path(msg: Message, path: Sequence[str]) -> list[Message]:
    """The sub-messages of ``msg`` at ``path`` (a repeated field fans out); only those that are set."""
    found = [msg]
    for name in path:
        nxt: list[Message] = []
        for m in found:
            value = getattr(m, name)
            if hasattr(value, "add"):  # repeated composite
                nxt.extend(value)
            elif m.HasField(name):
                nxt.append(value)
        found = nxt
    return found


class Pair(Generic[V1, V2]):
    """Translation of one v1 message type to and from its v2 counterpart."""

    def __init__(
        self,
        v1_cls: type[V1],
        v2_cls: type[V2],
        *,
        fixups: Sequence[Fixup] = (),
        check_v1: Callable[[Message], None] | None = None,
        order_v2: Callable[[Message], None] | None = None,
    ) -> None:
        self.v1_cls = v1_cls
        self.v2_cls = v2_cls
        self.fixups = tuple(fixups)
        self.check_v1 = check_v1  # raises when a v2 message cannot become v1 (duplicate names)
        self.order_v2 = order_v2  # deterministic order of lists that were v1 maps

    # ---- v1 -> v2 -------------------------------------------------------------------------
    def to_v2(self, m1: V1, *, mark: bool = True, ordered: bool = True) -> V2:
        """Translate a v1 message into its v2 counterpart (the input is not modified)."""
        return self._to_v2(m1, m1.SerializeToString(), mark=mark, ordered=ordered)

    def to_v2_from_wire(self, data: bytes, *, mark: bool = True, ordered: bool = True) -> V2:
        """Parse v1 bytes straight into the v2 class, then apply the fix-ups."""
        data, bits = split_marker(bytes(data))
        if bits or self.fixups:
            # Fix-ups read the source as v1; parse it once (small messages only carry fix-ups).
            return self._to_v2(parse(self.v1_cls, data) if bits else None, data, mark=mark,
                               ordered=ordered, bits=bits)
        out = parse(self.v2_cls, data)
        if ordered and self.order_v2 is not None:
            self.order_v2(out)
        return out

    def _to_v2(self, m1: V1 | None, data: bytes, *, mark: bool, ordered: bool, bits: int | None = None) -> V2:
        if bits is None:
            data, bits = split_marker(data)
        if bits:
            # The source came from v2: remove what that translation derived, derive nothing.
            assert m1 is not None
            src = self.v1_cls()
            src.CopyFrom(m1)
            for f in self.fixups:
                if bits & f.bit:
                    f.undo_v1(src)
            return parse(self.v2_cls, split_marker(src.SerializeToString())[0])
        out = parse(self.v2_cls, data)
        derived = 0
        for f in self.fixups:
            if f.derive_v2(m1, out):
                derived |= f.bit
        if ordered and self.order_v2 is not None:
            self.order_v2(out)
        if mark and self.fixups:
            out.MergeFromString(_marker_bytes(TRANSLATED | derived))
        return out

    # ---- v2 -> v1 -------------------------------------------------------------------------
    def to_v1(self, m2: V2, *, mark: bool = True, **opts: Any) -> V1:
        """Translate a v2 message into its v1 counterpart (the input is not modified).

        Raises:
            DuplicateNameError: a v2 list that is a v1 map repeats a name.
        """
        if self.check_v1 is not None:
            self.check_v1(m2)
        data, bits = split_marker(m2.SerializeToString())
        if bits:
            src = self.v2_cls()
            src.CopyFrom(m2)
            for f in self.fixups:
                if bits & f.bit:
                    f.undo_v2(src)
            return parse(self.v1_cls, split_marker(src.SerializeToString())[0])
        out = parse(self.v1_cls, data)
        derived = 0
        for f in self.fixups:
            if f.derive_v1(m2, out, opts):
                derived |= f.bit
        if mark and self.fixups:
            out.MergeFromString(_marker_bytes(TRANSLATED | derived))
        return out

    def to_v1_from_wire(self, data: bytes, *, mark: bool = True, **opts: Any) -> V1:
        """Parse v2 bytes and translate them to v1 (checks and fix-ups need the v2 view)."""
        return self.to_v1(parse(self.v2_cls, bytes(data)), mark=mark, **opts)
