"""The real-node tier: the operator installed with the Helm chart and running in its pod,
streamer and prober pods running the real images, the stream fetched from the pod.

Two places to run it:
- the local cluster (default): hack/cluster.py plus a real node (hack/node.py, root and
  Debian's containerd), with the images built by hack/images.sh. Its pods go to the real
  node through namespace annotations (PodNodeSelector, PodTolerationRestriction) while the
  other tiers' pods stay on kwok nodes. A host that cannot run the node skips the tier and
  says why, unless PLAYOUT_REQUIRE_REAL_NODE=1 (CI), where that is a failure.
- any cluster whose nodes already hold the images (`make e2e-kind`):
  PLAYOUT_E2E_KUBECONFIG     its kubeconfig
  PLAYOUT_E2E_MEDIA          HOST_DIR:NODE_DIR, where the tests write media and where the
                             nodes see it (hostPath)
  PLAYOUT_E2E_CTR            how to run containerd's ctr on the node, e.g.
                             "docker exec playout-e2e-control-plane ctr -n k8s.io"
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chart.helm import CHART, helm, set_flags
from tests.conftest import ROOT
from tests.e2e.conftest import admin, local_cluster
from tests.e2e.kubectl import Kubectl, media_claim, restricted_namespace

__all__ = ["admin"]

pytestmark = pytest.mark.e2e

REAL_NODE = "playout-real-0"
TOLERATE_REAL_NODE = (
    '[{"key": "playout.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}]'
)


@dataclass(frozen=True)
class Target:
    """Where the tier runs."""

    kubeconfig: Path
    media_host_dir: Path
    """Where the tests write media..."""
    media_node_dir: str
    """...and where the nodes see it."""
    ctr: list[str]
    """containerd's ctr on the node, in the k8s.io namespace."""
    local: bool
    """The local cluster: pods must be placed on its real node."""


def run_script(*argv: str) -> None:
    subprocess.run(list(argv), check=True, cwd=ROOT)


@pytest.fixture(scope="session")
def target() -> Target:
    given = os.environ.get("PLAYOUT_E2E_KUBECONFIG")
    if given:
        host_dir, _, node_dir = os.environ["PLAYOUT_E2E_MEDIA"].partition(":")
        return Target(
            Path(given), Path(host_dir), node_dir, shlex.split(os.environ["PLAYOUT_E2E_CTR"]), False
        )
    kubeconfig = local_cluster()
    check = subprocess.run(
        [sys.executable, "hack/node.py", "check"], capture_output=True, text=True, cwd=ROOT
    )
    if check.returncode != 0:
        reason = check.stdout.strip()
        if os.environ.get("PLAYOUT_REQUIRE_REAL_NODE") == "1":
            pytest.fail(f"PLAYOUT_REQUIRE_REAL_NODE=1, but {reason}")
        pytest.skip(reason)
    run_script(sys.executable, "hack/node.py", "up")
    run_script("bash", "hack/images.sh")
    media = ROOT / ".cache" / "node-media"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True)
    return Target(
        kubeconfig,
        media,
        str(media),
        ["ctr", "-a", "/run/playout-containerd/containerd.sock", "-n", "k8s.io"],
        True,
    )


@pytest.fixture(scope="session")
def kubeconfig(target: Target) -> Path:
    """The e2e tier's `admin` (the CRDs applied) on this tier's cluster."""
    return target.kubeconfig


def namespace(admin: Kubectl, target: Target, name: str) -> Kubectl:
    """A namespace that enforces Pod Security `restricted`, its pods on the real node."""
    namespaced = restricted_namespace(admin, name)
    if target.local:
        run_script(sys.executable, "hack/node.py", "place", name)
    return namespaced


@dataclass(frozen=True)
class Installed:
    tv: Kubectl
    """Where Channels and ProbeJobs go: the namespace the operator watches."""
    system: Kubectl
    """Where the operator runs."""
    target: Target
    media: Path
    """This namespace's media folder on the host: the `media` claim's contents."""


@pytest.fixture(scope="session")
def installed(admin: Kubectl, target: Target) -> Iterator[Installed]:
    """`helm install` of the chart, its operator watching one namespace, which has a `media`
    claim bound to a hostPath volume."""
    suffix = uuid.uuid4().hex[:8]
    system = namespace(admin, target, f"node-system-{suffix}")
    tv = namespace(admin, target, f"node-tv-{suffix}")
    media = target.media_host_dir / suffix
    media.mkdir(parents=True)
    media.chmod(0o755)  # the pods run as a non-root user
    volume = media_claim(admin, tv.namespace, f"{target.media_node_dir}/{suffix}")
    release = f"playout-{suffix}"
    values = {"watchNamespaces": f"{{{tv.namespace}}}", "logFormat": "text", "logLevel": "debug"}
    try:
        helm(
            "install", release, str(CHART), "--namespace", system.namespace, *set_flags(values),
            "--take-ownership", "--wait", "--timeout", "180s", kubeconfig=target.kubeconfig,
        )  # fmt: skip
        yield Installed(tv, system, target, media)
    finally:
        sys.stderr.write(
            "\n--- operator log (tail) ---\n"
            + system.run("logs", "deployment/" + release, "--tail=60", check=False).stdout
        )
        helm("uninstall", release, "--namespace", system.namespace, "--wait",
             kubeconfig=target.kubeconfig, check=False)  # fmt: skip
        for ns in (tv.namespace, system.namespace):
            admin.run("delete", "namespace", ns, "--wait=false", check=False)
        admin.run("delete", "pv", volume, "--wait=false", check=False)
