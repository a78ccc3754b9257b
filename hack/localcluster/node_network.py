"""The real node's network on the host: the pod bridge, the `kubernetes` Service without
kube-proxy, and the clean-up of everything the node and its pods' CNI calls leave behind."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from localcluster.layout import SERVICE_IP, TOOLS_BIN, NodeDir, NodeState
from localcluster.node_host import BRIDGE_NF, CONTAINERD_ROOT, RUN_DIR, node_ip, run

BRIDGE = "playout0"
NAT_CHAIN = "PLAYOUT-SVC"
POD_CIDR = "10.244.0.0/24"  # hack/node/10-playout.conflist's range
CNI_NETWORK = "playout"


def set_up_network(node_dir: NodeDir, *, apiserver_port: int) -> str:
    """The pod bridge and the `kubernetes` Service NAT; returns the node's address."""
    ip = node_ip()
    service_nat(apiserver_port)
    # Pods on the bridge reach Services through kube-proxy's rules, replies included; `down`
    # puts the host's setting back.
    saved = NodeState(ip=ip, bridge_nf=BRIDGE_NF.read_text().strip())
    node_dir.state.write_text(json.dumps(saved) + "\n")
    BRIDGE_NF.write_text("1")
    return ip


def tear_down_network(node_dir: NodeDir) -> None:
    """Everything `set_up_network` and the pods changed on the host, undone."""
    undo_network()
    saved = node_dir.load_state()
    if saved and "bridge_nf" in saved:
        BRIDGE_NF.write_text(saved["bridge_nf"])
    unmount_under(str(node_dir.base), str(RUN_DIR), "/run/netns/cni-", str(CONTAINERD_ROOT))


def service_nat(apiserver_port: int) -> None:
    """The `kubernetes` Service without kube-proxy: pods' packets for 10.96.0.1:443 go to
    the apiserver on loopback, which `route_localnet` on the bridge allows."""
    if run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        run("ip", "link", "add", BRIDGE, "type", "bridge")  # the CNI bridge plugin reuses it
    run("ip", "link", "set", BRIDGE, "up")
    Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").write_text("1")
    if run("iptables", "-t", "nat", "-N", NAT_CHAIN, check=False).returncode != 0:
        run("iptables", "-t", "nat", "-F", NAT_CHAIN)
    run(
        "iptables", "-t", "nat", "-A", NAT_CHAIN, "-d", f"{SERVICE_IP}/32", "-p", "tcp",
        "--dport", "443", "-j", "DNAT", "--to-destination", f"127.0.0.1:{apiserver_port}",
    )  # fmt: skip
    jump = ("PREROUTING", "-i", BRIDGE, "-j", NAT_CHAIN)
    if run("iptables", "-t", "nat", "-C", *jump, check=False).returncode != 0:
        run("iptables", "-t", "nat", "-I", *jump)


def iptables_rules(table: str) -> list[str]:
    return run("iptables", "-t", table, "-S", check=False).stdout.splitlines()


def undo_network() -> None:
    """Remove what the node and its pods' CNI calls leave behind, including after a pod that
    was killed without a CNI DEL: rules, chains, the bridge, netns and IPAM leases."""
    run("iptables", "-t", "nat", "-D", "PREROUTING", "-i", BRIDGE, "-j", NAT_CHAIN, check=False)
    for op in ("-F", "-X"):
        run("iptables", "-t", "nat", op, NAT_CHAIN, check=False)
    ours = f'"name: \\"{CNI_NETWORK}\\""'  # the CNI plugins' comment on every rule they add
    cni_chains = set()
    for rule in iptables_rules("nat"):
        if rule.startswith("-A POSTROUTING") and ours in rule:
            run("iptables", "-t", "nat", *shlex.split("-D" + rule[2:]), check=False)
        if rule.startswith("-A CNI-") and ours in rule:
            cni_chains.add(rule.split()[1])
    for chain in cni_chains:
        run("iptables", "-t", "nat", "-F", chain, check=False)
        run("iptables", "-t", "nat", "-X", chain, check=False)
    # The kubelet's own chains: KUBE-FIREWALL drops non-loopback packets to 127/8 unless DNATed.
    for hook in ("INPUT", "OUTPUT"):
        run("iptables", "-D", hook, "-j", "KUBE-FIREWALL", check=False)
    for op in ("-F", "-X"):
        run("iptables", op, "KUBE-FIREWALL", check=False)
    for table in ("mangle", "nat", "filter"):
        run("iptables", "-t", table, "-X", "KUBE-KUBELET-CANARY", check=False)
    run(str(TOOLS_BIN / "kube-proxy"), "--cleanup", check=False)  # its KUBE-* chains
    run("ip", "link", "del", BRIDGE, check=False)
    netns = Path("/run/netns")
    for namespace in netns.glob("cni-*") if netns.is_dir() else []:
        run("ip", "netns", "del", namespace.name, check=False)
    shutil.rmtree(f"/var/lib/cni/networks/{CNI_NETWORK}", ignore_errors=True)


def unmount_under(*prefixes: str) -> None:
    """Volumes, sandbox shm and netns mounts that pods left under our directories."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefixes)), reverse=True):
        run("umount", "-l", mount, check=False)
