"""The compatibility table covers every field of every message reachable from the five services."""

from __future__ import annotations

import pytest
from flyteidl2.core import artifact_id_pb2 as v2_core_artifact_id
from google.protobuf.descriptor import Descriptor

from translators import compat
from translators._gen import v1, v1_service, v2_service


def _reachable(services) -> dict[str, Descriptor]:
    seen: dict[str, Descriptor] = {}
    stack = [m.input_type for s in services for m in s.methods] + [m.output_type for s in services for m in s.methods]
    while stack:
        d = stack.pop()
        if d.full_name in seen:
            continue
        seen[d.full_name] = d
        stack.extend(f.message_type for f in d.fields if f.message_type is not None)
    return seen


def test_every_reachable_field_has_a_row() -> None:
    rows = compat.table()
    v1_cov = {(r.v1_message, r.number) for r in rows if r.v1_field}
    v2_cov = {(r.v2_message, r.number) for r in rows if r.v2_field}
    v1_msgs = _reachable(v1_service.DESCRIPTOR.services_by_name.values())
    v2_msgs = _reachable(v2_service.DESCRIPTOR.services_by_name.values())
    missing = [f"{d.full_name}.{f.name}" for d in v1_msgs.values() for f in d.fields
               if (d.full_name, f.number) not in v1_cov]
    missing += [f"{d.full_name}.{f.name}" for d in v2_msgs.values() for f in d.fields
                if (d.full_name, f.number) not in v2_cov]
    assert missing == []
    assert len(v1_msgs) > 40 and len(v2_msgs) > 40  # the walk really went deep


def test_no_collision_in_installed_descriptors() -> None:
    assert compat.collisions() == []
    compat.check()


def test_known_differences_are_classified() -> None:
    by_key = {}
    for r in compat.table():
        if r.v1_field:
            by_key[(r.v1_field, r.v1_message)] = r.kind
        if r.v2_field:
            by_key[(r.v2_field, r.v2_message)] = r.kind
    assert by_key[("task_type", "flyteidl.admin.GetTaskRequest")] == "only_v1"
    assert by_key[("connection", "flyteidl2.connector.CreateTaskRequest")] == "only_v2"
    assert by_key[("state", "flyteidl.admin.Resource")] == "only_v1"
    assert by_key[("overrides", "flyteidl.admin.TaskExecutionMetadata")] == "only_v1"
    renamed = {(r.v1_field, r.v2_field) for r in compat.table() if r.kind == "renamed"}
    if "structured_lines" in v1.GetTaskLogsResponseBody.DESCRIPTOR.fields_by_name:  # not in flyteidl 1.14
        assert ("structured_lines", "lines") in renamed
    assert ("agents", "connectors") in renamed
    assert ("key", "name") in renamed  # map<string, Literal> entry vs NamedLiteral


@pytest.mark.skipif(
    "WEEK" not in v2_core_artifact_id.Granularity.keys(), reason="Granularity.WEEK is new in flyteidl2 2.0.49"
)
def test_an_enum_value_only_v2_has_is_classified() -> None:
    enums = {(e.v2_enum, e.v2_name) for e in compat.enum_table() if e.kind == "only_v2"}
    assert ("flyteidl2.core.Granularity", "WEEK") in enums


def test_a_collision_fails_loudly(monkeypatch) -> None:
    """A field number with two wire types must raise, not translate garbage."""
    import pytest

    from translators.errors import WireCompatibilityError

    fake = compat.Row("a.M", "b.M", 3, "x", "y", "collision", "type9")
    monkeypatch.setattr(compat, "collisions", lambda: [fake])
    with pytest.raises(WireCompatibilityError, match="a.M#3"):
        compat.check()


def test_format_table_lists_differences_and_counts() -> None:
    text = compat.format_table()
    assert "flyteidl.admin.Resource.state" in text
    assert "collision=0" in text
