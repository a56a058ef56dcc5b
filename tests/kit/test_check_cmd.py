"""``flyte-bridge check``: good connectors pass; each bad connector fails exactly the rule it breaks."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.kit.rules import RULES
from tests.kit._cli import bridge, template


def _report(*args: str) -> tuple[int, dict]:
    done = bridge("check", "--format", "json", *args, timeout=240)
    assert "Traceback (most recent call last)" not in done.stderr, done.stderr  # check itself did not crash
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def _rows(connector: dict, status: str) -> dict[str, str]:
    return {r["rule"]: r["reason"] for r in connector["rules"] if r["status"] == status}


def _passes(code: int, report: dict) -> list[dict]:
    for c in report["connectors"]:
        assert [r["rule"] for r in c["rules"]] == list(RULES)
        assert _rows(c, "FAIL") == {}, c
        assert _rows(c, "SKIP") == {}, c
        assert all(len(r["reason"]) <= 300 and "\n" not in r["reason"] for r in c["rules"])
    assert code == 0 and report["passed"] is True
    return report["connectors"]


def test_check_passes_the_built_in_connectors() -> None:
    checked = {c["category"]["name"]: c for c in _passes(*_report("--modules", "bridge.examples", "modern.sensors.builtin"))}
    assert set(checked) == {"echo", "sensor"}
    assert checked["echo"]["sync"] is False and checked["echo"]["name"] == "Echo Connector"


def test_check_passes_the_readme_example() -> None:
    [c] = _passes(*_report("--modules", "tests.kit.conn_readme"))
    assert c["name"] == "My Connector"
    assert "equal outputs (rows: int)" in _rows(c, "PASS")["generations"]


def test_check_passes_a_flyte_sdk_connector_whose_outputs_name_its_job() -> None:
    # The shape of flyte-sdk's custom_connector_app example: each generation's job has its own id.
    pytest.importorskip("flyte")
    [c] = _passes(*_report("--modules", "tests.kit.conn_sdk_jobid"))
    assert c["source"] == "flyte-sdk"
    why = _rows(c, "PASS")["generations"]
    assert "values differ" in why and "not compared" in why and "--same-outputs" in why
    code, report = _report("--modules", "tests.kit.conn_sdk_jobid", "--same-outputs")
    [c] = report["connectors"]
    assert code == 1 and set(_rows(c, "FAIL")) == {"generations"}
    assert "output values differ (--same-outputs)" in _rows(c, "FAIL")["generations"]


@pytest.mark.parametrize("module,flags,rule,why", [
    ("tests.kit.conn_memory", (), "stateless", "fresh process answers INTERNAL"),
    ("tests.kit.conn_noisy", ("--expect-phase", "FAILED"), "errors", "carries a traceback"),
    ("tests.kit.conn_stubborn", ("--deadline", "1"), "cancellation", "ignores cancellation"),
    ("tests.kit.conn_delete_once", (), "delete", "DeleteTask (v2, again) failed: INTERNAL"),
    ("tests.kit.conn_slow_get", ("--deadline", "1"), "deadline", "5 failed Gets end the task"),
    ("tests.kit.conn_blocking", (), "loop", "blocks the event loop for 8."),
])
def test_check_fails_exactly_the_rule_a_bad_connector_breaks(module: str, flags: tuple[str, ...], rule: str, why: str) -> None:
    code, report = _report("--modules", module, *flags)
    assert code == 1 and report["passed"] is False
    [connector] = report["connectors"]  # only the module's own connector, not the built-ins
    failed = _rows(connector, "FAIL")
    assert set(failed) == {rule}, failed
    assert why in failed[rule]
    assert all(len(r["reason"]) <= 300 and "\n" not in r["reason"] for r in connector["rules"])


def test_check_fails_a_task_that_does_not_succeed_with_the_connectors_message(tmp_path: Path) -> None:
    t = template(tmp_path / "fail.json", "kit_fail", {}, {})
    code, report = _report("--modules", "tests.kit.conn_run", "--template", str(t))
    [c] = report["connectors"]
    assert code == 1 and set(_rows(c, "FAIL")) == {"succeeds"}
    assert "ended FAILED, not SUCCEEDED: the warehouse rejected the query" in _rows(c, "FAIL")["succeeds"]
    code, report = _report("--modules", "tests.kit.conn_run", "--template", str(t), "--expect-phase", "failed")
    assert code == 0 and "ended FAILED" in _rows(report["connectors"][0], "PASS")["succeeds"]


def test_check_a_task_that_does_not_end_in_time(tmp_path: Path) -> None:
    t = template(tmp_path / "slow.json", "kit_slow", {"seconds": "FLOAT"}, {"slept": "FLOAT"})
    code, report = _report("--modules", "tests.kit.conn_run", "--template", str(t), "--inputs", '{"seconds": 60}',
                           "--timeout", "1")
    [c] = report["connectors"]
    assert code == 1 and set(_rows(c, "FAIL")) == {"succeeds"}, c
    assert "did not end within 1 s (--timeout); last answer RUNNING" in _rows(c, "FAIL")["succeeds"]
    assert set(_rows(c, "SKIP")) == {"stateless", "repeatable"}


def test_check_sends_the_connection_on_every_v2_get_and_delete(tmp_path: Path) -> None:
    # The executor sends template.custom as the Connection on Create, Get and Delete: a resumed GetTask
    # (fresh process, repeats) without it would answer "region=none" and fail stateless/repeatable.
    t = template(tmp_path / "region.json", "kit_region", {}, {})
    doc = json.loads(t.read_text())
    doc["custom"] = {"configs": {"region": "eu", "require_region_on_delete": "yes"}}
    t.write_text(json.dumps(doc))
    code, report = _report("--modules", "tests.kit.conn_run", "--template", str(t))
    [c] = report["connectors"]
    assert code == 0 and _rows(c, "FAIL") == {}, c
    assert "region=eu" in _rows(c, "PASS")["repeatable"] and "region=eu" in _rows(c, "PASS")["stateless"]


@pytest.fixture
def web_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_check_webhook_fails_the_minimal_template_and_passes_a_working_one(tmp_path: Path, web_server: str) -> None:
    pytest.importorskip("flytekit.extras.webhook")
    code, report = _report("--category", "webhook", "--no-entry-points", "--modules", "flytekit.extras.webhook")
    [c] = report["connectors"]
    assert code == 1 and "succeeds" in _rows(c, "FAIL"), c
    assert "ended FAILED, not SUCCEEDED" in _rows(c, "FAIL")["succeeds"]
    t = template(tmp_path / "hook.json", "webhook", {}, {"info": "STRUCT"})
    doc = json.loads(t.read_text())
    doc["custom"] = {"url": web_server, "method": "GET", "headers": {}, "data": {}, "show_data": False,
                     "show_url": False, "timeout_sec": 5}
    t.write_text(json.dumps(doc))
    [c] = _passes(*_report("--category", "webhook", "--no-entry-points", "--modules", "flytekit.extras.webhook",
                           "--template", str(t)))
    assert c["name"] == "Webhook Connector" and c["source"] == "flytekit"


def test_check_text_report_and_template_with_inputs(tmp_path: Path) -> None:
    t = template(tmp_path / "sync.json", "kit_sync", {"x": "INTEGER"}, {"y": "INTEGER"})
    done = bridge("check", "--modules", "tests.kit.conn_run", "--template", str(t), "--inputs", '{"x": 2}')
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| Kit Sync")]
    assert len(rows) == len(RULES) and all("| PASS " in r or "| SKIP " in r for r in rows)
    assert any("sync (v1 calls ExecuteTaskSync)" in r for r in rows)
    assert any("through ExecuteTaskSync" in r for r in rows)


def test_check_misspelled_input_is_a_usage_error(tmp_path: Path) -> None:
    t = template(tmp_path / "sync.json", "kit_sync", {"x": "INTEGER"}, {"y": "INTEGER"})
    done = bridge("check", "--modules", "tests.kit.conn_run", "--template", str(t), "--inputs", '{"xx": 2}')
    assert done.returncode == 2
    assert "unknown input 'xx': the task declares x" in done.stderr


def test_check_without_a_connector_is_a_usage_error() -> None:
    done = bridge("check", "--modules", "no.such.module")
    assert done.returncode == 2
    assert "skipped no.such.module" in done.stderr and "no connector to check" in done.stderr
