"""The control plane's life: its tools, a fresh start in order with a check after each step,
its health, and its end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

from localcluster import processes
from localcluster.api import ApiClient, etcd_healthy, is_ready, responds_ok, self_signed
from localcluster.certificates import control_plane_certificates, write_kubeconfig
from localcluster.components import BINARIES, COMPONENTS, KWOK_NODE_PREFIX, command_lines, kwok_node
from localcluster.console import fail, log
from localcluster.layout import ROOT, TOOLS_BIN, ClusterDir, ClusterState, Ports

# Bumped when the components' flags change, so that `up` replaces an older running cluster.
STATE_FORMAT = 2
# The components that log in with a kubeconfig of their own, in kubeconfigs/.
CLIENTS = ("kube-controller-manager", "kube-scheduler", "kwok")
GO = "/usr/local/go/bin/go"  # where Go's own installer puts it, often not on PATH


def ensure_tools(*, build: bool) -> None:
    """The binaries in TOOLS_BIN, built by hack/tools.sh where Go is at hand (it only
    builds what is missing or out of date)."""
    missing = [name for name in BINARIES if not os.access(TOOLS_BIN / name, os.X_OK)]
    go = shutil.which("go") or (GO if os.access(GO, os.X_OK) else None)
    if not build or (go is None and not missing):
        if missing:
            fail(f"missing binaries in {TOOLS_BIN}: {missing}; run hack/tools.sh")
        return
    if go is None:
        fail(f"missing binaries in {TOOLS_BIN}: {missing}, and no Go toolchain to build them")
    built = subprocess.run(
        [str(ROOT / "hack" / "tools.sh"), *BINARIES], env=dict(os.environ, GO=go)
    )
    if built.returncode != 0:
        fail("hack/tools.sh failed")


def component_healthy(port: int) -> bool:
    """/healthz of the controller-manager or the scheduler (anonymous, self-signed)."""
    return responds_ok(f"https://127.0.0.1:{port}/healthz", context=self_signed())


def ready_kwok_nodes(api: ApiClient) -> tuple[list[str], list[str]]:
    """The names of the kwok nodes that are Ready, and of those that are not."""
    code, body = api.get("/api/v1/nodes?labelSelector=type%3Dkwok")
    if code != 200 or not isinstance(body, dict):
        return [], []
    ready: list[str] = []
    not_ready: list[str] = []
    for node in body.get("items", []):
        (ready if is_ready(node) else not_ready).append(node["metadata"]["name"])
    return ready, not_ready


def problems(cluster_dir: ClusterDir, state: ClusterState) -> list[str]:
    """What is wrong with a running cluster (nothing: it is healthy)."""
    found = [
        f"{name} is not running"
        for name in COMPONENTS
        if not processes.running(processes.recorded(cluster_dir, name))
    ]
    if found:
        return found
    ports = state["ports"]
    if not etcd_healthy(ports["etcd"]):
        found.append("etcd /health is not ok")
    api = ApiClient(cluster_dir, ports["apiserver"])
    code, body = api.get("/readyz")
    if code != 200:
        found.append(f"kube-apiserver /readyz: {code} {str(body)[:200]}")
        return found
    for name, port in (
        ("kube-controller-manager", ports["controller_manager"]),
        ("kube-scheduler", ports["scheduler"]),
    ):
        if not component_healthy(port):
            found.append(f"{name} /healthz is not ok")
    code, _ = api.get("/api/v1/namespaces/default/serviceaccounts/default")
    if code != 200:
        found.append("ServiceAccount default/default does not exist yet")
    ready, not_ready = ready_kwok_nodes(api)
    if len(ready) < state.get("nodes", 1):
        found.append(
            f"kwok nodes ready: {len(ready)}/{state.get('nodes')} (not ready: {not_ready})"
        )
    return found


def reuse_problems(cluster_dir: ClusterDir, state: ClusterState, *, nodes: int) -> list[str]:
    """Why a running cluster cannot serve as asked (nothing: reuse it)."""
    found = problems(cluster_dir, state)
    if state.get("format") != STATE_FORMAT:
        found.append("it was started with other flags by an older hack/cluster.py")
    if state.get("nodes", 0) != nodes:
        found.append(f"it has {state.get('nodes', 0)} kwok nodes, not {nodes}")
    return found


def take_real_node_down(cluster_dir: ClusterDir) -> None:
    """A real node (hack/node.py) goes before the control plane: it drains through it."""
    if cluster_dir.node.exists():
        node = [sys.executable, str(ROOT / "hack" / "node.py"), f"--dir={cluster_dir.base}", "down"]
        if subprocess.run(node).returncode != 0:
            fail(f"could not take the real node down; keeping {cluster_dir.base}")


def stop(cluster_dir: ClusterDir, *, quiet: bool = False) -> bool:
    return processes.stop(cluster_dir, list(reversed(COMPONENTS)), quiet=quiet)


def clear(cluster_dir: ClusterDir) -> None:
    """Stop whatever an earlier `up` left and remove its state, keeping the logs."""
    take_real_node_down(cluster_dir)
    if not stop(cluster_dir, quiet=True):
        fail("could not stop the previous cluster processes")
    for path in (
        cluster_dir.pids,
        cluster_dir.etcd_data,
        cluster_dir.pki,
        cluster_dir.kubeconfigs,
        cluster_dir.certs,
        cluster_dir.home,
    ):
        shutil.rmtree(path, ignore_errors=True)
    cluster_dir.state.unlink(missing_ok=True)
    cluster_dir.kubeconfig.unlink(missing_ok=True)


def prepare(cluster_dir: ClusterDir) -> Ports:
    """Certificates, ports and kubeconfigs for a fresh start."""
    started = time.monotonic()
    control_plane_certificates(cluster_dir.pki)
    log(f"generated CA and certificates in {time.monotonic() - started:.1f}s")
    ports = Ports(
        etcd=processes.free_port(),
        etcd_peer=processes.free_port(),
        apiserver=processes.free_port(),
        controller_manager=processes.free_port(),
        scheduler=processes.free_port(),
    )
    server = f"https://127.0.0.1:{ports['apiserver']}"
    write_kubeconfig(cluster_dir.kubeconfig, server=server, pki=cluster_dir.pki, user="admin")
    for client in CLIENTS:
        write_kubeconfig(
            cluster_dir.kubeconfigs / f"{client}.conf",
            server=server,
            pki=cluster_dir.pki,
            user=client,
        )
    cluster_dir.etcd_data.mkdir(mode=0o700, parents=True, exist_ok=True)
    (cluster_dir.home / "kwok").mkdir(parents=True, exist_ok=True)
    return ports


def start(cluster_dir: ClusterDir, ports: Ports, *, nodes: int, timeout: float) -> None:
    """Each component in order, the kwok nodes, and a wait until all of it is ready; raises
    RuntimeError (with the log's last lines) when a step fails or times out."""
    argv = command_lines(cluster_dir, ports)
    env = {name: value for name, value in os.environ.items() if name != "KUBECONFIG"}
    started: dict[str, subprocess.Popen[bytes]] = {}

    def launch(name: str, *, home: str | None = None) -> None:
        started[name] = processes.start(
            cluster_dir, name, argv[name], dict(env, HOME=home) if home else env
        )

    def wait_for(what: str, check: Callable[[], object], *, seconds: float, log_name: str) -> None:
        processes.wait_for(
            what,
            check,
            timeout=seconds,
            state_dir=cluster_dir,
            processes=started,
            log_name=log_name,
        )

    launch("etcd")
    wait_for("etcd", lambda: etcd_healthy(ports["etcd"]), seconds=30, log_name="etcd")
    launch("kube-apiserver")
    api = ApiClient(cluster_dir, ports["apiserver"])
    wait_for(
        "kube-apiserver /readyz",
        lambda: api.get("/readyz")[0] == 200,
        seconds=timeout,
        log_name="kube-apiserver",
    )
    launch("kube-controller-manager")
    launch("kube-scheduler")
    launch("kwok", home=str(cluster_dir.home / "kwok"))  # away from a user's ~/.kwok/kwok.yaml
    for index in range(nodes):
        name = f"{KWOK_NODE_PREFIX}{index}"
        code, body = api.call("POST", "/api/v1/nodes", kwok_node(name))
        if code not in (201, 409):
            raise RuntimeError(f"creating node {name}: {code} {body}")
    wait_for(
        "kube-controller-manager /healthz",
        lambda: component_healthy(ports["controller_manager"]),
        seconds=timeout,
        log_name="kube-controller-manager",
    )
    wait_for(
        "kube-scheduler /healthz",
        lambda: component_healthy(ports["scheduler"]),
        seconds=timeout,
        log_name="kube-scheduler",
    )
    wait_for(
        "default ServiceAccount",
        lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        seconds=timeout,
        log_name="kube-controller-manager",
    )
    wait_for(
        f"{nodes} kwok nodes Ready",
        lambda: len(ready_kwok_nodes(api)[0]) >= nodes,
        seconds=timeout,
        log_name="kwok",
    )


def record(cluster_dir: ClusterDir, ports: Ports, *, nodes: int) -> ClusterState:
    state = ClusterState(
        format=STATE_FORMAT,
        ports=ports,
        nodes=nodes,
        server=f"https://127.0.0.1:{ports['apiserver']}",
        kubeconfig=str(cluster_dir.kubeconfig),
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    cluster_dir.state.write_text(json.dumps(state, indent=2) + "\n")
    return state
