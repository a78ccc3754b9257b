"""The operator's own RBAC: exactly what the reconciler calls, in one place that the Helm
chart and the e2e tier both use. No Secrets, no pod writes, and no `update` anywhere: every
write is a server-side apply or a merge patch."""

from __future__ import annotations

from typing import Any

from playout.api.common import GROUP

# What applying (create, patch), watching (list, watch) and pruning (delete) a child takes.
_MANAGE = ["list", "watch", "create", "patch", "delete"]


def operator_rules() -> list[dict[str, Any]]:
    return [
        {
            "apiGroups": [GROUP],
            "resources": ["channels", "probejobs"],
            "verbs": ["get", "list", "watch"],
        },
        # `get` on status and ConfigMaps only because the streamer Roles the operator makes
        # grant it, and RBAC lets nobody grant more than it holds.
        {
            "apiGroups": [GROUP],
            "resources": ["channels/status", "probejobs/status"],
            "verbs": ["get", "patch"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", *_MANAGE]},
        {"apiGroups": [""], "resources": ["services", "serviceaccounts"], "verbs": _MANAGE},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": _MANAGE},
        # Read-only: prober pods' termination messages carry the probe reports.
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _MANAGE},
        {
            "apiGroups": ["networking.k8s.io"],
            "resources": ["networkpolicies"],
            "verbs": _MANAGE,
        },
        {
            "apiGroups": ["rbac.authorization.k8s.io"],
            "resources": ["roles", "rolebindings"],
            "verbs": _MANAGE,
        },
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        # kopf looks namespaces up when given patterns, and CRDs to learn the resources.
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["get", "list", "watch"],
        },
    ]


# kopf reads these only to discover namespaces (for patterns like 'tv-*') and CRDs; a Role
# cannot grant them, and an operator given exact namespaces does without (see cli.py).
CLUSTER_SCOPED_RESOURCES = frozenset({"namespaces", "customresourcedefinitions"})


def namespaced_rules() -> list[dict[str, Any]]:
    """The rules of the Role in each watched namespace when the operator is namespaced."""
    return [
        rule for rule in operator_rules() if not CLUSTER_SCOPED_RESOURCES & set(rule["resources"])
    ]


def cluster_role(name: str = "playout-operator") -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "playout"}},
        "rules": operator_rules(),
    }
