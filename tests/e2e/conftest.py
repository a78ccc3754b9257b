"""The e2e tier: a real control plane (hack/cluster.py), the CRDs installed with kubectl,
and the operator running as a process with only the RBAC the chart grants it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playout.controller.rbac import cluster_role
from tests.conftest import ROOT
from tests.e2e.kubectl import (
    Kubectl,
    media_claim,
    restricted_namespace,
    service_account_kubeconfig,
)
from tests.e2e.operator_process import operator_process

pytestmark = pytest.mark.e2e

OPERATOR_NAMESPACE = "playout-system"
OPERATOR_ENV = {
    "PLAYOUT_STREAMER_IMAGE": "playout-streamer:e2e",
    "PLAYOUT_PROBER_IMAGE": "playout-prober:e2e",
}


def local_cluster() -> Path:
    """Build the tools if needed and start (or reuse) the local cluster; its kubeconfig."""
    subprocess.run(["bash", str(ROOT / "hack" / "tools.sh")], check=True, cwd=ROOT)
    subprocess.run([sys.executable, str(ROOT / "hack" / "cluster.py"), "up"], check=True, cwd=ROOT)
    return ROOT / ".cluster" / "kubeconfig"


@pytest.fixture(scope="session")
def kubeconfig() -> Path:
    return local_cluster()


@pytest.fixture(scope="session")
def admin(kubeconfig: Path) -> Kubectl:
    kubectl = Kubectl(kubeconfig)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("channels.playout.dev", "probejobs.playout.dev"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    return kubectl


def operator_kubeconfig(admin: Kubectl, path: Path) -> Path:
    """A kubeconfig with the operator ServiceAccount's token: the identity it has in a
    cluster, with exactly the chart's ClusterRole."""
    system = admin.in_namespace(OPERATOR_NAMESPACE)
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}})
    system.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "playout-operator"}}
    )
    admin.apply(cluster_role())
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "playout-operator"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "playout-operator",
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": "playout-operator",
                    "namespace": OPERATOR_NAMESPACE,
                }
            ],
        }
    )
    return service_account_kubeconfig(admin, OPERATOR_NAMESPACE, "playout-operator", path)


@pytest.fixture(scope="session")
def operator(admin: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The operator as a process, as its ServiceAccount, watching the `e2e-*` namespaces."""
    workdir = tmp_path_factory.mktemp("operator")
    config = operator_kubeconfig(admin, workdir / "kubeconfig")
    # Only this tier's namespaces: the real-node tier's operator runs in the same cluster.
    with operator_process(config, ["--namespace", "e2e-*"], OPERATOR_ENV, workdir) as running:
        yield running


@pytest.fixture
def kubectl(admin: Kubectl, operator: dict[str, Any]) -> Iterator[Kubectl]:
    """A fresh namespace that enforces Pod Security `restricted`, with a `media` claim."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    namespaced = restricted_namespace(admin, name)
    volume = media_claim(admin, name, "/srv/media")
    yield namespaced
    admin.run("delete", "namespace", name, "--wait=false", check=False)
    admin.run("delete", "pv", volume, "--wait=false", check=False)
