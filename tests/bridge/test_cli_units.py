"""Unit tests of the CLI pieces: flags, worker argv, TLS flags, logging, table, discovery, aliases."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from bridge import versions
from bridge.server.aliases import AliasHandler
from bridge.commands.cli import build_parser, main
from bridge.commands.compat import compat_command, version_rows
from bridge.discovery import discover
from bridge.server.logs import MAX_MESSAGE_CHARS, configure_logging
from bridge.server.metrics import DISABLED, start_metrics, worker_port
from bridge.commands.serve import child_argv, metrics_address
from bridge.table import format_start_table, routing_lines, served_rows
from bridge.server.tls import TlsConfigError, server_credentials


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_serve_defaults_match_the_sdk_servers() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.port, args.prometheus_port, args.worker, args.timeout, args.modules) == (8000, 9090, 10, None, [])
    assert args.workers == 1 and args.reflection is True and args.log_format == "text"


def test_modules_repeatable_and_multi_valued() -> None:
    args = build_parser().parse_args(["serve", "--modules", "a", "--modules", "b", "c", "--prometheus-port", "1"])
    assert args.modules == ["a", "b", "c"]
    assert args.prometheus_port == 1


@pytest.mark.parametrize("bad", [["serve", "--workers", "0"], ["serve", "--grace", "-1"], ["serve", "--log-format", "xml"]])
def test_bad_flags_are_rejected(bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(bad)
    assert exc.value.code == 2


def test_child_argv_replaces_workers_and_adds_index() -> None:
    argv = child_argv(["serve", "--port", "9000", "--workers", "3", "--modules", "m"], 2)
    assert argv[:3] == [sys.executable, "-m", "bridge"]
    assert "3" not in argv and argv.count("--workers") == 1
    assert argv[-4:] == ["--workers", "1", "--worker-index", "2"]
    assert "--workers=4" not in child_argv(["serve", "--workers=4"], 0)


def test_tls_flag_combinations(tmp_path: Path) -> None:
    assert server_credentials(None, None) is None
    with pytest.raises(TlsConfigError, match="together"):
        server_credentials(tmp_path / "c.pem", None)
    with pytest.raises(TlsConfigError, match="needs"):
        server_credentials(None, None, tmp_path / "ca.pem")
    secret = tmp_path / "key.pem"
    secret.write_text("")
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot really\n")
    with pytest.raises(TlsConfigError, match="empty"):
        server_credentials(cert, secret)
    with pytest.raises(TlsConfigError, match="cannot read") as exc:
        server_credentials(cert, tmp_path / "missing.key")
    assert "not really" not in str(exc.value)


def test_serve_with_half_a_tls_pair_exits_2(tmp_path: Path, restore_logging: None) -> None:
    assert main(["serve", "--tls-cert", str(tmp_path / "c.pem"), "--port", "0", "--prometheus_port", "-1"]) == 2


def test_serve_says_once_at_start_when_an_sdk_is_outside_its_range(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = versions.installed_version
    monkeypatch.setattr(versions, "installed_version", lambda p: "1.9.3" if p == "flytekit" else real(p))
    # Half a TLS pair stops serve right after its start checks: no server, no port.
    assert main(["serve", "--tls-cert", str(tmp_path / "c.pem"), "--port", "0", "--prometheus_port", "-1"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "flytekit 1.9.3" in line]
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0]
    assert "flytekit 1.9.3 is older than 1.11: its connectors cannot be adapted; run them behind --upstream" in lines[0]


def test_serve_says_nothing_of_versions_in_range(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(versions, "installed_version", lambda p: next(s.floor for s in versions.SUPPORTED if s.package == p))
    assert main(["serve", "--tls-cert", str(tmp_path / "c.pem"), "--port", "0", "--prometheus_port", "-1"]) == 2
    assert " is older than " not in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_json_log_lines_are_json_and_bounded(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("x").info("hello %s", "y" * (MAX_MESSAGE_CHARS * 2))
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")
    lines = stream.getvalue().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    assert first["level"] == "INFO" and first["logger"] == "x"
    assert len(first["msg"]) < MAX_MESSAGE_CHARS + 50 and "chars cut" in first["msg"]
    assert second["msg"] == "failed" and "ValueError: boom" in second["exc"]
    with pytest.raises(ValueError):
        configure_logging("loud", "text", stream)


def test_metrics_ports(tmp_path: Path) -> None:
    assert worker_port(9090, 3) == 9093
    assert worker_port(0, 3) == 0 and worker_port(DISABLED, 1) == DISABLED
    assert start_metrics(DISABLED) is None
    endpoint = start_metrics(0, addr="127.0.0.1")
    assert endpoint is not None and endpoint.port > 0
    import urllib.request

    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).read()
        assert b"flyte_connector_requests_success_total" in body
    finally:
        endpoint.close()
    assert metrics_address("[::]") == "0.0.0.0" and metrics_address("127.0.0.1") == "127.0.0.1"


class _Async:
    name = "A"
    task_type_name = "a_type"
    task_type_version = 1

    async def create(self, task_template: Any, output_prefix: str, **kw: Any) -> Any: ...
    async def get(self, resource_meta: Any, **kw: Any) -> Any: ...
    async def delete(self, resource_meta: Any, **kw: Any) -> None: ...


class _Sync:
    name = "S"
    task_type_name = "s_type"

    async def do(self, task_template: Any, output_prefix: str, **kw: Any) -> Any: ...


def test_start_table_rows_and_skipped_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modern

    registry = modern.ConnectorRegistry()
    registry.register(_Async())
    registry.register(_Sync())
    rows = served_rows(registry)
    assert [(r.connector, r.category, r.kind) for r in rows] == [("A", "a_type (v1)", "async"), ("S", "s_type (v0)", "sync")]
    assert all("v1" in r.generations and "v2" in r.generations for r in rows)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "bridge_test_bad_mod.py").write_text("raise RuntimeError('x' * 5000)\n")
    (tmp_path / "bridge_test_good_mod.py").write_text("LOADED = True\n")
    report = discover(
        registry, ["bridge_test_bad_mod", "bridge_test_good_mod"], builtins=(), entry_point_groups=False
    )
    assert report.loaded == [("--modules", "bridge_test_good_mod")]
    assert [f.name for f in report.failed] == ["bridge_test_bad_mod"]
    assert len(report.failed[0].error) <= 300 and report.failed[0].error.startswith("RuntimeError")
    text = format_start_table(rows, report)
    assert "s_type (v0)" in text and "sync" in text and "Skipped" in text and "bridge_test_bad_mod" in text
    assert "(none" in format_start_table([], None)
    # The good module imported but registered nothing: listed as such, not as a connector source.
    assert report.empty == [("--modules", "bridge_test_good_mod")]
    assert "registered no connector: bridge_test_good_mod (--modules)" in text


def test_start_table_shows_sources_and_how_a_shared_category_is_routed() -> None:
    import modern

    class _SdkA(_Async):
        implementation_source = "flyte-sdk"
        name = "A2"

    registry = modern.ConnectorRegistry()
    registry.register(_Async())
    registry.register(_SdkA())
    rows = served_rows(registry)
    assert [(r.connector, r.source) for r in rows] == [("A", f"bridge ({__name__})"), ("A2", f"flyte-sdk ({__name__})")]
    routes = routing_lines(registry)
    assert routes == [
        "a_type (v1): flytekit templates and v1 callers -> bridge; flyte-sdk templates and v2 callers -> flyte-sdk; "
        "Get/Delete -> the one that created the task"
    ]
    registry.prefer("a_type", "bridge")
    assert routing_lines(registry) == ["a_type (v1): every call to bridge (--prefer a_type=bridge)"]
    text = format_start_table(rows, None, routing_lines(registry))
    assert "| source" in text and "Routed (a category with several implementations):" in text


def test_prefer_flag_parses_category_and_source() -> None:
    args = build_parser().parse_args(["serve", "--prefer", "snowflake=flytekit", "--prefer", "bq=upstream:agent:8000"])
    assert args.prefer == [("snowflake", "flytekit"), ("bq", "upstream:agent:8000")]
    for bad in ("snowflake", "snowflake=pandas", "=flytekit", "x=upstream:"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", "--prefer", bad])


class _Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def test_alias_handler_routes_beta_paths_only() -> None:
    seen: list[str] = []

    class Delegate(grpc.GenericRpcHandler):
        def service(self, details: Any) -> Any:
            seen.append(details.method)
            return "handler" if details.method == "/new.Svc/Call" else None

    alias = AliasHandler({"old.Svc": "new.Svc"}, [Delegate()])
    assert alias.service(_Details("/old.Svc/Call")) == "handler"
    assert alias.service(_Details("/old.Svc/Other")) is None
    assert alias.service(_Details("/new.Svc/Call")) is None  # the real name is served elsewhere
    assert seen == ["/new.Svc/Call", "/new.Svc/Other"]


def test_compat_command_reports_versions() -> None:
    out = io.StringIO()
    code = compat_command(out)
    rows = {r.package: r for r in version_rows()}
    assert rows["grpcio"].installed == grpc.__version__
    assert rows["flyteidl2"].ok is True and rows["protobuf"].supported != "any"
    assert code == 0, out.getvalue()
    assert "flyteidl2" in out.getvalue() and "counts:" in out.getvalue()


def test_discovery_keeps_the_signal_handlers_a_module_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # import flytekit installs a SIGINT handler that exits 1: Ctrl-C must still reach the bridge's own.
    import signal

    import modern

    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "bridge_test_sig_mod.py").write_text(
        "import signal, sys\nsignal.signal(signal.SIGINT, lambda *a: sys.exit(1))\n"
    )
    before = signal.getsignal(signal.SIGINT)
    discover(modern.ConnectorRegistry(), ["bridge_test_sig_mod"], builtins=(), entry_point_groups=False)
    assert signal.getsignal(signal.SIGINT) is before
