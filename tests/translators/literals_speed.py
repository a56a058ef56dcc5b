"""Speed of the literal hot path: ``inputs_to_native`` on 10 typed inputs (what CreateTask decodes).

Not a test (no timing assertions; see DESIGN.md "Measure in benchmarks"). Run:

    .venv/bin/python tests/translators/literals_speed.py
"""

from __future__ import annotations

import datetime
import timeit

from translators._gen import v2_interface, v2_types
from translators.literals import inputs_to_native, native_to_inputs, native_to_outputs

ST = v2_types.SimpleType


def _case() -> tuple[object, object, dict[str, object]]:
    kinds = {
        "i0": (ST.INTEGER, 1),
        "i1": (ST.INTEGER, 2**40),
        "f0": (ST.FLOAT, 1.5),
        "f1": (ST.FLOAT, -2.0),
        "s0": (ST.STRING, "hello"),
        "s1": (ST.STRING, "s3://bucket/prefix/key"),
        "b0": (ST.BOOLEAN, True),
        "b1": (ST.BOOLEAN, False),
        "d0": (ST.DATETIME, datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)),
        "t0": (ST.DURATION, datetime.timedelta(minutes=5)),
    }
    variables = v2_interface.VariableMap(
        variables=[
            v2_interface.VariableEntry(key=k, value=v2_interface.Variable(type=v2_types.LiteralType(simple=s)))
            for k, (s, _) in kinds.items()
        ]
    )
    values = {k: v for k, (_, v) in kinds.items()}
    return native_to_inputs(values, variables), variables, values


def _best_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def main() -> None:
    """Print microseconds per call for decoding and encoding 10 typed primitive inputs."""
    inputs, variables, values = _case()
    assert inputs_to_native(inputs, variables) == values
    n = 2000
    data = inputs.SerializeToString()
    # Floors measured in the same run, so a loaded machine shows as such: parsing the message, and
    # the least any decoder must do (one oneof lookup and one read per literal, no checks).
    floor = lambda: {nl.name: getattr(p, p.WhichOneof("value")) for nl in inputs.literals for p in [nl.value.scalar.primitive]}  # noqa: E731
    print(f"reference: parse Inputs from bytes:    {_best_us(lambda: type(inputs).FromString(data), n):6.1f} us")
    print(f"reference: bare read loop (floor):     {_best_us(floor, n):6.1f} us")
    print(f"inputs_to_native, 10 typed inputs:      {_best_us(lambda: inputs_to_native(inputs, variables), n):6.1f} us")
    print(f"inputs_to_native, 10 untyped inputs:    {_best_us(lambda: inputs_to_native(inputs), n):6.1f} us")
    print(f"native_to_outputs, 10 typed values:     {_best_us(lambda: native_to_outputs(values, variables), n):6.1f} us")
    print(f"native_to_outputs, 10 inferred values:  {_best_us(lambda: native_to_outputs(values), n):6.1f} us")


if __name__ == "__main__":
    main()
