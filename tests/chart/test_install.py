"""The chart against the local cluster: its manifests pass the API server's own validation,
and a real `helm install` runs the operator with the chart's identity, reconciles a Channel,
and `helm upgrade` changes the CRDs.

Here the release's pod lands on a kwok node, where nothing executes, so the operator runs
as a process with the chart's ServiceAccount token, the Deployment's arguments and its
environment. The real-node tier (tests/node) runs the chart's operator in its pod."""

from __future__ import annotations

import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import CHART, env_of, helm, set_flags, template_text
from tests.conftest import load_example
from tests.e2e.kubectl import (
    Kubectl,
    eventually,
    restricted_namespace,
    service_account_kubeconfig,
)
from tests.e2e.operator_process import operator_process

pytestmark = pytest.mark.e2e

CHANNEL_CRD = "channels.playout.dev"


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watchNamespaces": "{default}", "grafanaDashboard.enabled": "true"},
        {"networkPolicy.apiServerCIDRs": "{10.0.0.10/32,fd00::10/128}"},
    ],
    ids=["cluster-wide", "namespaced", "api-server-cidrs"],
)
def test_the_api_server_accepts_the_manifests(admin: Kubectl, values: dict[str, str]) -> None:
    """Client-side apply, as Argo CD does by default: the CRDs fit its annotation."""
    manifests = template_text(values, namespace="default")
    admin.run("apply", "--dry-run=server", "-f", "-", input=manifests)


@dataclass
class Release:
    name: str
    system: Kubectl
    """Where the release and the operator pod live."""
    tv: Kubectl
    """The one namespace the operator watches."""
    kubeconfig: Path
    notes: str = ""
    """What `helm install` printed."""

    def helm(self, *args: str, chart: Path = CHART) -> str:
        return helm(
            *args, self.name, str(chart), "--namespace", self.system.namespace,
            *set_flags({"watchNamespaces": f"{{{self.tv.namespace}}}"}),
            "--take-ownership", "--wait", "--timeout", "120s",
            kubeconfig=self.kubeconfig,
        ).stdout  # fmt: skip


@pytest.fixture(scope="module")
def release(admin: Kubectl, kubeconfig: Path) -> Iterator[Release]:
    """`helm install` into a fresh namespace, watching one other namespace only: a namespaced
    operator cannot disturb the operators of other test sessions. The CRDs already exist in
    the shared cluster; the release takes them over and keeps them when uninstalled."""
    suffix = uuid.uuid4().hex[:8]
    installed = Release(
        f"playout-{suffix}",
        restricted_namespace(admin, f"chart-{suffix}"),
        restricted_namespace(admin, f"chart-tv-{suffix}"),
        kubeconfig,
    )
    try:
        installed.notes = installed.helm("install")
        yield installed
    finally:
        helm(
            "uninstall", installed.name, "--namespace", installed.system.namespace,
            "--wait", kubeconfig=kubeconfig, check=False,
        )  # fmt: skip
        for ns in (installed.system.namespace, installed.tv.namespace):
            admin.run("delete", "namespace", ns, "--wait=false", check=False)


def test_the_operator_pod_passes_restricted_and_becomes_available(release: Release) -> None:
    """`helm install --wait` returned: the Deployment is available in a namespace that
    enforces Pod Security `restricted`."""
    (deployment,) = release.system.items("deployments")
    assert deployment["status"]["availableReplicas"] == 1


def test_the_notes_tell_the_next_step(release: Release) -> None:
    assert f"rollout status deployment/{release.name}" in release.notes
    assert f"kubectl apply -n {release.tv.namespace} -f examples/channel.yaml" in release.notes
    assert "docs/gitops.md" in release.notes


def test_the_release_owns_the_crds_and_keeps_them(admin: Kubectl, release: Release) -> None:
    crd = admin.get("crd", CHANNEL_CRD)
    assert crd is not None
    annotations = crd["metadata"]["annotations"]
    assert annotations["meta.helm.sh/release-name"] == release.name
    assert annotations["helm.sh/resource-policy"] == "keep"


@pytest.fixture(scope="module")
def chart_operator(
    admin: Kubectl, release: Release, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The operator with the installed Deployment's arguments and environment, as the
    chart's ServiceAccount."""
    workdir = tmp_path_factory.mktemp("chart-operator")
    (deployment,) = release.system.items("deployments")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"][0] == "operator"
    config = service_account_kubeconfig(
        admin, release.system.namespace, pod["serviceAccountName"], workdir / "kubeconfig"
    )
    env = {name: value for name, value in env_of(container).items() if name != "POD_ID"}
    # The pod's liveness and metrics addresses give way to free local ports.
    with operator_process(config, container["args"][1:], env, workdir) as running:
        yield running


def test_a_channel_is_reconciled_with_the_charts_rbac(
    release: Release, chart_operator: dict[str, Any]
) -> None:
    channel = load_example("channel.yaml")
    channel["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    release.tv.apply(channel)
    eventually(lambda: release.tv.get("deployment", "classics"), timeout=60, what="the streamer")

    # Operators of other test sessions watch every namespace, this one too: only this
    # operator's own metrics and log tell what the chart's identity achieved.
    def reconciled() -> bool:
        with urllib.request.urlopen(chart_operator["metrics"], timeout=5) as response:
            metrics = response.read().decode()
        return 'playout_objects{kind="Channel",phase=' in metrics

    eventually(reconciled, timeout=60, what="a reconciled Channel in the operator's metrics")
    with urllib.request.urlopen(chart_operator["metrics"], timeout=5) as response:
        assert "playout_reconcile_errors_total{" not in response.read().decode()
    log = chart_operator["log"].read_text()
    # Exact namespaces: kopf needs no cluster-wide discovery, so the namespaced RBAC suffices.
    assert "Forbidden" not in log and "Not enough permissions" not in log, log[-3000:]


def add_channel_field(chart: Path) -> None:
    """A schema change of the kind a new release brings: one more optional spec field."""
    path = chart / "templates" / "crds" / f"{CHANNEL_CRD}.yaml"
    header, _, body = path.read_text().partition("spec:\n")
    template_end = "{{- end }}\n"
    spec = yaml.safe_load("spec:\n" + body.removesuffix(template_end))
    properties = spec["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    properties["spec"]["properties"]["chartUpgradeTest"] = {
        "type": "string",
        "description": "Added by tests/chart to prove that helm upgrade updates the CRD.",
    }
    path.write_text(header + yaml.safe_dump(spec, sort_keys=False, width=1000) + template_end)


def channel_spec_fields(admin: Kubectl) -> set[str]:
    crd = admin.get("crd", CHANNEL_CRD) or {}
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return set(schema["properties"]["spec"]["properties"])


def test_helm_upgrade_updates_the_crds(admin: Kubectl, release: Release, tmp_path: Path) -> None:
    changed = tmp_path / "playout"
    shutil.copytree(CHART, changed)
    add_channel_field(changed)
    try:
        release.helm("upgrade", chart=changed)
        assert "chartUpgradeTest" in channel_spec_fields(admin)
    finally:
        release.helm("upgrade")  # the shared cluster gets its CRD back
    assert "chartUpgradeTest" not in channel_spec_fields(admin)


def test_uninstall_keeps_the_crds(admin: Kubectl, release: Release) -> None:
    helm(
        "uninstall", release.name, "--namespace", release.system.namespace, "--wait",
        kubeconfig=release.kubeconfig,
    )  # fmt: skip
    assert admin.get("crd", CHANNEL_CRD) is not None
    assert not release.system.items("deployments")
