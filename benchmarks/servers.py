"""The servers under test: how to start each one pinned to its cores, probe it, measure it, stop it.

Every server is started with ``taskset -c <cpus>`` in its own session, its log kept in a file. CPU
time and memory come from ``/proc`` for the whole process tree (multi-worker servers fork), and the
success counter from its Prometheus endpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import grpc

from benchmarks import payloads

VENV_BIN = Path(sys.executable).parent
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
SUCCESS_METRIC = "flyte_connector_requests_success_total"


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """One server configuration.

    Attributes:
        key: short id used in results (``empty-aio``, ``bridge``, ...).
        label: human name for tables.
        argv: command, with ``{port}`` and ``{metrics_port}`` placeholders.
        generations: which API generations ("v1", "v2") are measured on it. The empty servers answer
            both but never parse the request, so one generation is enough for them.
        cpus: the ``taskset`` CPU list for the server.
        workers: server worker processes (for the scaling figure).
        section: which part of the run measures it: ``servers`` (the main tables), ``scaling``,
            ``modes`` (the serving-architecture figure) or ``gateway``.
        upstream: key of a server this one forwards to (the gateway figure): its port fills
            ``{upstream_port}`` in ``argv``, so it must be started first.
    """

    key: str
    label: str
    argv: tuple[str, ...]
    generations: tuple[str, ...]
    cpus: str = "1"
    workers: int = 1
    section: str = "servers"
    upstream: str | None = None


def free_port(span: int = 1) -> int:
    """A port free on 127.0.0.1 right now, with ``span - 1`` free ports after it.

    The server binds it a moment later; a multi-worker bridge puts worker i's metrics on base + i.
    """
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + span - 1 > 65535:
            continue
        try:
            for extra in range(1, span):
                with socket.socket() as t:
                    t.bind(("127.0.0.1", base + extra))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports found")


def tree_pids(root: int) -> list[int]:
    """``root`` and all its live descendants."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return out


def cpu_seconds(root: int) -> float:
    """utime+stime of the live process tree, in seconds."""
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            # The command name may hold spaces: split after its closing parenthesis.
            fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / _CLK_TCK


def memory_kib(root: int, field: str) -> int:
    """Sum of a /proc/<pid>/status field (``VmRSS``, ``VmHWM``) over the tree, in KiB."""
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
    return total


def metrics_text(metrics_port: int) -> str:
    """The server's Prometheus endpoint, as text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        return str(r.read().decode())


def scrape_success(metrics_port: int) -> float:
    """Sum of every ``flyte_connector_requests_success_total`` sample on the server's endpoint."""
    text = metrics_text(metrics_port)
    total = 0.0
    for line in text.splitlines():
        if re.match(rf"{SUCCESS_METRIC}(\{{| )", line):
            total += float(line.rsplit(" ", 1)[1])
    return total


class RunningServer:
    """A started server; use as a context manager so it is always stopped."""

    def __init__(self, spec: ServerSpec, log_dir: Path, upstream_port: int | None = None) -> None:
        self.spec = spec
        self.metrics_port = free_port(spec.workers)
        # A multi-worker bridge serves worker i's metrics on prometheus_port + i (bridge/server/metrics.py).
        self.metrics_ports = [self.metrics_port + i for i in range(spec.workers)]
        # Chosen ports are released before the server binds them: keep the gRPC port out of that run.
        self.port = free_port()
        while self.port in self.metrics_ports:
            self.port = free_port()
        argv = [a.format(port=self.port, metrics_port=self.metrics_port, upstream_port=upstream_port)
                for a in spec.argv]
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{spec.key}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore")
        self.proc = subprocess.Popen(
            ["taskset", "-c", spec.cpus, *argv],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True, cwd=Path(__file__).resolve().parent.parent,
        )
        self.idle_rss_kib = 0

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Wait until gRPC and Prometheus answer, then record the idle RSS.

        Raises:
            RuntimeError: the server exited or did not come up in time (log tail included).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.key} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                self.success_count()
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                break
            except (OSError, http.client.HTTPException):
                time.sleep(0.25)
        else:
            raise RuntimeError(f"{self.spec.key} not ready after {timeout:.0f}s: {self.log_tail()}")
        time.sleep(1.0)  # let start-up allocations settle before calling the process idle
        self.idle_rss_kib = memory_kib(self.proc.pid, "VmRSS")

    def probe(self, generation: str, method: str) -> None:
        """One real gRPC call with the real generated classes; raise unless it succeeds sensibly."""
        mod = payloads._gen.v1 if generation == "v1" else payloads._gen.v2
        resp_cls = getattr(mod, f"{method}Response")
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as ch:
            call = ch.unary_unary(
                payloads.rpc_path(generation, method),
                request_serializer=None, response_deserializer=resp_cls.FromString,
            )
            resp = call(payloads.request_bytes(generation, method), timeout=30)
        if method == "GetTask":
            if resp.resource.phase != 3 or len(resp.resource.outputs.literals) != 2:
                raise RuntimeError(f"{self.spec.key} {generation} GetTask: unexpected answer {resp}")
        elif not resp.resource_meta:
            raise RuntimeError(f"{self.spec.key} {generation} CreateTask: empty resource_meta")

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server's process tree."""
        return cpu_seconds(self.proc.pid)

    def peak_rss_kib(self) -> int:
        """Peak resident memory (VmHWM) of the process tree so far."""
        return memory_kib(self.proc.pid, "VmHWM")

    def success_count(self) -> float:
        """The server's own success counter, summed over its workers."""
        return sum(scrape_success(p) for p in self.metrics_ports)

    def log_tail(self, n: int = 1500) -> str:
        """The end of the server's log, for error messages."""
        with contextlib.suppress(OSError):
            return self.log_path.read_bytes()[-n:].decode(errors="replace")
        return ""

    def stop(self) -> None:
        """SIGTERM the whole session, then SIGKILL what is left after 10 s."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def _bin(name: str) -> str:
    return str(VENV_BIN / name)


def all_specs() -> list[ServerSpec]:
    """Every server configuration the harness knows, in table order."""
    py = sys.executable
    sdk_flags = ("--port", "{port}", "--prometheus_port", "{metrics_port}")
    bridge = (_bin("flyte-bridge"), "serve", *sdk_flags, "--modules", "benchmarks.bench_connector")
    return [
        ServerSpec("empty-aio", "empty grpc.aio servicer",
                   (py, "-m", "benchmarks.empty_server", "--port", "{port}", "--metrics-port", "{metrics_port}"),
                   ("v2",)),
        ServerSpec("empty-threadpool", "empty grpc.server + thread pool",
                   (py, "-m", "benchmarks.empty_server", "--mode", "threadpool", "--port", "{port}",
                    "--metrics-port", "{metrics_port}"),
                   ("v2",)),
        ServerSpec("empty-loopthread", "empty grpc.server + thread pool + hand-off to one event loop",
                   (py, "-m", "benchmarks.empty_server", "--mode", "loopthread", "--workers", "128", "--port", "{port}",
                    "--metrics-port", "{metrics_port}"),
                   ("v2",)),
        ServerSpec("empty-sharedloop", "empty grpc.server + thread pool + one SharedLoop",
                   (py, "-m", "benchmarks.empty_server", "--mode", "sharedloop", "--workers", "128", "--port", "{port}",
                    "--metrics-port", "{metrics_port}"),
                   ("v2",)),
        ServerSpec("bridge", "bridge (1 worker)", bridge, ("v1", "v2")),
        ServerSpec("bridge-2w", "bridge (--workers 2, both cores)", (*bridge, "--workers", "2"),
                   ("v1", "v2"), cpus="0,1", workers=2, section="scaling"),
        ServerSpec("bridge-2w-pin", "bridge (--workers 2 --pin-workers, both cores)",
                   (*bridge, "--workers", "2", "--pin-workers"), ("v1", "v2"), cpus="0,1", workers=2,
                   section="scaling"),
        # The serving-architecture figure: --server-mode auto picks threads on one core (above).
        ServerSpec("bridge-aio", "bridge --server-mode aio, one core", (*bridge, "--server-mode", "aio"),
                   ("v1", "v2"), section="modes"),
        ServerSpec("bridge-aio-2c", "bridge --server-mode aio, free on both cores", (*bridge, "--server-mode", "aio"),
                   ("v1", "v2"), cpus="0,1", section="modes"),
        ServerSpec("bridge-threads-2c", "bridge --server-mode threads, free on both cores",
                   (*bridge, "--server-mode", "threads"), ("v1", "v2"), cpus="0,1", section="modes"),
        ServerSpec("flytekit", "flytekit pyflyte serve connector",
                   (_bin("pyflyte"), "serve", "connector", *sdk_flags,
                    "--modules", "benchmarks.flytekit_bench_connector"),
                   ("v1",)),
        # The gateway figure: the bridge on core 0 (beside h2load) forwarding to the flytekit server above
        # (core 1), against calling that server directly.
        ServerSpec("gateway", "bridge --upstream flytekit",
                   (_bin("flyte-bridge"), "serve", *sdk_flags, "--no-entry-points",
                    "--upstream", "v1://127.0.0.1:{upstream_port}"),
                   ("v1", "v2"), cpus="0", section="gateway", upstream="flytekit"),
        # The gateway's floor: the cheapest Python gRPC relays, forwarding each call's bytes unchanged to
        # the same flytekit server (benchmarks.empty_server --upstream), beside the gateway on core 0.
        ServerSpec("relay-aio", "empty relay, grpc.aio server + grpc.aio channel",
                   (py, "-m", "benchmarks.empty_server", "--port", "{port}", "--metrics-port", "{metrics_port}",
                    "--upstream", "127.0.0.1:{upstream_port}"),
                   ("v1",), cpus="0", section="gateway", upstream="flytekit"),
        ServerSpec("relay-threadpool", "empty relay, thread-pool server + blocking call",
                   (py, "-m", "benchmarks.empty_server", "--mode", "threadpool", "--workers", "128", "--port", "{port}",
                    "--metrics-port", "{metrics_port}", "--upstream", "127.0.0.1:{upstream_port}"),
                   ("v1",), cpus="0", section="gateway", upstream="flytekit"),
        ServerSpec("flyte-sdk", "flyte-sdk c0",
                   (_bin("c0"), *sdk_flags, "--modules", "benchmarks.flyte_bench_connector"),
                   ("v2",)),
    ]


def describe(spec: ServerSpec) -> str:
    """The command line as run, for the results file."""
    return json.dumps(["taskset", "-c", spec.cpus, *[Path(a).name if a.startswith("/") else a for a in spec.argv]])
