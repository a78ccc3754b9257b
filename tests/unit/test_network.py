"""NetworkPolicies: which pods each policy picks, and what it lets in and out, judged by
evaluating the rules the way a network plugin does."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from playout.api import Channel, ProbeJob
from playout.api.probejob import ProbeJobSpec
from playout.controller import handlers, kinds
from playout.controller.builders.channel import build_channel
from playout.controller.builders.common import STREAMER_PORT
from playout.controller.builders.probejob import build_probejob
from playout.controller.config import OperatorConfig
from tests.unit.test_builders import CONFIG, with_pvc_storage

PUBLIC = ["8.8.8.8", "151.101.1.1", "2001:4860:4860::8888"]
PRIVATE = [
    "10.96.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "100.64.0.10",
    "0.0.0.0",
    "::1",
    "fd00::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::1",
]
METADATA = ["169.254.169.254", "100.100.100.200", "fd00:ec2::254"]


def of_kind(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def channel_policy(body: dict[str, Any], config: OperatorConfig = CONFIG) -> dict[str, Any]:
    (policy,) = of_kind(build_channel(Channel.model_validate(body), config), "NetworkPolicy")
    return policy


# Where the test cluster's API server is: the probers' egress to it, narrowed, leaves the
# rest of the private ranges closed on its ports too.
NARROWED = OperatorConfig(api_server_cidrs=("10.0.0.10/32",))
API_SERVER = "10.0.0.10"


def probe_policy(
    body: dict[str, Any], config: OperatorConfig = NARROWED, **source: Any
) -> dict[str, Any]:
    if source:
        body["spec"]["source"] = source
    (policy,) = of_kind(build_probejob(ProbeJob.model_validate(body), config), "NetworkPolicy")
    return policy


def egress_to(
    policy: dict[str, Any],
    *,
    port: int,
    protocol: str = "TCP",
    address: str | None = None,
    pod: dict[str, str] | None = None,
) -> bool:
    """Whether the policy's egress rules allow a connection to `address` (an IP) or to a
    pod with labels `pod` in the same namespace, on `port`."""
    for rule in policy["spec"].get("egress", []):
        ports = rule.get("ports")
        if ports is not None and {"protocol": protocol, "port": port} not in ports:
            continue
        peers = rule.get("to")
        if peers is None or any(_matches(peer, address, pod) for peer in peers):
            return True
    return False


def _matches(peer: dict[str, Any], address: str | None, pod: dict[str, str] | None) -> bool:
    if "ipBlock" in peer and address is not None:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(address)
        inside = [ipaddress.ip_network(cidr) for cidr in [block["cidr"], *block.get("except", [])]]
        return (
            ip.version == inside[0].version
            and ip in inside[0]
            and not any(ip.version == net.version and ip in net for net in inside[1:])
        )
    if pod is not None and ("podSelector" in peer or "namespaceSelector" in peer):
        if peer.get("namespaceSelector") not in (None, {}):
            return False  # only this namespace (and "every namespace") is modelled
        wanted = peer.get("podSelector", {}).get("matchLabels", {})
        return bool(wanted.items() <= pod.items())
    return False


def ingress_ports(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [port for rule in policy["spec"].get("ingress", []) for port in rule["ports"]]


def selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items())


# --- Channel ------------------------------------------------------------------------------


def test_the_channel_policy_picks_its_streamer_and_nothing_else(
    channel_body: dict[str, Any],
) -> None:
    manifests = build_channel(Channel.model_validate(with_pvc_storage(channel_body)), CONFIG)
    policy = channel_policy(channel_body)
    assert policy["metadata"]["name"] == "classics-channel"
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    (deployment,) = of_kind(manifests, "Deployment")
    (cron,) = of_kind(manifests, "CronJob")
    assert selects(policy, deployment["spec"]["template"]["metadata"]["labels"])
    sweeper = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not selects(policy, sweeper)
    other = {**deployment["spec"]["template"]["metadata"]["labels"], "playout.dev/channel": "x"}
    assert not selects(policy, other)
    # Made before the Deployment, so that no streamer runs unguarded.
    kinds_in_order = [manifest["kind"] for manifest in manifests]
    assert kinds_in_order.index("NetworkPolicy") < kinds_in_order.index("Deployment")


def test_the_streamer_takes_in_hls_on_its_port_only(channel_body: dict[str, Any]) -> None:
    policy = channel_policy(channel_body)
    (deployment,) = of_kind(
        build_channel(Channel.model_validate(channel_body), CONFIG), "Deployment"
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (port,) = container["ports"]
    assert ingress_ports(policy) == [{"protocol": "TCP", "port": port["containerPort"]}]
    assert all("from" not in rule for rule in policy["spec"]["ingress"])  # players anywhere


def test_the_streamer_reaches_dns_and_the_api_server_only(channel_body: dict[str, Any]) -> None:
    policy = channel_policy(channel_body)
    for address in [*PUBLIC, *PRIVATE]:
        assert egress_to(policy, port=53, protocol="UDP", address=address)
        assert egress_to(policy, port=443, address=address)
        assert egress_to(policy, port=6443, address=address)
        assert not egress_to(policy, port=80, address=address)
        assert not egress_to(policy, port=8080, address=address)


def test_api_server_cidrs_narrow_the_streamer_egress(channel_body: dict[str, Any]) -> None:
    config = OperatorConfig(api_server_cidrs=("10.0.0.10/32",), api_server_ports=(6443,))
    policy = channel_policy(channel_body, config)
    assert egress_to(policy, port=6443, address="10.0.0.10")
    assert not egress_to(policy, port=6443, address="10.0.0.11")
    assert not egress_to(policy, port=443, address="10.0.0.10")
    assert egress_to(policy, port=53, protocol="UDP", address="10.0.0.11")


# --- ProbeJob -----------------------------------------------------------------------------


def test_a_probe_of_a_volume_reaches_the_api_server_only(probejob_body: dict[str, Any]) -> None:
    """For its report ConfigMaps; the kubelet mounts the media."""
    policy = probe_policy(probejob_body)
    assert policy["metadata"]["name"] == "cheers-s01e01-probejob"
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"]
    for port in (443, 6443):
        assert egress_to(policy, port=port, address=API_SERVER)
        for address in [*PUBLIC, *PRIVATE]:
            assert not egress_to(policy, port=port, address=address), address
    assert not egress_to(policy, port=53, protocol="UDP", address="10.96.0.10")
    # Not narrowed: the API server's ports, anywhere (the streamers' rule too).
    policy = probe_policy(probejob_body, CONFIG)
    assert egress_to(policy, port=6443, address="192.168.1.1")
    assert not egress_to(policy, port=80, address="192.168.1.1")
    (job,) = of_kind(build_probejob(ProbeJob.model_validate(probejob_body), CONFIG), "Job")
    assert selects(policy, job["spec"]["template"]["metadata"]["labels"])


def test_a_scheduled_probe_s_pods_are_picked_too(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["schedule"] = "*/30 * * * *"
    manifests = build_probejob(ProbeJob.model_validate(probejob_body), CONFIG)
    (policy,) = of_kind(manifests, "NetworkPolicy")
    assert manifests[-2] is policy  # before any prober pod can run
    (cron,) = of_kind(manifests, "CronJob")
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert selects(policy, labels)


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("https://media.example.com/a.m3u8", 443),
        ("http://media.example.com/a.mp4", 80),
        ("http://media.example.com:8000/a.mp4", 8000),
    ],
)
def test_a_probe_of_a_url_reaches_public_addresses_on_its_port(
    probejob_body: dict[str, Any], url: str, port: int
) -> None:
    policy = probe_policy(probejob_body, url=url)
    assert "ingress" not in policy["spec"]
    assert egress_to(policy, port=53, protocol="UDP", address="10.96.0.10")  # the name
    for address in PUBLIC:
        assert egress_to(policy, port=port, address=address)
        assert not egress_to(policy, port=port + 1, address=address)
    for address in PRIVATE:
        assert not egress_to(policy, port=port, address=address), address
    assert not egress_to(policy, port=port, pod={"playout.dev/channel": "classics"})


def test_a_url_with_an_address_needs_no_dns(probejob_body: dict[str, Any]) -> None:
    policy = probe_policy(probejob_body, url="https://[2001:db8::1]:8443/a.mp4")
    assert not egress_to(policy, port=53, protocol="UDP", address="10.96.0.10")
    assert egress_to(policy, port=8443, address="2001:db8::1")


@pytest.mark.skipif(
    "allow_private_addresses" not in ProbeJobSpec.model_fields,
    reason="spec.allowPrivateAddresses arrives with the prober's address guard",
)
def test_allow_private_addresses_opens_every_address_on_the_port(
    probejob_body: dict[str, Any],
) -> None:
    probejob_body["spec"]["allowPrivateAddresses"] = True
    policy = probe_policy(probejob_body, url="http://origin.tv.svc:8080/a.m3u8")
    for address in [*PUBLIC, *(a for a in PRIVATE if a not in METADATA)]:
        assert egress_to(policy, port=8080, address=address), address
        assert not egress_to(policy, port=8081, address=address)
    assert egress_to(policy, port=8080, pod={"app": "origin"})  # by selector, for some plugins
    for address in METADATA:
        assert not egress_to(policy, port=8080, address=address), address


def test_a_probe_of_a_channel_reaches_that_streamer_only(probejob_body: dict[str, Any]) -> None:
    policy = probe_policy(probejob_body, channelRef={"name": "classics"})
    streamer = {"app.kubernetes.io/component": "streamer", "playout.dev/channel": "classics"}
    assert egress_to(policy, port=STREAMER_PORT, pod=streamer)
    assert egress_to(policy, port=53, protocol="UDP", address="10.96.0.10")
    other = {**streamer, "playout.dev/channel": "news"}
    assert not egress_to(policy, port=STREAMER_PORT, pod=other)
    for address in [*PUBLIC, *PRIVATE]:
        assert not egress_to(policy, port=STREAMER_PORT, address=address)


# --- switched off, and wired in -----------------------------------------------------------


def test_turned_off_no_policy_is_made(
    channel_body: dict[str, Any], probejob_body: dict[str, Any]
) -> None:
    config = OperatorConfig(network_policies=False)
    manifests = build_channel(Channel.model_validate(channel_body), config)
    manifests += build_probejob(ProbeJob.model_validate(probejob_body), config)
    assert not of_kind(manifests, "NetworkPolicy")


def test_policies_are_watched_and_pruned_for_both_kinds() -> None:
    """Watched, so a deleted policy comes back; prunable, so turning them off deletes them."""
    for kind, children in [
        (kinds.CHANNEL, handlers.CHANNEL_CHILDREN),
        (kinds.PROBEJOB, handlers.PROBEJOB_CHILDREN),
    ]:
        assert "NetworkPolicy" in [resource.__name__ for resource in kind.prunable]
        assert ("networking.k8s.io/v1", "networkpolicies") in children
    assert handlers.KIND_OF["networkpolicies"] == "NetworkPolicy"


def test_every_child_kind_is_watched(
    channel_body: dict[str, Any], probejob_body: dict[str, Any]
) -> None:
    channel = build_channel(Channel.model_validate(with_pvc_storage(channel_body)), CONFIG)
    probe = build_probejob(ProbeJob.model_validate(probejob_body), CONFIG)
    for manifests, children in [
        (channel, handlers.CHANNEL_CHILDREN),
        (probe, handlers.PROBEJOB_CHILDREN),
    ]:
        watched = {handlers.KIND_OF[plural] for _, plural in children}
        assert {manifest["kind"] for manifest in manifests} <= watched


# --- configuration ------------------------------------------------------------------------


def test_configuration_from_the_environment() -> None:
    assert OperatorConfig.from_env({}).network_policies is True
    assert OperatorConfig.from_env({}).api_server_ports == (443, 6443)
    config = OperatorConfig.from_env(
        {
            "PLAYOUT_NETWORK_POLICIES": "false",
            "PLAYOUT_API_SERVER_CIDRS": "10.0.0.10, 2001:db8::/64",
            "PLAYOUT_API_SERVER_PORTS": "6443",
        }
    )
    assert config.network_policies is False
    assert config.api_server_cidrs == ("10.0.0.10/32", "2001:db8::/64")
    assert config.api_server_ports == (6443,)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PLAYOUT_NETWORK_POLICIES": "maybe"}, "PLAYOUT_NETWORK_POLICIES='maybe': set it to true"),
        ({"PLAYOUT_API_SERVER_CIDRS": "10.0.0.0/33"}, "PLAYOUT_API_SERVER_CIDRS: '10.0.0.0/33'"),
        ({"PLAYOUT_API_SERVER_CIDRS": "10.0.0.5/24"}, "is not a network such as 10.0.0.0/24"),
        ({"PLAYOUT_API_SERVER_PORTS": "443,70000"}, "PLAYOUT_API_SERVER_PORTS: '70000'"),
    ],
)
def test_bad_configuration_names_the_variable(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        OperatorConfig.from_env(environ)
    assert expected in str(caught.value)
