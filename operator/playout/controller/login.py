"""How the operator reaches the API server from its pod.

kopf's own fallback login names the server `https://kubernetes.default.svc`, which needs
cluster DNS. Like client-go (and lightkube, which the reconciler uses), the operator takes
the address the kubelet puts in every pod's environment instead, so it keeps working when
cluster DNS does not. Outside a pod, the kubeconfig as usual."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import kopf

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def in_cluster(
    environ: Mapping[str, str], account_dir: Path = SERVICE_ACCOUNT_DIR
) -> kopf.ConnectionInfo | None:
    """The pod's ServiceAccount credentials and the `kubernetes` Service's address, or None
    outside a pod."""
    host = environ.get("KUBERNETES_SERVICE_HOST")
    port = environ.get("KUBERNETES_SERVICE_PORT")
    token = account_dir / "token"
    if not (host and port and token.is_file()):
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    ca = account_dir / "ca.crt"
    namespace = account_dir / "namespace"
    return kopf.ConnectionInfo(
        server=f"https://{host}:{port}",
        ca_path=str(ca) if ca.is_file() else None,
        # kopf logs in again on a 401, which picks up the kubelet's rotated token.
        token=token.read_text().strip() or None,
        default_namespace=namespace.read_text().strip() if namespace.is_file() else None,
    )
