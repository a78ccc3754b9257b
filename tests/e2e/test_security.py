"""Least privilege, asked of the API server itself: `kubectl auth can-i --as` each identity
(the operator, a streamer, the pods that run without one), and the NetworkPolicies the
operator keeps. This cluster's network plugin enforces no policies, so what they allow is
checked by the unit tier; here, that they exist, come back and go when turned off."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import load_example
from tests.e2e.conftest import OPERATOR_NAMESPACE, operator_kubeconfig
from tests.e2e.kubectl import Kubectl, eventually, restricted_namespace
from tests.e2e.operator_process import operator_process
from tests.e2e.test_channel import channel

pytestmark = pytest.mark.e2e

OPERATOR = f"system:serviceaccount:{OPERATOR_NAMESPACE}:playout-operator"


def can(kubectl: Kubectl, who: str, verb: str, what: str, *extra: str) -> bool:
    """`kubectl auth can-i`: yes (exit 0) or no (exit 1), as `who`, in kubectl's namespace."""
    result = kubectl.run("auth", "can-i", verb, what, "--as", who, *extra, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def status_of(kubectl: Kubectl, who: str, verb: str, what: str) -> bool:
    return can(kubectl, who, verb, what, "--subresource=status")


def test_the_operator_reads_no_secrets_and_writes_only_status(kubectl: Kubectl) -> None:
    for verb in ("get", "list", "watch"):
        assert not can(kubectl, OPERATOR, verb, "secrets")
        assert not can(kubectl, OPERATOR, verb, "secrets", "--all-namespaces")
    for kind in ("channels", "probejobs"):
        assert can(kubectl, OPERATOR, "watch", kind)
        for verb in ("create", "update", "patch", "delete"):
            assert not can(kubectl, OPERATOR, verb, kind), f"{verb} {kind}"
        assert status_of(kubectl, OPERATOR, "patch", kind)
        assert not status_of(kubectl, OPERATOR, "update", kind)
    # Its children: apply, watch and prune, and no more.
    for kind in ("networkpolicies.networking.k8s.io", "deployments.apps", "jobs.batch"):
        for verb in ("create", "patch", "list", "watch", "delete"):
            assert can(kubectl, OPERATOR, verb, kind), f"{verb} {kind}"
        assert not can(kubectl, OPERATOR, "update", kind)
        assert not can(kubectl, OPERATOR, "deletecollection", kind)
    # Pods it only reads (the probe reports); nothing else anywhere.
    assert can(kubectl, OPERATOR, "list", "pods")
    for verb in ("create", "patch", "delete"):
        assert not can(kubectl, OPERATOR, verb, "pods")
    assert not can(kubectl, OPERATOR, "create", "pods", "--subresource=exec")
    assert not can(kubectl, OPERATOR, "create", "serviceaccounts", "--subresource=token")
    assert not can(kubectl, OPERATOR, "escalate", "roles.rbac.authorization.k8s.io")
    assert not can(kubectl, OPERATOR, "bind", "clusterroles.rbac.authorization.k8s.io")


def test_a_streamer_may_touch_only_its_own_channel_and_timeline(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    other = channel()
    other["metadata"]["name"] = "news"
    kubectl.apply(other)
    for name in ("classics", "news"):
        eventually(
            lambda name=name: kubectl.get("rolebinding", f"{name}-streamer"),
            what=f"{name}'s RoleBinding",
        )
    streamer = f"system:serviceaccount:{kubectl.namespace}:classics-streamer"
    assert can(kubectl, streamer, "get", "channels/classics")
    assert can(kubectl, streamer, "watch", "channels/classics")  # skip requests, by name
    assert status_of(kubectl, streamer, "patch", "channels/classics")
    assert can(kubectl, streamer, "patch", "configmaps/classics-timeline")
    # Not its spec, not another channel, not its own config, not anything else.
    assert not can(kubectl, streamer, "patch", "channels/classics")
    assert not status_of(kubectl, streamer, "patch", "channels/news")
    assert not can(kubectl, streamer, "get", "channels/news")
    assert not can(kubectl, streamer, "watch", "channels/news")
    assert not can(kubectl, streamer, "watch", "channels")
    assert not can(kubectl, streamer, "list", "channels")
    assert not can(kubectl, streamer, "patch", "configmaps/news-timeline")
    assert not can(kubectl, streamer, "patch", "configmaps/classics-config")
    assert not can(kubectl, streamer, "get", "secrets")
    assert not can(kubectl, streamer, "create", "pods")
    assert not status_of(kubectl, streamer, "patch", "probejobs/classics")


def test_a_prober_may_touch_only_its_report_and_the_sweeper_nothing(kubectl: Kubectl) -> None:
    document = channel()
    document["spec"]["storage"] = {"persistentVolumeClaim": {"claimName": "segments"}}
    kubectl.apply(document)
    kubectl.apply(copy.deepcopy(load_example("probejob.yaml")))
    other = copy.deepcopy(load_example("probejob.yaml"))
    other["metadata"]["name"] = "other"
    kubectl.apply(other)
    cron = eventually(lambda: kubectl.get("cronjob", "classics-sweep"), what="the sweeper")
    sweeper = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert sweeper["automountServiceAccountToken"] is False
    pod = eventually(
        lambda: next(iter(kubectl.items("pods", "-l", "playout.dev/probejob=cheers-s01e01")), None),
        timeout=90,
        what="the prober's pod",
    )
    assert pod["spec"]["serviceAccountName"] == "cheers-s01e01-prober"
    for name in ("cheers-s01e01", "other"):
        eventually(
            lambda name=name: kubectl.get("rolebinding", f"{name}-prober"),
            what=f"{name}'s RoleBinding",
        )
    prober = f"system:serviceaccount:{kubectl.namespace}:cheers-s01e01-prober"
    assert can(kubectl, prober, "get", "configmaps/cheers-s01e01-report")
    assert can(kubectl, prober, "patch", "configmaps/cheers-s01e01-report")
    # Not another probe's report, not a channel's, no list or create, nothing else.
    assert not can(kubectl, prober, "patch", "configmaps/other-report")
    assert not can(kubectl, prober, "patch", "configmaps/classics-timeline")
    assert not can(kubectl, prober, "list", "configmaps")
    assert not can(kubectl, prober, "create", "configmaps")
    assert not can(kubectl, prober, "delete", "configmaps/cheers-s01e01-report")
    assert not can(kubectl, prober, "get", "secrets")
    assert not can(kubectl, prober, "get", "probejobs/cheers-s01e01")
    assert not status_of(kubectl, prober, "patch", "probejobs/cheers-s01e01")
    assert not can(kubectl, prober, "get", "channels/classics")


def test_a_scheduled_probe_s_policy_comes_back_when_deleted(kubectl: Kubectl) -> None:
    document = copy.deepcopy(load_example("probejob.yaml"))
    document["spec"]["schedule"] = "*/30 * * * *"
    kubectl.apply(document)
    name = "cheers-s01e01-probejob"
    before = eventually(lambda: kubectl.get("networkpolicy", name), what="the policy")
    assert before["metadata"]["ownerReferences"][0]["kind"] == "ProbeJob"
    assert before["spec"]["policyTypes"] == ["Ingress", "Egress"]
    kubectl("delete", "networkpolicy", name, "--wait=true")
    eventually(
        lambda: (
            (policy := kubectl.get("networkpolicy", name))
            and policy["metadata"]["uid"] != before["metadata"]["uid"]
        ),
        what="the policy recreated",
    )


@pytest.fixture
def unwatched(admin: Kubectl) -> Iterator[Kubectl]:
    """A namespace the session's operator does not watch, for operators of a test's own."""
    name = f"netpol-{uuid.uuid4().hex[:8]}"
    yield restricted_namespace(admin, name)
    admin.run("delete", "namespace", name, "--wait=false", check=False)


def test_turned_off_the_operator_deletes_the_policies_it_made(
    admin: Kubectl, unwatched: Kubectl, tmp_path: Path
) -> None:
    config = operator_kubeconfig(admin, tmp_path / "kubeconfig")
    namespace = ["--namespace", unwatched.namespace]
    images = {"PLAYOUT_STREAMER_IMAGE": "playout-streamer:e2e"}
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    with operator_process(config, namespace, images, tmp_path / "on"):
        unwatched.apply(channel())
        eventually(lambda: unwatched.get("networkpolicy", "classics-channel"), what="the policy")
    off = {**images, "PLAYOUT_NETWORK_POLICIES": "false"}
    with operator_process(config, namespace, off, tmp_path / "off"):
        eventually(
            lambda: unwatched.get("networkpolicy", "classics-channel") is None,
            what="the policy deleted",
        )
        assert unwatched.get("deployment", "classics") is not None
