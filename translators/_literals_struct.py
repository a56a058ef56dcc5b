"""Untyped containers: ``google.protobuf.Struct`` and msgpack ``Binary`` <-> plain Python values.

Two encodings carry "a dict without a declared schema" in Flyte:

* ``Scalar.generic`` (a protobuf ``Struct``): flytekit before 1.14 and Flyte consoles. JSON
  semantics, so every number is a double; we never turn a float back into an int on decode.
* ``Scalar.binary`` with ``tag="msgpack"``: flytekit >= 1.14 and flyte-sdk for ``dict`` and
  dataclasses (mashumaro's ``MessagePackEncoder``). We write the same bytes for the value kinds
  mashumaro handles by default (checked against mashumaro in the interop tests), without needing
  mashumaro or the connector's dataclass on the reading side: decoding gives dicts and lists.

No json_format here: a direct walk is several times faster and keeps error paths precise.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import msgpack
from google.protobuf import struct_pb2

from translators.errors import LiteralConversionError
from translators.values import Blob, StructuredDataset

MSGPACK_TAG = "msgpack"

_Struct = struct_pb2.Struct
_ListValue = struct_pb2.ListValue


# --- Struct -> Python -------------------------------------------------------------------------


def _value_to_py(v: struct_pb2.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        return v.number_value
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return struct_to_dict(v.struct_value)
    if kind == "list_value":
        return [_value_to_py(x) for x in v.list_value.values]
    # null_value, or a Value with no kind set (JSON null either way).
    return None


def struct_to_dict(s: struct_pb2.Struct) -> dict[str, Any]:
    """Convert a protobuf ``Struct`` to a ``dict`` (numbers come back as ``float``)."""
    return {k: _value_to_py(v) for k, v in s.fields.items()}


# --- Python -> Struct -------------------------------------------------------------------------


def _fill_value(target: struct_pb2.Value, value: Any, path: str) -> None:
    if value is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        # A Struct number is a double: refuse ints it would silently round.
        if abs(value) > 2**53:
            raise LiteralConversionError("integer too large for a Struct number (a double)", path)
        target.number_value = float(value)
    elif isinstance(value, float):
        target.number_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, Mapping):
        target.struct_value.SetInParent()  # so an empty dict stays a dict, not a null
        _fill_struct(target.struct_value, value, path)
    elif isinstance(value, (list, tuple)):
        lv = target.list_value
        lv.SetInParent()
        for i, item in enumerate(value):
            _fill_value(lv.values.add(), item, f"{path}[{i}]")
    else:
        raise LiteralConversionError(f"{type(value).__name__} cannot go into a Struct", path)


def _fill_struct(target: struct_pb2.Struct, value: Mapping[Any, Any], path: str) -> None:
    for k, v in value.items():
        if not isinstance(k, str):
            raise LiteralConversionError("Struct keys must be str", path)
        _fill_value(target.fields[k], v, f"{path}.{k}" if path else k)


def dict_to_struct(value: Mapping[str, Any], path: str = "") -> struct_pb2.Struct:
    """Convert a JSON-like mapping to a protobuf ``Struct``.

    Raises:
        LiteralConversionError: for non-str keys, non-JSON values, or ints beyond 2**53.
    """
    s = _Struct()
    _fill_struct(s, value, path)
    return s


# --- msgpack ------------------------------------------------------------------------------------


def msgpack_decode(data: bytes, path: str = "") -> Any:
    """Decode msgpack bytes as flytekit does (``strict_map_key=False``: int keys are allowed)."""
    try:
        return msgpack.unpackb(data, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types for corrupt input
        raise LiteralConversionError(f"invalid msgpack payload ({type(exc).__name__})", path) from None


def to_msgpack_tree(value: Any, path: str = "") -> Any:
    """Lower a value to what mashumaro's msgpack dialect would hand to ``msgpack.packb``.

    Dataclasses become dicts of their fields in declaration order; enums their value; datetimes,
    dates and times ISO strings; timedeltas seconds as float; UUID/Decimal/paths strings; tuples,
    sets and lists lists. Our :class:`Blob` and :class:`StructuredDataset` use the shapes of
    flytekit's ``FlyteFile._serialize`` (``{"path"}``) and ``StructuredDataset._serialize``
    (``{"uri", "file_format"}``) so a flytekit dataclass reads them back.
    """
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        if isinstance(value, enum.Enum):
            return to_msgpack_tree(value.value, path)
        return value
    if isinstance(value, Blob):
        return {"path": value.uri}
    if isinstance(value, StructuredDataset):
        return {"uri": value.uri, "file_format": value.format}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_msgpack_tree(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {k: to_msgpack_tree(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_msgpack_tree(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, enum.Enum):
        return to_msgpack_tree(value.value, path)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (uuid.UUID, Decimal, PurePath)):
        return str(value)
    if isinstance(value, bytearray):
        return bytes(value)
    raise LiteralConversionError(f"{type(value).__name__} has no msgpack form", path)


def msgpack_encode(value: Any, path: str = "") -> bytes:
    """Encode a dataclass, dict, list or primitive as flytekit/flyte-sdk msgpack bytes."""
    tree = to_msgpack_tree(value, path)
    try:
        return msgpack.packb(tree)
    except (TypeError, ValueError, OverflowError) as exc:
        raise LiteralConversionError(f"cannot encode as msgpack ({type(exc).__name__})", path) from None


def is_nan_safe_equal(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN, recursing into dicts and lists (for callers and tests)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(is_nan_safe_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(is_nan_safe_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)
