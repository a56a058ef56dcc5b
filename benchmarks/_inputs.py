"""The check every bench connector runs on its native inputs in ``create``.

The benchmark asks each server to hand the connector all ten inputs as native Python values; the
connector reads every one and fails the call if a value is missing or wrong. A failed call does not
bump the server's success counter, so a server that skipped or broke a conversion cannot pass a point.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

BLOB_URI = "s3://bench-bucket/data/inputs/part-00000.csv"


@dataclasses.dataclass
class Point:
    """The dataclass input; both SDKs serialize it as a msgpack binary literal."""

    x: int
    y: float
    label: str


#: The ten typed bench inputs as native values: what ``payloads`` encodes into every CreateTask and
#: what ``check_inputs`` expects back. ``data`` is wrapped in each SDK's file type by ``payloads``.
INPUT_VALUES: dict[str, Any] = {
    "count": 7,
    "ratio": 3.5,
    "name": "hello-bench",
    "flag": True,
    "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    "span": datetime.timedelta(seconds=90),
    "items": [1, 2, 3, 4, 5],
    "weights": {"a": 1, "b": 2, "c": 3},
    "data": BLOB_URI,
    "point": Point(1, 2.5, "p"),
}
# The inputs every SDK gives back as equal values; the blob and the dataclass come back as SDK types.
_EQUAL = {k: v for k, v in INPUT_VALUES.items() if k not in ("data", "point")}


def _attr(value: Any, name: str) -> Any:
    """Field of a dataclass-like or mapping value (SDKs differ in what they rebuild)."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def _same_instant(got: Any, want: datetime.datetime) -> bool:
    # Some type engines return naive UTC datetimes; compare the instant, not the tzinfo.
    if isinstance(got, datetime.datetime) and got.tzinfo is None:
        got = got.replace(tzinfo=datetime.timezone.utc)
    return bool(got == want)


def check_inputs(inputs: Mapping[str, Any] | None) -> int:
    """Read every bench input and verify it; return a small checksum so the work is not optimized away.

    Args:
        inputs: the native inputs handed to ``create``.

    Returns:
        The number of inputs read (always 10 on success).

    Raises:
        ValueError: an input is missing or has the wrong value.
    """
    if inputs is None:
        raise ValueError("bench connector got no inputs")
    seen = 0
    for name, want in _EQUAL.items():
        got = inputs[name]
        ok = _same_instant(got, want) if isinstance(want, datetime.datetime) else got == want
        if not ok:
            raise ValueError(f"input {name!r}: got {got!r:.80}, want {want!r:.80}")
        seen += 1
    blob = inputs["data"]
    uri = _attr(blob, "uri") or _attr(blob, "path") or _attr(blob, "remote_source") or str(blob)
    if not str(uri).endswith(BLOB_URI.rsplit("/", 1)[-1]):
        raise ValueError(f"input 'data': got {blob!r:.80}, want a blob at {BLOB_URI}")
    point, want_point = inputs["point"], INPUT_VALUES["point"]
    if any(_attr(point, f.name) != getattr(want_point, f.name) for f in dataclasses.fields(want_point)):
        raise ValueError(f"input 'point': got {point!r:.80}")
    return seen + 2


@dataclasses.dataclass
class Record:
    """The dataclass input of the payload figure; both SDKs serialize it as a msgpack binary literal."""

    name: str
    values: list[float]


#: The payload figure's StructuredDataset input (a literal pointing at a table, as a real task passes one).
TABLE_URI = "s3://bench-bucket/data/tables/orders.parquet"


def check_payload(inputs: Mapping[str, Any] | None) -> int:
    """Read every input of the payload figure (``n`` items in the list, the map and the dataclass).

    Returns:
        ``n``.

    Raises:
        ValueError: a value is missing, of the wrong size, or wrong.
    """
    if inputs is None:
        raise ValueError("payload connector got no inputs")
    n = int(inputs["n"])
    items, labels, record = inputs["items"], inputs["labels"], inputs["record"]
    values = _attr(record, "values")
    if len(items) != n or len(labels) != n or values is None or len(values) != n:
        raise ValueError(f"payload: n={n}, got {len(items)} items, {len(labels)} labels, "
                         f"{None if values is None else len(values)} values")
    if items[-1] != n - 1 or labels[f"k{n - 1:07d}"] != f"value-{n - 1:07d}" or sum(values) != n * 0.5:
        raise ValueError("payload: values differ from what was sent")
    table = inputs["table"]
    # flytekit's StructuredDataset keeps a decoded literal's uri on the literal it came from.
    uri = _attr(table, "uri") or _attr(_attr(table, "_literal_sd"), "uri") or _attr(table, "path") or str(table)
    if not str(uri).endswith(TABLE_URI.rsplit("/", 1)[-1]):
        raise ValueError(f"payload: table {table!r:.80}")
    return n
