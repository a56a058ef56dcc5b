"""Real upstream servers for the gateway tests: SDK servers as subprocesses on free ports.

``SdkServer`` runs one command (``c0`` or ``pyflyte serve connector``) with ``--port`` and
``--prometheus_port`` from ``free_port`` and this repository on ``PYTHONPATH`` (for ``--modules``),
waits until its metadata service answers, and can be stopped and started again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

import translators as tr
from bridge.upstream import Upstreams
from bridge.upstream.dialect import without_connection
from modern import ConnectorRegistry
from tests._servers import Served, serving
from tests.bridge._helpers import REPO, free_port
from translators._gen import v2

VENV_BIN = Path(sys.executable).parent  # the test venv's c0 and pyflyte
#: The metadata method each generation's server answers.
LIST_METHOD = {
    "v1": "/flyteidl.service.AgentMetadataService/ListAgents",
    "v2": "/flyteidl2.connector.ConnectorMetadataService/ListConnectors",
}


SDK_FLAGS = ("--port", "{port}", "--prometheus_port", "{metrics_port}")


class SdkServer:
    """One SDK connector server subprocess.

    Args:
        argv: The command; ``{port}`` and ``{metrics_port}`` are filled with free ports.
        generation: ``v1`` or ``v2``: which metadata call tells that it is up.
        log_dir: Where its output goes.
        pythonpath: Its ``PYTHONPATH`` (default: this repository, for ``--modules tests...``).
    """

    def __init__(self, argv: list[str], generation: str, log_dir: Path, pythonpath: Path = REPO) -> None:
        self.argv = argv
        self.generation = generation
        self.pythonpath = pythonpath
        self.port = free_port()
        self.log_path = log_dir / f"{Path(argv[0]).name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def launch(self) -> SdkServer:
        """Start the process (``wait_up`` waits until it answers)."""
        argv = [a.format(port=self.port, metrics_port=free_port()) for a in self.argv]
        env = {**os.environ, "PYTHONPATH": str(self.pythonpath), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        return self

    def start(self, timeout: float = 90.0) -> SdkServer:
        """Start the process and wait until its metadata service answers."""
        self.launch().wait_up(timeout)
        return self

    def wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.address) as ch:
            call = ch.unary_unary(LIST_METHOD[self.generation])
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    call(b"", timeout=2)
                    return
                except grpc.RpcError:
                    time.sleep(0.2)
        self.stop()
        raise AssertionError(f"{self.argv[0]} did not answer in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        """Kill the server (its whole process group: SDK servers start worker processes)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


def c0(log_dir: Path) -> SdkServer:
    """flyte-sdk's ``c0`` with the interop flyte-sdk connector."""
    return SdkServer([str(VENV_BIN / "c0"), *SDK_FLAGS, "--modules", "tests.gateway._sdk_module"], "v2", log_dir)


def pyflyte_connector(log_dir: Path) -> SdkServer:
    """flytekit's ``pyflyte serve connector`` with the interop flytekit connectors (async and sync)."""
    return SdkServer(
        [str(VENV_BIN / "pyflyte"), "serve", "connector", *SDK_FLAGS, "--modules", "tests.gateway._fk_module"],
        "v1", log_dir,
    )


OLD_AGENT_DIR = Path(__file__).resolve().parent / "oldagent"


def old_pyflyte_agent(python: Path, log_dir: Path) -> SdkServer:
    """An old flytekit's ``pyflyte serve agent`` (run by that flytekit's ``python``) with the agents of
    ``oldagent/bridge_test_oldagent`` (found through their entry point) and Prometheus on a free port."""
    argv = [str(python), str(OLD_AGENT_DIR / "serve_agent.py"), "{metrics_port}", "--port", "{port}"]
    return SdkServer(argv, "v1", log_dir, pythonpath=OLD_AGENT_DIR)


@contextlib.asynccontextmanager
async def gateway(
    *addresses: str, registry: ConnectorRegistry | None = None, **options: Any
) -> AsyncIterator[tuple[Served, Upstreams]]:
    """A bridge (thread-pool server, real stubs) whose ``Upstreams`` forward to ``addresses``.

    Args:
        addresses: ``--upstream`` values.
        registry: The bridge's own connectors (default none).
        options: For ``Upstreams`` (``interval``, ``probe_timeout``, ``credentials``).
    """
    registry = registry if registry is not None else ConnectorRegistry()
    upstreams = Upstreams(registry, addresses, **options)
    await upstreams.start()
    try:
        async with serving(registry, poll_initial=0.01) as served:
            yield served, upstreams
    finally:
        await upstreams.close()


async def execute_sync(served: Served, req2: v2.CreateTaskRequest, **call: Any) -> Any:
    """v1 ``ExecuteTaskSync`` as FlytePropeller sends it (header, then inputs); the one reply's Resource."""
    parts = tr.create_task_request_to_execute_task_sync_v1(without_connection(req2))
    replies = [r async for r in served.v1.sync.ExecuteTaskSync(iter(parts), **call)]
    assert len(replies) == 1
    return replies[0].header.resource


async def wait_for(predicate: Any, timeout: float = 30.0, step: float = 0.2) -> Any:
    """Await ``predicate()`` (a coroutine function) until it returns a truthy value or raise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            found = await predicate()
            if found:
                return found
        except grpc.RpcError as exc:
            last = exc
        await asyncio.sleep(step)
    raise AssertionError(f"condition not met in {timeout}s (last error: {last})")


@contextlib.asynccontextmanager
async def upstream_bridge(
    registry: ConnectorRegistry, port: int = 0, credentials: grpc.ServerCredentials | None = None
) -> AsyncIterator[str]:
    """Another bridge as an upstream (both generations) on 127.0.0.1:``port``, optionally with TLS; yields its address."""
    import legacy
    import modern
    from bridge.server.assembly import stop_server

    server = grpc.aio.server()
    hub = modern.Hub(registry, metrics=False)
    modern.add_to_server(server, hub)
    legacy.add_to_server(server, hub)
    address = f"127.0.0.1:{port}"
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    await server.start()
    try:
        yield f"127.0.0.1:{bound}"
    finally:
        await stop_server(server, None)
