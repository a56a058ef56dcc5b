"""The container image, built and run with podman and checked from the host (``make image-test``).

Skipped unless ``BRIDGE_IMAGE_TEST=1``; skipped with the reason when podman cannot be installed or run.
Builds ``deploy/Containerfile`` on a base made here from Debian's packages (registries are unreachable on
the project's CI; the base is cached as ``localhost/flyte-bridge-base:bookworm``) with both SDK extras, then
runs it as an operator would (read-only root, a tmpfs /tmp, host network, this machine's runtime and
ulimits: ../shared/CONTAINERS.md) and checks, with the real generated stubs of both generations:
health SERVING, ListAgents and ListConnectors, an echo task as FlytePropeller and as the Flyte 2 executor
call it, the flyteconnector chart's commands (``c0``, ``pyflyte serve agent|connector``), the user, the
read-only root, and that ``podman stop`` (SIGTERM) lets an in-flight call finish and exits 0. Then both
kustomize overlays' rendered Deployments are run the way the kubelet would run their container (command,
args, securityContext, volumes, ports; preStop, then SIGTERM within the grace period), the gateway in front
of flytekit's own ``pyflyte serve agent`` from the same image.
A whole run writes deploy/IMAGE-FIGURES.md (image size, time from ``podman run`` to SERVING, resident
memory, stop time, and the machine's load average, since the timings depend on it).
``BRIDGE_IMAGE=TAG`` tests an image built already instead of building one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import json
import os
import platform
import resource
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bridge.commands.demo import _v1_side, _v2_side
from tests.bridge._helpers import free_port
from translators import _gen

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "deploy" / "IMAGE-FIGURES.md"
TEST_TAG = "localhost/flyte-connector-bridge:test"
TEST_EXTRAS = "flytekit,flyte"

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(not os.environ.get("BRIDGE_IMAGE_TEST"), reason="image test: BRIDGE_IMAGE_TEST=1 (make image-test)"),
    pytest.mark.timeout(600),
]


def _image_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_image", REPO / "deploy" / "image.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_flags(host_network: bool = True) -> list[str]:
    """The settings this machine needs (CONTAINERS.md: runc, ulimits), read-only root, tmpfs /tmp, host network."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return ["--runtime", "runc", "--ulimit", f"nofile={hard}:{hard}", "--ulimit", "nproc=4096:4096",
            *(["--network", "host"] if host_network else []), "--read-only", "--tmpfs", "/tmp"]


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, check=check)


@dataclass
class Figures:
    tag: str = TEST_TAG
    size_bytes: int = 0
    build_seconds: float | None = None
    to_serving: dict[str, float] = field(default_factory=dict)
    stop_seconds: float | None = None
    rss_bytes: int | None = None


@pytest.fixture(scope="module")
def figures() -> Iterator[Figures]:
    f = Figures()
    yield f
    # Only a whole run's figures (not a -k subset's) replace the file.
    if f.size_bytes and len(f.to_serving) == 1 + len(CHART_COMMANDS) and f.stop_seconds is not None:
        write_figures(f)


def write_figures(f: Figures) -> None:
    build = ("" if f.build_seconds is None else
             f"| `podman build` (this run; layers cached from earlier runs are reused) | {f.build_seconds:.0f} s |\n")
    rows = "".join(f"| `podman run` to gRPC health SERVING, {what} | {secs:.1f} s |\n" for what, secs in f.to_serving.items())
    stop = "" if f.stop_seconds is None else (
        f"| `podman stop -t 30` with a 3 s call in flight, to exit code 0 | {f.stop_seconds:.1f} s |\n")
    memory = "" if f.rss_bytes is None else (
        f"| resident memory of `flyte-bridge serve` once SERVING (idle, one worker) | {f.rss_bytes / 2**20:.0f} MiB |\n")
    how = f"(EXTRAS={TEST_EXTRAS}, on a Debian 12 base made with mmdebstrap, Python 3.11), " if f.tag == TEST_TAG else ""
    FIGURES.write_text(
        "<!-- written by `make image-test` (tests/deploy/test_image.py); do not edit -->\n"
        f"Image `{f.tag}` {how}measured on {platform.machine()} with {os.cpu_count()} cores shared with other work "
        f"(5-minute load average {os.getloadavg()[1]:.1f} at the end of the run; timings are noisy):\n\n"
        "| figure | value |\n|---|---|\n"
        f"| image size (`podman image inspect`, base included) | {f.size_bytes / 1e6:.0f} MB |\n"
        f"{build}{rows}{stop}{memory}"
    )


@pytest.fixture(scope="module")
def image(figures: Figures) -> str:
    tag = os.environ.get("BRIDGE_IMAGE")
    tool = _image_module()
    if tag:
        try:
            tool.ensure_tools(quiet=True)
        except tool.ToolsUnavailable as exc:
            pytest.skip(f"image test: {exc}")
    else:
        tag = TEST_TAG
        try:
            figures.build_seconds = tool.build(tag, base=os.environ.get("BRIDGE_IMAGE_BASE", "local"), extras=TEST_EXTRAS)
        except tool.ToolsUnavailable as exc:
            pytest.skip(f"image test: {exc}")
    figures.tag, figures.size_bytes = tag, tool.image_size(tag)
    return tag


_names = itertools.count()


@dataclass
class Container:
    name: str
    port: int
    metrics_port: int
    started: float

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        out = podman("logs", self.name, check=False)
        return out.stdout + out.stderr

    def state(self, field_: str) -> str:
        return podman("inspect", self.name, "--format", "{{." + field_ + "}}").stdout.strip()

    def wait_serving(self, timeout: float = 90.0) -> float:
        """Seconds from ``podman run`` until health answers SERVING for ``""``."""
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.target) as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            while time.monotonic() < deadline:
                with contextlib.suppress(grpc.RpcError):
                    if stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5).status == \
                            health_pb2.HealthCheckResponse.SERVING:
                        return time.monotonic() - self.started
                if self.state("State.Status") == "exited":
                    raise AssertionError(f"container exited ({self.state('State.ExitCode')}):\n{self.logs()}")
                time.sleep(0.05)
        raise AssertionError(f"not SERVING after {timeout}s:\n{self.logs()}")


@contextlib.contextmanager
def container(image: str, *args: str, entrypoint: str | None = None, extra: tuple[str, ...] = (),
              publish: bool = False) -> Iterator[Container]:
    """A detached container of ``image`` on free host ports: on the host's network with ``--port`` and
    ``--prometheus_port`` added to ``args``, or (``publish``) with no port flags, the default ports 8000 and
    9090 published on them."""
    port, metrics_port = free_port(), free_port()
    name = f"bridge-image-test-{os.getpid()}-{next(_names)}"
    cmd = ["run", "-d", "--name", name, *run_flags(host_network=not publish), *extra]
    if publish:
        cmd += ["-p", f"127.0.0.1:{port}:8000", "-p", f"127.0.0.1:{metrics_port}:9090"]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    ports = [] if publish else ["--port", str(port), "--prometheus_port", str(metrics_port)]
    started = time.monotonic()
    podman(*cmd, image, *args, *ports)
    try:
        yield Container(name, port, metrics_port, started)
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


async def both_generations(target: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    async with grpc.aio.insecure_channel(target) as ch:
        return await _v1_side(ch), await _v2_side(ch)


def listed_v1(target: str) -> set[str]:
    with grpc.insecure_channel(target) as ch:
        agents = _gen.v1_grpc.AgentMetadataServiceStub(ch).ListAgents(_gen.v1.ListAgentsRequest(), timeout=5).agents
    return {c.name for a in agents for c in a.supported_task_categories}


def listed_v2(target: str) -> set[str]:
    with grpc.insecure_channel(target) as ch:
        found = _gen.v2_grpc.ConnectorMetadataServiceStub(ch).ListConnectors(_gen.v2.ListConnectorsRequest(), timeout=5)
    return {c.name for conn in found.connectors for c in conn.supported_task_categories}


@pytest.fixture(scope="module")
def served(image: str, figures: Figures) -> Iterator[Container]:
    """The image's own entry point (``flyte-bridge serve``) with no other flags than the ports."""
    with container(image) as c:
        figures.to_serving["`flyte-bridge serve` (flytekit and flyte-sdk imported)"] = c.wait_serving()
        figures.rss_bytes = rss(c)
        yield c


def json_lines(text: str) -> list[dict]:
    """The log lines that are JSON objects."""
    records = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
    return records


def rss(c: Container) -> int:
    """Resident memory of the container's server process (its /proc status on the host)."""
    status = Path(f"/proc/{c.state('State.Pid')}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024


def test_echo_task_through_both_generations(served: Container) -> None:
    v1_rows, v2_rows = asyncio.run(both_generations(served.target))
    for rows in (v1_rows, v2_rows):
        steps = dict((step, got) for step, _, got in rows)
        assert "Echo Connector [echo v0]" in steps["discover"]
        assert steps["get"].startswith("phase SUCCEEDED"), steps["get"]
        assert "greeting: 'hello'" in steps["get"] and "n: 7" in steps["get"], steps["get"]
    # The SDK extras are in the image: flytekit's webhook connector is served to both generations.
    assert {"echo", "sensor", "webhook"} <= listed_v1(served.target)
    assert {"echo", "sensor", "webhook"} <= listed_v2(served.target)


def test_metrics_port_serves_prometheus(served: Container) -> None:
    body = urllib.request.urlopen(f"http://127.0.0.1:{served.metrics_port}/metrics", timeout=5).read().decode()
    assert "flyte_connector_requests_success_total" in body or "process_cpu_seconds_total" in body


def test_runs_as_non_root_on_a_read_only_root(served: Container) -> None:
    pid = served.state("State.Pid")
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
    assert uids and all(int(u) != 0 for u in uids), uids  # real, effective, saved, filesystem
    assert served.state("HostConfig.ReadonlyRootfs") == "true"
    denied = podman("exec", served.name, "touch", "/opt/bridge/written", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr, denied
    podman("exec", served.name, "touch", "/tmp/scratch")  # /tmp is the one writable path


SDK_FLAGS = ("--worker", "4", "--timeout", "120")
JSON_LOGS = {"FLYTE_BRIDGE_ARGS": "--log-format json"}  # the docs' podEnv line
CHART_COMMANDS = {
    # The chart's own command lines, no flags: the SDK servers' default ports 8000 and 9090, published.
    "c0": (("c0",), (), {}),
    "pyflyte-serve-agent+podEnv": (("pyflyte", "serve", "agent"), (), JSON_LOGS),
    # With the SDK servers' flags (and --port/--prometheus_port on free ports), mapped onto the bridge's.
    "c0-flags": (("c0",), SDK_FLAGS, {}),
    "pyflyte-serve-connector-flags": (("pyflyte", "serve", "connector"), SDK_FLAGS, {}),
}


@pytest.mark.parametrize("case", list(CHART_COMMANDS))
def test_chart_commands_serve_the_bridge(image: str, figures: Figures, case: str) -> None:
    """The flyteconnector chart's commands: the bridge serving both generations and Prometheus on their ports."""
    (entrypoint, *sub), flags, env = CHART_COMMANDS[case]
    publish = not flags
    cm = container(image, *sub, *flags, entrypoint=entrypoint, publish=publish,
                   extra=tuple(f for k, v in env.items() for f in ("-e", f"{k}={v}")))
    with cm as c:
        figures.to_serving[f"`{' '.join((entrypoint, *sub))}`{' with flags' if flags else ''}"] = c.wait_serving()
        assert {"echo", "webhook"} <= listed_v1(c.target)
        assert {"echo", "webhook"} <= listed_v2(c.target)
        body = urllib.request.urlopen(f"http://127.0.0.1:{c.metrics_port}/metrics", timeout=5).read().decode()
        assert "process_cpu_seconds_total" in body
        logs = c.logs()
        assert f"{' '.join((entrypoint, *sub))}: served by flyte-connector-bridge" in logs
        assert ("ready on [::]:8000" if publish else f"ready on [::]:{c.port}") in logs, logs
        if flags:
            assert " ".join(SDK_FLAGS) in logs  # passed on as given
        if env:  # --log-format json came through FLYTE_BRIDGE_ARGS
            assert any(record.get("msg", "").startswith("flyte-bridge ready on [::]:8000") for record in json_lines(logs)), logs


def test_other_pyflyte_commands_fail_clearly(image: str) -> None:
    out = podman("run", "--rm", *run_flags(), "--entrypoint", "pyflyte", image, "run", "wf.py", "main", check=False)
    assert out.returncode == 2, out
    assert "`pyflyte run wf.py main` is not served here" in out.stderr
    assert "flytekit's own pyflyte is /opt/bridge/bin/pyflyte" in out.stderr
    assert "ready on" not in out.stderr + out.stdout


def test_stop_drains_in_flight_call_and_exits_0(image: str, figures: Figures, tmp_path: Path) -> None:
    """``podman stop -t 30`` sends SIGTERM: the call in flight finishes, then the bridge exits 0."""
    signal_dir = tmp_path / "signal"
    signal_dir.mkdir()
    signal_dir.chmod(0o777)  # written by the image's non-root user
    conn = REPO / "tests" / "bridge" / "conn_slow.py"
    extra = ("-v", f"{conn}:/conn/conn_slow.py:ro", "-v", f"{signal_dir}:/signal", "--workdir", "/conn",
             "-e", "SLOW_CONNECTOR_STARTED=/signal/started")
    with container(image, "--modules", "conn_slow", "--grace", "20", extra=extra) as c:
        c.wait_serving()
        result: dict[str, object] = {}

        def _call() -> None:
            with grpc.insecure_channel(c.target) as ch:
                try:
                    result["resp"] = _gen.v2_grpc.AsyncConnectorServiceStub(ch).GetTask(
                        _gen.v2.GetTaskRequest(task_category=_gen.v2.TaskCategory(name="slow"),
                                               resource_meta=b'{"seconds": 3.0}'),
                        timeout=30,
                    )
                except grpc.RpcError as exc:
                    result["err"] = exc

        caller = threading.Thread(target=_call)
        caller.start()
        deadline = time.monotonic() + 20
        while not (signal_dir / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (signal_dir / "started").exists(), c.logs()  # the call is inside the connector now
        t0 = time.monotonic()
        podman("stop", "-t", "30", c.name, timeout=60)
        figures.stop_seconds = time.monotonic() - t0
        caller.join(30)
        logs = c.logs()
        assert "err" not in result, (result.get("err"), logs)
        assert result["resp"].resource.phase == _gen.v2_core_execution.TaskExecution.SUCCEEDED  # type: ignore[attr-defined]
        assert c.state("State.ExitCode") == "0", logs
        # The server saw the signal (it logs it; the wording is runtime.py's, being reworked elsewhere).
        assert "SIGTERM" in logs, logs
        assert figures.stop_seconds < 25, logs  # drained, not killed at the 30 s timeout


# --- The rendered Deployments, run by podman as the kubelet would run their container -------------------

KUBE = REPO / "deploy" / "kubernetes"


def rendered_deployment(overlay: str) -> dict:
    yaml = pytest.importorskip("yaml")
    kubectl = subprocess.run(["kubectl", "kustomize", str(KUBE / "overlays" / overlay)], capture_output=True,
                             text=True, timeout=60, check=False)
    if kubectl.returncode != 0 and "No such file" in kubectl.stderr:
        pytest.skip("kubectl not installed")
    assert kubectl.returncode == 0, kubectl.stderr
    return next(d for d in yaml.safe_load_all(kubectl.stdout) if d and d["kind"] == "Deployment")


def pod_as_podman(deployment: dict, secrets: Path) -> tuple[list[str], list[str], dict]:
    """The container of ``deployment`` as podman flags (user, read-only root, capabilities, no privilege
    escalation, the /tmp emptyDir as a tmpfs, the secrets volume as a read-only mount), its entry point
    (``command``) and its ``args``; also returns the container spec."""
    pod = deployment["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    sc, psc = spec["securityContext"], pod["securityContext"]
    flags = ["--user", f"{psc['runAsUser']}:{psc['runAsGroup']}", "--cap-drop", "ALL"]
    flags += ["--read-only"] if sc["readOnlyRootFilesystem"] else []
    flags += ["--security-opt", "no-new-privileges"] if sc["allowPrivilegeEscalation"] is False else []
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in spec["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            flags += ["--tmpfs", mount["mountPath"]]
        elif "secret" in volume:
            flags += ["-v", f"{secrets}:{mount['mountPath']}:ro"]
    entrypoint = ["--entrypoint", json.dumps(spec["command"])]
    return flags + entrypoint, list(spec.get("args", [])), spec


def base_run_flags() -> list[str]:
    """This machine's settings only (runtime, ulimits): the Deployment decides the rest."""
    return run_flags(host_network=False)[:6]


@contextlib.contextmanager
def deployment_container(image: str, deployment: dict, tmp_path: Path, extra: tuple[str, ...] = ()) -> Iterator[tuple[Container, dict]]:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "EXAMPLE_TOKEN").write_text("not-a-real-secret")
    secrets.chmod(0o755)
    pod_flags, args, spec = pod_as_podman(deployment, secrets)
    ports = {p["name"]: p["containerPort"] for p in spec["ports"]}
    host = {name: free_port() for name in ports}
    name = f"bridge-image-test-{os.getpid()}-{next(_names)}"
    publish = [f for n, p in ports.items() for f in ("-p", f"127.0.0.1:{host[n]}:{p}")]
    started = time.monotonic()
    podman("run", "-d", "--name", name, *base_run_flags(), *pod_flags, *publish, *extra, image, *args)
    try:
        yield Container(name, host["connector-grpc"], host["metrics"], started), spec
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


def lifecycle_stop(c: Container, deployment: dict, spec: dict) -> None:
    """What the kubelet does: run preStop in the container, then SIGTERM with the rest of the grace period."""
    pre_stop = spec["lifecycle"]["preStop"]["exec"]["command"]
    t0 = time.monotonic()
    podman("exec", c.name, *pre_stop, timeout=60)
    left = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] - (time.monotonic() - t0)
    assert left > 0
    podman("stop", "-t", str(int(left)), c.name, timeout=60)
    assert c.state("State.ExitCode") == "0", c.logs()
    assert "SIGTERM" in c.logs()


def test_bridge_only_deployment_runs_as_rendered(image: str, tmp_path: Path) -> None:
    deployment = rendered_deployment("bridge-only")
    with deployment_container(image, deployment, tmp_path) as (c, spec):
        c.wait_serving()  # the readiness probe's call, on the probe's port
        assert spec["readinessProbe"]["grpc"]["port"] == 8000
        assert {"echo", "webhook"} <= listed_v1(c.target) and {"echo", "webhook"} <= listed_v2(c.target)
        token = podman("exec", c.name, "cat", "/etc/secrets/EXAMPLE_TOKEN").stdout
        assert token == "not-a-real-secret"  # the chart's secrets path, readable by the pod's user
        assert json_lines(c.logs()), c.logs()  # --log-format json
        lifecycle_stop(c, deployment, spec)


def test_gateway_deployment_forwards_to_a_real_pyflyte_agent(image: str, tmp_path: Path) -> None:
    """The gateway overlay's container in front of flytekit's own ``pyflyte serve agent`` (the image's
    /opt/bridge/bin/pyflyte), reached by the name the overlay uses."""
    agent = f"bridge-image-test-{os.getpid()}-{next(_names)}-agent"
    podman("run", "-d", "--name", agent, *base_run_flags(), "--entrypoint", "/opt/bridge/bin/pyflyte", image,
           "serve", "agent")
    try:
        ip = podman("inspect", agent, "--format", "{{.NetworkSettings.IPAddress}}").stdout.strip()
        assert ip, podman("logs", agent, check=False).stderr
        deployment = rendered_deployment("gateway")
        with deployment_container(image, deployment, tmp_path,
                                  extra=("--add-host", f"flyteagent.flyte.svc.cluster.local:{ip}")) as (c, spec):
            c.wait_serving()
            deadline = time.monotonic() + 60  # the agent imports flytekit; the bridge asks again every 10 s
            while "webhook" not in listed_v2(c.target) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert "webhook" in listed_v2(c.target), (c.logs(), podman("logs", agent, check=False).stderr[-2000:])
            assert "webhook" in listed_v1(c.target)
            body = urllib.request.urlopen(f"http://127.0.0.1:{c.metrics_port}/metrics", timeout=5).read().decode()
            assert 'flyte_bridge_upstream_up{upstream="flyteagent.flyte.svc.cluster.local:8000"} 1.0' in body, body[-1500:]
            lifecycle_stop(c, deployment, spec)
    finally:
        podman("rm", "-f", "-t", "0", agent, check=False)
