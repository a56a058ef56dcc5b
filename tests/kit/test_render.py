"""Container args rendered as FlytePropeller renders them before CreateTask (``bridge.kit.render``), and
``flyte-bridge run`` sending the rendered template through both clients."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from bridge.kit.render import RenderError, render_args, serialize
from tests.kit._cli import bridge, template
from translators import native_to_inputs
from translators._gen import v2_core_tasks, v2_interface, v2_types


def _literals(values: dict, types: dict) -> dict:
    vm = v2_interface.VariableMap()
    for name, simple in types.items():
        vm.variables.add(key=name).value.type.CopyFrom(simple)
    return {n.name: n.value for n in native_to_inputs(values, vm).literals}


def _simple(name: str) -> v2_types.LiteralType:
    return v2_types.LiteralType(simple=v2_types.SimpleType.Value(name))


def test_each_template_and_value_kind() -> None:
    lits = _literals(
        {"n": 7, "f": 3.0, "g": 0.25, "b": True, "s": "a b", "l": [1, 2],
         "t": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), "d": datetime.timedelta(seconds=90)},
        {"n": _simple("INTEGER"), "f": _simple("FLOAT"), "g": _simple("FLOAT"), "b": _simple("BOOLEAN"),
         "s": _simple("STRING"), "l": v2_types.LiteralType(collection_type=_simple("INTEGER")),
         "t": _simple("DATETIME"), "d": _simple("DURATION")})
    args = ["{{.Input}}", "{{ .inputPrefix }}", "{{$OutputPrefix}}", "{{.rawOutputDataPrefix}}", "{{.PrevCheckpointPrefix}}",
            "--n={{.inputs.n}}", "{{.Inputs.f}}", "{{.Inputs.g}}", "{{.Inputs.b}}", "{{.Inputs.s}}", "{{.Inputs.l}}",
            "{{.Inputs.t}}", "{{.Inputs.d}}", "plain"]
    out = render_args(args, lits, input_prefix="/in", output_prefix="/out", raw_output_prefix="/raw")
    assert out == ["/in/inputs.pb", "/in", "/out", "/raw", '""', "--n=7", "3", "0.25", "true", "a b", "[1,2]",
                   "2024-01-02T03:04:05Z", "1m30s", "plain"]
    with pytest.raises(RenderError, match=r"requested input is not found \[nope\]"):
        render_args(["{{.Inputs.nope}}"], lits, input_prefix="", output_prefix="", raw_output_prefix="")
    m = _literals({"m": {"k": 1}}, {"m": v2_types.LiteralType(map_value_type=_simple("INTEGER"))})
    with pytest.raises(RenderError, match="failed to bind a value to inputName"):
        render_args(["{{.Inputs.m}}"], m, input_prefix="", output_prefix="", raw_output_prefix="")
    assert serialize(lits["n"]) == "7"


def _args_template(path: Path, args: list[str]) -> Path:
    t = template(path, "kit_args", {"x": "INTEGER"}, {"args": "STRING"})
    doc = json.loads(t.read_text())
    doc["container"] = {"image": "unused", "args": args}
    t.write_text(json.dumps(doc))
    # The file is a valid TaskTemplate (both generations read it).
    v2_core_tasks.TaskTemplate()
    return t


@pytest.mark.flyte_bridge("tests.kit.conn_run")
def test_both_clients_send_rendered_args(flyte_bridge) -> None:
    t = flyte_bridge.template("kit_args", inputs={"x": int}, outputs={"args": str})
    t.container.image = "unused"
    t.container.args.extend(["--x", "{{.inputs.x}}", "{{ .OutputPrefix }}", "{{.Input}}"])
    out = flyte_bridge.create_and_wait(t, {"x": 3}, generation="both")
    for g in ("v1", "v2"):
        x, label, prefix, input_file = out[g].outputs["args"].split(" ")
        assert (x, label) == ("--x", "3") and prefix.endswith(f"/{g}") and input_file == f"{prefix}/inputs/inputs.pb"
        assert Path(input_file).stat().st_size > 0  # the file {{.Input}} names exists, holding the inputs


def test_run_with_an_arg_that_does_not_render_is_refused(tmp_path: Path) -> None:
    t = _args_template(tmp_path / "t.json", ["{{.inputs.nope}}"])
    done = bridge("run", "--template", str(t), "--inputs", '{"x": 3}', "--modules", "tests.kit.conn_run")
    assert done.returncode == 1
    assert "REFUSED" in done.stdout and "FlytePropeller cannot render the container args" in done.stdout
    assert "requested input is not found [nope]" in done.stdout


@pytest.mark.parametrize(
    ("value", "written"),
    [  # Go's %v of a float64: shortest digits, exponent form below 1e-4 and from 1e6 (strconv 'g', -1)
        (7.0, "7"), (123456.0, "123456"), (999999.5, "999999.5"), (1e6, "1e+06"), (1234567.5, "1.2345675e+06"),
        (0.0001, "0.0001"), (1e-05, "1e-05"), (608863452348.1149, "6.088634523481149e+11"), (1e21, "1e+21"),
        (-2.5, "-2.5"), (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_floats_are_written_as_go_writes_them(value: float, written: str) -> None:
    lits = _literals({"f": value}, {"f": _simple("FLOAT")})
    assert serialize(lits["f"]) == written


def test_datetimes_are_written_as_propeller_writes_them() -> None:
    """``ptypes.TimestampString``: RFC 3339, nanoseconds without trailing zeros (not protobuf's 3/6/9 digits)."""
    half = datetime.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=datetime.timezone.utc)
    micro = datetime.datetime(2024, 1, 2, 3, 4, 5, 123450, tzinfo=datetime.timezone.utc)
    lits = _literals({"a": half, "b": micro}, {"a": _simple("DATETIME"), "b": _simple("DATETIME")})
    assert serialize(lits["a"]) == "2024-01-02T03:04:05.5Z"
    assert serialize(lits["b"]) == "2024-01-02T03:04:05.12345Z"
