#!/usr/bin/env python3
"""Local Kubernetes control plane without Docker: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (fake nodes) as plain
processes on 127.0.0.1, built from source by hack/tools.sh.

Usage: hack/cluster.py [--dir DIR] {up,down,status,env} [options]

  up [--nodes N] [--timeout S] [--no-build]
      Start the cluster (or reuse a running healthy one) and wait until it is
      ready: apiserver /readyz, controller-manager and scheduler /healthz, the
      default ServiceAccount, and N Ready kwok nodes (default 2).
  down      Stop exactly the processes `up` started (TERM, then KILL) and
            remove the cluster directory.
  status    Show the processes and cluster health; exit 0 only if healthy.
  env       Print shell exports: eval "$(hack/cluster.py env)".

State lives in DIR (default <repo>/.cluster): kubeconfig (admin, system:masters),
pki/, kubeconfigs/ (per component), pids/, logs/, etcd/, state.json.

Fake nodes are named kwok-node-<i>, labelled type=kwok and annotated
kwok.x-k8s.io/node=fake, with no taints, so ordinary workloads schedule on them.
Their pods are driven by the kwok stages in hack/kwok/ (Running after ~1s,
Job pods Succeeded ~1-3s later). No container runs and pod IPs are fake.
hack/node.py adds a real node (a kubelet on containerd) where the host allows; `down`
takes it down first.

Only the Python standard library and the openssl CLI are used.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(os.environ.get("PLAYOUT_TOOLS_BIN", ROOT / ".tools" / "bin"))
KWOK_CONFIG_DIR = ROOT / "hack" / "kwok"

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # first address of SERVICE_CIDR: the `kubernetes` Service
CLUSTER_NAME = "playout"
NODE_PREFIX = "kwok-node-"
# Start order; `down` stops in reverse.
# Bumped when the components' flags change, so that `up` replaces an older running cluster.
STATE_FORMAT = 2
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
BINARIES = [*COMPONENTS, "kubectl"]


def log(msg: str) -> None:
    print(f"[cluster] {msg}", flush=True)


def fail(msg: str, code: int = 1) -> NoReturn:
    print(f"[cluster] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


class Layout:
    def __init__(self, base: Path):
        self.base = base
        self.pki = base / "pki"
        self.kubeconfigs = base / "kubeconfigs"
        self.pids = base / "pids"
        self.logs = base / "logs"
        self.etcd_data = base / "etcd"
        self.home = base / "home"
        self.kubeconfig = base / "kubeconfig"
        self.state = base / "state.json"
        self.lock = base / ".lock"

    def load_state(self) -> dict | None:
        try:
            return json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None


# --------------------------------------------------------------------------- pki


def openssl(*args: str) -> None:
    r = subprocess.run(
        ["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if r.returncode != 0:
        fail(f"openssl {' '.join(args[:2])} failed:\n{r.stdout}")


def _req_config(cn: str, org: str | None, ext: list[str]) -> str:
    dn = f"CN = {cn}\n" + (f"O = {org}\n" if org else "")
    return f"[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n{dn}[ext]\n" + "\n".join(ext) + "\n"


def new_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


@contextlib.contextmanager
def req_config(pki: Path, cn: str, org: str | None, ext: list[str]) -> Iterator[str]:
    """An openssl request config (subject and the `ext` section) in a temporary file."""
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", dir=pki, delete=False) as f:
        f.write(_req_config(cn, org, ext))
    try:
        yield f.name
    finally:
        Path(f.name).unlink()


def new_ca(pki: Path, name: str, cn: str) -> None:
    new_key(pki / f"{name}.key")
    ext = [
        "basicConstraints = critical, CA:TRUE",
        "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
        "subjectKeyIdentifier = hash",
    ]
    with req_config(pki, cn, None, ext) as config:
        openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            str(pki / f"{name}.key"),
            "-config",
            config,
            "-extensions",
            "ext",
            "-days",
            "3650",
            "-sha256",
            "-out",
            str(pki / f"{name}.crt"),
        )


def new_cert(
    pki: Path,
    name: str,
    ca: str,
    cn: str,
    org: str | None = None,
    server_sans: list[str] | None = None,
) -> None:
    """Key + certificate signed by `ca`; a client cert unless server_sans is given."""
    new_key(pki / f"{name}.key")
    ext = [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
    ]
    if server_sans:
        ext += ["extendedKeyUsage = serverAuth", "subjectAltName = " + ", ".join(server_sans)]
    else:
        ext += ["extendedKeyUsage = clientAuth"]
    csr = pki / f"{name}.csr"
    with req_config(pki, cn, org, ext) as config:
        try:
            openssl(
                "req", "-new", "-key", str(pki / f"{name}.key"), "-config", config, "-out", str(csr)
            )
            openssl(
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(pki / f"{ca}.crt"),
                "-CAkey",
                str(pki / f"{ca}.key"),
                "-set_serial",
                "0x" + secrets.token_hex(16),
                "-days",
                "3650",
                "-sha256",
                "-extfile",
                config,
                "-extensions",
                "ext",
                "-out",
                str(pki / f"{name}.crt"),
            )
        finally:
            csr.unlink(missing_ok=True)


def generate_pki(pki: Path) -> None:
    pki.mkdir(parents=True, exist_ok=True)
    new_ca(pki, "ca", "playout-local-ca")
    new_ca(pki, "front-proxy-ca", "playout-local-front-proxy-ca")
    sans = [
        "IP:127.0.0.1",
        f"IP:{SERVICE_IP}",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
    ]
    new_cert(pki, "apiserver", "ca", "kube-apiserver", server_sans=sans)
    new_cert(pki, "admin", "ca", "kubernetes-admin", "system:masters")
    new_cert(pki, "kube-controller-manager", "ca", "system:kube-controller-manager")
    new_cert(pki, "kube-scheduler", "ca", "system:kube-scheduler")
    # kwok writes status of nodes and pods, leases and events for many nodes.
    new_cert(pki, "kwok", "ca", "kwok-controller", "system:masters")
    new_cert(
        pki, "apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", "system:masters"
    )
    new_cert(pki, "front-proxy-client", "front-proxy-ca", "front-proxy-client")
    # ServiceAccount token signing keypair (ES256).
    new_key(pki / "sa.key")
    openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def write_kubeconfig(path: Path, server: str, pki: Path, user: str) -> None:
    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: {CLUSTER_NAME}
  cluster:
    server: {server}
    certificate-authority-data: {b64(pki / "ca.crt")}
users:
- name: {CLUSTER_NAME}-{user}
  user:
    client-certificate-data: {b64(pki / f"{user}.crt")}
    client-key-data: {b64(pki / f"{user}.key")}
contexts:
- name: {CLUSTER_NAME}
  context:
    cluster: {CLUSTER_NAME}
    user: {CLUSTER_NAME}-{user}
current-context: {CLUSTER_NAME}
""")
    path.chmod(0o600)


# ---------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_starttime(pid: int) -> str | None:
    """Kernel start time of pid, or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def read_pid(lay: Layout, name: str) -> dict | None:
    try:
        return json.loads((lay.pids / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None


def alive(rec: dict | None) -> bool:
    return bool(rec) and proc_starttime(rec["pid"]) == rec["starttime"]


def start(lay: Layout, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
    lay.logs.mkdir(parents=True, exist_ok=True)
    lay.pids.mkdir(parents=True, exist_ok=True)
    with (lay.logs / f"{name}.log").open("ab") as logf:
        logf.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        logf.flush()
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            cwd=lay.base,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    st = None
    for _ in range(100):
        st = proc_starttime(p.pid)
        if st:
            break
        time.sleep(0.01)
    (lay.pids / f"{name}.pid").write_text(
        json.dumps({"pid": p.pid, "starttime": st, "argv": argv}) + "\n"
    )
    return p


def stop_processes(lay: Layout, names: list[str], quiet: bool = False) -> bool:
    """TERM then KILL the recorded processes, in the order given (only if the PID still
    belongs to the process we started). Returns True if nothing is left running."""
    recs = []
    for name in names:
        rec = read_pid(lay, name)
        if rec is None:
            continue
        if not alive(rec):
            if not quiet:
                log(f"{name}: not running (pid {rec['pid']})")
            continue
        recs.append((name, rec))
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec["pid"], signal.SIGTERM)
        if not quiet:
            log(f"{name}: sent SIGTERM to pid {rec['pid']}")
    deadline = time.monotonic() + 15
    while recs and time.monotonic() < deadline:
        recs = [(n, r) for n, r in recs if alive(r)]
        time.sleep(0.1)
    for name, rec in recs:
        log(f"{name}: still running after 15s, sending SIGKILL to pid {rec['pid']}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(rec["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while recs and time.monotonic() < deadline:
        recs = [(n, r) for n, r in recs if alive(r)]
        time.sleep(0.1)
    for name, rec in recs:
        log(f"{name}: pid {rec['pid']} did not exit")
    return not recs


def stop_all(lay: Layout, quiet: bool = False) -> bool:
    return stop_processes(lay, list(reversed(COMPONENTS)), quiet)


def tail(path: Path, n: int = 25) -> str:
    try:
        return "\n".join(
            "    " + line for line in path.read_text(errors="replace").splitlines()[-n:]
        )
    except OSError:
        return "    (no log)"


# ---------------------------------------------------------------------- http


class Api:
    def __init__(self, lay: Layout, port: int):
        self.base = f"https://127.0.0.1:{port}"
        self.ctx = ssl.create_default_context(cafile=str(lay.pki / "ca.crt"))
        self.ctx.load_cert_chain(str(lay.pki / "admin.crt"), str(lay.pki / "admin.key"))

    def call(
        self, method: str, path: str, body: dict | None = None, timeout: float = 5
    ) -> tuple[int, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 (self.base is https://127.0.0.1)
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:  # noqa: S310
                raw, status = r.read().decode(), r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read().decode(errors="replace"), e.code
        except (OSError, ssl.SSLError) as e:
            return 0, str(e)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def get(self, path: str) -> tuple[int, dict | str]:
        return self.call("GET", path)


def healthz(port: int, path: str = "/healthz") -> bool:
    """Component /healthz (self-signed serving cert, anonymous-allowed path)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=ctx, timeout=2) as r:
            return r.status == 200
    except (OSError, ssl.SSLError):
        return False


def etcd_healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return json.loads(r.read()).get("health") == "true"
    except (OSError, ValueError):
        return False


def ready_nodes(api: Api) -> tuple[list[str], list[str]]:
    code, body = api.get("/api/v1/nodes?labelSelector=type%3Dkwok")
    if code != 200 or not isinstance(body, dict):
        return [], []
    ready, notready = [], []
    for n in body.get("items", []):
        conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions", [])}
        (ready if conds.get("Ready") == "True" else notready).append(n["metadata"]["name"])
    return ready, notready


def health(lay: Layout, state: dict) -> list[str]:
    """Problems with a running cluster (empty list == healthy)."""
    problems = []
    for name in COMPONENTS:
        if not alive(read_pid(lay, name)):
            problems.append(f"{name} is not running")
    if problems:
        return problems
    p = state["ports"]
    if not etcd_healthy(p["etcd"]):
        problems.append("etcd /health is not ok")
    api = Api(lay, p["apiserver"])
    code, body = api.get("/readyz")
    if code != 200:
        problems.append(f"kube-apiserver /readyz: {code} {str(body)[:200]}")
        return problems
    for name, key in (
        ("kube-controller-manager", "controller_manager"),
        ("kube-scheduler", "scheduler"),
    ):
        if not healthz(p[key]):
            problems.append(f"{name} /healthz is not ok")
    code, _ = api.get("/api/v1/namespaces/default/serviceaccounts/default")
    if code != 200:
        problems.append("ServiceAccount default/default does not exist yet")
    ready, notready = ready_nodes(api)
    if len(ready) < state.get("nodes", 1):
        problems.append(
            f"kwok nodes ready: {len(ready)}/{state.get('nodes')} (not ready: {notready})"
        )
    return problems


# ---------------------------------------------------------------------- commands


def ensure_tools(no_build: bool) -> None:
    missing = [b for b in BINARIES if not os.access(TOOLS_BIN / b, os.X_OK)]
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None
    )
    if no_build or (go is None and not missing):
        if missing:
            fail(f"missing binaries in {TOOLS_BIN}: {missing}; run hack/tools.sh")
        return
    if go is None:
        fail(f"missing binaries in {TOOLS_BIN}: {missing}, and no Go toolchain to build them")
    env = dict(os.environ, GO=go)
    r = subprocess.run([str(ROOT / "hack" / "tools.sh"), *BINARIES], env=env)
    if r.returncode != 0:
        fail("hack/tools.sh failed")


def component_argv(lay: Layout, ports: dict) -> dict[str, list[str]]:
    b = lambda n: str(TOOLS_BIN / n)  # noqa: E731
    pki, kc = lay.pki, lay.kubeconfigs
    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd_peer']}"
    return {
        "etcd": [
            b("etcd"),
            f"--name={CLUSTER_NAME}",
            f"--data-dir={lay.etcd_data}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster={CLUSTER_NAME}={peer_url}",
            "--initial-cluster-state=new",
            # Throwaway dev data: skip fsync, it dominates latency on shared disks.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            b("kube-apiserver"),
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['apiserver']}",
            f"--etcd-servers={etcd_url}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            "--authorization-mode=Node,RBAC",
            # PodSecurity is enabled by default; NodeRestriction is not.
            # PodNodeSelector and PodTolerationRestriction let a namespace's annotations
            # place its pods on the real node (hack/node.py) or keep them on kwok nodes.
            "--enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction",
            "--allow-privileged=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            # a real node is reached by its InternalIP (its hostname resolves nowhere)
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
            # The `kubernetes` Service would get endpoint 127.0.0.1, which
            # Endpoints validation rejects (loopback); nothing in-cluster can
            # reach the apiserver anyway.
            "--endpoint-reconciler-type=none",
            f"--cert-dir={lay.base / 'certs' / 'apiserver'}",
        ],
        "kube-controller-manager": [
            b("kube-controller-manager"),
            f"--kubeconfig={kc / 'kube-controller-manager.conf'}",
            f"--authentication-kubeconfig={kc / 'kube-controller-manager.conf'}",
            f"--authorization-kubeconfig={kc / 'kube-controller-manager.conf'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['controller_manager']}",
            f"--cert-dir={lay.base / 'certs' / 'kube-controller-manager'}",
            "--leader-elect=false",
            f"--cluster-name={CLUSTER_NAME}",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*",
            # Default client QPS (20) paces controller start-up to ~150ms each.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ],
        "kube-scheduler": [
            b("kube-scheduler"),
            f"--kubeconfig={kc / 'kube-scheduler.conf'}",
            f"--authentication-kubeconfig={kc / 'kube-scheduler.conf'}",
            f"--authorization-kubeconfig={kc / 'kube-scheduler.conf'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['scheduler']}",
            f"--cert-dir={lay.base / 'certs' / 'kube-scheduler'}",
            "--leader-elect=false",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ],
        "kwok": [
            b("kwok"),
            f"--kubeconfig={kc / 'kwok.conf'}",
            f"--config={KWOK_CONFIG_DIR / 'kwok.yaml'}",
            f"--config={KWOK_CONFIG_DIR / 'node-stages.yaml'}",
            f"--config={KWOK_CONFIG_DIR / 'pod-stages.yaml'}",
        ],
    }


def wait_for(
    what: str, check, timeout: float, lay: Layout, procs: dict[str, subprocess.Popen], logname: str
):
    t0 = time.monotonic()
    while True:
        result = check()
        if result:
            log(f"{what}: ok ({time.monotonic() - t0:.1f}s)")
            return result
        for name, p in procs.items():
            if p.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {p.returncode}; last log lines:\n"
                    f"{tail(lay.logs / f'{name}.log')}"
                )
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(
                f"timed out after {timeout:.0f}s waiting for {what}; last lines of {logname}.log:\n"
                f"{tail(lay.logs / f'{logname}.log')}"
            )
        time.sleep(0.2)


def node_manifest(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},  # no taints: plain workloads schedule here
    }


def cmd_up(lay: Layout, args) -> int:
    t_start = time.monotonic()
    lay.base.mkdir(parents=True, exist_ok=True)
    with lay.lock.open("w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        state = lay.load_state()
        if state is not None:
            problems = health(lay, state)
            if state.get("format") != STATE_FORMAT:
                problems.append("it was started with other flags by an older hack/cluster.py")
            if not problems and state.get("nodes", 0) == args.nodes:
                log(
                    f"reusing running cluster ({state['server']}), "
                    f"checked in {time.monotonic() - t_start:.1f}s"
                )
                log(f"KUBECONFIG={lay.kubeconfig}")
                return 0
            if state.get("nodes", 0) != args.nodes:
                problems.append(f"it has {state.get('nodes', 0)} kwok nodes, not {args.nodes}")
            log("recreating the running cluster: " + "; ".join(problems))
        stale = state is not None or any(lay.pids.glob("*.pid"))
        real_node_down(lay)
        if stale and not stop_all(lay, quiet=True):
            fail("could not stop the previous cluster processes")
        for p in (lay.pids, lay.etcd_data, lay.pki, lay.kubeconfigs, lay.base / "certs", lay.home):
            shutil.rmtree(p, ignore_errors=True)
        lay.state.unlink(missing_ok=True)
        lay.kubeconfig.unlink(missing_ok=True)

        ensure_tools(args.no_build)
        t0 = time.monotonic()
        generate_pki(lay.pki)
        log(f"generated CA and certificates in {time.monotonic() - t0:.1f}s")
        ports = {
            k: free_port()
            for k in ("etcd", "etcd_peer", "apiserver", "controller_manager", "scheduler")
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        write_kubeconfig(lay.kubeconfig, server, lay.pki, "admin")
        for comp in ("kube-controller-manager", "kube-scheduler", "kwok"):
            name = "kwok.conf" if comp == "kwok" else f"{comp}.conf"
            write_kubeconfig(lay.kubeconfigs / name, server, lay.pki, comp)
        lay.etcd_data.mkdir(mode=0o700, parents=True, exist_ok=True)
        (lay.home / "kwok").mkdir(parents=True, exist_ok=True)

        argv = component_argv(lay, ports)
        procs: dict[str, subprocess.Popen] = {}
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
        try:
            procs["etcd"] = start(lay, "etcd", argv["etcd"], env)
            wait_for("etcd", lambda: etcd_healthy(ports["etcd"]), 30, lay, procs, "etcd")
            procs["kube-apiserver"] = start(lay, "kube-apiserver", argv["kube-apiserver"], env)
            api = Api(lay, ports["apiserver"])
            wait_for(
                "kube-apiserver /readyz",
                lambda: api.get("/readyz")[0] == 200,
                args.timeout,
                lay,
                procs,
                "kube-apiserver",
            )
            procs["kube-controller-manager"] = start(
                lay, "kube-controller-manager", argv["kube-controller-manager"], env
            )
            procs["kube-scheduler"] = start(lay, "kube-scheduler", argv["kube-scheduler"], env)
            # Keep kwok away from a user's ~/.kwok/kwok.yaml.
            procs["kwok"] = start(lay, "kwok", argv["kwok"], dict(env, HOME=str(lay.home / "kwok")))
            for i in range(args.nodes):
                code, body = api.call("POST", "/api/v1/nodes", node_manifest(f"{NODE_PREFIX}{i}"))
                if code not in (201, 409):
                    raise RuntimeError(f"creating node {NODE_PREFIX}{i}: {code} {body}")
            wait_for(
                "kube-controller-manager /healthz",
                lambda: healthz(ports["controller_manager"]),
                args.timeout,
                lay,
                procs,
                "kube-controller-manager",
            )
            wait_for(
                "kube-scheduler /healthz",
                lambda: healthz(ports["scheduler"]),
                args.timeout,
                lay,
                procs,
                "kube-scheduler",
            )
            wait_for(
                "default ServiceAccount",
                lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
                args.timeout,
                lay,
                procs,
                "kube-controller-manager",
            )
            wait_for(
                f"{args.nodes} kwok nodes Ready",
                lambda: len(ready_nodes(api)[0]) >= args.nodes,
                args.timeout,
                lay,
                procs,
                "kwok",
            )
        except (RuntimeError, KeyboardInterrupt) as e:
            print(f"[cluster] ERROR: {e}", file=sys.stderr)
            stop_all(lay, quiet=True)
            print(
                f"[cluster] stopped the processes; logs kept in {lay.logs} (`down` removes them)",
                file=sys.stderr,
            )
            return 1
        state = {
            "format": STATE_FORMAT,
            "ports": ports,
            "nodes": args.nodes,
            "server": server,
            "kubeconfig": str(lay.kubeconfig),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        lay.state.write_text(json.dumps(state, indent=2) + "\n")
    log(f"cluster up in {time.monotonic() - t_start:.1f}s: {server}")
    log(f"KUBECONFIG={lay.kubeconfig}")
    return 0


def real_node_down(lay: Layout) -> None:
    """A real node (hack/node.py) goes before the control plane: it drains through it."""
    if (lay.base / "node").exists():
        node = [sys.executable, str(ROOT / "hack" / "node.py"), f"--dir={lay.base}", "down"]
        if subprocess.run(node).returncode != 0:
            fail(f"could not take the real node down; keeping {lay.base}")


def cmd_down(lay: Layout, args) -> int:
    if not lay.base.exists():
        log(f"nothing to do ({lay.base} does not exist)")
        return 0
    real_node_down(lay)
    ok = stop_all(lay)
    if not ok:
        fail(f"some processes did not exit; keeping {lay.base}")
    shutil.rmtree(lay.base)
    log(f"stopped; removed {lay.base}")
    return 0


def cmd_status(lay: Layout, args) -> int:
    state = lay.load_state()
    if state is None:
        running = [n for n in COMPONENTS if alive(read_pid(lay, n))]
        print(
            f"cluster: not up ({lay.base})" + (f"; stray processes: {running}" if running else "")
        )
        return 1
    ports = state["ports"]
    port_of = {
        "etcd": ports["etcd"],
        "kube-apiserver": ports["apiserver"],
        "kube-controller-manager": ports["controller_manager"],
        "kube-scheduler": ports["scheduler"],
    }
    print(f"cluster dir: {lay.base}\nkubeconfig:  {lay.kubeconfig}\napiserver:   {state['server']}")
    for name in COMPONENTS:
        rec = read_pid(lay, name)
        st = "running" if alive(rec) else "NOT RUNNING"
        port = f"127.0.0.1:{port_of[name]}" if name in port_of else "-"
        print(f"  {name:<24} pid {rec['pid'] if rec else '-':<8} {port:<16} {st}")
    problems = health(lay, state)
    if all(alive(read_pid(lay, n)) for n in COMPONENTS):
        ready, notready = ready_nodes(Api(lay, ports["apiserver"]))
        print(
            f"  nodes ready: {', '.join(ready) or '-'}"
            + (f"; not ready: {', '.join(notready)}" if notready else "")
        )
    if problems:
        print("health: UNHEALTHY\n  " + "\n  ".join(problems))
        return 1
    print("health: ok")
    return 0


def cmd_env(lay: Layout, args) -> int:
    if lay.load_state() is None:
        print(f"[cluster] warning: cluster is not up ({lay.base})", file=sys.stderr)
    print(f"export KUBECONFIG={lay.kubeconfig}")
    print(f'export PATH={TOOLS_BIN}:"$PATH"')
    return 0


def add_dir_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("PLAYOUT_CLUSTER_DIR", ROOT / ".cluster")),
        help="cluster state directory (default: <repo>/.cluster, env PLAYOUT_CLUSTER_DIR)",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dir_argument(ap)
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start (or reuse) the cluster and wait until it is ready")
    up.add_argument("--nodes", type=int, default=2, help="number of kwok fake nodes (default 2)")
    up.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for each readiness step"
    )
    up.add_argument(
        "--no-build", action="store_true", help="do not run hack/tools.sh; use .tools/bin as is"
    )
    sub.add_parser("down", help="stop the cluster processes and remove the cluster directory")
    sub.add_parser("status", help="show processes and health; exit 0 only if healthy")
    sub.add_parser("env", help='print shell exports: eval "$(hack/cluster.py env)"')
    args = ap.parse_args(argv)
    lay = Layout(args.dir.resolve())
    return {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env}[args.cmd](
        lay, args
    )


if __name__ == "__main__":
    sys.exit(main())
