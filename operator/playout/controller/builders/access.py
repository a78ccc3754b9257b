"""The API access a child's pods get: a ServiceAccount of their own, bound to a Role that
allows what their work needs on the objects it names, and nothing else. Pure."""

from __future__ import annotations

from typing import Any

from playout.controller.builders.common import Manifest, Owner, child_metadata
from playout.controller.config import OperatorConfig

RBAC_API = "rbac.authorization.k8s.io"


def pod_identity(
    name: str,
    *,
    owner: Owner,
    labels: dict[str, str],
    rules: list[dict[str, Any]],
    config: OperatorConfig,
) -> list[Manifest]:
    """A ServiceAccount, its Role and the RoleBinding between them, all called `name`.

    The account does not mount its token by default: only the pods that use it say so."""

    def metadata() -> dict[str, Any]:  # one each: whoever applies them may add to it
        return child_metadata(name, owner, labels, config)

    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": f"{RBAC_API}/v1",
            "kind": "Role",
            "metadata": metadata(),
            "rules": rules,
        },
        {
            "apiVersion": f"{RBAC_API}/v1",
            "kind": "RoleBinding",
            "metadata": metadata(),
            "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": owner.namespace}],
        },
    ]


def pod_filled_config_map(
    name: str, *, owner: Owner, labels: dict[str, str], config: OperatorConfig
) -> Manifest:
    """A ConfigMap made empty, which a pod fills (`binaryData`, under its own field
    manager): the operator's apply leaves that field alone, since it never sets it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(name, owner, labels, config),
    }


def config_map_rule(names: list[str]) -> dict[str, Any]:
    """Read and write these ConfigMaps, which the operator made and a pod fills."""
    return {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": names,
        "verbs": ["get", "patch"],
    }
