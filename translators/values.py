"""Small native value types for literals that point at data instead of holding it.

A connector gets a :class:`Blob` for a ``Scalar.blob`` (flytekit ``FlyteFile``/``FlyteDirectory``,
flyte-sdk ``File``/``Dir``) and a :class:`StructuredDataset` for a ``Scalar.structured_dataset``
(flytekit ``StructuredDataset``, flyte-sdk ``DataFrame``). Both only carry the URI and the type
facts the literal holds: the bridge never downloads or uploads data, so there is nothing to open.
They are frozen so a connector cannot change an input another code path still reads.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyteidl2.core.types_pb2 import LiteralType


class BlobDimensionality(enum.IntEnum):
    """Mirror of ``flyteidl2.core.BlobType.BlobDimensionality`` (same numbers)."""

    SINGLE = 0
    """One file (``FlyteFile`` / ``File``)."""
    MULTIPART = 1
    """A directory of files (``FlyteDirectory`` / ``Dir``)."""


@dataclass(frozen=True)
class Blob:
    """A file or directory literal.

    Attributes:
        uri: Where the data lives, e.g. ``s3://bucket/key``.
        format: The blob format string (``""`` means any format, as in Flyte).
        dimensionality: ``SINGLE`` for a file, ``MULTIPART`` for a directory.
    """

    uri: str
    format: str = ""
    dimensionality: BlobDimensionality = BlobDimensionality.SINGLE

    @property
    def is_directory(self) -> bool:
        """True for a multipart blob (a directory)."""
        return self.dimensionality == BlobDimensionality.MULTIPART


@dataclass(frozen=True)
class StructuredDataset:
    """A structured dataset (data frame) literal.

    Attributes:
        uri: Where the data lives.
        format: The storage format, e.g. ``"parquet"`` (``""`` means any).
        columns: ``(name, LiteralType)`` pairs the dataset type declares, in order. Excluded
            from the hash because protobuf messages are not hashable.
        external_schema_type: e.g. ``"arrow"`` when an external schema is attached.
        external_schema_bytes: The serialized external schema.
    """

    uri: str
    format: str = ""
    columns: tuple[tuple[str, LiteralType], ...] = field(default=(), hash=False)
    external_schema_type: str = ""
    external_schema_bytes: bytes = b""


__all__ = ["Blob", "BlobDimensionality", "StructuredDataset"]
