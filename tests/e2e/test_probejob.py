"""A ProbeJob's life: Job, pod, phase."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import load_example
from tests.e2e.kubectl import Kubectl, eventually

pytestmark = pytest.mark.e2e


def probejob() -> dict[str, Any]:
    return copy.deepcopy(load_example("probejob.yaml"))


def status(kubectl: Kubectl, name: str = "cheers-s01e01") -> dict[str, Any]:
    return dict((kubectl.get("probejob", name) or {}).get("status", {}))


def test_a_probe_runs_as_a_job_and_the_phase_follows(kubectl: Kubectl) -> None:
    kubectl.apply(probejob())
    job = eventually(lambda: kubectl.get("job", "cheers-s01e01-1"), what="the Job")
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["metadata"]["ownerReferences"][0]["kind"] == "ProbeJob"
    # kwok completes Job pods; without the prober there is no report, and status says so.
    eventually(
        lambda: status(kubectl).get("phase") == "Succeeded", timeout=90, what="phase Succeeded"
    )
    conditions = {c["type"]: c for c in status(kubectl)["conditions"]}
    assert conditions["Complete"]["status"] == "True"
    assert conditions["Ready"]["reason"] == "NoReport"
    kubectl("wait", "--for=condition=Complete", "probejob/cheers-s01e01", "--timeout=10s")
    printed = kubectl("get", "probejobs").splitlines()
    assert printed[0].split() == ["NAME", "PHASE", "VERDICT", "PROFILE", "AGE"]
    assert "broadcast" in printed[1]


def test_a_finished_probe_is_not_run_again(kubectl: Kubectl) -> None:
    kubectl.apply(probejob())
    eventually(
        lambda: status(kubectl).get("phase") == "Succeeded", timeout=90, what="phase Succeeded"
    )
    kubectl("delete", "job", "cheers-s01e01-1", "--wait=true")
    kubectl("annotate", "probejob", "cheers-s01e01", "touched=yes")  # an event, no new generation
    eventually(lambda: status(kubectl).get("phase") == "Succeeded", what="the result kept")
    assert kubectl.get("job", "cheers-s01e01-1") is None


def test_an_edit_is_a_new_run(kubectl: Kubectl) -> None:
    kubectl.apply(probejob())
    eventually(lambda: kubectl.get("job", "cheers-s01e01-1"), what="the first Job")
    kubectl(
        "patch",
        "probejob",
        "cheers-s01e01",
        "--type=merge",
        "-p",
        json.dumps({"spec": {"profile": "quick"}}),
    )
    eventually(lambda: kubectl.get("job", "cheers-s01e01-2"), what="the second Job")
    eventually(lambda: kubectl.get("job", "cheers-s01e01-1") is None, what="the first Job pruned")


def test_a_schedule_makes_a_cronjob(kubectl: Kubectl) -> None:
    document = probejob()
    document["spec"]["schedule"] = "*/30 * * * *"
    kubectl.apply(document)
    cron = eventually(lambda: kubectl.get("cronjob", "cheers-s01e01"), what="the CronJob")
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    eventually(lambda: status(kubectl).get("phase") == "Pending", what="phase Pending")
    # Dropping the schedule swaps the CronJob for a one-off Job.
    kubectl(
        "patch",
        "probejob",
        "cheers-s01e01",
        "--type=json",
        "-p",
        json.dumps([{"op": "remove", "path": "/spec/schedule"}]),
    )
    eventually(lambda: kubectl.get("cronjob", "cheers-s01e01") is None, what="the CronJob pruned")
    eventually(lambda: kubectl.get("job", "cheers-s01e01-2"), what="a one-off Job")
