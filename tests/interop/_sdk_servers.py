"""The SDKs' own servers as subprocesses: ``pyflyte serve connector`` (flytekit) and ``c0`` (flyte-sdk).

Both bind every interface and a Prometheus port; each gets free ports here. The current directory and
the repository are importable, so ``--modules tests.interop.X`` works as it does for the bridge.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from tests.bridge._helpers import REPO, free_port

BIN = Path(sys.executable).parent


def argv_of(server: str, port: int, prometheus_port: int) -> list[str]:
    """The command line of ``pyflyte`` (``pyflyte serve connector``) or ``c0`` on these ports."""
    ports = ["--port", str(port), "--prometheus_port", str(prometheus_port)]
    if server == "pyflyte":
        return [str(BIN / "pyflyte"), "serve", "connector", *ports]
    if server == "c0":
        return [str(BIN / "c0"), *ports]
    raise ValueError(server)


@contextlib.contextmanager
def sdk_server(server: str, tmp: Path, *extra: str, timeout: float = 90.0) -> Iterator[grpc.Channel]:
    """Run an SDK's server until the block ends; yield a channel to it once it accepts calls."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    log_path = tmp / f"{server}-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*argv_of(server, port, free_port()), *extra], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{server} exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
            ch = grpc.insecure_channel(f"127.0.0.1:{port}")
            try:
                grpc.channel_ready_future(ch).result(timeout=1)
                break
            except grpc.FutureTimeoutError:
                ch.close()
                if time.monotonic() > deadline:
                    raise AssertionError(f"{server} not ready after {timeout}s") from None
        with ch:
            yield ch
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
