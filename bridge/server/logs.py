"""Logging for the bridge process: plain text for people, JSON lines for log pipelines.

Only the root logger is configured, once, from the CLI. Library modules just call
``logging.getLogger(__name__)``. Messages are bounded so a connector that raises with a huge
message cannot flood the log pipeline.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

from modern import call_context

MAX_MESSAGE_CHARS = 4000
"""Log messages longer than this are cut (with a marker) before they are written."""

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[:MAX_MESSAGE_CHARS] + f"... [{len(text) - MAX_MESSAGE_CHARS} chars cut]"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``pid``, ``msg`` (and ``exc``).

    A line written during a gRPC call also carries that call's fields (:mod:`modern.call_context`):
    ``method``, ``generation``, the task execution identity where the request had one (``project``,
    ``domain``, ``execution_name``, ``node_id``, ``task_name``, ``retry_attempt``), ``category``,
    ``category_version``, ``connector``, ``source``, ``upstream``, ``code`` once known, and
    ``duration_ms`` (so far, or the call's on its access line).
    """

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a single JSON line.

        Args:
            record: The log record.

        Returns:
            The JSON text, without a trailing newline.
        """
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": _bounded(record.getMessage()),
        }
        entry.update(call_context.fields())
        if record.exc_info:
            entry["exc"] = _bounded(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class BoundedTextFormatter(logging.Formatter):
    """The usual text format, with the message cut at :data:`MAX_MESSAGE_CHARS`."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging API name)
        """Format the record with its message bounded.

        Args:
            record: The log record.

        Returns:
            The formatted line.
        """
        record.message = _bounded(record.message)
        return super().formatMessage(record)


def configure_logging(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Configure the root logger for the bridge process.

    Args:
        level: A logging level name (``DEBUG``, ``INFO``, ...), case-insensitive.
        fmt: ``"text"`` or ``"json"`` (JSON lines).
        stream: Where to write; stderr by default.

    Raises:
        ValueError: On an unknown level or format.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r} (text or json)")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else BoundedTextFormatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
