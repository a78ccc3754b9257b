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
`route_localnet` on the pod bridge allows. The parts are in hack/localcluster/node_*.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

from localcluster import processes
from localcluster.api import ApiClient
from localcluster.console import fail, log
from localcluster.layout import ClusterDir, NodeDir, add_dir_argument
from localcluster.node_cluster import (
    NODE,
    PLACEMENT,
    add_to_cluster,
    kubectl,
    node_credentials,
    node_ready,
    remove_from_cluster,
)
from localcluster.node_host import SOCKET, blockers, containerd_answers
from localcluster.node_network import set_up_network, tear_down_network
from localcluster.node_processes import (
    PROCESSES,
    all_running,
    any_running,
    node_environment,
    remove_containers,
    start_containerd,
    start_node_services,
    wait_for,
)


def cmd_up(node_dir: NodeDir, args: argparse.Namespace) -> int:
    if problems := blockers():
        fail("this host cannot run a real node:\n  " + "\n  ".join(problems), code=3)
    state = node_dir.cluster.load_state()
    if state is None:
        fail("the cluster is not up: run hack/cluster.py up first")
    started_at = time.monotonic()
    api = ApiClient(node_dir.cluster, state["ports"]["apiserver"])
    node_state = node_dir.load_state()
    if node_state and all_running(node_dir) and node_ready(api):
        log(f"reusing node {NODE} ({node_state['ip']}), Ready", source="node")
        return 0
    if node_state or any_running(node_dir):
        take_down(node_dir)
    if containerd_answers():
        fail(f"another real node's containerd answers on {SOCKET} (another checkout of playout?): "
             "run `hack/node.py down` there first", code=3)  # fmt: skip
    env = node_environment()
    started = start_containerd(node_dir, env)
    ip = set_up_network(node_dir, apiserver_port=state["ports"]["apiserver"])
    kubeconfigs = node_credentials(node_dir, ip=ip, server=state["server"])
    add_to_cluster(node_dir, ip=ip)
    start_node_services(node_dir, started, env, ip=ip, kubeconfigs=kubeconfigs)
    wait_for(
        node_dir,
        started,
        f"node {NODE} Ready",
        lambda: node_ready(api),
        timeout=args.timeout,
        log_name="kubelet",
    )
    log(f"node {NODE} up in {time.monotonic() - started_at:.1f}s at {ip}", source="node")
    return 0


def take_down(node_dir: NodeDir) -> None:
    state = node_dir.cluster.load_state()
    if state and processes.running(processes.recorded(node_dir, "kubelet")):
        # Cordon first, or controllers put replacements straight back; the kubelet then
        # tears each pod down with a CNI DEL.
        kubectl(node_dir, "cordon", NODE)
        kubectl(node_dir, "delete", "pods", "-A", f"--field-selector=spec.nodeName={NODE}",
                "--grace-period=5", "--timeout=60s")  # fmt: skip
    processes.stop(node_dir, ["kubelet", "kube-proxy", "coredns"])
    if processes.running(processes.recorded(node_dir, "containerd")):
        remove_containers()
    processes.stop(node_dir, ["containerd"])
    if state:
        remove_from_cluster(node_dir, ApiClient(node_dir.cluster, state["ports"]["apiserver"]))
    if os.geteuid() == 0:
        tear_down_network(node_dir)
    shutil.rmtree(node_dir.base, ignore_errors=True)
    log(f"node {NODE} down", source="node")


def cmd_down(node_dir: NodeDir, args: argparse.Namespace) -> int:
    take_down(node_dir)
    return 0


def cmd_status(node_dir: NodeDir, args: argparse.Namespace) -> int:
    state = node_dir.cluster.load_state()
    running = {name: processes.running(processes.recorded(node_dir, name)) for name in PROCESSES}
    ready = state is not None and node_ready(
        ApiClient(node_dir.cluster, state["ports"]["apiserver"])
    )
    for name, up in running.items():
        print(f"  {name:<12} {'running' if up else 'NOT RUNNING'}")
    print(f"  node {NODE}: {'Ready' if ready else 'not Ready'}")
    return 0 if all(running.values()) and ready else 1


def cmd_place(node_dir: NodeDir, args: argparse.Namespace) -> int:
    annotations = [f"{key}={value}" for key, value in PLACEMENT.items()]
    for namespace in args.namespaces:
        annotated = kubectl(
            node_dir, "annotate", "namespace", namespace, "--overwrite", *annotations
        )
        if annotated.returncode != 0:
            fail(f"annotating namespace {namespace}: {annotated.stderr.strip()}")
    return 0


def cmd_check(node_dir: NodeDir, args: argparse.Namespace) -> int:
    if problems := blockers():
        print("no real node on this host:\n  " + "\n  ".join(problems))
        return 1
    print("this host can run a real node")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dir_argument(parser)
    commands = parser.add_subparsers(dest="cmd", required=True)
    commands.add_parser("check", help="say whether this host can run the node")
    up = commands.add_parser("up", help="start (or reuse) the node and wait until it is Ready")
    up.add_argument("--timeout", type=float, default=90, help="seconds to wait for Ready")
    commands.add_parser("down", help="drain and stop the node, undo its network set-up")
    commands.add_parser("status", help="exit 0 only if the node runs and is Ready")
    place = commands.add_parser("place", help="send the pods of these namespaces to the real node")
    place.add_argument("namespaces", nargs="+", metavar="NAMESPACE")
    args = parser.parse_args(argv)
    run = {
        "check": cmd_check,
        "up": cmd_up,
        "down": cmd_down,
        "status": cmd_status,
        "place": cmd_place,
    }[args.cmd]
    return run(NodeDir(ClusterDir(args.dir.resolve())), args)


if __name__ == "__main__":
    sys.exit(main())
