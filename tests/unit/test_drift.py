"""A child event re-applies the child only when a field the operator sets lost its value."""

from __future__ import annotations

import copy
from typing import Any

from playout.api import Channel
from playout.controller.builders.channel import build_channel
from playout.controller.config import OperatorConfig
from playout.controller.drift import holds


def deployment(channel_body: dict[str, Any]) -> dict[str, Any]:
    children = build_channel(Channel.model_validate(channel_body), OperatorConfig())
    return next(child for child in children if child["kind"] == "Deployment")


def as_served(applied: dict[str, Any]) -> dict[str, Any]:
    """The child as the API server returns it: with its defaults, metadata and status."""
    live = copy.deepcopy(applied)
    live["metadata"].update(
        {"uid": "u-1", "resourceVersion": "812", "generation": 1, "managedFields": [{}]}
    )
    live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    spec = live["spec"]
    spec["strategy"]["rollingUpdate"] = None
    pod = spec["template"]["spec"]
    pod.update({"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "x"})
    container = pod["containers"][0]
    container.update({"terminationMessagePath": "/dev/termination-log"})
    container["readinessProbe"].update({"timeoutSeconds": 1, "successThreshold": 1})
    live["status"] = {"replicas": 1, "availableReplicas": 0}
    return live


def test_the_echo_of_our_own_apply_holds(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    assert holds(applied=applied, live=as_served(applied))


def test_a_status_change_holds(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    live = as_served(applied)
    live["status"] = {"replicas": 1, "availableReplicas": 1, "conditions": [{"type": "x"}]}
    assert holds(applied=applied, live=live)


def test_a_changed_value_is_drift(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    live = as_served(applied)
    live["spec"]["replicas"] = 3
    assert not holds(applied=applied, live=live)


def test_a_removed_field_is_drift(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    live = as_served(applied)
    del live["metadata"]["ownerReferences"]
    assert not holds(applied=applied, live=live)


def test_a_list_item_more_or_less_is_drift(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    fewer = as_served(applied)
    fewer["spec"]["template"]["spec"]["containers"][0]["env"].pop()
    assert not holds(applied=applied, live=fewer)
    more = as_served(applied)
    more["spec"]["template"]["spec"]["containers"][0]["args"].append("--debug")
    assert not holds(applied=applied, live=more)


def test_an_edit_inside_a_list_item_is_drift(channel_body: dict[str, Any]) -> None:
    applied = deployment(channel_body)
    live = as_served(applied)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "someone/else:latest"
    assert not holds(applied=applied, live=live)


def test_an_empty_map_the_server_dropped_holds() -> None:
    applied = {"spec": {"emptyDir": {}, "items": [], "name": "x"}}
    assert holds(applied=applied, live={"spec": {"name": "x"}})
    assert not holds(applied={"spec": {"emptyDir": {"medium": "Memory"}}}, live={"spec": {}})


def test_a_value_of_another_type_is_drift() -> None:
    assert not holds(applied={"a": {"b": 1}}, live={"a": "b=1"})
    assert not holds(applied={"a": [1]}, live={"a": {"0": 1}})
    assert not holds(applied={"port": 80}, live={"port": "80"})


def test_a_quantity_in_canonical_form_holds() -> None:
    """The API server stores "1000m" CPU as "1" and "1024Mi" as "1Gi"."""
    applied = {"resources": {"requests": {"cpu": "1000m", "memory": "1024Mi"}}}
    live = {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}
    assert holds(applied=applied, live=live)
    live["resources"]["requests"]["cpu"] = "2"
    assert not holds(applied=applied, live=live)
    # Only where quantities live: elsewhere a string is compared as it is.
    assert not holds(applied={"value": "1000m"}, live={"value": "1"})
