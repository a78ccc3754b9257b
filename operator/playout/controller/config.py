"""Operator-wide settings, read once from the environment (the Helm chart sets them)."""

from __future__ import annotations

import ipaddress
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

# NetworkPolicies see a connection after the `kubernetes` Service has been translated to
# an API server endpoint, so they must allow the API server's own port: 6443 on most
# clusters, 443 on some managed ones.
API_SERVER_PORTS = (443, 6443)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class OperatorConfig:
    """What the builders need beyond a resource's spec."""

    streamer_image: str = f"playout/streamer:{__version__}"
    prober_image: str = f"playout/prober:{__version__}"
    image_pull_policy: str = "IfNotPresent"
    extra_tracking_labels: frozenset[str] = field(default_factory=frozenset)
    """More label keys never to copy, e.g. a custom Argo CD `application.instanceLabelKey`."""
    network_policies: bool = True
    """Give every streamer and prober pod a NetworkPolicy; off, the operator deletes those
    it made."""
    api_server_cidrs: tuple[str, ...] = ()
    """Where the API server is, for the egress of streamers and probers; empty: any address
    (on `api_server_ports`)."""
    api_server_ports: tuple[int, ...] = API_SERVER_PORTS
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
            extra_tracking_labels=frozenset(_items(extra)),
            network_policies=_flag(environ, "PLAYOUT_NETWORK_POLICIES", defaults.network_policies),
            api_server_cidrs=tuple(
                _cidr(value) for value in _items(environ.get("PLAYOUT_API_SERVER_CIDRS", ""))
            ),
            api_server_ports=tuple(
                _port(value) for value in _items(environ.get("PLAYOUT_API_SERVER_PORTS", ""))
            )
            or defaults.api_server_ports,
            report_heartbeat_seconds=report_heartbeat_seconds(environ),
        )

    def is_tracking_label(self, key: str) -> bool:
        return (
            key in TRACKING_LABELS
            or key in self.extra_tracking_labels
            or key.startswith(TRACKING_LABEL_PREFIXES)
        )


def _items(text: str) -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}={value!r}: set it to true or false")


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value))
    except ValueError as error:
        raise ValueError(
            f"PLAYOUT_API_SERVER_CIDRS: {value!r} is not a network such as 10.0.0.0/24 "
            f"or 2001:db8::/64 ({error})"
        ) from None


def _port(value: str) -> int:
    if value.isdigit() and 1 <= int(value) <= 65535:
        return int(value)
    raise ValueError(f"PLAYOUT_API_SERVER_PORTS: {value!r} is not a port between 1 and 65535")
