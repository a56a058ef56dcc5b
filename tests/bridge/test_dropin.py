"""The image's drop-in ``c0`` and ``pyflyte`` (bridge/commands/dropin.py): the chart's commands map onto ``flyte-bridge serve``.

The image test (tests/deploy/test_image.py) runs them for real in the container; these check the mapping and
the refusals without a server, plus one real ``pyflyte serve agent`` process on loopback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.commands import cli, dropin
from tests.bridge._helpers import channel, free_port
from translators import _gen

REPO = Path(__file__).resolve().parents[2]
CHART_FLAGS = ["--port", "8123", "--prometheus_port", "9123", "--worker", "4", "--timeout", "30",
               "--modules", "a.b", "--modules", "c"]


@pytest.fixture
def served_argv(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(cli, "main", lambda argv: calls.append(list(argv)) or 0)
    monkeypatch.delenv(dropin.EXTRA_ARGS_ENV, raising=False)
    return calls


@pytest.mark.parametrize("main,prefix", [(dropin.c0_main, []), (dropin.pyflyte_main, ["serve", "agent"]),
                                         (dropin.pyflyte_main, ["serve", "connector"])])
def test_chart_flags_reach_serve_unchanged(served_argv: list[list[str]], main, prefix: list[str]) -> None:
    assert main([*prefix, *CHART_FLAGS]) == 0
    assert served_argv == [["serve", *CHART_FLAGS]]
    args = cli.build_parser().parse_args(served_argv[0])
    assert (args.port, args.prometheus_port, args.worker, args.timeout, args.modules) == (8123, 9123, 4, 30.0, ["a.b", "c"])


def test_no_flags_means_the_sdk_defaults(served_argv: list[list[str]]) -> None:
    assert dropin.c0_main([]) == 0
    args = cli.build_parser().parse_args(served_argv[0])
    assert (args.port, args.prometheus_port, args.worker) == (8000, 9090, 10)  # c0's and pyflyte serve's defaults


def test_env_adds_bridge_flags(served_argv: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(dropin.EXTRA_ARGS_ENV, "--log-format json --upstream 'v1://flyteagent.flyte:8000'")
    dropin.pyflyte_main(["serve", "agent", "--port", "8000"])
    assert served_argv == [["serve", "--port", "8000", "--log-format", "json", "--upstream", "v1://flyteagent.flyte:8000"]]


@pytest.mark.parametrize("argv", [[], ["serve"], ["serve", "agents"], ["run", "wf.py", "main"], ["--verbose", "serve", "agent"],
                                  ["register", "serve", "agent"]])
def test_other_pyflyte_commands_fail_without_serving(served_argv: list[list[str]], argv: list[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert dropin.pyflyte_main(argv) == 2
    assert served_argv == []
    err = capsys.readouterr().err
    assert "is not served here" in err and "pyflyte serve agent" in err


def test_bad_flag_is_refused_by_serve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        dropin.c0_main(["--port", "not-a-port"])
    assert exc.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_pyflyte_serve_agent_process_serves_v1(tmp_path: Path) -> None:
    """A real process, as the chart starts it: the script the image installs, run by this venv's Python."""
    port = free_port()
    script = REPO / "deploy" / "bin" / "pyflyte"
    log = tmp_path / "pyflyte.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(script), "serve", "agent", "--port", str(port),
                                 "--prometheus_port", "-1", "--timeout", "60"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        from tests.bridge._helpers import Served, wait_serving

        wait_serving(Served(proc, port, -1, log))
        with channel(f"127.0.0.1:{port}") as ch:
            agents = _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=5).agents
        assert "echo" in {c.name for a in agents for c in a.supported_task_categories}
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log.read_text()
    assert "pyflyte serve agent: served by flyte-connector-bridge" in log.read_text()
