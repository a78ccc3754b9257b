"""The e2e tier: a real control plane (hack/cluster.py), the CRDs installed with kubectl,
and the operator running as a process with only the RBAC the chart grants it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playout.controller.rbac import cluster_role
from tests.conftest import ROOT
from tests.e2e.engine import Engine, make_media
from tests.e2e.kubectl import Kubectl, media_namespace, service_account_kubeconfig
from tests.e2e.operator_process import operator_process

pytestmark = pytest.mark.e2e

OPERATOR_NAMESPACE = "playout-system"
OPERATOR_ENV = {
    "PLAYOUT_STREAMER_IMAGE": "playout-streamer:e2e",
    "PLAYOUT_PROBER_IMAGE": "playout-prober:e2e",
}


def local_cluster(nodes: int = 2) -> Path:
    """Build the tools if needed and start (or reuse) the local cluster with `nodes` kwok
    nodes (another number starts it afresh); its kubeconfig."""
    subprocess.run(["bash", str(ROOT / "hack" / "tools.sh")], check=True, cwd=ROOT)
    subprocess.run(
        [sys.executable, str(ROOT / "hack" / "cluster.py"), "up", "--nodes", str(nodes)],
        check=True,
        cwd=ROOT,
    )
    return ROOT / ".cluster" / "kubeconfig"


@pytest.fixture(scope="session")
def kubeconfig() -> Path:
    return local_cluster()


def with_crds(kubeconfig: Path) -> Kubectl:
    """The cluster's admin, once the CRDs are installed and established."""
    kubectl = Kubectl(kubeconfig)
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("channels.playout.dev", "probejobs.playout.dev"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    return kubectl


@pytest.fixture(scope="session")
def admin(kubeconfig: Path) -> Kubectl:
    return with_crds(kubeconfig)


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
    """A namespace of this tier's (`e2e-*`), which the session's operator watches."""
    with media_namespace(admin, "e2e") as namespaced:
        yield namespaced


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_media(tmp_path_factory.mktemp("media"))


@pytest.fixture
def engine(kubectl: Kubectl, media: Path, tmp_path: Path) -> Iterator[Engine]:
    """The channel `classics`'s engine, once a test starts it; killed at the end."""
    running = Engine(kubectl, media, tmp_path)
    yield running
    running.kill()
    sys.stderr.write(f"\n--- engine log (tail) ---\n{running.log_text()[-3000:]}\n")
