"""``flyte-bridge run``: real CLI processes, a real bridge inside, both generations' clients over gRPC."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.kit.clients import Outcome
from bridge.kit.live import LiveLines, outputs_table
from tests.kit import _tasks
from tests.kit._cli import REPO, bridge, env, template

RUN_MODULES = ("--modules", "tests.kit.conn_run")


def _lines(text: str, generation: str, phase: str) -> list[str]:
    prefix = {"v1": "v1 FlytePropeller", "v2": "v2 Flyte 2 executor"}[generation]
    return [line for line in text.splitlines() if line.startswith(prefix) and f" {phase} " in line]


def test_run_echo_template_file_both_generations(tmp_path: Path) -> None:
    t = template(tmp_path / "echo.json", "echo", {"x": "INTEGER", "name": "STRING"})
    done = bridge("run", "--template", str(t), "--inputs", '{"x": 3, "name": "ada"}', "--poll", "0.1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _lines(done.stdout, "v1", "SUCCEEDED") and _lines(done.stdout, "v2", "SUCCEEDED")
    # The outputs, side by side: one row per output with the same native value for both generations.
    assert any(line.split("|")[1:4] == [" x      ", " 3                 ", " 3                   "]
               for line in done.stdout.splitlines()), done.stdout
    assert '"ada"' in done.stdout
    assert "differences" not in done.stdout


def test_run_binary_v1_template_and_inputs_file(tmp_path: Path) -> None:
    from google.protobuf import json_format

    from translators._gen import v1_core_tasks

    doc = json.loads(template(tmp_path / "t.json", "echo", {"x": "FLOAT"}).read_text())
    binary = tmp_path / "echo.pb"
    binary.write_bytes(json_format.ParseDict(doc, v1_core_tasks.TaskTemplate()).SerializeToString())
    (tmp_path / "in.json").write_text('{"x": 2.5}')
    done = bridge("run", "--template", str(binary), "--inputs", f"@{tmp_path / 'in.json'}", "--poll", "0.1",
                  "--generation", "v2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _lines(done.stdout, "v2", "SUCCEEDED") and not _lines(done.stdout, "v1", "SUCCEEDED")
    assert "2.5" in done.stdout


@pytest.mark.interop
@pytest.mark.parametrize("source,target", [
    (_tasks.FLYTEKIT_ECHO, "fk_tasks.py:echo_fk"),
    (_tasks.FLYTE_SDK_ECHO, "sdk_tasks.py:echo_sdk"),
])
def test_run_sdk_task_objects(tmp_path: Path, source: str, target: str) -> None:
    pytest.importorskip("flytekit" if target.startswith("fk") else "flyte")
    (tmp_path / target.split(":")[0]).write_text(source)
    done = bridge("run", target, "--inputs", '{"x": 7, "s": "hi"}', "--poll", "0.1", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    name = target.split(":")[1].replace("fk", "flytekit")
    assert f"echo v0 ({name})" in done.stdout
    assert _lines(done.stdout, "v1", "SUCCEEDED") and _lines(done.stdout, "v2", "SUCCEEDED")
    assert '"hi"' in done.stdout and "differences" not in done.stdout


def test_run_sync_connector_uses_execute_task_sync_on_v1(tmp_path: Path) -> None:
    t = template(tmp_path / "sync.json", "kit_sync", {"x": "INTEGER"}, {"y": "INTEGER"})
    done = bridge("run", "--template", str(t), "--inputs", '{"x": 21}', "--poll", "0.1", *RUN_MODULES)
    assert done.returncode == 0, done.stdout + done.stderr
    v1_done = _lines(done.stdout, "v1", "SUCCEEDED")
    assert v1_done and all("(sync)" in line for line in v1_done)  # ListAgents said sync: one ExecuteTaskSync
    assert not _lines(done.stdout, "v1", "CREATED")
    assert _lines(done.stdout, "v2", "CREATED")  # v2 has no sync service: CreateTask, then GetTask
    assert "42" in done.stdout


def test_run_failing_connector_exits_1_with_its_message(tmp_path: Path) -> None:
    t = template(tmp_path / "fail.json", "kit_fail", {})
    done = bridge("run", "--template", str(t), "--poll", "0.1", *RUN_MODULES)
    assert done.returncode == 1
    for g in ("v1", "v2"):
        failed = _lines(done.stdout, g, "FAILED")
        assert failed and "the warehouse rejected the query" in failed[-1]


def test_run_unknown_task_type_is_not_routed_by_propeller(tmp_path: Path) -> None:
    t = template(tmp_path / "nope.json", "no_such_type", {})
    done = bridge("run", "--template", str(t), "--poll", "0.1")
    assert done.returncode == 1
    assert "ListAgents does not advertise 'no_such_type'" in _lines(done.stdout, "v1", "NOT_ROUTED")[-1]
    assert "NOT_FOUND" in _lines(done.stdout, "v2", "CREATE_FAILED")[-1]


def test_run_slow_connector_shows_progress_lines(tmp_path: Path) -> None:
    t = template(tmp_path / "slow.json", "kit_slow", {"seconds": "FLOAT"}, {"slept": "FLOAT"})
    done = bridge("run", "--template", str(t), "--inputs", '{"seconds": 1.2}', "--poll", "0.2", *RUN_MODULES)
    assert done.returncode == 0, done.stdout + done.stderr
    for g in ("v1", "v2"):
        running = _lines(done.stdout, g, "RUNNING")
        assert len(running) >= 2, done.stdout  # the message changes on every poll: one plain line each
        assert all(" of 1.2s" in line for line in running)
        assert _lines(done.stdout, g, "SUCCEEDED")


def test_ctrl_c_sends_delete_task_for_every_started_task(tmp_path: Path) -> None:
    marker = tmp_path / "deleted.txt"
    t = template(tmp_path / "slow.json", "kit_slow", {"seconds": "FLOAT", "marker": "STRING"}, {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "--template", str(t), "--poll", "0.2", *RUN_MODULES,
         "--inputs", json.dumps({"seconds": 600, "marker": str(marker)})],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=REPO,
        # Started as a shell would start it with Ctrl-C ignored (a background job): run still honours Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until both generations report RUNNING
            line = proc.stdout.readline()  # type: ignore[union-attr]
            seen.append(line)
            if _lines("".join(seen), "v1", "RUNNING") and _lines("".join(seen), "v2", "RUNNING"):
                break
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: DeleteTask sent" in rest
    assert _lines(rest, "v1", "ABORTED_BY_USER") and _lines(rest, "v2", "ABORTED_BY_USER")
    assert marker.read_text().splitlines() == ["deleted", "deleted"]  # one DeleteTask per generation reached it


@pytest.mark.parametrize("args,needle", [
    (("--template", "/nonexistent.json"), "cannot read template"),
    (("--template", "{tmp}/junk.json"), "is not a TaskTemplate"),
    (("--template", "{tmp}/echo.json", "--inputs", '{"x": "three"}'), "inputs.x"),
    (("--template", "{tmp}/echo.json", "--inputs", "[1]"), "must be a JSON object"),
    (("--template", "{tmp}/echo.json", "--inputs", '{"nam": "hello"}'), "unknown input 'nam': the task declares x"),
    (("{tmp}/nothing.py:task",), "FILE.py:TASK_NAME"),
    ((), "exactly one of"),
])
def test_run_usage_errors_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    template(tmp_path / "echo.json", "echo", {"x": "INTEGER"})
    (tmp_path / "junk.json").write_text('{"no_such_field": 1}')
    done = bridge("run", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert done.returncode == 2
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_outputs_table_names_each_difference() -> None:
    a = Outcome("v1", phase="SUCCEEDED", done=True, outputs={"x": 1, "s": "a"})
    b = Outcome("v2", phase="SUCCEEDED", done=True, outputs={"x": 2, "s": "a"})
    lines, diffs = outputs_table([a, b])
    assert diffs == ["output x: v1 1, v2 2"]
    assert any("| x " in line and " 1 " in line and " 2 " in line for line in lines)
    _, phase_diff = outputs_table([a, Outcome("v2", phase="FAILED", done=True)])
    assert phase_diff == ["phase: v1 SUCCEEDED, v2 FAILED"]


def test_live_lines_rewrite_in_place_on_a_tty() -> None:
    import io

    out = io.StringIO()
    live = LiveLines(out, ["v1", "v2"], tty=True)
    live.update(Outcome("v1", phase="RUNNING", message="1 of 3", started=time.monotonic()))
    live.update(Outcome("v1", phase="RUNNING", message="2 of 3", started=time.monotonic()))
    text = out.getvalue()
    assert text.count("\x1b[2F") == 1  # the second update moved back over the two-line block
    assert "2 of 3" in text.rsplit("\x1b[2F", 1)[1]
    live.sleep(0.6)  # between polls the block is redrawn, so elapsed times keep ticking
    assert out.getvalue().count("\x1b[2F") >= 2
