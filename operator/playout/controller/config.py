"""Operator-wide settings, read once from the environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from playout import __version__
from playout.api.channel import REPORT_HEARTBEAT_SECONDS, report_heartbeat_seconds

# Labels that GitOps tools and package managers use to decide what an object belongs to.
# Copying them onto children would make Argo CD or Flux adopt, and then prune, the children.
TRACKING_LABEL_PREFIXES = (
    "argocd.argoproj.io/",
    "kustomize.toolkit.fluxcd.io/",
    "helm.toolkit.fluxcd.io/",
    "fluxcd.io/",
    "kapp.k14s.io/",
    "helm.sh/",
    "kubectl.kubernetes.io/",
    "playout.dev/",
)
TRACKING_LABELS = frozenset({"app.kubernetes.io/instance", "app.kubernetes.io/managed-by"})


@dataclass(frozen=True)
class OperatorConfig:
    """What the builders need beyond a resource's spec."""

    streamer_image: str = f"playout/streamer:{__version__}"
    prober_image: str = f"playout/prober:{__version__}"
    image_pull_policy: str = "IfNotPresent"
    extra_tracking_labels: frozenset[str] = field(default_factory=frozenset)
    """More label keys never to copy, e.g. a custom Argo CD `application.instanceLabelKey`."""
    report_heartbeat_seconds: float = REPORT_HEARTBEAT_SECONDS
    """How often a streamer reports at least; the operator judges report ages by it."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> OperatorConfig:
        defaults = cls()
        extra = environ.get("PLAYOUT_TRACKING_LABELS", "")
        return cls(
            streamer_image=environ.get("PLAYOUT_STREAMER_IMAGE", defaults.streamer_image),
            prober_image=environ.get("PLAYOUT_PROBER_IMAGE", defaults.prober_image),
            image_pull_policy=environ.get("PLAYOUT_IMAGE_PULL_POLICY", defaults.image_pull_policy),
            extra_tracking_labels=frozenset(key.strip() for key in extra.split(",") if key.strip()),
            report_heartbeat_seconds=report_heartbeat_seconds(environ),
        )

    def is_tracking_label(self, key: str) -> bool:
        return (
            key in TRACKING_LABELS
            or key in self.extra_tracking_labels
            or key.startswith(TRACKING_LABEL_PREFIXES)
        )
