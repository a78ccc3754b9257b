"""The real node as the cluster sees it: its name, label and taint, the namespace annotations
that send pods to it, its processes' identities, and cluster DNS in the API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from localcluster.api import ApiClient, Json, is_ready
from localcluster.certificates import new_cert, write_kubeconfig
from localcluster.console import fail
from localcluster.layout import TOOLS_BIN, NodeDir

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
# Cluster DNS: CoreDNS runs beside the kubelet on the node's address; the kube-dns Service
# reserves its usual address, and kube-proxy takes pods' queries there.
DNS_IP = "10.96.0.10"
DNS_PORT = 1053


def node_ready(api: ApiClient) -> bool:
    code, body = api.get(f"/api/v1/nodes/{NODE}")
    return code == 200 and isinstance(body, dict) and is_ready(body)


def kubectl(
    node_dir: NodeDir, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """kubectl as the cluster's admin; the caller judges the result."""
    command = [str(TOOLS_BIN / "kubectl"), f"--kubeconfig={node_dir.cluster.kubeconfig}", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True)


def node_credentials(node_dir: NodeDir, *, ip: str, server: str) -> dict[str, Path]:
    """Kubeconfigs for the node's processes, with certificates from the cluster CA: the
    kubelet as the Node authorizer's system:node:<name> (and its serving certificate),
    kube-proxy as system:kube-proxy (bound to system:node-proxier by default), CoreDNS as
    playout:coredns (bound by `dns_objects`)."""
    pki = node_dir.cluster.pki
    identities = {
        "kubelet": ("kubelet-client", f"system:node:{NODE}", "system:nodes"),
        "kube-proxy": ("kube-proxy", "system:kube-proxy", None),
        "coredns": ("coredns", "playout:coredns", None),
    }
    new_cert(
        pki,
        "kubelet-server",
        ca="ca",
        subject=NODE,
        server_names=[f"DNS:{NODE}", f"IP:{ip}", "IP:127.0.0.1"],
    )
    kubeconfigs = {}
    for process, (name, user, group) in identities.items():
        if not (pki / f"{name}.crt").exists():
            new_cert(pki, name, ca="ca", subject=user, organization=group)
        kubeconfigs[process] = node_dir.base / f"{process}.conf"
        write_kubeconfig(kubeconfigs[process], server=server, pki=pki, user=name)
    return kubeconfigs


def dns_objects(ip: str) -> list[Json]:
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


def add_to_cluster(node_dir: NodeDir, *, ip: str) -> None:
    """The cluster DNS objects, pointing at CoreDNS on the node's address."""
    objects = "\n---\n".join(json.dumps(document) for document in dns_objects(ip))
    applied = kubectl(
        node_dir, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=objects
    )
    if applied.returncode != 0:
        fail(f"creating the cluster DNS objects: {applied.stderr.strip()}")


def remove_from_cluster(node_dir: NodeDir, api: ApiClient) -> None:
    """The Node object and the cluster DNS objects that `up` made."""
    api.call("DELETE", f"/api/v1/nodes/{NODE}")
    kubectl(node_dir, "delete", "--ignore-not-found", "--wait=false", "-n", "kube-system",
            "service/kube-dns", "endpointslice/kube-dns-node")  # fmt: skip
    kubectl(node_dir, "delete", "--ignore-not-found", "clusterrolebinding/playout:coredns",
            "clusterrole/playout:coredns")  # fmt: skip
