"""The cheap paths of ``translators._pair`` give exactly what the straightforward ones gave.

The straightforward translation (parse the source, check it, re-serialise, parse the target, derive,
merge the marker) is the reference; the fast paths parse once, test duplicates by counting, append a
predicted marker and decide ordering from a shadow parse. Each shortcut is checked against the
reference where it can differ: nested duplicates, mispredicted markers, buried markers, bad bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import translators as T
from translators import compat, tasks
from translators._fixups import MapLists
from translators._gen import v1, v2, v2_core_execution
from translators._pair import MARKER_FIELD, TRANSLATED, Pair, encode_varint, split_marker
from translators.errors import DuplicateNameError, WireDecodeError

from .strategies import messages

Phase = v2_core_execution.TaskExecution
CHECKED = [p for p in T.PAIRS if p.check_v1 is not None]


def test_every_checked_pair_has_the_cheap_duplicate_test() -> None:
    assert {p.v1_cls.DESCRIPTOR.name for p in CHECKED} == {
        "CreateTaskRequest", "CreateRequestHeader", "GetTaskResponse", "Resource"}
    assert all(isinstance(p.map_lists, MapLists) for p in CHECKED)


def _error(fn, *args, **kwargs) -> tuple[str, str] | None:
    try:
        fn(*args, **kwargs)
    except DuplicateNameError as err:
        return err.name, err.where
    return None


def _create_with(where: str) -> v2.CreateTaskRequest:
    req = v2.CreateTaskRequest(output_prefix="p")
    req.template.type = "t"
    for name in ("a", "b"):
        req.inputs.literals.add(name=name).value.scalar.primitive.integer = 1
        req.template.interface.inputs.variables.add(key=name).value.description = name
        req.template.interface.outputs.variables.add(key=name)
    if where == "inputs":
        req.inputs.literals.add(name="a")
    elif where == "declared inputs":
        req.template.interface.inputs.variables.add(key="b")
    elif where == "declared outputs":
        req.template.interface.outputs.variables.add(key="")
        req.template.interface.outputs.variables.add(key="")
    return req


@pytest.mark.parametrize("where", ["inputs", "declared inputs", "declared outputs", "none"])
def test_nested_duplicates_raise_the_same_error_from_messages_and_bytes(where: str) -> None:
    req = _create_with(where)
    expected = _error(compat.check_unique_names, req)
    assert (expected is None) == (where == "none")
    assert _error(T.create_task_request_to_v1, req) == expected
    assert _error(T.create_task_request_to_v1_from_wire, req.SerializeToString()) == expected
    assert _error(T.create_task_request_to_v1, req, mark=False) == expected


def test_duplicate_outputs_in_a_response_from_bytes() -> None:
    resp = v2.GetTaskResponse(resource=v2.Resource(phase=Phase.SUCCEEDED))
    for _ in range(2):
        resp.resource.outputs.literals.add(name="o0")
    with pytest.raises(DuplicateNameError) as err:
        T.get_task_response_to_v1_from_wire(resp.SerializeToString(), mark=False)
    assert err.value.name == "o0" and "Outputs.literals" in err.value.where
    with pytest.raises(DuplicateNameError):
        T.resource_to_v1(resp.resource, mark=False)


@pytest.mark.parametrize("pair", CHECKED, ids=[p.v1_cls.DESCRIPTOR.name for p in CHECKED])
@given(data=st.data())
def test_bytes_raise_exactly_when_the_slow_check_does(pair: Pair, data: st.DataObject) -> None:
    m2 = data.draw(messages(pair.v2_cls))
    expected = _error(compat.check_unique_names, m2)
    assert _error(pair.to_v1_from_wire, m2.SerializeToString()) == expected
    assert _error(pair.to_v1, m2, mark=False) == expected


def _marker(m) -> int:
    return split_marker(m.SerializeToString())[1]


def test_a_mispredicted_marker_is_corrected_each_time() -> None:
    # v2 -> v1: a phase derives a state (marker bit 2); no phase derives nothing (bit clear)
    derives, plain = v2.Resource(phase=Phase.RUNNING), v2.Resource(message="m")
    for m2, bits in [(derives, TRANSLATED | 2), (plain, TRANSLATED), (plain, TRANSLATED),
                     (derives, TRANSLATED | 2), (plain, TRANSLATED)]:
        m1 = T.resource_to_v1(m2)
        assert _marker(m1) == bits
        assert T.resource_to_v2(m1) == m2
        wire = T.resource_to_v1_from_wire(m2.SerializeToString())
        assert wire == m1 and _marker(wire) == bits
    # v1 -> v2: a state-only resource derives a phase; one with a phase derives nothing
    for r1, bits in [(v1.Resource(state=v1.SUCCEEDED), TRANSLATED | 2), (v1.Resource(phase=Phase.QUEUED), TRANSLATED),
                     (v1.Resource(state=v1.RUNNING), TRANSLATED | 2)]:
        r2 = T.resource_to_v2(r1)
        assert _marker(r2) == bits and T.resource_to_v1(r2) == r1
        assert T.resource_to_v2_from_wire(r1.SerializeToString()) == r2


def test_marked_undo_runs_on_the_target_view() -> None:
    old = v1.GetTaskRequest(task_type="sensor", resource_meta=b"{}")
    m2 = T.get_task_request_to_v2(old)
    assert m2.task_category.name == "sensor"
    assert T.get_task_request_to_v1(m2) == old
    assert T.get_task_request_to_v1_from_wire(m2.SerializeToString()) == old
    r1 = v1.GetTaskResponse(resource=v1.Resource(state=v1.SUCCEEDED))
    r2 = T.get_task_response_to_v2(r1)
    assert r2.resource.phase == Phase.SUCCEEDED
    assert T.get_task_response_to_v1_from_wire(r2.SerializeToString()) == r1


def test_a_marker_followed_by_more_fields_is_still_found() -> None:
    m2 = T.get_task_request_to_v2(v1.GetTaskRequest(task_type="sensor"))
    extra = v2.GetTaskRequest(output_prefix="s3://later").SerializeToString()
    data = m2.SerializeToString() + extra  # merged: the marker is no longer last
    merged = v2.GetTaskRequest.FromString(data)
    assert T.get_task_request_to_v1_from_wire(data) == T.get_task_request_to_v1(merged)
    expected = v1.GetTaskRequest(task_type="sensor")
    expected.MergeFromString(extra)  # output_prefix: a field from flyteidl 1.15.2, an unknown one before
    assert T.get_task_request_to_v1(merged) == expected
    m1 = T.get_task_response_to_v1(v2.GetTaskResponse(resource=v2.Resource(phase=Phase.RUNNING)))
    data1 = m1.SerializeToString() + v1.GetTaskResponse(resource=v1.Resource(message="x")).SerializeToString()
    assert T.get_task_response_to_v2_from_wire(data1) == T.get_task_response_to_v2(v1.GetTaskResponse.FromString(data1))


def test_the_marker_byte_alone_does_not_trigger_the_slow_path() -> None:
    req = v1.GetTaskRequest(task_type="t", resource_meta=bytes([0xF8, 0xFF, 0xFF]))
    m2 = T.get_task_request_to_v2_from_wire(req.SerializeToString())
    assert m2 == T.get_task_request_to_v2(req) and T.get_task_request_to_v1(m2) == req


def test_bad_bytes_name_the_type_they_were_read_as() -> None:
    with pytest.raises(WireDecodeError) as err:
        T.create_task_request_to_v1_from_wire(b"\x0a\x05abc")
    assert "flyteidl2.connector.CreateTaskRequest" in str(err.value)
    with pytest.raises(WireDecodeError) as err:
        T.get_task_response_to_v2_from_wire(b"\xff" * 20, mark=False)
    assert "flyteidl2.connector.GetTaskResponse" in str(err.value)
    with pytest.raises(WireDecodeError):
        T.resource_to_v1_from_wire(memoryview(b"\x12\x09truncated"))


def _create_v1(inputs: list[str], declared: list[str]) -> v1.CreateTaskRequest:
    from flyteidl.core import interface_pb2

    req = v1.CreateTaskRequest()
    for name in declared:
        req.template.interface.inputs.variables[name].CopyFrom(interface_pb2.Variable(description=name))
    for name in inputs:
        req.inputs.literals[name].scalar.primitive.integer = 1
    return req


@pytest.mark.parametrize(("inputs", "declared"), [
    (["x", "y", "z"], ["z", "x", "y"]), (["b", "a"], []), (["q", "x", "y"], ["y", "x"]), (["x"], ["y", "x"]),
    ([], ["y"]), (["c", "b", "a"], ["a", "b", "c", "d"]),
])
def test_inputs_order_from_messages_and_bytes(inputs: list[str], declared: list[str]) -> None:
    req = _create_v1(inputs, declared)
    for m2 in (T.create_task_request_to_v2(req), T.create_task_request_to_v2_from_wire(req.SerializeToString()),
               T.create_task_request_to_v2_from_wire(req.SerializeToString(), mark=False)):
        order = [v.key for v in m2.template.interface.inputs.variables]  # a v1 map's order: its bytes'
        want = [n for n in order if n in inputs] + sorted(n for n in inputs if n not in order)
        assert [lit.name for lit in m2.inputs.literals] == want


def test_inputs_named_exactly_as_declared_are_left_as_they_are() -> None:
    # v1 bytes with the same names in the same (non-sorted) order in both maps: nothing to sort
    def entry(field: int, name: str) -> bytes:
        body = b"\x0a" + encode_varint(len(name)) + name.encode()
        return bytes([field << 3 | 2]) + encode_varint(len(body)) + body

    literals = entry(1, "z") + entry(1, "a")
    variables = entry(1, "z") + entry(1, "a")
    interface = b"\x0a" + encode_varint(len(variables)) + variables
    template = b"\x22" + encode_varint(len(interface)) + interface
    data = b"\x0a" + encode_varint(len(literals)) + literals + b"\x12" + encode_varint(len(template)) + template
    assert tasks._INPUTS_AS_DECLARED is not None and tasks._INPUTS_AS_DECLARED(data)
    m2 = T.create_task_request_to_v2_from_wire(data)
    assert [lit.name for lit in m2.inputs.literals] == ["z", "a"]


def test_server_translations_carry_no_marker() -> None:
    from google.protobuf import unknown_fields

    r1 = T.get_task_response_to_v1(v2.GetTaskResponse(resource=v2.Resource(phase=Phase.RUNNING)), mark=False)
    m2 = T.get_task_request_to_v2_from_wire(v1.GetTaskRequest(task_type="t").SerializeToString(), mark=False)
    for m in (r1, m2):
        assert MARKER_FIELD not in {f.field_number for f in unknown_fields.UnknownFieldSet(m)}


def test_the_compiled_count_comparison_shares_steps_and_refuses_names_it_cannot_compile() -> None:
    from translators import _fixups
    from translators._gen import v1, v2

    paths = ["inputs.literals", "template.interface.inputs.variables", "template.interface.outputs.variables"]
    same = _fixups._counts_compared(paths, paths)
    assert same is not None
    m2, m1 = v2.CreateTaskRequest(), v1.CreateTaskRequest()
    assert same(m2, m1)
    for i, where in enumerate(("inputs", "declared inputs", "declared outputs")):
        m2.inputs.literals.add(name=f"x{i}") if where == "inputs" else \
            getattr(m2.template.interface, where.split()[1]).variables.add(key=f"x{i}")
        assert not same(m2, m1)  # the v2 list has one entry more than its v1 map
        if where == "inputs":
            m1.inputs.literals[f"x{i}"].scalar.primitive.integer = 1
        else:
            getattr(m1.template.interface, where.split()[1]).variables[f"x{i}"].description = "d"
        assert same(m2, m1)
    assert _fixups._counts_compared(["class.x"], ["class.x"]) is None
    assert _fixups._counts_compared(["a-b.x"], ["a-b.x"]) is None
