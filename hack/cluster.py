#!/usr/bin/env python3
"""Local Kubernetes control plane without Docker: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (fake nodes) as plain
processes on 127.0.0.1, built from source by hack/tools.sh.

Usage: hack/cluster.py [--dir DIR] {up,down,status,env,restart} [options]

  up [--nodes N] [--timeout S] [--no-build]
      Start the cluster (or reuse a running healthy one) and wait until it is
      ready: apiserver /readyz, controller-manager and scheduler /healthz, the
      default ServiceAccount, and N Ready kwok nodes (default 2).
  down      Stop exactly the processes `up` started (TERM, then KILL) and
            remove the cluster directory.
  status    Show the processes and cluster health; exit 0 only if healthy.
  env       Print shell exports: eval "$(hack/cluster.py env)".
  restart COMPONENT [--kill] [--down SECONDS] [--timeout S]
            Stop one component (etcd, kube-apiserver, kube-controller-manager,
            kube-scheduler, kwok) and start it again with the same ports and data: the
            faults a cluster sees when its control plane is upgraded or crashes. --kill
            sends SIGKILL (a crash) instead of TERM; --down keeps it stopped that long.
            Returns once it serves again (after etcd, once the apiserver does too).

State lives in DIR (default <repo>/.cluster): kubeconfig (admin, system:masters),
pki/, kubeconfigs/ (per component), pids/, logs/, etcd/, state.json.

Fake nodes are named kwok-node-<i>, labelled type=kwok and annotated
kwok.x-k8s.io/node=fake, with no taints, so ordinary workloads schedule on them.
Their pods are driven by the kwok stages in hack/kwok/ (Running after ~1s,
Job pods Succeeded ~1-3s later). No container runs and pod IPs are fake.
hack/node.py adds a real node (a kubelet on containerd) where the host allows; `down`
takes it down first.

Only the Python standard library and the openssl CLI are used; the parts are in
hack/localcluster/.
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import sys
import time

from localcluster import control_plane, processes
from localcluster.api import ApiClient
from localcluster.components import COMPONENTS
from localcluster.console import fail, log, warn
from localcluster.layout import TOOLS_BIN, ClusterDir, add_dir_argument


def cmd_up(cluster_dir: ClusterDir, args: argparse.Namespace) -> int:
    started = time.monotonic()
    cluster_dir.base.mkdir(parents=True, exist_ok=True)
    with cluster_dir.lock.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one `up` at a time: the others then reuse it
        state = cluster_dir.load_state()
        if state is not None:
            problems = control_plane.reuse_problems(cluster_dir, state, nodes=args.nodes)
            if not problems:
                log(
                    f"reusing running cluster ({state['server']}), "
                    f"checked in {time.monotonic() - started:.1f}s"
                )
                log(f"KUBECONFIG={cluster_dir.kubeconfig}")
                return 0
            log("recreating the running cluster: " + "; ".join(problems))
        control_plane.clear(cluster_dir)
        control_plane.ensure_tools(build=not args.no_build)
        ports = control_plane.prepare(cluster_dir)
        try:
            control_plane.start(cluster_dir, ports, nodes=args.nodes, timeout=args.timeout)
        except (RuntimeError, KeyboardInterrupt) as error:
            warn(f"ERROR: {error}")
            control_plane.stop(cluster_dir, quiet=True)
            warn(f"stopped the processes; logs kept in {cluster_dir.logs} (`down` removes them)")
            return 1
        state = control_plane.record(cluster_dir, ports, nodes=args.nodes)
    log(f"cluster up in {time.monotonic() - started:.1f}s: {state['server']}")
    log(f"KUBECONFIG={cluster_dir.kubeconfig}")
    return 0


def cmd_down(cluster_dir: ClusterDir, args: argparse.Namespace) -> int:
    if not cluster_dir.base.exists():
        log(f"nothing to do ({cluster_dir.base} does not exist)")
        return 0
    control_plane.take_real_node_down(cluster_dir)
    if not control_plane.stop(cluster_dir):
        fail(f"some processes did not exit; keeping {cluster_dir.base}")
    shutil.rmtree(cluster_dir.base)
    log(f"stopped; removed {cluster_dir.base}")
    return 0


def cmd_status(cluster_dir: ClusterDir, args: argparse.Namespace) -> int:
    state = cluster_dir.load_state()
    running = {
        name: processes.running(processes.recorded(cluster_dir, name)) for name in COMPONENTS
    }
    if state is None:
        strays = [name for name, up in running.items() if up]
        print(
            f"cluster: not up ({cluster_dir.base})"
            + (f"; stray processes: {strays}" if strays else "")
        )
        return 1
    ports = state["ports"]
    port_of = {
        "etcd": ports["etcd"],
        "kube-apiserver": ports["apiserver"],
        "kube-controller-manager": ports["controller_manager"],
        "kube-scheduler": ports["scheduler"],
    }
    print(
        f"cluster dir: {cluster_dir.base}\nkubeconfig:  {cluster_dir.kubeconfig}\n"
        f"apiserver:   {state['server']}"
    )
    for name in COMPONENTS:
        process = processes.recorded(cluster_dir, name)
        pid = process.pid if process else "-"
        address = f"127.0.0.1:{port_of[name]}" if name in port_of else "-"
        status = "running" if running[name] else "NOT RUNNING"
        print(f"  {name:<24} pid {pid:<8} {address:<16} {status}")
    problems = control_plane.problems(cluster_dir, state)
    if all(running.values()):
        ready, not_ready = control_plane.ready_kwok_nodes(
            ApiClient(cluster_dir, ports["apiserver"])
        )
        print(
            f"  nodes ready: {', '.join(ready) or '-'}"
            + (f"; not ready: {', '.join(not_ready)}" if not_ready else "")
        )
    if problems:
        print("health: UNHEALTHY\n  " + "\n  ".join(problems))
        return 1
    print("health: ok")
    return 0


def cmd_restart(cluster_dir: ClusterDir, args: argparse.Namespace) -> int:
    if cluster_dir.load_state() is None:
        fail(f"the cluster is not up ({cluster_dir.base}): run `hack/cluster.py up`")
    with cluster_dir.lock.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # not while an `up` replaces the cluster
        state = cluster_dir.load_state()
        if state is None:
            fail(f"the cluster went down meanwhile ({cluster_dir.base})")
        try:
            control_plane.restart(
                cluster_dir,
                state,
                args.component,
                kill=args.kill,
                down_seconds=args.down,
                timeout=args.timeout,
            )
        except RuntimeError as error:
            warn(f"ERROR: {error}")
            return 1
    return 0


def cmd_env(cluster_dir: ClusterDir, args: argparse.Namespace) -> int:
    if cluster_dir.load_state() is None:
        warn(f"warning: cluster is not up ({cluster_dir.base})")
    print(f"export KUBECONFIG={cluster_dir.kubeconfig}")
    print(f'export PATH={TOOLS_BIN}:"$PATH"')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dir_argument(parser)
    commands = parser.add_subparsers(dest="cmd", required=True)
    up = commands.add_parser("up", help="start (or reuse) the cluster and wait until it is ready")
    up.add_argument("--nodes", type=int, default=2, help="number of kwok fake nodes (default 2)")
    up.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for each readiness step"
    )
    up.add_argument(
        "--no-build", action="store_true", help="do not run hack/tools.sh; use .tools/bin as is"
    )
    commands.add_parser("down", help="stop the cluster processes and remove the cluster directory")
    commands.add_parser("status", help="show processes and health; exit 0 only if healthy")
    commands.add_parser("env", help='print shell exports: eval "$(hack/cluster.py env)"')
    restart = commands.add_parser(
        "restart", help="stop one component and start it again with the same ports and data"
    )
    restart.add_argument("component", choices=COMPONENTS)
    restart.add_argument("--kill", action="store_true", help="SIGKILL it (a crash), not TERM")
    restart.add_argument(
        "--down", type=float, default=0, help="seconds to keep it stopped (default 0)"
    )
    restart.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait until it serves again"
    )
    args = parser.parse_args(argv)
    run = {
        "up": cmd_up,
        "down": cmd_down,
        "status": cmd_status,
        "env": cmd_env,
        "restart": cmd_restart,
    }[args.cmd]
    return run(ClusterDir(args.dir.resolve()), args)


if __name__ == "__main__":
    sys.exit(main())
