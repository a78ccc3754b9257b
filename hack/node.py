#!/usr/bin/env python3
"""A real node for the local cluster (hack/cluster.py): the kubelet from .tools/bin at the
control plane's release, on Debian's containerd, runc and CNI plugins. Pods really run.

Usage: hack/node.py [--dir DIR] {check,up,down,status,place} [options]

  check     Say whether this host can run the node, and if not, why; exit 0 only if it can.
  up        Start containerd and the kubelet (or reuse them) and wait until the node is
            Ready.
  down      Drain the node, stop the kubelet and containerd, and undo the network set-up.
  status    Exit 0 only if containerd and the kubelet run and the node is Ready.
  place NAMESPACE...
            Annotate namespaces so that their pods go to the real node (see below).

Needs root and an up cluster; one real node per machine. The node is named playout-real-0, labelled
playout.dev/node=real and tainted playout.dev/node=real:NoSchedule; kwok nodes carry
type=kwok. A namespace sends its pods to the real node with two annotations (the apiserver
runs the PodNodeSelector and PodTolerationRestriction admission plugins):

  scheduler.alpha.kubernetes.io/node-selector: playout.dev/node=real
  scheduler.alpha.kubernetes.io/defaultTolerations: '[{"key": "playout.dev/node",
      "operator": "Equal", "value": "real", "effect": "NoSchedule"}]'

so the kwok tiers and the real-node tier share one cluster without meeting (`place` does
it). Its state lives in DIR/node; containerd's images live in .cache/containerd, so they
outlive `cluster.py down`.

The apiserver listens on 127.0.0.1 only and has no kube-proxy in front of it, so pods reach
it at the `kubernetes` Service address (10.96.0.1:443) through a DNAT to loopback, which
`route_localnet` on the pod bridge allows.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import (
    ROOT,
    SERVICE_IP,
    TOOLS_BIN,
    Api,
    Layout,
    add_dir_argument,
    alive,
    fail,
    new_cert,
    read_pid,
    start,
    stop_processes,
    wait_for,
    write_kubeconfig,
)

NODE = "playout-real-0"
NODE_LABEL = "playout.dev/node"
TAINT = {"key": NODE_LABEL, "value": "real", "effect": "NoSchedule"}
# What the PodNodeSelector and PodTolerationRestriction admission plugins read.
PLACEMENT = {
    "scheduler.alpha.kubernetes.io/node-selector": f"{NODE_LABEL}=real",
    "scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps(
        [{**TAINT, "operator": "Equal"}]
    ),
}
BRIDGE = "playout0"
NAT_CHAIN = "PLAYOUT-SVC"
RUN_DIR = Path("/run/playout-containerd")
SOCKET = RUN_DIR / "containerd.sock"
CONTAINERD_ROOT = ROOT / ".cache" / "containerd"
CONFIG_DIR = ROOT / "hack" / "node"
PROCESSES = ["containerd", "coredns", "kube-proxy", "kubelet"]
POD_CIDR = "10.244.0.0/24"  # 10-playout.conflist's range
# Cluster DNS: CoreDNS runs beside the kubelet on the node's address; the kube-dns Service
# reserves its usual address, and kube-proxy takes pods' queries there.
DNS_IP = "10.96.0.10"
DNS_PORT = 1053
DNS_READY = "127.0.0.1:18181"
KUBE_PROXY_HEALTH = "127.0.0.1:10256"
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
CNI_BIN = Path("/usr/lib/cni")
NODE_TOOLS = ("kubelet", "kube-proxy", "coredns")  # built by hack/tools.sh


def log(msg: str) -> None:
    print(f"[node] {msg}", flush=True)


class NodeLayout(Layout):
    def __init__(self, cluster: Layout):
        super().__init__(cluster.base / "node")
        self.cluster = cluster
        self.kubelet_root = self.base / "kubelet"
        self.cni_conf = self.base / "cni"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        fail(f"{' '.join(argv)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ctr", "-a", str(SOCKET), "-n", "k8s.io", *args, check=check)


# ------------------------------------------------------------------------ host check


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
    addrs = json.loads(run("ip", "-j", "-4", "addr", "show", "dev", routes[0]["dev"]).stdout)
    return str(addrs[0]["addr_info"][0]["local"])


# ------------------------------------------------------------------------ up


def render(template: str, out: Path, **values: str) -> Path:
    text = (CONFIG_DIR / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    out.write_text(text)
    return out


def node_credentials(lay: NodeLayout, ip: str, server: str) -> dict[str, Path]:
    """Kubeconfigs for the node's processes, with certificates from the cluster CA: the
    kubelet as the Node authorizer's system:node:<name> (and its serving certificate),
    kube-proxy as system:kube-proxy (bound to system:node-proxier by default), CoreDNS as
    playout:coredns (bound by `dns_objects`)."""
    pki = lay.cluster.pki
    identities = {
        "kubelet": ("kubelet-client", f"system:node:{NODE}", "system:nodes"),
        "kube-proxy": ("kube-proxy", "system:kube-proxy", None),
        "coredns": ("coredns", "playout:coredns", None),
    }
    new_cert(
        pki, "kubelet-server", "ca", NODE, server_sans=[f"DNS:{NODE}", f"IP:{ip}", "IP:127.0.0.1"]
    )
    kubeconfigs = {}
    for process, (name, user, group) in identities.items():
        if not (pki / f"{name}.crt").exists():
            new_cert(pki, name, "ca", user, group)
        kubeconfigs[process] = lay.base / f"{process}.conf"
        write_kubeconfig(kubeconfigs[process], server, pki, name)
    return kubeconfigs


def dns_objects(ip: str) -> list[dict]:
    """What cluster DNS needs in the API: CoreDNS's read access, and the kube-dns Service at
    DNS_IP (so that no other Service is given that address) with an EndpointSlice that
    points at CoreDNS on the node."""
    dns_ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "playout:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                 "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "playout:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "playout:coredns"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": "playout:coredns"}],
        },
        {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                         "labels": {"k8s-app": "kube-dns"}},
            "spec": {
                "clusterIP": DNS_IP,
                "ports": [{"name": name, "port": 53, "protocol": protocol,
                           "targetPort": DNS_PORT} for name, protocol in dns_ports],
            },
        },
        {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                         "labels": {"kubernetes.io/service-name": "kube-dns",
                                    "endpointslice.kubernetes.io/managed-by": "playout.dev-node"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}, "nodeName": NODE}],
            "ports": [{"name": name, "port": DNS_PORT, "protocol": protocol}
                      for name, protocol in dns_ports],
        },
    ]  # fmt: skip


def kubectl(
    lay: NodeLayout, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(TOOLS_BIN / "kubectl"), f"--kubeconfig={lay.cluster.kubeconfig}", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True)


def healthy(address: str, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def service_nat(apiserver_port: int) -> None:
    """The `kubernetes` Service without kube-proxy: pods' packets for 10.96.0.1:443 go to
    the apiserver on loopback."""
    if run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        run("ip", "link", "add", BRIDGE, "type", "bridge")  # the CNI bridge plugin reuses it
    run("ip", "link", "set", BRIDGE, "up")
    Path(f"/proc/sys/net/ipv4/conf/{BRIDGE}/route_localnet").write_text("1")
    if run("iptables", "-t", "nat", "-N", NAT_CHAIN, check=False).returncode != 0:
        run("iptables", "-t", "nat", "-F", NAT_CHAIN)
    run(
        "iptables",
        "-t",
        "nat",
        "-A",
        NAT_CHAIN,
        "-d",
        f"{SERVICE_IP}/32",
        "-p",
        "tcp",
        "--dport",
        "443",
        "-j",
        "DNAT",
        "--to-destination",
        f"127.0.0.1:{apiserver_port}",
    )
    jump = ("PREROUTING", "-i", BRIDGE, "-j", NAT_CHAIN)
    if run("iptables", "-t", "nat", "-C", *jump, check=False).returncode != 0:
        run("iptables", "-t", "nat", "-I", *jump)


def wait(
    what: str,
    check,
    timeout: float,
    lay: NodeLayout,
    procs: dict[str, subprocess.Popen],
    logname: str,
) -> None:
    """cluster.wait_for, ending the command instead of raising."""
    try:
        wait_for(what, check, timeout, lay, procs, logname)
    except RuntimeError as error:
        fail(str(error))


def node_ready(api: Api) -> bool:
    code, body = api.get(f"/api/v1/nodes/{NODE}")
    if code != 200 or not isinstance(body, dict):
        return False
    conditions = body.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def cmd_up(lay: NodeLayout, args) -> int:
    if problems := blockers():
        fail("this host cannot run a real node:\n  " + "\n  ".join(problems), code=3)
    state = lay.cluster.load_state()
    if state is None:
        fail("the cluster is not up: run hack/cluster.py up first")
    t_start = time.monotonic()
    api = Api(lay.cluster, state["ports"]["apiserver"])
    node_state = lay.load_state()
    if node_state and all(alive(read_pid(lay, name)) for name in PROCESSES) and node_ready(api):
        log(f"reusing node {NODE} ({node_state['ip']}), Ready")
        return 0
    if node_state or any(alive(read_pid(lay, name)) for name in PROCESSES):
        cmd_down(lay, args)
    if SOCKET.exists() and ctr("version", check=False).returncode == 0:
        # The socket, the bridge and the kubelet's ports are the machine's, not the checkout's.
        fail(f"another real node's containerd answers on {SOCKET} (another checkout of playout?): "
             "run `hack/node.py down` there first", code=3)  # fmt: skip
    for path in (lay.logs, lay.pids, lay.cni_conf, CONTAINERD_ROOT):
        path.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIG_DIR / "10-playout.conflist", lay.cni_conf)
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PATH"] = f"{TOOLS_BIN}:{env.get('PATH', '')}"

    containerd_conf = render(
        "containerd.toml",
        lay.base / "containerd.toml",
        ROOT=str(CONTAINERD_ROOT),
        STATE=str(RUN_DIR),
        CNI_CONF=str(lay.cni_conf),
    )
    procs = {
        "containerd": start(
            lay, "containerd", ["containerd", "--config", str(containerd_conf)], env
        )
    }
    wait(
        "containerd",
        lambda: SOCKET.exists() and ctr("version", check=False).returncode == 0,
        30,
        lay,
        procs,
        "containerd",
    )
    # The sandbox image must be in containerd before the first pod.
    r = subprocess.run([str(ROOT / "hack" / "images.sh"), "pause"], env=env)
    if r.returncode != 0:
        fail("building the pause image failed (hack/images.sh pause)")

    ip = node_ip()
    service_nat(state["ports"]["apiserver"])
    # Pods on the bridge reach Services through kube-proxy's rules, replies included.
    bridge_nf = BRIDGE_NF.read_text().strip()
    lay.state.write_text(json.dumps({"ip": ip, "bridge_nf": bridge_nf}) + "\n")  # for `down`
    BRIDGE_NF.write_text("1")
    kubeconfigs = node_credentials(lay, ip, state["server"])
    objects = "\n---\n".join(json.dumps(document) for document in dns_objects(ip))
    r = kubectl(lay, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=objects)
    if r.returncode != 0:
        fail(f"creating the cluster DNS objects: {r.stderr.strip()}")
    corefile = render(
        "Corefile", lay.base / "Corefile",
        IP=ip, PORT=str(DNS_PORT), READY=DNS_READY, KUBECONFIG=str(kubeconfigs["coredns"]),
    )  # fmt: skip
    procs["coredns"] = start(
        lay, "coredns", [str(TOOLS_BIN / "coredns"), "-conf", str(corefile)], env
    )
    procs["kube-proxy"] = start(lay, "kube-proxy", [
        str(TOOLS_BIN / "kube-proxy"), f"--kubeconfig={kubeconfigs['kube-proxy']}",
        f"--hostname-override={NODE}", "--proxy-mode=iptables", f"--cluster-cidr={POD_CIDR}",
        # leave the host's conntrack table size alone
        "--conntrack-max-per-core=0",
        "--metrics-bind-address=127.0.0.1:10249", f"--healthz-bind-address={KUBE_PROXY_HEALTH}",
    ], env)  # fmt: skip
    kubelet_conf = render(
        "kubelet.yaml", lay.base / "kubelet.yaml",
        PKI=str(lay.cluster.pki), SOCKET=str(SOCKET), TAINTS=json.dumps([TAINT]), DNS=DNS_IP,
    )  # fmt: skip
    procs["kubelet"] = start(lay, "kubelet", [
        str(TOOLS_BIN / "kubelet"), f"--config={kubelet_conf}",
        f"--kubeconfig={kubeconfigs['kubelet']}", f"--hostname-override={NODE}",
        f"--node-ip={ip}", f"--root-dir={lay.kubelet_root}", f"--node-labels={NODE_LABEL}=real",
        "--v=1",
    ], env)  # fmt: skip
    wait("CoreDNS", lambda: healthy(DNS_READY, "/ready"), 30, lay, procs, "coredns")
    wait("kube-proxy", lambda: healthy(KUBE_PROXY_HEALTH, "/healthz"), 30, lay, procs, "kube-proxy")
    wait(f"node {NODE} Ready", lambda: node_ready(api), args.timeout, lay, procs, "kubelet")
    log(f"node {NODE} up in {time.monotonic() - t_start:.1f}s at {ip}")
    return 0


# ------------------------------------------------------------------------ down


def iptables_lines(table: str) -> list[str]:
    return run("iptables", "-t", table, "-S", check=False).stdout.splitlines()


def undo_network() -> None:
    """Remove what the node and its pods' CNI calls leave behind, including after a pod that
    was killed without a CNI DEL: rules, chains, the bridge, netns and IPAM leases."""
    run("iptables", "-t", "nat", "-D", "PREROUTING", "-i", BRIDGE, "-j", NAT_CHAIN, check=False)
    for op in ("-F", "-X"):
        run("iptables", "-t", "nat", op, NAT_CHAIN, check=False)
    ours = '"name: \\"playout\\""'  # the CNI plugins' comment on every rule they add
    cni_chains = set()
    for line in iptables_lines("nat"):
        if line.startswith("-A POSTROUTING") and ours in line:
            run("iptables", "-t", "nat", *shlex.split("-D" + line[2:]), check=False)
        if line.startswith("-A CNI-") and ours in line:
            cni_chains.add(line.split()[1])
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
    for ns in netns.glob("cni-*") if netns.is_dir() else []:
        run("ip", "netns", "del", ns.name, check=False)
    shutil.rmtree("/var/lib/cni/networks/playout", ignore_errors=True)


def unmount_under(*prefixes: str) -> None:
    """Volumes, sandbox shm and netns mounts that pods left under our directories."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefixes)), reverse=True):
        run("umount", "-l", mount, check=False)


def cmd_down(lay: NodeLayout, args) -> int:
    state = lay.cluster.load_state()
    kubelet = read_pid(lay, "kubelet")
    if state and alive(kubelet):
        # Cordon first, or controllers put replacements straight back; the kubelet then
        # tears each pod down with a CNI DEL.
        kubectl(lay, "cordon", NODE)
        kubectl(lay, "delete", "pods", "-A", f"--field-selector=spec.nodeName={NODE}",
                "--grace-period=5", "--timeout=60s")  # fmt: skip
    stop_processes(lay, ["kubelet", "kube-proxy", "coredns"])
    if alive(read_pid(lay, "containerd")):
        tasks = ctr("tasks", "ls", "-q", check=False).stdout.split()
        for task in tasks:
            ctr("tasks", "kill", "-s", "KILL", task, check=False)
        time.sleep(0.5 if tasks else 0)
        for task in tasks:
            ctr("tasks", "rm", "-f", task, check=False)
        for container in ctr("containers", "ls", "-q", check=False).stdout.split():
            ctr("containers", "rm", container, check=False)
    stop_processes(lay, ["containerd"])
    if state:
        Api(lay.cluster, state["ports"]["apiserver"]).call("DELETE", f"/api/v1/nodes/{NODE}")
        kubectl(lay, "delete", "--ignore-not-found", "--wait=false", "-n", "kube-system",
                "service/kube-dns", "endpointslice/kube-dns-node")  # fmt: skip
        kubectl(lay, "delete", "--ignore-not-found", "clusterrolebinding/playout:coredns",
                "clusterrole/playout:coredns")  # fmt: skip
    if os.geteuid() == 0:
        undo_network()
        node_state = lay.load_state() or {}
        if "bridge_nf" in node_state:
            BRIDGE_NF.write_text(node_state["bridge_nf"])
        unmount_under(str(lay.base), str(RUN_DIR), "/run/netns/cni-", str(CONTAINERD_ROOT))
    shutil.rmtree(lay.base, ignore_errors=True)
    log(f"node {NODE} down")
    return 0


def cmd_status(lay: NodeLayout, args) -> int:
    state = lay.cluster.load_state()
    running = {name: alive(read_pid(lay, name)) for name in PROCESSES}
    ready = bool(state) and node_ready(Api(lay.cluster, state["ports"]["apiserver"]))
    for name, up in running.items():
        print(f"  {name:<12} {'running' if up else 'NOT RUNNING'}")
    print(f"  node {NODE}: {'Ready' if ready else 'not Ready'}")
    return 0 if all(running.values()) and ready else 1


def cmd_place(lay: NodeLayout, args) -> int:
    annotations = [f"{key}={value}" for key, value in PLACEMENT.items()]
    for namespace in args.namespaces:
        r = kubectl(lay, "annotate", "namespace", namespace, "--overwrite", *annotations)
        if r.returncode != 0:
            fail(f"annotating namespace {namespace}: {r.stderr.strip()}")
    return 0


def cmd_check(lay: NodeLayout, args) -> int:
    if problems := blockers():
        print("no real node on this host:\n  " + "\n  ".join(problems))
        return 1
    print("this host can run a real node")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dir_argument(ap)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="say whether this host can run the node")
    up = sub.add_parser("up", help="start (or reuse) the node and wait until it is Ready")
    up.add_argument("--timeout", type=float, default=90, help="seconds to wait for Ready")
    sub.add_parser("down", help="drain and stop the node, undo its network set-up")
    sub.add_parser("status", help="exit 0 only if the node runs and is Ready")
    place = sub.add_parser("place", help="send the pods of these namespaces to the real node")
    place.add_argument("namespaces", nargs="+", metavar="NAMESPACE")
    args = ap.parse_args(argv)
    lay = NodeLayout(Layout(args.dir.resolve()))
    commands = {
        "check": cmd_check,
        "up": cmd_up,
        "down": cmd_down,
        "status": cmd_status,
        "place": cmd_place,
    }
    return commands[args.cmd](lay, args)


if __name__ == "__main__":
    sys.exit(main())
