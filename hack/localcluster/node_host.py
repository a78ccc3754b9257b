"""What a real node takes from the host: root, Debian's containerd, runc and CNI plugins, the
tools hack/tools.sh builds, bridge netfilter, cgroups, and the address of the default route.

The socket, the bridge and the kubelet's ports are the machine's, not the checkout's: one
real node per machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from localcluster.console import fail
from localcluster.layout import ROOT, TOOLS_BIN

RUN_DIR = Path("/run/playout-containerd")
SOCKET = RUN_DIR / "containerd.sock"
CONTAINERD_ROOT = ROOT / ".cache" / "containerd"  # images outlive `cluster.py down`
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
CNI_BIN = Path("/usr/lib/cni")
NODE_TOOLS = ("kubelet", "kube-proxy", "coredns")  # built by hack/tools.sh


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`argv`, its output captured; ends the command when it fails, if `check`."""
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        fail(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """containerd's client, in the namespace the kubelet uses."""
    return run("ctr", "-a", str(SOCKET), "-n", "k8s.io", *args, check=check)


def containerd_answers() -> bool:
    return SOCKET.exists() and ctr("version", check=False).returncode == 0


def blockers() -> list[str]:
    """What keeps this host from running the node (empty: nothing)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root: containerd, runc and the pod network need root")
    missing = [
        tool
        for tool in ("containerd", "ctr", "runc", "ip", "iptables", "buildah", "debootstrap", "gcc")
        if shutil.which(tool) is None
    ]
    missing += [
        f"{CNI_BIN}/{plugin}"
        for plugin in ("bridge", "host-local", "loopback", "portmap")
        if not (CNI_BIN / plugin).exists()
    ]
    if missing:
        problems.append(f"missing {', '.join(missing)}: `make node-deps` installs them")
    unbuilt = [name for name in NODE_TOOLS if not os.access(TOOLS_BIN / name, os.X_OK)]
    if unbuilt:
        problems.append(f"no {', '.join(unbuilt)} in {TOOLS_BIN}: run hack/tools.sh")
    if not BRIDGE_NF.exists():
        problems.append("no bridge netfilter (the br_netfilter module): Services would not work")
    if (
        not Path("/sys/fs/cgroup/cgroup.controllers").exists()
        and not Path("/sys/fs/cgroup/memory").is_dir()
    ):
        problems.append("no cgroup v2 hierarchy and no cgroup v1 memory controller")
    return problems


def node_ip() -> str:
    """The address of the interface that holds the default route."""
    routes = json.loads(run("ip", "-j", "-4", "route", "show", "default").stdout or "[]")
    if not routes:
        fail("no default IPv4 route: cannot pick the node's address")
    addresses = json.loads(run("ip", "-j", "-4", "addr", "show", "dev", routes[0]["dev"]).stdout)
    return str(addresses[0]["addr_info"][0]["local"])
