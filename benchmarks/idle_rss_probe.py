"""Idle memory of the bridge beside the SDK servers, measured in one run (issue 25): not part of ``make bench``.

Each server is started pinned to core 0, waited for (gRPC port and metrics answer), asked once for
its connectors (v1 ListAgents, or v2 ListConnectors for ``c0``), left idle for a second, and its
resident memory read from ``/proc`` (the whole process tree). Two cases:

- *built-ins*: ``flyte-bridge serve`` as ``make serve`` runs it (both SDKs installed, no plugins),
  ``c0`` and ``pyflyte serve connector`` with no connector modules;
- *same plugins*: each SDK server and the bridge serving the same connector module of that SDK
  (``benchmarks.flytekit_bench_connector``, ``benchmarks.flyte_bench_connector``).

Run: ``.venv/bin/python -m benchmarks.idle_rss_probe [--reps 3]``; servers are interleaved per repetition.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import grpc

from benchmarks import payloads
from benchmarks.servers import VENV_BIN, RunningServer, ServerSpec, memory_kib

_SDK = ("--port", "{port}", "--prometheus_port", "{metrics_port}")
_FK = ("--modules", "benchmarks.flytekit_bench_connector")
_FS = ("--modules", "benchmarks.flyte_bench_connector")
_BRIDGE = (str(VENV_BIN / "flyte-bridge"), "serve", *_SDK)
_PYFLYTE = (str(VENV_BIN / "pyflyte"), "serve", "connector", *_SDK)
_C0 = (str(VENV_BIN / "c0"), *_SDK)

SPECS = [
    ServerSpec("bridge", "flyte-bridge serve (built-ins)", _BRIDGE, ("v1",), cpus="0"),
    ServerSpec("c0", "c0 (no modules)", _C0, ("v2",), cpus="0"),
    ServerSpec("pyflyte", "pyflyte serve connector (no modules)", _PYFLYTE, ("v1",), cpus="0"),
    ServerSpec("bridge+fk", "flyte-bridge serve + flytekit connector module", (*_BRIDGE, *_FK), ("v1",), cpus="0"),
    ServerSpec("pyflyte+fk", "pyflyte serve connector + same module", (*_PYFLYTE, *_FK), ("v1",), cpus="0"),
    ServerSpec("bridge+fs", "flyte-bridge serve + flyte-sdk connector module", (*_BRIDGE, *_FS), ("v1",), cpus="0"),
    ServerSpec("c0+fs", "c0 + same module", (*_C0, *_FS), ("v2",), cpus="0"),
]


def _list(port: int, generation: str) -> int:
    """One metadata call; how many connectors/agents it listed."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        if generation == "v1":
            stub = payloads._gen.v1_grpc.AgentMetadataServiceStub(ch)
            return len(stub.ListAgents(payloads._gen.v1.ListAgentsRequest(), timeout=30).agents)
        stub2 = payloads._gen.v2_grpc.ConnectorMetadataServiceStub(ch)
        return len(stub2.ListConnectors(payloads._gen.v2.ListConnectorsRequest(), timeout=30).connectors)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="idle-rss-"))
    rss: dict[str, list[float]] = {s.key: [] for s in SPECS}
    for _ in range(args.reps):
        for spec in SPECS:
            with RunningServer(spec, work) as server:
                server.wait_ready()
                listed = _list(server.port, spec.generations[0])
                time.sleep(1.0)
                rss[spec.key].append(memory_kib(server.proc.pid, "VmRSS") / 1024)
                print(f"{spec.key:12s} {rss[spec.key][-1]:6.1f} MiB ({listed} listed)", flush=True)
    print("\nmedian idle RSS, MiB:")
    for spec in SPECS:
        print(f"| {spec.label} | {statistics.median(rss[spec.key]):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
