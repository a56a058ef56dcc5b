"""Native JSON values in, native values out, by the task's interface.

JSON has no datetime or duration: an ISO-8601 string for a declared DATETIME and a number of
seconds for a DURATION are converted first (in lists and maps too); the rest is
``translators.native_to_inputs``'s work. Outputs are decoded by ``translators.outputs_to_native`` and
shown as JSON, whatever their type.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from translators import native_to_inputs, outputs_to_native, variable_types
from translators._gen import v1_core_literals, v2_types
from translators.errors import TranslationError

_SIMPLE = v2_types.SimpleType


class InputsError(ValueError):
    """Inputs that are not a JSON object, or do not fit the interface (one line)."""


def read_inputs(text: str | None) -> dict[str, Any]:
    """``--inputs``: a JSON object, or ``@file.json``.

    Raises:
        InputsError: Not readable, not JSON, or not an object.
    """
    if not text:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise InputsError(f"cannot read inputs file {text[1:]}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InputsError(f"inputs are not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputsError("inputs must be a JSON object of input name -> value")
    return value


def _from_json(value: Any, lt: Any) -> Any:
    kind = lt.WhichOneof("type")
    if kind == "simple":
        if lt.simple == _SIMPLE.DATETIME and isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise InputsError(f"{value!r} is not an ISO-8601 datetime") from None
        if lt.simple == _SIMPLE.DURATION and isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.timedelta(seconds=value)
    elif kind == "collection_type" and isinstance(value, list):
        return [_from_json(v, lt.collection_type) for v in value]
    elif kind == "map_value_type" and isinstance(value, dict):
        return {k: _from_json(v, lt.map_value_type) for k, v in value.items()}
    return value


def to_inputs(values: Mapping[str, Any], template: Any) -> Any:
    """v2 ``Inputs`` for native JSON ``values``, typed by ``template.interface.inputs``.

    Raises:
        InputsError: An input the interface does not declare, or a value that does not fit its type.
    """
    types = variable_types(template.interface.inputs)
    unknown = sorted(set(values) - set(types))
    if unknown:
        declared = ", ".join(sorted(types)) or "none"
        raise InputsError(f"unknown input{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
                          f"the task declares {declared}"[:300])
    try:
        converted = {k: _from_json(v, types[k]) for k, v in values.items()}  # every key is declared (above)
        return native_to_inputs(converted, template.interface.inputs)
    except InputsError:
        raise
    except (TranslationError, ValueError) as exc:  # LiteralConversionError and friends
        raise InputsError(str(exc).splitlines()[0][:300]) from None


def v1_literal_map(inputs: Any) -> Any:
    """The v1 ``LiteralMap`` of v2 ``Inputs`` (wire-identical: a re-parse)."""
    return v1_core_literals.LiteralMap.FromString(inputs.SerializeToString())


def to_native(outputs: Any, template: Any) -> dict[str, Any]:
    """Native values of outputs of either generation, typed by ``template.interface.outputs``."""
    return outputs_to_native(outputs, template.interface.outputs)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return f"{value.total_seconds()}s"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return repr(value)


def show(value: Any, limit: int = 60) -> str:
    """A value as compact JSON, clipped to ``limit`` characters."""
    text = json.dumps(value, default=_jsonable, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["InputsError", "read_inputs", "show", "to_inputs", "to_native", "v1_literal_map"]
