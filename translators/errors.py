"""Errors raised by the translators. Pure data carriers: no gRPC here.

The servers map them to gRPC status codes in one table (``modern.errors``); every message here is
bounded so it can travel in a status detail.
"""

from __future__ import annotations

MAX_DETAIL = 512


def bounded(text: str, limit: int = MAX_DETAIL) -> str:
    """Clip ``text`` to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 14] + "...(truncated)"


class TranslationError(Exception):
    """Root of every error raised while translating between the generations."""

    def __init__(self, message: str) -> None:
        super().__init__(bounded(message))


class WireDecodeError(TranslationError):
    """Bytes that do not parse as the expected message type."""

    def __init__(self, type_name: str, reason: str) -> None:
        self.type_name = type_name
        super().__init__(f"cannot decode {type_name}: {reason}")


class DuplicateNameError(TranslationError):
    """Two entries of a v2 list share a name, so they cannot become one v1 map."""

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where
        super().__init__(f"duplicate name {name!r} in {where}: a v1 map holds one value per name")


class UnknownMessageTypeError(TranslationError):
    """``to_v1``/``to_v2`` was given a message with no counterpart in the other generation."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        super().__init__(f"no translation for message type {type_name}")


class WireCompatibilityError(TranslationError):
    """The installed descriptors give one field number two incompatible wire types."""

    def __init__(self, collisions: list[str]) -> None:
        self.collisions = collisions
        super().__init__("wire collision between flyteidl and flyteidl2: " + "; ".join(collisions))


class LiteralConversionError(TranslationError):
    """A literal that has no native form here, or a native value that does not fit its declared type."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


__all__ = [
    "MAX_DETAIL",
    "DuplicateNameError",
    "LiteralConversionError",
    "TranslationError",
    "UnknownMessageTypeError",
    "WireCompatibilityError",
    "WireDecodeError",
    "bounded",
]
