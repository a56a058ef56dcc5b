"""Container args rendered as FlytePropeller renders them before CreateTask (CLIENTS.md: "container args
are rendered first"; flyteplugins ``pluginmachinery/utils/template.go``).

Each arg is searched for the case-insensitive templates ``{{.Input}}`` (the inputs.pb path),
``{{.InputPrefix}}``, ``{{.OutputPrefix}}``, ``{{.RawOutputDataPrefix}}``, ``{{.CheckpointOutputPrefix}}``,
``{{.PrevCheckpointPrefix}}``, ``{{.PerRetryUniqueKey}}`` and ``{{.Inputs.<name>}}`` (``$`` may replace the
dot, spaces may pad). An input value is written as propeller writes it: integers and floats as Go's
``%v``, booleans ``true``/``false``, strings as they are, datetimes in RFC 3339, a blob as its URI, a
list as ``[a,b]``. An input the task does not have, or a value of another kind, is an error: propeller
fails the task without calling the connector.
"""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal
from typing import Any

from translators._gen import v2_core_tasks

_T = r"(?i){{\s*[\.$]%s\s*}}"
INPUT_FILE = re.compile(_T % "Input")
INPUT_PREFIX = re.compile(_T % "InputPrefix")
OUTPUT_PREFIX = re.compile(_T % "OutputPrefix")
RAW_OUTPUT = re.compile(_T % "RawOutputDataPrefix")
CHECKPOINT = re.compile(_T % "CheckpointOutputPrefix")
PREV_CHECKPOINT = re.compile(_T % "PrevCheckpointPrefix")
RETRY_KEY = re.compile(_T % "PerRetryUniqueKey")
INPUT_VAR = re.compile(r"(?i){{\s*[\.$]Inputs\.(?P<name>[^}\s]+)\s*}}")


class RenderError(ValueError):
    """A container arg propeller cannot render (one line)."""


def _go_float(f: float) -> str:
    """``f`` as Go's ``%v`` writes a float64 (``strconv`` ``'g'``, shortest digits).

    The shortest digits that read back as ``f`` (Python's ``repr`` finds the same ones), in exponent form
    when the exponent is below -4 or at least 6 (``1e+06``, ``1.5e-05``, ``123456``), else plain.
    """
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign, digit_tuple, exponent = Decimal(repr(f)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    minus = "-" if sign else ""
    if not digits:
        return minus + "0"
    point = len(digit_tuple) + int(exponent)  # digits before the decimal point
    exp = point - 1
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{minus}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return minus + digits + "0" * (point - len(digits))
    return f"{minus}{digits[:point]}.{digits[point:]}"


def _go_timestamp(seconds: int, nanos: int) -> str:
    """A Timestamp as propeller writes it (``ptypes.TimestampString``: Go's RFC 3339 with nanoseconds,
    trailing zeros of the fraction dropped, ``Z``)."""
    when = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return when.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _go_duration(seconds: int, nanos: int) -> str:
    total = seconds * 1_000_000_000 + nanos
    if total == 0:
        return "0s"
    sign, total = ("-", -total) if total < 0 else ("", total)
    if total < 1_000_000_000:  # Go writes sub-second durations in the largest unit below a second
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if total >= size:
                return sign + _trim(total / size) + unit
    h, rest = divmod(total, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    s = rest / 1_000_000_000
    out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + _trim(s) + "s"
    return sign + out


def _trim(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def serialize(literal: Any) -> str:
    """A literal (either generation) as propeller writes it into an arg.

    Raises:
        RenderError: A kind propeller does not write (a map, a struct, a structured dataset...).
    """
    kind = literal.WhichOneof("value")
    if kind == "collection":
        return "[" + ",".join(serialize(x) for x in literal.collection.literals) + "]"
    if kind == "scalar":
        scalar = literal.scalar
        which = scalar.WhichOneof("value")
        if which == "blob":
            return str(scalar.blob.uri)
        if which == "primitive":
            p = scalar.primitive
            value = p.WhichOneof("value")
            if value == "integer":
                return str(p.integer)
            if value == "float_value":
                return _go_float(p.float_value)
            if value == "boolean":
                return "true" if p.boolean else "false"
            if value == "string_value":
                return str(p.string_value)
            if value == "datetime":
                return _go_timestamp(p.datetime.seconds, p.datetime.nanos)
            if value == "duration":
                return _go_duration(p.duration.seconds, p.duration.nanos)
        raise RenderError(f"received an unexpected scalar type [{which}]")
    raise RenderError(f"received an unexpected literal type [{kind}]")


def render_args(
    args: list[str], literals: dict[str, Any], *, input_prefix: str, output_prefix: str, raw_output_prefix: str
) -> list[str]:
    """``args`` with every template replaced.

    Raises:
        RenderError: An ``{{.Inputs.x}}`` the task has no input for, or whose value propeller cannot write.
    """
    out = []
    for arg in args:
        val = INPUT_FILE.sub(lambda _m: f"{input_prefix}/inputs.pb", arg)
        val = OUTPUT_PREFIX.sub(lambda _m: output_prefix, val)
        val = INPUT_PREFIX.sub(lambda _m: input_prefix, val)
        val = RAW_OUTPUT.sub(lambda _m: raw_output_prefix, val)
        val = CHECKPOINT.sub(lambda _m: f"{raw_output_prefix}/checkpoint", val)
        val = PREV_CHECKPOINT.sub(lambda _m: '""', val)  # the first attempt has no previous checkpoint
        val = RETRY_KEY.sub(lambda _m: "flyte-bridge-run-0", val)

        def _input(m: re.Match[str]) -> str:
            name = m.group("name")
            if name not in literals:
                raise RenderError(f"input template [{m.group(0)}]: requested input is not found [{name}]")
            try:
                return serialize(literals[name])
            except RenderError as exc:
                raise RenderError(f"input template [{m.group(0)}]: failed to bind a value to inputName [{name}]: {exc}") from None

        out.append(INPUT_VAR.sub(_input, val))
    return out


def rendered(template: Any, inputs: Any, output_prefix: str) -> Any:
    """A copy of the v2 ``template`` whose container args are rendered (the template itself when it has none).

    ``inputs`` are v2 ``Inputs``; the input prefix is ``{output_prefix}/inputs``.
    """
    if not template.HasField("container") or not template.container.args:
        return template
    literals = {n.name: n.value for n in inputs.literals}
    copy = v2_core_tasks.TaskTemplate()
    copy.CopyFrom(template)
    args = render_args(list(template.container.args), literals, input_prefix=f"{output_prefix}/inputs",
                       output_prefix=output_prefix, raw_output_prefix=f"{output_prefix}/raw")
    del copy.container.args[:]
    copy.container.args.extend(args)
    return copy


__all__ = ["RenderError", "render_args", "rendered", "serialize"]
