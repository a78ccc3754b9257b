"""The control plane's components: their command lines, in start order, and the kwok nodes."""

from __future__ import annotations

from localcluster.api import Json
from localcluster.layout import CLUSTER_NAME, ROOT, SERVICE_CIDR, TOOLS_BIN, ClusterDir, Ports

# Start order; `down` stops in reverse.
COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
BINARIES = [*COMPONENTS, "kubectl"]
KWOK_CONFIG_DIR = ROOT / "hack" / "kwok"
KWOK_NODE_PREFIX = "kwok-node-"


def command_lines(cluster_dir: ClusterDir, ports: Ports) -> dict[str, list[str]]:
    return {
        "etcd": etcd(cluster_dir, ports),
        "kube-apiserver": apiserver(cluster_dir, ports),
        "kube-controller-manager": controller_manager(cluster_dir, ports),
        "kube-scheduler": scheduler(cluster_dir, ports),
        "kwok": kwok(cluster_dir),
    }


def etcd(cluster_dir: ClusterDir, ports: Ports) -> list[str]:
    client_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd_peer']}"
    return [
        str(TOOLS_BIN / "etcd"),
        f"--name={CLUSTER_NAME}",
        f"--data-dir={cluster_dir.etcd_data}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={CLUSTER_NAME}={peer_url}",
        "--initial-cluster-state=new",
        # Throwaway dev data: skip fsync, it dominates latency on shared disks.
        "--unsafe-no-fsync",
        "--log-level=warn",
    ]


def apiserver(cluster_dir: ClusterDir, ports: Ports) -> list[str]:
    pki = cluster_dir.pki
    return [
        str(TOOLS_BIN / "kube-apiserver"),
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports['apiserver']}",
        f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
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
        f"--cert-dir={cluster_dir.certs / 'apiserver'}",
    ]


def controller_manager(cluster_dir: ClusterDir, ports: Ports) -> list[str]:
    pki = cluster_dir.pki
    kubeconfig = cluster_dir.kubeconfigs / "kube-controller-manager.conf"
    return [
        str(TOOLS_BIN / "kube-controller-manager"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['controller_manager']}",
        f"--cert-dir={cluster_dir.certs / 'kube-controller-manager'}",
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
    ]


def scheduler(cluster_dir: ClusterDir, ports: Ports) -> list[str]:
    kubeconfig = cluster_dir.kubeconfigs / "kube-scheduler.conf"
    return [
        str(TOOLS_BIN / "kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={ports['scheduler']}",
        f"--cert-dir={cluster_dir.certs / 'kube-scheduler'}",
        "--leader-elect=false",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
    ]


def kwok(cluster_dir: ClusterDir) -> list[str]:
    return [
        str(TOOLS_BIN / "kwok"),
        f"--kubeconfig={cluster_dir.kubeconfigs / 'kwok.conf'}",
        f"--config={KWOK_CONFIG_DIR / 'kwok.yaml'}",
        f"--config={KWOK_CONFIG_DIR / 'node-stages.yaml'}",
        f"--config={KWOK_CONFIG_DIR / 'pod-stages.yaml'}",
    ]


def kwok_node(name: str) -> Json:
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
