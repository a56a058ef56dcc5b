"""The Kubernetes manifests (deploy/kubernetes): rendered with ``kubectl kustomize``, every object validated
against the Kubernetes schemas offline (kubernetes-validate), and checked against the bridge's own flags.

No cluster runs here: these are the closest real checks (docs/deploy.md says what was not run).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.commands.cli import build_parser

yaml = pytest.importorskip("yaml", reason="PyYAML comes with the test extra's kubernetes-validate")
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[test]'")

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
OVERLAYS = ("bridge-only", "gateway")
# The oldest Kubernetes with GA gRPC probes (1.27) and the newest the installed package has schemas for.
OLDEST_K8S = "1.27.0"
CRD_KINDS = {"ServiceMonitor"}

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) not installed")


def render(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def with_servicemonitor(tmp_path: Path, overlay: str) -> Path:
    """A kustomization of ``overlay`` plus the servicemonitor component, as the docs tell an operator to write."""
    shutil.copytree(KUBE, tmp_path / "kubernetes")
    target = tmp_path / "kubernetes" / "overlays" / overlay / "kustomization.yaml"
    target.write_text(target.read_text() + "components:\n  - ../../components/servicemonitor\n")
    return target.parent


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} objects"
    return found[0]


def bridge_flags(container: dict[str, Any]) -> Any:
    """The container's command line parsed by the bridge's own parser (defaults included)."""
    command = container["command"] + container.get("args", [])
    assert command[:2] == ["flyte-bridge", "serve"], command
    return build_parser().parse_args(command[1:])


@pytest.fixture(scope="module", params=[*OVERLAYS, "bridge-only+servicemonitor"])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    name = request.param
    if name.endswith("+servicemonitor"):
        return render(with_servicemonitor(tmp_path_factory.mktemp("kube"), name.split("+")[0]))
    return render(KUBE / "overlays" / name)


@pytest.mark.parametrize("version", [OLDEST_K8S, kubernetes_validate.latest_version()])
def test_every_object_is_valid_against_the_schemas(rendered: list[dict[str, Any]], version: str) -> None:
    kinds = sorted(o["kind"] for o in rendered)
    assert {"Deployment", "Service", "PodDisruptionBudget"} <= set(kinds)
    for obj in rendered:
        if obj["kind"] in CRD_KINDS:
            continue  # no schema offline: checked structurally in test_servicemonitor_scrapes_the_metrics_port
        kubernetes_validate.validate(obj, version, strict=True)


def test_an_invalid_object_is_refused() -> None:
    """The validation can fail: a probe port given as a list is not a Deployment."""
    deployment = one(render(KUBE / "overlays" / "bridge-only"), "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = [8000]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, OLDEST_K8S, strict=True)


def test_probe_ports_and_grace_match_the_bridge(rendered: list[dict[str, Any]]) -> None:
    deployment, service = one(rendered, "Deployment"), one(rendered, "Service")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    flags = bridge_flags(container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"connector-grpc": flags.port, "metrics": flags.prometheus_port}
    assert (flags.port, flags.prometheus_port) == (8000, 9090)  # the chart's and the SDK servers' ports
    assert container["readinessProbe"]["grpc"]["port"] == flags.port
    # SIGTERM comes after preStop; the bridge then drains for --grace: the pod must not be killed sooner.
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    budget = float(sleep[1]) + flags.grace
    assert budget <= pod["terminationGracePeriodSeconds"] <= budget + 10
    by_name = {p["name"]: p for p in service["spec"]["ports"]}
    assert by_name["connector-grpc"]["port"] == flags.port
    assert by_name["connector-grpc"]["targetPort"] in ("connector-grpc", flags.port)
    assert service["metadata"]["annotations"]["projectcontour.io/upstream-protocol.h2c"] == "grpc"


def test_pods_run_non_root_on_a_read_only_root(rendered: list[dict[str, Any]]) -> None:
    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    secret = volumes[mounts["/etc/secrets"]]["secret"]  # the flyteconnector chart's path
    assert secret["optional"] is True


def test_pods_run_the_images_user_and_image(rendered: list[dict[str, Any]]) -> None:
    import re

    pod = one(rendered, "Deployment")["spec"]["template"]["spec"]
    user = re.search(r"^USER (\d+):(\d+)$", (REPO / "deploy" / "Containerfile").read_text(), re.MULTILINE)
    assert user, "the Containerfile names a numeric USER"
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(user[1]), int(user[2]))
    # kustomize's images: transform matched the image name the Deployment uses.
    assert pod["containers"][0]["image"] == "your-registry/flyte-connector-bridge:0.1.0"


def test_selectors_match_the_pods(rendered: list[dict[str, Any]]) -> None:
    deployment = one(rendered, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], one(rendered, "Service")["spec"]["selector"],
                     one(rendered, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    assert {o["metadata"].get("namespace") for o in rendered} == {"flyte"}


def test_gateway_forwards_to_flyteagent() -> None:
    gateway = bridge_flags(one(render(KUBE / "overlays" / "gateway"), "Deployment")["spec"]["template"]["spec"]["containers"][0])
    alone = bridge_flags(one(render(KUBE / "overlays" / "bridge-only"), "Deployment")["spec"]["template"]["spec"]["containers"][0])
    assert gateway.upstream == ["v1://flyteagent.flyte.svc.cluster.local:8000"]
    assert alone.upstream == []
    assert gateway.grace == alone.grace  # the patch restates the base flags: they must not drift apart


def test_servicemonitor_scrapes_the_metrics_port(tmp_path: Path) -> None:
    objects = render(with_servicemonitor(tmp_path, "bridge-only"))
    monitor, service = one(objects, "ServiceMonitor"), one(objects, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert ports[endpoint["port"]]["port"] == 9090
    assert endpoint["path"] == "/metrics"
    assert set(ports) == {"connector-grpc", "metrics"}  # the patch kept the gRPC port
