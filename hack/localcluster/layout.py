"""What the local cluster is (its name and Service network) and where it keeps its state."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, TypedDict, cast

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = Path(os.environ.get("PLAYOUT_TOOLS_BIN", ROOT / ".tools" / "bin"))
DEFAULT_CLUSTER_DIR = Path(os.environ.get("PLAYOUT_CLUSTER_DIR", ROOT / ".cluster"))

CLUSTER_NAME = "playout"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service


class Ports(TypedDict):
    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


class ClusterState(TypedDict):
    """state.json: what `up` started, for `status`, `env`, node.py and the next `up`."""

    format: int
    ports: Ports
    nodes: int
    server: str
    kubeconfig: str
    started: str


class NodeState(TypedDict):
    """node/state.json: the node's address, and the host setting `down` puts back."""

    ip: str
    bridge_nf: str


def read_json(path: Path) -> Any:
    """The document in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class StateDir:
    """A directory of started processes: their pid records, their logs and a state file."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.pids = base / "pids"
        self.logs = base / "logs"
        self.state = base / "state.json"


class ClusterDir(StateDir):
    """The control plane's directory: pki/, kubeconfigs/ (one per component), etcd/, the
    admin kubeconfig and, under node/, a real node's."""

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.pki = base / "pki"
        self.kubeconfigs = base / "kubeconfigs"
        self.certs = base / "certs"
        self.etcd_data = base / "etcd"
        self.home = base / "home"
        self.kubeconfig = base / "kubeconfig"
        self.lock = base / ".lock"
        self.node = base / "node"

    def load_state(self) -> ClusterState | None:
        return cast("ClusterState | None", read_json(self.state))


class NodeDir(StateDir):
    """A real node's directory, inside the cluster's."""

    def __init__(self, cluster: ClusterDir) -> None:
        super().__init__(cluster.node)
        self.cluster = cluster
        self.kubelet_root = self.base / "kubelet"
        self.cni_conf = self.base / "cni"

    def load_state(self) -> NodeState | None:
        return cast("NodeState | None", read_json(self.state))


def add_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_CLUSTER_DIR,
        help="cluster state directory (default: <repo>/.cluster, env PLAYOUT_CLUSTER_DIR)",
    )
