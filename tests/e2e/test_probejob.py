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


def leave_termination_message(kubectl: Kubectl, pod: dict[str, Any], document: object) -> None:
    """What the kubelet does when the prober exits (kwok runs none): the file the prober
    wrote to /dev/termination-log, into the finished pod's status."""
    kubectl(
        "patch", "pod", pod["metadata"]["name"], "--subresource=status", "--type=json", "-p",
        json.dumps([{
            "op": "add",
            "path": "/status/containerStatuses/0/state/terminated/message",
            "value": json.dumps(document),
        }]),
    )  # fmt: skip


def test_a_probe_runs_as_a_job_and_the_phase_follows(kubectl: Kubectl) -> None:
    kubectl.apply(probejob())
    job = eventually(lambda: kubectl.get("job", "cheers-s01e01-1"), what="the Job")
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert job["metadata"]["ownerReferences"][0]["kind"] == "ProbeJob"
    # kwok completes Job pods; without the prober there is no report, and status says so:
    # a run that left no report has failed (kstatus Failed, through Stalled).
    eventually(lambda: status(kubectl).get("phase") == "Failed", timeout=90, what="phase Failed")
    conditions = {c["type"]: c for c in status(kubectl)["conditions"]}
    assert conditions["Complete"]["status"] == "True"
    assert conditions["Ready"]["reason"] == "NoReport"
    assert conditions["Stalled"]["status"] == "True"
    kubectl("wait", "--for=condition=Complete", "probejob/cheers-s01e01", "--timeout=10s")
    printed = kubectl("get", "probejobs").splitlines()
    assert printed[0].split() == ["NAME", "PHASE", "VERDICT", "PROFILE", "AGE"]
    assert "broadcast" in printed[1]


def test_a_finished_probe_is_not_run_again(kubectl: Kubectl) -> None:
    kubectl.apply(probejob())
    eventually(lambda: status(kubectl).get("phase") == "Failed", timeout=90, what="a result")
    kubectl("delete", "job", "cheers-s01e01-1", "--wait=true")
    kubectl("annotate", "probejob", "cheers-s01e01", "touched=yes")  # an event, no new generation
    eventually(lambda: status(kubectl).get("phase") == "Failed", what="the result kept")
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


def test_the_report_arrives_through_the_termination_message(kubectl: Kubectl) -> None:
    """kwok runs no prober; the test writes, as the kubelet would, the report the prober
    leaves in /dev/termination-log into the finished pod's status."""
    kubectl.apply(probejob())
    pod = eventually(
        lambda: next(
            (
                p
                for p in kubectl.items("pods", "-l", "playout.dev/probejob=cheers-s01e01")
                if p["status"].get("phase") == "Succeeded"
            ),
            None,
        ),
        timeout=90,
        what="the finished prober pod",
    )
    report = {
        "verdict": "fail",
        "summary": {"container": "matroska,webm", "durationSeconds": 1320.5},
        "checks": [
            {"name": "loudness", "status": "fail", "value": -16.0, "threshold": -23,
             "message": "-16.0 LUFS integrated, target -23 ± 1 LU"},
            {"name": "black", "status": "pass", "value": 0},
        ],
    }  # fmt: skip
    leave_termination_message(kubectl, pod, report)
    eventually(
        lambda: (
            status(kubectl).get("verdict") == "fail" and status(kubectl).get("phase") == "Succeeded"
        ),
        what="the verdict of a finished probe",
    )
    final = status(kubectl)
    assert [c["name"] for c in final["checks"]] == ["loudness", "black"]
    assert final["summary"]["container"] == "matroska,webm"
    assert [run["job"] for run in final["history"]] == ["cheers-s01e01-1"]
    assert final["history"][0]["problems"] == ["loudness"]
    conditions = {c["type"]: c for c in final["conditions"]}
    assert conditions["Ready"]["reason"] == "VerdictFail"


def library_probe(parallelism: int = 3) -> dict[str, Any]:
    document = probejob()
    document["spec"]["source"]["path"] = "shows/Cheers"
    document["spec"]["source"]["recursive"] = True
    document["spec"]["parallelism"] = parallelism
    return document


def test_a_folder_is_probed_by_an_indexed_job_and_its_shards_add_up(kubectl: Kubectl) -> None:
    """kwok runs no prober: the test writes each shard's summary, as the prober leaves it,
    into its finished pod's status."""
    kubectl.apply(library_probe())
    job = eventually(lambda: kubectl.get("job", "cheers-s01e01-1"), what="the Indexed Job")
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 3
    reports = ["cheers-s01e01-report", "cheers-s01e01-report-1", "cheers-s01e01-report-2"]
    for name in reports:
        config_map = kubectl.get("configmap", name)
        assert config_map is not None, name
        assert config_map["metadata"]["ownerReferences"][0]["kind"] == "ProbeJob"
    role = kubectl.get("role", "cheers-s01e01-prober")
    assert role is not None and role["rules"][0]["resourceNames"] == reports

    def finished() -> list[dict[str, Any]] | None:
        pods = [
            p
            for p in kubectl.items("pods", "-l", "playout.dev/probejob=cheers-s01e01")
            if p["status"].get("phase") == "Succeeded"
        ]
        return pods if len(pods) == 3 else None

    for pod in eventually(finished, timeout=120, what="three finished shard pods"):
        shard = int(pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"])
        summary = {
            "shard": shard,
            "shards": 3,
            "counts": {"total": 4, "pass": 4 - shard, "fail": shard},
            "worst": [
                {"path": f"Season {shard}/E{i}.mkv", "status": "fail", "problems": ["black"]}
                for i in range(shard)
            ],
            "configMap": reports[shard],
        }
        leave_termination_message(kubectl, pod, summary)
    eventually(
        lambda: (
            status(kubectl).get("verdict") == "fail" and status(kubectl).get("phase") == "Succeeded"
        ),
        what="the library's verdict",
    )
    final = status(kubectl)
    library = final["library"]
    assert library["counts"] == {"total": 12, "pass": 9, "warn": 0, "fail": 3, "error": 0,
                                 "reused": 0}  # fmt: skip
    assert library["reports"] == reports and library["shardsReported"] == 3
    assert [w["path"] for w in library["worst"]] == ["Season 1/E0.mkv", "Season 2/E0.mkv",
                                                     "Season 2/E1.mkv"]  # fmt: skip
    assert final["history"][0]["problems"] == [w["path"] for w in library["worst"]]


def test_fewer_shards_prune_the_extra_report(kubectl: Kubectl) -> None:
    kubectl.apply(library_probe())
    eventually(lambda: kubectl.get("configmap", "cheers-s01e01-report-2"), what="three reports")
    kubectl.apply(library_probe(parallelism=2))
    eventually(lambda: kubectl.get("job", "cheers-s01e01-2"), what="the second Job")
    eventually(
        lambda: kubectl.get("configmap", "cheers-s01e01-report-2") is None,
        what="the third report pruned",
    )
    assert kubectl.get("configmap", "cheers-s01e01-report-1") is not None
