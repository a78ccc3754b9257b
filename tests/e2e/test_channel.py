"""A Channel's life as a user drives it with kubectl, against the real operator."""

from __future__ import annotations

import copy
import json
import time
import urllib.request
from typing import Any

import pytest

from playout.api import Channel
from playout.api.channel import REPORT_HEARTBEAT_ENV
from playout.controller.builders.channel import build_channel
from playout.controller.config import OperatorConfig
from playout.controller.drift import holds
from tests.conftest import load_example
from tests.e2e.conftest import OPERATOR_ENV
from tests.e2e.kubectl import Kubectl, eventually
from tests.e2e.operator_process import HEARTBEAT_SECONDS

pytestmark = pytest.mark.e2e

CHILDREN = [
    ("deployment", "classics"),
    ("service", "classics"),
    ("configmap", "classics-config"),
    ("serviceaccount", "classics-streamer"),
    ("role", "classics-streamer"),
    ("rolebinding", "classics-streamer"),
    ("networkpolicy", "classics-channel"),
]


def channel() -> dict[str, Any]:
    document = copy.deepcopy(load_example("channel.yaml"))
    # The kwok nodes are small; the example's request of a whole core would not fit twice.
    document["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    return document


def condition(body: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for entry in (body or {}).get("status", {}).get("conditions", []):
        if entry["type"] == kind:
            return dict(entry)
    return {}


def phase(kubectl: Kubectl, name: str = "classics") -> str | None:
    body = kubectl.get("channel", name)
    return (body or {}).get("status", {}).get("phase")


def test_children_are_created_and_owned(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    owner = eventually(lambda: kubectl.get("channel", "classics"), what="the channel")
    for kind, name in CHILDREN:
        child = eventually(
            lambda kind=kind, name=name: kubectl.get(kind, name), what=f"{kind}/{name}"
        )
        (reference,) = child["metadata"]["ownerReferences"]
        assert reference["uid"] == owner["metadata"]["uid"] and reference["controller"] is True


def test_children_as_served_hold_what_was_applied(kubectl: Kubectl) -> None:
    """With the API server's defaults and canonical forms, every child holds what the
    operator applied: so its own apply's echo, and every status update of its Deployment,
    cost no re-apply (controller/drift.py)."""
    kubectl.apply(channel())
    eventually(lambda: phase(kubectl) == "Starting", timeout=90, what="phase Starting")
    config = OperatorConfig.from_env({**OPERATOR_ENV, REPORT_HEARTBEAT_ENV: str(HEARTBEAT_SECONDS)})
    body = kubectl.get("channel", "classics")
    for child in build_channel(Channel.model_validate(body), config):
        kind, name = child["kind"], child["metadata"]["name"]
        live = eventually(lambda kind=kind, name=name: kubectl.get(kind, name), what=name)
        assert holds(applied=child, live=live), f"{kind}/{name} as served: {live}"


def test_the_pod_runs_and_status_says_so(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    pods = eventually(
        lambda: [
            p
            for p in kubectl.items("pods", "-l", "playout.dev/channel=classics")
            if p["status"].get("phase") == "Running"
        ],
        timeout=90,
        what="a running streamer pod",
    )
    assert len(pods) == 1
    # No streamer engine reports from a kwok pod: the channel is honestly Starting, first
    # for its rollout, then waiting for the stream (a wait on the phase alone would take
    # the first for the second, and fail under load).
    body = eventually(
        lambda: (
            (found := kubectl.get("channel", "classics"))
            and condition(found, "Ready").get("reason") == "WaitingForStream"
            and found
        ),
        what="waiting for the stream",
    )
    assert body["status"]["phase"] == "Starting"
    assert condition(body, "Reconciling")["status"] == "True"
    assert body["status"]["observedGeneration"] == body["metadata"]["generation"]
    assert (
        body["status"]["stream"]["url"]
        == f"http://classics.{kubectl.namespace}.svc/live/index.m3u8"
    )


def test_printer_columns(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    eventually(lambda: phase(kubectl), what="a phase")
    table = kubectl("get", "channels")
    header = table.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "NOW", "PLAYING", "READY", "AGE"]
    wide = kubectl("get", "channels", "-o", "wide").splitlines()
    assert "URL" in wide[0] and "MESSAGE" in wide[0]
    assert f"http://classics.{kubectl.namespace}.svc/live/index.m3u8" in wide[1]
    assert "classics" in kubectl("get", "playout")  # the category


def test_a_spec_edit_rolls_the_deployment(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    first = eventually(lambda: kubectl.get("deployment", "classics"), what="the deployment")
    edited = channel()
    edited["spec"]["output"]["segmentSeconds"] = 4
    kubectl.apply(edited)

    def caught_up() -> bool:
        body = kubectl.get("channel", "classics") or {}
        return bool(
            body["metadata"]["generation"] == body.get("status", {}).get("observedGeneration") == 2
        )

    eventually(caught_up, what="observedGeneration 2")
    annotation = "playout.dev/config-hash"
    second = eventually(
        lambda: (
            (d := kubectl.get("deployment", "classics"))
            and d["spec"]["template"]["metadata"]["annotations"][annotation]
            != first["spec"]["template"]["metadata"]["annotations"][annotation]
            and d
        ),
        what="a new config hash",
    )
    assert (
        "segmentSeconds: 4"
        in (kubectl.get("configmap", "classics-config") or {})["data"]["channel.yaml"]
    )
    assert second["metadata"]["generation"] > first["metadata"]["generation"]


@pytest.mark.fault
@pytest.mark.parametrize(("kind", "name"), CHILDREN)
def test_a_deleted_child_comes_back(kubectl: Kubectl, kind: str, name: str) -> None:
    kubectl.apply(channel())
    before = eventually(lambda: kubectl.get(kind, name), what=f"{kind}/{name}")
    kubectl("delete", kind, name, "--wait=true")
    after = eventually(
        lambda: (
            (c := kubectl.get(kind, name))
            and c["metadata"]["uid"] != before["metadata"]["uid"]
            and c
        ),
        what=f"{kind}/{name} recreated",
    )
    assert after["metadata"]["ownerReferences"][0]["name"] == "classics"


def test_a_hand_edit_is_reverted(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    eventually(lambda: kubectl.get("deployment", "classics"), what="the deployment")
    kubectl("scale", "deployment", "classics", "--replicas=3")
    eventually(
        lambda: (kubectl.get("deployment", "classics") or {})["spec"]["replicas"] == 1,
        what="replicas back to 1",
    )
    kubectl(
        "label", "service", "classics", "app.kubernetes.io/managed-by=someone-else", "--overwrite"
    )
    eventually(
        lambda: (
            (kubectl.get("service", "classics") or {})["metadata"]["labels"][
                "app.kubernetes.io/managed-by"
            ]
            == "playout-operator"
        ),
        what="the label restored",
    )


def set_suspend(kubectl: Kubectl, suspend: bool) -> None:
    patch = json.dumps({"spec": {"suspend": suspend}})
    kubectl("patch", "channel", "classics", "--type=merge", "-p", patch)


def test_suspend_and_resume(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    eventually(lambda: phase(kubectl) == "Starting", timeout=90, what="phase Starting")
    set_suspend(kubectl, True)
    eventually(
        lambda: (
            phase(kubectl) == "Suspended"
            and condition(kubectl.get("channel", "classics"), "Reconciling")["status"] == "False"
        ),
        what="suspended",
    )
    assert (kubectl.get("deployment", "classics") or {})["spec"]["replicas"] == 0
    assert not [
        p
        for p in kubectl.items("pods", "-l", "playout.dev/channel=classics")
        if not p["metadata"].get("deletionTimestamp")
    ]
    kubectl("wait", "--for=jsonpath={.status.phase}=Suspended", "channel/classics", "--timeout=10s")
    set_suspend(kubectl, False)
    eventually(lambda: phase(kubectl) == "Starting", timeout=90, what="back to Starting")
    assert (kubectl.get("deployment", "classics") or {})["spec"]["replicas"] == 1


def test_deleting_the_channel_collects_its_children(kubectl: Kubectl) -> None:
    kubectl.apply(channel())
    for kind, name in CHILDREN:
        eventually(lambda kind=kind, name=name: kubectl.get(kind, name), what=f"{kind}/{name}")
    kubectl("delete", "channel", "classics", "--wait=true", "--timeout=30s")
    for kind, name in CHILDREN:
        eventually(
            lambda kind=kind, name=name: kubectl.get(kind, name) is None,
            what=f"{kind}/{name} collected",
        )


def test_pods_are_admitted_under_restricted(kubectl: Kubectl) -> None:
    """The namespace enforces Pod Security `restricted`: a rejected pod would leave the
    ReplicaSet with a FailedCreate event and no pod."""
    kubectl.apply(channel())
    eventually(
        lambda: kubectl.items("pods", "-l", "playout.dev/channel=classics"),
        timeout=60,
        what="a pod",
    )
    events = kubectl.items("events", "--field-selector", "reason=FailedCreate")
    assert events == []


def test_a_privileged_pod_is_rejected_here(kubectl: Kubectl) -> None:
    """The control: the same namespace does reject a pod that breaks the profile."""
    result = kubectl.try_apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "bad"},
            "spec": {
                "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]
            },
        }
    )
    assert result.returncode != 0 and "violates PodSecurity" in result.stderr


def test_metrics(kubectl: Kubectl, operator: dict[str, Any]) -> None:
    kubectl.apply(channel())
    eventually(lambda: phase(kubectl), what="a phase")
    with urllib.request.urlopen(operator["metrics"], timeout=5) as response:
        text = response.read().decode()
    assert 'playout_reconciles_total{kind="Channel"}' in text
    assert "playout_reconcile_duration_seconds_bucket" in text
    assert 'playout_objects{kind="Channel",phase=' in text


def test_phase_transitions_post_events(kubectl: Kubectl) -> None:
    """One event per transition: the Deployment's rollout reconciles the Channel again
    and again, often with the Channel as it was before the last status write."""
    kubectl.apply(channel())
    eventually(lambda: phase(kubectl) == "Starting", timeout=90, what="phase Starting")

    def ours() -> list[dict[str, Any]]:
        found = kubectl.items("events", "--field-selector", "involvedObject.kind=Channel")
        return [e for e in found if e["source"].get("component") == "playout-operator"]

    events = eventually(
        lambda: [e for e in ours() if e["reason"] == "Starting"], what="a Starting event"
    )
    assert events[0]["involvedObject"]["name"] == "classics"
    eventually(
        lambda: (kubectl.get("deployment", "classics") or {}).get("status", {}).get("replicas"),
        what="the rollout",
    )
    time.sleep(5)  # the rollout's last status changes, and what they reconcile
    reasons = [e["reason"] for e in ours()]
    assert sorted(reasons) == sorted(set(reasons)), reasons
