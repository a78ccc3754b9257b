"""NetworkPolicies: each streamer and prober pod may reach what its work needs, and nothing
more. Pure.

They only take effect where the cluster's network plugin enforces NetworkPolicies (Calico,
Cilium and most managed clusters do; the plain bridge plugin accepts them and enforces
nothing)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from playout.api.probejob import ProbeJob
from playout.controller.builders.common import (
    CHANNEL_LABEL,
    PROBEJOB_LABEL,
    STREAMER_PORT,
    Manifest,
    Owner,
    child_metadata,
    identity_labels,
    pod_selector,
    streamer_selector,
)
from playout.controller.config import OperatorConfig

DNS_PORT = 53
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a probe of a URL may not reach unless `allowPrivateAddresses`: private, loopback,
# link-local (with the cloud metadata address 169.254.169.254), shared (CGNAT, often the
# pod network), multicast and reserved ranges; the pod and Service networks lie in them.
PRIVATE_IPV4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
PRIVATE_IPV6 = (
    "::/127",  # unspecified and loopback
    "::ffff:0:0/96",  # IPv4-mapped
    "64:ff9b::/96",  # NAT64, 6to4 and Teredo carry an IPv4 address, perhaps a private one
    "64:ff9b:1::/48",
    "2001::/32",
    "2002::/16",
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
)
# Cloud instance metadata services hand out credentials: never reachable, even with
# `allowPrivateAddresses` (the prober's own guard refuses the same addresses).
METADATA_IPV4 = (
    "169.254.169.254/32",
    "169.254.170.2/32",
    "169.254.170.23/32",
    "100.100.100.200/32",
)
METADATA_IPV6 = ("fd00:ec2::254/128", "fd00:ec2::23/128")


def channel_policy_name(channel: str) -> str:
    return f"{channel}-channel"


def probejob_policy_name(probe: str) -> str:
    return f"{probe}-probejob"


def channel_network_policy(*, owner: Owner, config: OperatorConfig) -> Manifest:
    """The streamer serves HLS on its port and reports to the API server."""
    return _policy(
        name=channel_policy_name(owner.name),
        owner=owner,
        labels=identity_labels(CHANNEL_LABEL, owner, "streamer"),
        pods=streamer_selector(owner.name),
        # From anywhere: players, an ingress controller, probes of the channel.
        ingress=[{"ports": [_tcp(STREAMER_PORT)]}],
        egress=[_dns(), _api_server(config)],
        config=config,
    )


def probejob_network_policy(*, probe: ProbeJob, config: OperatorConfig) -> Manifest:
    """Nothing comes in; out only to the source, and to the API server for the report
    ConfigMaps."""
    owner = Owner("ProbeJob", probe.metadata)
    return _policy(
        name=probejob_policy_name(owner.name),
        owner=owner,
        labels=identity_labels(PROBEJOB_LABEL, owner, "prober"),
        pods=pod_selector(owner_label=PROBEJOB_LABEL, owner_name=owner.name, component="prober"),
        ingress=[],
        egress=[*_source_egress(probe), _api_server(config)],
        config=config,
    )


def _source_egress(probe: ProbeJob) -> list[dict[str, Any]]:
    source = probe.spec.source
    if source.channel_ref is not None:
        # The Service's name resolves, then its address is translated to a streamer pod's:
        # that pod, on its own port, is what the policy sees.
        streamer = {"podSelector": {"matchLabels": streamer_selector(source.channel_ref.name)}}
        return [_dns(), {"to": [streamer], "ports": [_tcp(STREAMER_PORT)]}]
    if source.url is None:
        return []  # a volume: the kubelet mounts it
    url = urlsplit(source.url)
    port = {"ports": [_tcp(url.port or _DEFAULT_PORTS[url.scheme])]}
    if probe.spec.allow_private_addresses:
        # Every pod too: some plugins match pods by their selectors only, never by ipBlock.
        to = [_block("0.0.0.0/0", METADATA_IPV4), _block("::/0", METADATA_IPV6)]
        to.append({"namespaceSelector": {}})
    else:
        to = [_block("0.0.0.0/0", PRIVATE_IPV4), _block("::/0", PRIVATE_IPV6)]
    rules = [{"to": to, **port}]
    return rules if _is_address(url.hostname or "") else [_dns(), *rules]


def _policy(
    *,
    name: str,
    owner: Owner,
    labels: dict[str, str],
    pods: dict[str, str],
    ingress: list[dict[str, Any]],
    egress: list[dict[str, Any]],
    config: OperatorConfig,
) -> Manifest:
    # Both policy types listed: a direction without rules allows nothing.
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": pods},
        "policyTypes": ["Ingress", "Egress"],
    }
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": child_metadata(name, owner, labels, config),
        "spec": spec,
    }


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def _dns() -> dict[str, Any]:
    # To any address: the cluster's DNS may be a Service, a node-local cache or a server
    # outside the cluster; port 53 is what they have in common.
    return {"ports": [{"protocol": "UDP", "port": DNS_PORT}, _tcp(DNS_PORT)]}


def _api_server(config: OperatorConfig) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": [_tcp(port) for port in config.api_server_ports]}
    if config.api_server_cidrs:
        rule["to"] = [{"ipBlock": {"cidr": cidr}} for cidr in config.api_server_cidrs]
    return rule


def _block(cidr: str, excepted: tuple[str, ...]) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr, "except": list(excepted)}}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
