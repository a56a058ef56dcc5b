"""The text of the error the gateway tests' "huge error" connectors raise (c0's and the old agent's).

A service's answer echoed into an exception, traceback included, as real connectors do: ``size``
characters of payload after the exception line, so that the upstream's status details are larger than
gRPC's default metadata limit (16 KiB). Plain Python, importable by every SDK's venv.
"""

HUGE_ERROR_TYPE = "bridge_huge_error"
HEAD = "job rejected by the service"
#: What stays of the message once the bridge has cleaned it (the exception line's start).
EXCEPTION_LINE = "ServiceError: payload "


def huge_error_text(size: int) -> str:
    """A multi-line message with a traceback and ``size`` characters of payload."""
    return (
        f"{HEAD}\nTraceback (most recent call last):\n  File \"service.py\", line 12, in submit\n    call()\n"
        f"{EXCEPTION_LINE}{'x' * size}"
    )
