"""``flyte-bridge check``: the built-in connectors pass; each bad connector fails the rule it breaks."""

from __future__ import annotations

import json

import pytest

from bridge.kit.rules import RULES
from tests.kit._cli import bridge


def _report(*args: str) -> tuple[int, dict]:
    done = bridge("check", "--format", "json", *args, timeout=240)
    assert "Traceback" not in done.stdout
    return done.returncode, json.loads(done.stdout)


def _failed(connector: dict) -> dict[str, str]:
    return {r["rule"]: r["reason"] for r in connector["rules"] if r["status"] == "FAIL"}


def test_check_passes_the_built_in_connectors() -> None:
    code, report = _report("--modules", "bridge.examples", "modern.sensors.builtin")
    checked = {c["category"]["name"]: c for c in report["connectors"]}
    assert set(checked) == {"echo", "sensor"}
    for c in checked.values():
        assert [r["rule"] for r in c["rules"]] == list(RULES)
        assert _failed(c) == {}, c
    assert code == 0 and report["passed"] is True
    assert checked["echo"]["sync"] is False and checked["echo"]["name"] == "Echo Connector"


@pytest.mark.parametrize("module,rule,why", [
    ("tests.kit.conn_memory", "stateless", "fresh process answers INTERNAL"),
    ("tests.kit.conn_noisy", "errors", "carries a traceback"),
    ("tests.kit.conn_stubborn", "deadline", "ignores cancellation"),
    ("tests.kit.conn_delete_once", "delete", "DeleteTask (v2, again) failed: INTERNAL"),
])
def test_check_fails_the_rule_a_bad_connector_breaks(module: str, rule: str, why: str) -> None:
    code, report = _report("--modules", module, "--deadline", "1")
    assert code == 1 and report["passed"] is False
    [connector] = report["connectors"]  # only the module's own connector, not the built-ins
    failed = _failed(connector)
    assert set(failed) == {rule}, failed
    assert why in failed[rule]


def test_check_text_report_and_template_with_inputs(tmp_path) -> None:
    from tests.kit._cli import template

    t = template(tmp_path / "sync.json", "kit_sync", {"x": "INTEGER"}, {"y": "INTEGER"})
    done = bridge("check", "--modules", "tests.kit.conn_run", "--template", str(t), "--inputs", '{"x": 2}')
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| Kit Sync")]
    assert len(rows) == len(RULES) and all("| PASS " in r for r in rows)
    assert any("sync (v1 calls ExecuteTaskSync)" in r for r in rows)
    assert any("through ExecuteTaskSync" in r for r in rows)


def test_check_without_a_connector_is_a_usage_error() -> None:
    done = bridge("check", "--modules", "no.such.module")
    assert done.returncode == 2
    assert "skipped no.such.module" in done.stderr and "no connector to check" in done.stderr
