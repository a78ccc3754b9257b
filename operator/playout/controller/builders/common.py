"""Pieces every child manifest shares: identity labels, ownership and a locked-down pod."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playout.api.common import API_VERSION, ResourceRequirements, quantity_value
from playout.api.meta import ObjectMeta
from playout.controller.config import OperatorConfig

Manifest = dict[str, Any]

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "playout-operator"
COMPONENT = "app.kubernetes.io/component"
CHANNEL_LABEL = "playout.dev/channel"
PROBEJOB_LABEL = "playout.dev/probejob"
STREAMER_PORT = 8080

# Matches the numeric USER of the images, so `runAsNonRoot` can be verified by the kubelet.
RUN_AS = 65532


@dataclass(frozen=True)
class Owner:
    """The custom resource that children belong to."""

    kind: str
    meta: ObjectMeta

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def namespace(self) -> str:
        if not self.meta.namespace:
            raise ValueError(f"{self.kind} {self.meta.name} has no namespace")
        return self.meta.namespace

    def reference(self) -> dict[str, Any]:
        if not self.meta.uid:
            raise ValueError(f"{self.kind} {self.meta.name} has no uid yet")
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "name": self.meta.name,
            "uid": self.meta.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def identity_labels(owner_label: str, owner: Owner, component: str) -> dict[str, str]:
    """Labels that identify a child: stable, so they can serve as selectors."""
    return {
        "app.kubernetes.io/name": f"playout-{component}",
        "app.kubernetes.io/part-of": "playout",
        MANAGED_BY: MANAGER,
        **pod_selector(owner_label=owner_label, owner_name=owner.name, component=component),
    }


def pod_selector(*, owner_label: str, owner_name: str, component: str) -> dict[str, str]:
    """The labels that pick one owner's pods of one component (a part of `identity_labels`):
    for Deployments, Services, affinity and NetworkPolicies alike."""
    return {COMPONENT: component, owner_label: owner_name}


def streamer_selector(channel: str) -> dict[str, str]:
    """The labels of a Channel's streamer pods, which its ProbeJobs reach too."""
    return pod_selector(owner_label=CHANNEL_LABEL, owner_name=channel, component="streamer")


def child_metadata(
    name: str, owner: Owner, labels: dict[str, str], config: OperatorConfig
) -> dict[str, Any]:
    """Metadata of a child: the owner's own labels (minus GitOps tracking labels, so that
    Argo CD and Flux never adopt children) under ours, and a controller reference."""
    inherited = {
        key: value for key, value in owner.meta.labels.items() if not config.is_tracking_label(key)
    }
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": {**inherited, **labels},
        "ownerReferences": [owner.reference()],
    }


def pod_security_context() -> dict[str, Any]:
    """Pod Security `restricted`, with a group that can write to mounted volumes."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(
    given: ResourceRequirements | None, defaults: ResourceRequirements
) -> dict[str, dict[str, str]]:
    """Requests and limits: each key the user gave wins and the rest come from the defaults,
    except that a default limit below a request the user raised is lifted to that request."""

    def part(model: ResourceRequirements | None, name: str) -> dict[str, str]:
        values = getattr(model, name, None) or {}
        return {key: str(value) for key, value in values.items()}

    requests = {**part(defaults, "requests"), **part(given, "requests")}
    limits = {**part(defaults, "limits"), **part(given, "limits")}
    user_limits = part(given, "limits")
    for key, request in requests.items():
        raised = key in limits and key not in user_limits
        if raised and quantity_value(limits[key]) < quantity_value(request):
            limits[key] = request
    result = {}
    if requests:
        result["requests"] = requests
    if limits:
        result["limits"] = limits
    return result


def log_env() -> list[dict[str, Any]]:
    """The engines log the same way the operator does; the pod's env carries the choice."""
    return [{"name": "PLAYOUT_LOG_FORMAT", "value": "json"}]
