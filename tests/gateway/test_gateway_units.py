"""The gateway's pieces without a server: addresses, the v1 dialect's translation, error mapping,
TLS flags and the start table section."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from bridge.table import format_upstreams
from bridge.server.tls import TlsConfigError, channel_credentials
from bridge.upstream import UpstreamStatus, parse_address
from bridge.upstream.client import PASSED_CODES, call_error
from bridge.upstream.dialect import DIALECTS
from modern.errors import StatusError, UnavailableError
from tests.modern._connectors import Phase, create_request, literal_type, template
from translators._gen import v1, v2, v2_types


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("host:8000", ("host:8000", None)),
        ("v1://flyteagent.flyte.svc:8000", ("flyteagent.flyte.svc:8000", "v1")),
        ("v2://dns:///c0:8000", ("dns:///c0:8000", "v2")),
        ("dns:///name:80", ("dns:///name:80", None)),
    ],
)
def test_parse_address(address: str, expected: tuple[str, str | None]) -> None:
    assert parse_address(address) == expected


def test_v1_dialect_sends_no_connection_and_keeps_the_rest() -> None:
    tmpl = template("job", inputs={"a": literal_type(v2_types.SimpleType.INTEGER)})
    req = create_request(tmpl, {"a": 7}, secrets={"token": "s3cr3t-value"}, configs={"region": "eu"})
    data = DIALECTS["v1"].request(req)
    assert b"s3cr3t-value" not in data and b"region" not in data
    back = v1.CreateTaskRequest.FromString(data)
    assert back.template.type == "job" and back.inputs.literals["a"].scalar.primitive.integer == 7
    assert back.output_prefix == req.output_prefix and req.connection.secrets["token"] == "s3cr3t-value"  # untouched
    get = v2.GetTaskRequest(task_category=v2.TaskCategory(name="job"), resource_meta=b"m")
    assert v1.GetTaskRequest.FromString(DIALECTS["v1"].request(get)).task_type == "job"  # old agents read task_type
    # The v2 dialect is the request's own bytes, connection included (c0 hands it to the connector).
    assert DIALECTS["v2"].request(req) == req.SerializeToString()


def test_v1_answers_parse_into_v2_with_the_faces_fixups() -> None:
    resource = v1.Resource(state=v1.SUCCEEDED, message="ok")  # an old agent: state only, no phase
    got = DIALECTS["v1"].answer(v2.GetTaskResponse, v1.GetTaskResponse(resource=resource).SerializeToString())
    assert got.resource.phase == Phase.SUCCEEDED and got.resource.message == "ok"


class _Rpc(grpc.aio.AioRpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def test_call_error_keeps_code_names_upstream_and_drops_tracebacks() -> None:
    err = call_error("up:1", _Rpc(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    assert isinstance(err, UnavailableError) and err.details == "upstream up:1 is unavailable: connection refused"
    flytekit_style = (
        "failed to do x task with error:\n Trace:\n\n    Traceback (most recent call last):\n"
        '      File "/srv/agent.py", line 3, in do\n        raise ValueError("bad")\n'
        "    ValueError: bad\n\nMessage:\n\n    ValueError: bad."
    )
    err = call_error("up:1", _Rpc(grpc.StatusCode.INTERNAL, flytekit_style))
    assert isinstance(err, StatusError) and err.code == grpc.StatusCode.INTERNAL
    assert "Traceback" not in err.details and "/srv/agent.py" not in err.details and "ValueError: bad" in err.details
    assert "\n" not in err.details and "failed to do x task with error: Trace: ValueError: bad" in err.details
    err = call_error("up:1", _Rpc(grpc.StatusCode.NOT_FOUND, "x" * 5000))
    assert err.code == grpc.StatusCode.NOT_FOUND and len(err.details) <= 1024


@pytest.mark.parametrize(
    ("upstream", "bridge"),
    [(c, c) for c in sorted(PASSED_CODES, key=lambda c: c.name)]
    + [
        (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.INTERNAL),
        (grpc.StatusCode.DATA_LOSS, grpc.StatusCode.INTERNAL),
    ],
)
def test_upstream_codes_outside_the_contract_are_mapped_and_named(upstream: grpc.StatusCode, bridge: grpc.StatusCode) -> None:
    err = call_error("up:1", _Rpc(upstream, "Unexpected <class 'UnicodeDecodeError'>: bad\n byte"))
    assert err.code == bridge and "up:1" in err.details and "Unexpected <class 'UnicodeDecodeError'>: bad byte" in err.details
    assert (f"({upstream.name})" in err.details) == (upstream not in PASSED_CODES)


def test_answers_too_large_for_the_bridge_say_what_was_too_large() -> None:
    meta = "Stream removed (received metadata size exceeds hard limit (value length 2000200 vs. 1048576))"
    err = call_error("up:1", _Rpc(grpc.StatusCode.RESOURCE_EXHAUSTED, meta))
    assert err.code == grpc.StatusCode.INTERNAL and "larger than the bridge reads" in err.details
    assert "status details" in err.details and "2000200" in err.details and "up:1" in err.details
    msg = "Stream removed (CLIENT: Received message larger than max (20971620 vs. 16777216))"  # gRPC 1.85's words
    err = call_error("up:1", _Rpc(grpc.StatusCode.RESOURCE_EXHAUSTED, msg))
    assert err.code == grpc.StatusCode.INTERNAL and "--max-message-bytes" in err.details and "20971620" in err.details
    # The same words with the upstream's own limit: it refused the bridge's request (its RESOURCE_EXHAUSTED).
    err = call_error("up:1", _Rpc(grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max (5000000 vs. 4194304)"))
    assert err.code == grpc.StatusCode.INTERNAL and "--max-message-bytes" not in err.details
    assert err.details == "upstream up:1 (RESOURCE_EXHAUSTED): Received message larger than max (5000000 vs. 4194304)"


def test_channel_credentials_flags(tmp_path: Path) -> None:
    assert channel_credentials(None, None, None) is None
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert isinstance(channel_credentials(ca), grpc.ChannelCredentials)
    with pytest.raises(TlsConfigError, match="together"):
        channel_credentials(ca, cert=ca)
    with pytest.raises(TlsConfigError, match="cannot read upstream CA"):
        channel_credentials(tmp_path / "missing.pem")


def test_upstreams_table_section() -> None:
    text = format_upstreams([UpstreamStatus("v1://a:1", "v1", "up", "3 task categories"),
                             UpstreamStatus("b:2", "?", "down", "upstream b:2 is unavailable")])
    lines = text.splitlines()
    assert lines[0] == "Upstreams:" and any("v1://a:1" in ln and "| up " in ln for ln in lines)
    assert any("b:2" in ln and "| down " in ln for ln in lines)


def test_registry_pending_upstream_makes_unknown_categories_unavailable() -> None:
    from modern import ConnectorRegistry
    from modern.errors import ConnectorNotFoundError

    reg = ConnectorRegistry()
    with pytest.raises(ConnectorNotFoundError):
        reg.implementations("x")
    reg.expect("upstream:a:1")
    with pytest.raises(UnavailableError, match="waiting for upstream:a:1"):
        reg.implementations("x")
    reg.expect("upstream:a:1", pending=False)
    with pytest.raises(ConnectorNotFoundError):
        reg.implementations("x")
    # A routing tag naming an upstream is UNAVAILABLE even when nothing is pending (it may come back).
    with pytest.raises(UnavailableError, match="upstream:b:2"):
        reg.implementations("x", 0, "upstream:b:2")
    with pytest.raises(ConnectorNotFoundError):
        reg.implementations("x", 0, "flytekit")


def test_one_upstream_per_target() -> None:
    from bridge.upstream import Upstreams
    from modern import ConnectorRegistry

    ups = Upstreams(ConnectorRegistry(), ["v1://a:1", "a:1", "b:2", "b:2"])
    assert [(u.address, u.target, u.forced) for u in ups.upstreams] == [("v1://a:1", "a:1", "v1"), ("b:2", "b:2", None)]


def test_serve_refuses_half_a_client_pair(tmp_path: Path) -> None:
    from bridge.commands.cli import main

    argv = ["serve", "--upstream", "a:1", "--upstream-tls-cert", str(tmp_path / "c.pem"), "--port", "0",
            "--prometheus_port", "-1"]
    assert main(argv) == 2


def test_a_calls_catch_up_refresh_that_fails_unexpectedly_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A call answered by an upstream marked down asks for a refresh in the background: a failure
    other than the upstream's status is logged as the refresh loop logs it, not left in the task."""
    import asyncio

    from bridge.upstream import Upstreams
    from modern import ConnectorRegistry

    ups = Upstreams(ConnectorRegistry(), ["v2://a:1"])
    (u,) = ups.upstreams
    u.answered, u.up = True, False

    async def broken(_u: object) -> None:
        raise RuntimeError("registry conflict")

    ups._refresh = broken  # type: ignore[method-assign]

    async def main() -> None:
        ups._observed(u, True, "")
        (task,) = ups._catching_up
        await task
        assert task.exception() is None and not ups._catching_up

    with caplog.at_level("ERROR", logger="bridge.upstream.manager"):
        asyncio.run(main())
    assert u.up and "upstream refresh failed" in caplog.text and "registry conflict" in caplog.text
