"""``flyte-bridge translate`` through the real module entry point (a subprocess)."""

from __future__ import annotations

import subprocess
import sys

from google.protobuf import json_format

from translators._gen import v1, v2


def _run(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "translators.cli_translate", *args], input=data,
                          capture_output=True, timeout=60)


def test_binary_v1_to_json_v2() -> None:
    req = v1.GetTaskRequest(task_type="sensor", resource_meta=b"{}")
    res = _run(["--type", "flyteidl.admin.GetTaskRequest", "--no-mark"], req.SerializeToString())
    assert res.returncode == 0, res.stderr
    out = json_format.Parse(res.stdout.decode(), v2.GetTaskRequest(), ignore_unknown_fields=True)
    assert out.task_category.name == "sensor"


def test_json_v2_to_binary_v1() -> None:
    res = _run(["--type", "GetTaskResponse", "--from", "v2", "--out-format", "binary", "--no-mark"],
               b'{"resource": {"phase": "SUCCEEDED"}}')
    assert res.returncode == 0, res.stderr
    out = v1.GetTaskResponse.FromString(res.stdout)
    assert out.resource.state == v1.SUCCEEDED


def test_bad_input_is_one_line_and_exit_2() -> None:
    for args, data in ((["--type", "flyteidl.admin.GetTaskRequest"], b"\xff\xff\xff"),
                       (["--type", "NoSuchType"], b""),
                       (["--type", "GetTaskRequest", "--from", "v1", "--in-format", "json"], b"{not json")):
        res = _run(args, data)
        assert res.returncode == 2
        assert b"Traceback" not in res.stderr
        assert len(res.stderr.decode().strip().splitlines()) == 1
