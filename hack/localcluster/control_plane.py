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
from typing import NamedTuple

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
    check = checks(cluster_dir, ports, nodes=state.get("nodes", 1))
    if not check["etcd"].probe():
        found.append("etcd /health is not ok")
    api = ApiClient(cluster_dir, ports["apiserver"])
    code, body = api.get("/readyz")
    if code != 200:
        found.append(f"kube-apiserver /readyz: {code} {str(body)[:200]}")
        return found
    for name in ("kube-controller-manager", "kube-scheduler"):
        if not check[name].probe():
            found.append(f"{check[name].what} is not ok")
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


class Check(NamedTuple):
    """How to tell that a component serves: what to call it, and a probe."""

    what: str
    probe: Callable[[], bool]


def checks(cluster_dir: ClusterDir, ports: Ports, *, nodes: int) -> dict[str, Check]:
    """Per component, the check that it serves (kwok: its nodes are Ready)."""
    api = ApiClient(cluster_dir, ports["apiserver"])
    return {
        "etcd": Check("etcd", lambda: etcd_healthy(ports["etcd"])),
        "kube-apiserver": Check("kube-apiserver /readyz", lambda: api.get("/readyz")[0] == 200),
        "kube-controller-manager": Check(
            "kube-controller-manager /healthz",
            lambda: component_healthy(ports["controller_manager"]),
        ),
        "kube-scheduler": Check(
            "kube-scheduler /healthz", lambda: component_healthy(ports["scheduler"])
        ),
        "kwok": Check(f"{nodes} kwok nodes Ready", lambda: len(ready_kwok_nodes(api)[0]) >= nodes),
    }


def wait_until(
    cluster_dir: ClusterDir,
    check: Check,
    *,
    started: dict[str, subprocess.Popen[bytes]],
    timeout: float,
    log_name: str,
) -> None:
    """processes.wait_for with a Check: fails early when one of `started` exits."""
    processes.wait_for(
        check.what,
        check.probe,
        timeout=timeout,
        state_dir=cluster_dir,
        processes=started,
        log_name=log_name,
    )


def launch(cluster_dir: ClusterDir, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """One component, with the environment it always gets: no KUBECONFIG (each has its
    own), and for kwok a HOME of its own, away from a user's ~/.kwok/kwok.yaml."""
    env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
    if name == "kwok":
        env["HOME"] = str(cluster_dir.home / "kwok")
    return processes.start(cluster_dir, name, argv, env)


def start(cluster_dir: ClusterDir, ports: Ports, *, nodes: int, timeout: float) -> None:
    """Each component in order, the kwok nodes, and a wait until all of it is ready; raises
    RuntimeError (with the log's last lines) when a step fails or times out."""
    argv = command_lines(cluster_dir, ports)
    check = checks(cluster_dir, ports, nodes=nodes)
    started: dict[str, subprocess.Popen[bytes]] = {}

    def run(name: str) -> None:
        started[name] = launch(cluster_dir, name, argv[name])

    def wait_for(name: str, *, seconds: float = timeout) -> None:
        wait_until(cluster_dir, check[name], started=started, timeout=seconds, log_name=name)

    run("etcd")
    wait_for("etcd", seconds=30)
    run("kube-apiserver")
    wait_for("kube-apiserver")
    for name in ("kube-controller-manager", "kube-scheduler", "kwok"):
        run(name)
    api = ApiClient(cluster_dir, ports["apiserver"])
    for index in range(nodes):
        name = f"{KWOK_NODE_PREFIX}{index}"
        code, body = api.call("POST", "/api/v1/nodes", kwok_node(name))
        if code not in (201, 409):
            raise RuntimeError(f"creating node {name}: {code} {body}")
    wait_for("kube-controller-manager")
    wait_for("kube-scheduler")
    account = Check(
        "default ServiceAccount",
        lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
    )
    wait_until(
        cluster_dir, account, started=started, timeout=timeout, log_name="kube-controller-manager"
    )
    wait_for("kwok")


def restart(
    cluster_dir: ClusterDir,
    state: ClusterState,
    name: str,
    *,
    kill: bool,
    down_seconds: float,
    timeout: float,
) -> None:
    """Stop one component (TERM, or KILL: a crash) and start it again with the same
    command line, so the same ports and data; return once it serves again, and for etcd
    once the apiserver does too (it reports etcd in /readyz). Raises RuntimeError as
    `start` does."""
    argv = command_lines(cluster_dir, state["ports"])[name]
    check = checks(cluster_dir, state["ports"], nodes=state["nodes"])
    stopped = time.monotonic()
    if not processes.stop(cluster_dir, [name], kill=kill):
        raise RuntimeError(f"{name} did not exit")
    time.sleep(down_seconds)
    started = {name: launch(cluster_dir, name, argv)}
    began = time.monotonic()
    for waited in [name, "kube-apiserver"] if name == "etcd" else [name]:
        wait_until(cluster_dir, check[waited], started=started, timeout=timeout, log_name=waited)
    log(
        f"{name} restarted: it serves {time.monotonic() - began:.1f}s after its start, "
        f"{time.monotonic() - stopped:.1f}s after it was stopped"
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
