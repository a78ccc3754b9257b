"""The real node's processes: containerd, CoreDNS, kube-proxy and the kubelet, with their
configuration rendered from the templates in hack/node/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from localcluster import processes
from localcluster.api import responds_ok
from localcluster.console import fail
from localcluster.layout import ROOT, TOOLS_BIN, NodeDir
from localcluster.node_cluster import DNS_IP, DNS_PORT, NODE, NODE_LABEL, TAINT
from localcluster.node_host import CONTAINERD_ROOT, RUN_DIR, SOCKET, containerd_answers, ctr
from localcluster.node_network import POD_CIDR

CONFIG_DIR = ROOT / "hack" / "node"
# Start order: containerd first, the kubelet last.
PROCESSES = ["containerd", "coredns", "kube-proxy", "kubelet"]
DNS_READY = "127.0.0.1:18181"
KUBE_PROXY_HEALTH = "127.0.0.1:10256"

Started = dict[str, subprocess.Popen[bytes]]


def all_running(node_dir: NodeDir) -> bool:
    return all(processes.running(processes.recorded(node_dir, name)) for name in PROCESSES)


def any_running(node_dir: NodeDir) -> bool:
    return any(processes.running(processes.recorded(node_dir, name)) for name in PROCESSES)


def wait_for(
    node_dir: NodeDir,
    started: Started,
    what: str,
    check: Callable[[], object],
    *,
    timeout: float,
    log_name: str,
) -> None:
    """processes.wait_for, ending the command instead of raising."""
    try:
        processes.wait_for(
            what, check, timeout=timeout, state_dir=node_dir, processes=started, log_name=log_name
        )
    except RuntimeError as error:
        fail(str(error))


def render(template: str, out: Path, **values: str) -> Path:
    """hack/node/<template> with each @KEY@ replaced, written to `out`."""
    text = (CONFIG_DIR / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    out.write_text(text)
    return out


def node_environment() -> dict[str, str]:
    """The processes' environment: ours, with the built tools first and no KUBECONFIG."""
    env = {name: value for name, value in os.environ.items() if name != "KUBECONFIG"}
    env["PATH"] = f"{TOOLS_BIN}:{env.get('PATH', '')}"
    return env


def start_containerd(node_dir: NodeDir, env: dict[str, str]) -> Started:
    """containerd, waited for, with the sandbox image that every pod needs first."""
    for path in (node_dir.logs, node_dir.pids, node_dir.cni_conf, CONTAINERD_ROOT):
        path.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG_DIR / "10-playout.conflist", node_dir.cni_conf)
    config = render(
        "containerd.toml",
        node_dir.base / "containerd.toml",
        ROOT=str(CONTAINERD_ROOT),
        STATE=str(RUN_DIR),
        CNI_CONF=str(node_dir.cni_conf),
    )
    started = {
        "containerd": processes.start(
            node_dir, "containerd", ["containerd", "--config", str(config)], env
        )
    }
    wait_for(node_dir, started, "containerd", containerd_answers, timeout=30, log_name="containerd")
    pause = subprocess.run([str(ROOT / "hack" / "images.sh"), "pause"], env=env)
    if pause.returncode != 0:
        fail("building the pause image failed (hack/images.sh pause)")
    return started


def start_node_services(
    node_dir: NodeDir,
    started: Started,
    env: dict[str, str],
    *,
    ip: str,
    kubeconfigs: dict[str, Path],
) -> None:
    """CoreDNS, kube-proxy and the kubelet on the node's address; waits for the first two
    (the kubelet's node takes longer to be Ready)."""
    corefile = render(
        "Corefile", node_dir.base / "Corefile",
        IP=ip, PORT=str(DNS_PORT), READY=DNS_READY, KUBECONFIG=str(kubeconfigs["coredns"]),
    )  # fmt: skip
    started["coredns"] = processes.start(
        node_dir, "coredns", [str(TOOLS_BIN / "coredns"), "-conf", str(corefile)], env
    )
    started["kube-proxy"] = processes.start(node_dir, "kube-proxy", [
        str(TOOLS_BIN / "kube-proxy"), f"--kubeconfig={kubeconfigs['kube-proxy']}",
        f"--hostname-override={NODE}", "--proxy-mode=iptables", f"--cluster-cidr={POD_CIDR}",
        # leave the host's conntrack table size alone
        "--conntrack-max-per-core=0",
        "--metrics-bind-address=127.0.0.1:10249", f"--healthz-bind-address={KUBE_PROXY_HEALTH}",
    ], env)  # fmt: skip
    kubelet_config = render(
        "kubelet.yaml", node_dir.base / "kubelet.yaml",
        PKI=str(node_dir.cluster.pki), SOCKET=str(SOCKET), TAINTS=json.dumps([TAINT]), DNS=DNS_IP,
    )  # fmt: skip
    started["kubelet"] = processes.start(node_dir, "kubelet", [
        str(TOOLS_BIN / "kubelet"), f"--config={kubelet_config}",
        f"--kubeconfig={kubeconfigs['kubelet']}", f"--hostname-override={NODE}",
        f"--node-ip={ip}", f"--root-dir={node_dir.kubelet_root}",
        f"--node-labels={NODE_LABEL}=real", "--v=1",
    ], env)  # fmt: skip
    wait_for(
        node_dir,
        started,
        "CoreDNS",
        lambda: responds_ok(f"http://{DNS_READY}/ready"),
        timeout=30,
        log_name="coredns",
    )
    wait_for(
        node_dir,
        started,
        "kube-proxy",
        lambda: responds_ok(f"http://{KUBE_PROXY_HEALTH}/healthz"),
        timeout=30,
        log_name="kube-proxy",
    )


def remove_containers() -> None:
    """Kill and remove every container, so that containerd stops with nothing left."""
    tasks = ctr("tasks", "ls", "-q", check=False).stdout.split()
    for task in tasks:
        ctr("tasks", "kill", "-s", "KILL", task, check=False)
    time.sleep(0.5 if tasks else 0)
    for task in tasks:
        ctr("tasks", "rm", "-f", task, check=False)
    for container in ctr("containers", "ls", "-q", check=False).stdout.split():
        ctr("containers", "rm", container, check=False)
