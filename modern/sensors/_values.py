"""Native sensor inputs <-> JSON, so they can ride in ``resource_meta``.

JSON values are stored as they are, which keeps the meta readable by flytekit's own
``SensorMetadata`` (its ``inputs`` is a plain JSON object). The few other native types the
translators produce (datetime, timedelta, and the URI-carrying ``Blob``/``StructuredDataset``) are
stored as small tagged objects; anything else is refused rather than pickled.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from modern.errors import InvalidRequestError

_TAG = "__bridge_value__"


def _uri_types() -> dict[str, type]:
    # Looked up lazily: the translators' value types are optional to this module.
    import translators

    found: dict[str, type] = {}
    for name in ("Blob", "StructuredDataset"):
        cls = getattr(translators, name, None)
        if isinstance(cls, type):
            found[name] = cls
    return found


def to_json(value: Any, where: str = "inputs") -> Any:
    """Encode a native value as JSON-compatible data.

    Args:
        value: A native input value.
        where: Path of the value, for the error message.

    Returns:
        JSON-compatible data that ``from_json`` turns back into ``value``.

    Raises:
        InvalidRequestError: The value has a type that cannot be stored.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(f"sensor input {where} has a non-string key")
            if key == _TAG:
                raise InvalidRequestError(f"sensor input {where} uses the reserved key {_TAG}")
            out[key] = to_json(item, f"{where}.{key}")
        return out
    if isinstance(value, datetime.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {_TAG: "timedelta", "v": value.total_seconds()}
    for tag, cls in _uri_types().items():
        if isinstance(value, cls) and dataclasses.is_dataclass(value):
            return {_TAG: tag, "v": to_json(dataclasses.asdict(value), where)}
    raise InvalidRequestError(
        f"sensor input {where} of type {type(value).__name__} cannot be stored in resource_meta"
    )


def from_json(data: Any) -> Any:
    """Decode what ``to_json`` produced (and plain JSON from flytekit's sensor metadata).

    Args:
        data: Decoded JSON.

    Returns:
        The native value.

    Raises:
        InvalidRequestError: A tagged object is malformed.
    """
    if isinstance(data, list):
        return [from_json(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(_TAG)
    if tag is None:
        return {k: from_json(v) for k, v in data.items()}
    try:
        if tag == "datetime":
            return datetime.datetime.fromisoformat(data["v"])
        if tag == "timedelta":
            return datetime.timedelta(seconds=float(data["v"]))
        cls = _uri_types().get(tag)
        if cls is not None:
            return cls(**from_json(data["v"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidRequestError(f"resource_meta holds a malformed {tag!s:.40} value") from None
    raise InvalidRequestError(f"resource_meta holds an unknown value tag {tag!s:.40}")


__all__ = ["from_json", "to_json"]
