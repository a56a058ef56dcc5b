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

Cost: a translation is meant to cost about one protobuf parse (``benchmarks/micro.py`` measures it).
So bytes are parsed once, into the target class; fix-ups, checks and ordering look at the fewest
fields they can (a fix-up with nothing to fix reads one field); the marker is appended to the bytes
before parsing rather than merged in after (its bits are predicted from the previous translation,
and a wrong guess costs one more parse); and checks that need the source generation's view of the
bytes use a small *shadow* class (``translators._fixups``) rather than a second full parse.
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


#: ``_MARKERS[bits]``: the marker field with value ``bits`` (always < 0x80: one varint byte).
_MARKERS = tuple(_MARKER_TAG + bytes((bits,)) for bits in range(0x80))
#: The first byte of the marker's tag never occurs in UTF-8 text: ``_TAG0 in data`` (memchr) rules
#: almost every message out before the slower search for a marker that does not end the bytes.
_TAG0 = _MARKER_TAG[0]


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

    ``derive_v2``/``derive_v1`` fill fields of a freshly parsed target and return True when they
    derived anything; ``undo_v2``/``undo_v1`` clear what a previous derivation put into a source.
    A fix-up with nothing to do should return after reading as few fields as it can: it runs on
    every translation of its message type.
    """

    bit: int = 0
    #: None, or a C-level callable (an ``attrgetter``/``methodcaller``) that is truthy on a freshly
    #: parsed v2 message when ``derive_v2`` has nothing to do: it spares a Python call per message.
    done_v2: Callable[[Message], Any] | None = None

    def bind(self, v1_cls: type[Message], v2_cls: type[Message]) -> None:
        """Called once by the pair this fix-up belongs to (e.g. to set ``done_v2``)."""

    def derive_v2(self, src: Message | None, out: Message) -> bool:
        """``src`` is the v1 source, or None when ``out`` was parsed straight from v1 bytes
        (then v1-only fields are read from ``out``'s unknown fields)."""
        return False

    def derive_v1(self, src: Message | None, out: Message, opts: dict[str, Any]) -> bool:
        """``src`` is the v2 source, or None when ``out`` was parsed straight from v2 bytes: the
        fix-ups read ``out`` only."""
        return False

    def undo_v2(self, m: Message) -> None:
        """Clear the fields ``derive_v2`` set. ``m`` is the v1 view of the marked v2 message:
        every field ``derive_v2`` sets (``task_category``, ``phase``) has the same name in v1."""

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
    """Translation of one v1 message type to and from its v2 counterpart.

    Args:
        fixups: the semantic fix-ups of this message type.
        check_v1: raises ``DuplicateNameError`` when a v2 message cannot become v1 (the exact,
            slow check: it runs only when ``map_lists`` says a v1 map lost entries, or always when
            there is no ``map_lists``).
        order_v2: ``order_v2(out, data)`` puts lists that were v1 maps in a deterministic order
            (``data``: the v1 bytes ``out`` was parsed from).
        map_lists: the cheap duplicate test (``translators._fixups.MapLists``): the v1 maps of the
            result have as many entries as the v2 lists they came from.
    """

    def __init__(
        self,
        v1_cls: type[V1],
        v2_cls: type[V2],
        *,
        fixups: Sequence[Fixup] = (),
        check_v1: Callable[[Message], None] | None = None,
        order_v2: Callable[[Message, bytes], None] | None = None,
        map_lists: Any = None,
    ) -> None:
        self.v1_cls = v1_cls
        self.v2_cls = v2_cls
        self.fixups = tuple(fixups)
        self.check_v1 = check_v1
        self.order_v2 = order_v2
        self.map_lists = map_lists if check_v1 is not None else None
        for f in self.fixups:
            f.bind(v1_cls, v2_cls)
        self._parse1 = v1_cls.FromString
        self._parse2 = v2_cls.FromString
        # The marker bits of the last translation each way: the next one appends them to the bytes
        # before parsing (a wrong guess costs a second parse, and updates the guess).
        self._guess_v2 = self._guess_v1 = TRANSLATED

    # ---- v1 -> v2 -------------------------------------------------------------------------
    # (Written for speed: these run on every request a server translates.)
    def to_v2(self, m1: V1, *, mark: bool = True, ordered: bool = True) -> V2:
        """Translate a v1 message into its v2 counterpart (the input is not modified)."""
        data, bits = split_marker(m1.SerializeToString())
        if bits:
            return self._undo_to_v2(self._parse1(data), bits)
        return self._to_v2(data, m1, mark, ordered)

    def to_v2_from_wire(self, data: bytes, *, mark: bool = True, ordered: bool = True) -> V2:
        """Parse v1 bytes straight into the v2 class, then apply the fix-ups."""
        data, bits = split_marker(data if type(data) is bytes else bytes(data))
        if bits:
            return self._undo_to_v2(parse(self.v1_cls, data), bits)
        if _TAG0 in data and _MARKER_TAG in data:
            # A marker that does not end the bytes (merged messages): the message path moves it last.
            return self.to_v2(parse(self.v1_cls, data), mark=mark, ordered=ordered)
        return self._to_v2(data, None, mark, ordered)

    def _to_v2(self, data: bytes, m1: V1 | None, mark: bool, ordered: bool) -> V2:
        fixups = self.fixups
        if mark and fixups:
            out = self._to_v2_marked(data, m1)
        else:
            out = parse(self.v2_cls, data)
            for f in fixups:
                done = f.done_v2
                if done is None or not done(out):
                    f.derive_v2(m1, out)
        if ordered and self.order_v2 is not None:
            self.order_v2(out, data)
        return out

    def _to_v2_marked(self, data: bytes, m1: V1 | None) -> V2:
        guess = self._guess_v2
        out = parse(self.v2_cls, data + _MARKERS[guess])
        bits = TRANSLATED
        for f in self.fixups:
            done = f.done_v2
            if (done is None or not done(out)) and f.derive_v2(m1, out):
                bits |= f.bit
        if bits != guess:
            self._guess_v2 = bits
            out = self._parse2(data + _MARKERS[bits])
            for f in self.fixups:
                f.derive_v2(m1, out)
        return out

    def _undo_to_v2(self, src: V1, bits: int) -> V2:
        """The source came from v2 (``src``, owned, without the marker): remove what that
        translation derived, derive nothing."""
        for f in self.fixups:
            if bits & f.bit:
                f.undo_v1(src)
        return parse(self.v2_cls, split_marker(src.SerializeToString())[0])

    # ---- v2 -> v1 -------------------------------------------------------------------------
    def to_v1(self, m2: V2, *, mark: bool = True, **opts: Any) -> V1:
        """Translate a v2 message into its v1 counterpart (the input is not modified).

        Raises:
            DuplicateNameError: a v2 list that is a v1 map repeats a name.
        """
        data, bits = split_marker(m2.SerializeToString())
        return self._to_v1(data, bits, m2, mark, opts)

    def to_v1_from_wire(self, data: bytes, *, mark: bool = True, **opts: Any) -> V1:
        """Parse v2 bytes straight into the v1 class, then check and apply the fix-ups.

        Raises:
            WireDecodeError: the bytes do not parse.
            DuplicateNameError: a v2 list that is a v1 map repeats a name.
        """
        data, bits = split_marker(data if type(data) is bytes else bytes(data))
        if not bits and _TAG0 in data and _MARKER_TAG in data:
            return self.to_v1(parse(self.v2_cls, data), mark=mark, **opts)
        return self._to_v1(data, bits, None, mark, opts)

    def _to_v1(self, data: bytes, bits: int, m2: V2 | None, mark: bool, opts: dict[str, Any]) -> V1:
        """``data``: v2 bytes without a marker, ``bits``: the marker they had; ``m2``: the message
        they were serialised from, None for bytes off the wire."""
        fixups = self.fixups
        guess = self._guess_v1 if mark and fixups and not bits else 0
        try:
            out = self._parse1(data + _MARKERS[guess] if guess else data)
        except (DecodeError, TypeError, ValueError):
            # Fail as a v2 parse, the duplicate check and a v1 parse, in that order, would.
            m2 = m2 if m2 is not None else parse(self.v2_cls, data)
            if self.check_v1 is not None:
                self.check_v1(m2)
            parse(self.v1_cls, data)
            raise
        if self.check_v1 is not None:
            lists = self.map_lists
            if lists is None or not (lists.same_counts(m2, out) if m2 is not None
                                     else lists.same_counts_wire(data, out)):
                self.check_v1(m2 if m2 is not None else parse(self.v2_cls, data))  # raises if a name repeats
        if not fixups:
            return out
        if bits:  # the source came from v1: remove what that translation derived, derive nothing
            for f in fixups:
                if bits & f.bit:
                    f.undo_v2(out)
            return out
        derived = TRANSLATED
        for f in fixups:
            if f.derive_v1(m2, out, opts):
                derived |= f.bit
        if guess and derived != guess:
            self._guess_v1 = derived
            out = self._parse1(data + _MARKERS[derived])
            for f in fixups:
                f.derive_v1(m2, out, opts)
        return out
