"""Status follows kstatus: what Flux, Argo CD and `kubectl wait` read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from playout.api import Channel, ProbeJob
from playout.api.channel import REPORT_HEARTBEAT_SECONDS, ChannelPhase, ScheduleStatus
from playout.api.common import Condition
from playout.controller.status.assessment import (
    FALSE,
    STALE_GIVE_UP,
    TRUE,
    Assessment,
    Concluded,
    assess_channel,
    assess_probejob,
    stale_after,
)
from playout.controller.status.observed import DeploymentState, JobState, ProberPod, latest_run
from playout.controller.status.patch import (
    channel_status_patch,
    is_noop,
    merge_conditions,
    merged,
    probejob_status_patch,
)
from tests.conftest import probe_job, rolled_out

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
HEARTBEAT = REPORT_HEARTBEAT_SECONDS


def assess(channel: Channel, deployment: DeploymentState | None, *, now: datetime) -> Assessment:
    return assess_channel(channel, deployment, now=now, heartbeat_seconds=HEARTBEAT)


def with_stream(
    body: dict[str, Any], last_segment_at: datetime | None, *, phase: str = "Live"
) -> Channel:
    """The channel with a report of its last segment at `last_segment_at`, in the `phase`
    the operator last wrote."""
    body["status"] = {
        "phase": phase,
        "stream": {"lastSegmentAt": last_segment_at.isoformat() if last_segment_at else None},
        "nowPlaying": {
            "program": "shows/Cheers",
            "item": "shows/Cheers/S01E01.mkv",
            "title": "Cheers S01E01",
            "startedAt": NOW.isoformat(),
            "positionSeconds": 12.0,
        },
    }
    return Channel.model_validate(body)


def summary(assessment: Assessment) -> tuple[str, ...]:
    return (
        str(assessment.phase),
        assessment.ready.status.value,
        assessment.reconciling.status.value,
        assessment.stalled.status.value,
    )


def test_a_fresh_stream_is_live(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW - timedelta(seconds=5))
    assessment = assess(channel, rolled_out(), now=NOW)
    assert summary(assessment) == ("Live", "True", "False", "False")
    assert assessment.ready.message == "On air: Cheers S01E01"
    assert assessment.extra["StreamHealthy"].status == TRUE


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, ("Pending", "False", "True", "False")),
        (
            rolled_out(available_replicas=0, rollout_complete=False),
            ("Starting", "False", "True", "False"),
        ),
        (
            rolled_out(progress_deadline_exceeded=True, message="ImagePullBackOff"),
            ("Failed", "False", "False", "True"),
        ),
    ],
)
def test_rollout_states(
    channel_body: dict[str, Any], state: DeploymentState | None, expected: tuple[str, ...]
) -> None:
    channel = with_stream(channel_body, NOW)
    assert summary(assess(channel, state, now=NOW)) == expected


def test_a_full_volume_says_so_and_how_to_fix_it(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW - timedelta(seconds=20))
    assert channel.status.stream is not None
    channel.status.stream.disk_full_since = NOW - timedelta(seconds=10)
    # The pod is unready (no segment comes), and the report says why.
    degraded = assess(channel, rolled_out(available_replicas=0), now=NOW)
    assert summary(degraded) == ("Degraded", "False", "True", "False")
    assert degraded.ready.reason == degraded.extra["StreamHealthy"].reason == "DiskFull"
    assert "spec.storage" in degraded.ready.message
    assert degraded.recheck_at == NOW - timedelta(seconds=10) + STALE_GIVE_UP
    # A volume still full after that needs someone: Stalled, with the same reason.
    stalled = assess(channel, rolled_out(available_replicas=0), now=NOW + STALE_GIVE_UP)
    assert summary(stalled) == ("Degraded", "False", "False", "True")
    assert stalled.stalled.reason == "DiskFull"
    # Room again: the engine clears the date (null in its merge patch) and is live.
    channel.status.stream.disk_full_since = None
    channel.status.stream.last_segment_at = NOW
    assert summary(assess(channel, rolled_out(), now=NOW)) == ("Live", "True", "False", "False")


def test_no_report_yet_is_still_starting(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, None, phase="Starting")
    assessment = assess(channel, rolled_out(), now=NOW)
    assert summary(assessment) == ("Starting", "False", "True", "False")
    assert assessment.ready.reason == "WaitingForStream"
    assert assessment.recheck_at is None  # the first report is an event


def test_reports_that_stop_degrade_then_stall(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW)
    limit = stale_after(channel, heartbeat_seconds=HEARTBEAT)
    live = assess(channel, rolled_out(), now=NOW + limit - timedelta(seconds=1))
    assert summary(live) == ("Live", "True", "False", "False")
    assert live.recheck_at == NOW + limit  # the clock alone turns it stale then
    stale = assess(channel, rolled_out(), now=NOW + limit)
    assert summary(stale) == ("Degraded", "False", "True", "False")
    assert stale.extra["StreamHealthy"].reason == "StreamStale"
    assert stale.ready.message == f"No new segment since {NOW.isoformat()}"
    # Given up five minutes after the stream turned stale, not after its last report.
    assert stale.recheck_at == NOW + limit + STALE_GIVE_UP
    still = assess(channel, rolled_out(), now=NOW + limit + STALE_GIVE_UP - timedelta(seconds=1))
    assert summary(still) == summary(stale)
    given_up = assess(channel, rolled_out(), now=NOW + limit + STALE_GIVE_UP)
    assert summary(given_up) == ("Degraded", "False", "False", "True")
    assert given_up.recheck_at is None


def test_the_heartbeat_sets_when_reports_are_stale(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW)
    short = stale_after(channel, heartbeat_seconds=10)
    assert stale_after(channel, heartbeat_seconds=HEARTBEAT) - short == timedelta(
        seconds=HEARTBEAT - 10
    )
    judged = assess_channel(channel, rolled_out(), now=NOW + short, heartbeat_seconds=10)
    assert judged.phase == ChannelPhase.DEGRADED


def test_no_ready_pod_degrades_at_once_then_stalls(channel_body: dict[str, Any]) -> None:
    """The pod's readiness fails within seconds of the last segment (its /healthz): the
    Deployment says so long before a report would be missed."""
    channel = with_stream(channel_body, NOW)
    since = NOW + timedelta(seconds=20)
    unready = rolled_out(available_replicas=0, unavailable_since=since)
    stale = assess(channel, unready, now=since + timedelta(seconds=1))
    assert summary(stale) == ("Degraded", "False", "True", "False")
    assert stale.ready.reason == "StreamStale"
    assert stale.ready.message == f"The streamer has had no ready pod since {since.isoformat()}"
    assert stale.extra["StreamHealthy"].status == FALSE
    assert stale.recheck_at == since + STALE_GIVE_UP
    given_up = assess(channel, unready, now=since + STALE_GIVE_UP)
    assert summary(given_up) == ("Degraded", "False", "False", "True")
    back = assess(channel, rolled_out(), now=since + STALE_GIVE_UP)
    assert summary(back) == ("Live", "True", "False", "False")


def test_a_pod_starting_after_a_resume_is_starting_not_degraded(
    channel_body: dict[str, Any],
) -> None:
    """Scaling from 0 keeps the rollout complete, and the last report is from before the
    suspension: neither means the stream stopped."""
    channel = with_stream(channel_body, NOW - timedelta(hours=1), phase="Suspended")
    unready = rolled_out(available_replicas=0, unavailable_since=NOW)
    starting = assess(channel, unready, now=NOW + timedelta(seconds=5))
    assert summary(starting) == ("Starting", "False", "True", "False")
    assert starting.extra["StreamHealthy"].reason == "NoReport"
    ready_pod = assess(channel, rolled_out(), now=NOW + timedelta(seconds=5))
    assert summary(ready_pod) == ("Starting", "False", "True", "False")
    assert ready_pod.ready.reason == "WaitingForStream"
    # One that never gets a ready pod is given up all the same.
    never = assess(channel, unready, now=NOW + STALE_GIVE_UP)
    assert summary(never) == ("Degraded", "False", "False", "True")


def test_stale_messages_do_not_change_with_the_clock(channel_body: dict[str, Any]) -> None:
    """A message that changed every evaluation would rewrite the status every time."""
    channel = with_stream(channel_body, NOW)
    for deployment in (rolled_out(), rolled_out(available_replicas=0, unavailable_since=NOW)):
        first = assess(channel, deployment, now=NOW + timedelta(minutes=6))
        later = assess(channel, deployment, now=NOW + timedelta(minutes=7))
        assert first.phase == ChannelPhase.DEGRADED
        assert first.conditions == later.conditions


def test_suspended(channel_body: dict[str, Any]) -> None:
    channel_body["spec"]["suspend"] = True
    channel = with_stream(channel_body, NOW)
    assert summary(assess(channel, rolled_out(replicas=1), now=NOW)) == (
        "Suspended",
        "False",
        "True",
        "False",
    )
    assert summary(assess(channel, rolled_out(replicas=0), now=NOW)) == (
        "Suspended",
        "True",
        "False",
        "False",
    )


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    earlier = NOW - timedelta(hours=1)
    existing = [
        Condition(
            type="Ready",
            status="True",
            reason="Live",
            last_transition_time=earlier,
            observed_generation=1,
        ),
        Condition(
            type="Reconciling", status="True", reason="Starting", last_transition_time=earlier
        ),
        Condition(type="SomeoneElses", status="True", reason="X", last_transition_time=earlier),
    ]
    assessment = Assessment(
        phase="Live",
        ready=Concluded(TRUE, "Live", "On air"),
        reconciling=Concluded("False", "Reconciled"),
        stalled=Concluded("False", "Progressing"),
    )
    merged = {c.type: c for c in merge_conditions(existing, assessment, generation=2, now=NOW)}
    assert merged["Ready"].last_transition_time == earlier
    assert merged["Ready"].observed_generation == 2
    assert merged["Reconciling"].last_transition_time == NOW
    assert merged["Stalled"].last_transition_time == NOW
    assert "SomeoneElses" in merged


def test_status_patch_is_kstatus_shaped(channel_body: dict[str, Any]) -> None:
    channel_body["metadata"]["generation"] = 7
    channel = with_stream(channel_body, NOW)
    _, patch = channel_status_patch(channel, rolled_out(), now=NOW, heartbeat_seconds=HEARTBEAT)
    assert patch["observedGeneration"] == 7
    assert {c["type"] for c in patch["conditions"]} == {
        "Ready",
        "Reconciling",
        "Stalled",
        "StreamHealthy",
        "OnSchedule",
    }
    assert all(c["observedGeneration"] == 7 for c in patch["conditions"])
    assert patch["stream"] == {"url": "http://classics.tv.svc/live/index.m3u8"}
    assert "nowPlaying" not in patch and "progress" not in patch  # the engine's fields


def test_writing_the_same_status_twice_is_a_noop(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW)
    _, patch = channel_status_patch(channel, rolled_out(), now=NOW, heartbeat_seconds=HEARTBEAT)
    current = merged(channel_body["status"], patch)
    assert current["stream"] == {**channel_body["status"]["stream"], **patch["stream"]}
    assert is_noop(current, patch)
    channel_body["status"] = current
    _, again = channel_status_patch(
        Channel.model_validate(channel_body),
        rolled_out(),
        now=NOW + timedelta(seconds=10),
        heartbeat_seconds=HEARTBEAT,
    )
    assert is_noop(current, again)
    assert not is_noop(current, {**again, "phase": "Degraded"})


def test_merge_patches_merge_objects_and_remove_nulls() -> None:
    status = {"phase": "Live", "stream": {"url": "u", "diskFullSince": "t"}, "skipped": [1]}
    patch = {"phase": "Degraded", "stream": {"diskFullSince": None}, "skipped": []}
    assert merged(status, patch) == {"phase": "Degraded", "stream": {"url": "u"}, "skipped": []}
    # Two patches in one: the null still removes when the sum is applied.
    both = merged({"stream": {"lastSegmentAt": "x"}}, patch, keep_nulls=True)
    assert both["stream"] == {"lastSegmentAt": "x", "diskFullSince": None}
    assert merged(status, both)["stream"] == {"url": "u", "lastSegmentAt": "x"}
    assert status["stream"] == {"url": "u", "diskFullSince": "t"}  # not changed in place


# --- ProbeJob ---------------------------------------------------------------------------


def probejob(body: dict[str, Any], verdict: str | None = None) -> ProbeJob:
    if verdict:
        body["status"] = {"verdict": verdict}
    return ProbeJob.model_validate(body)


@pytest.mark.parametrize(
    ("state", "verdict", "expected"),
    [
        (None, None, ("Pending", "False", "True", "False")),
        (probe_job(), None, ("Pending", "False", "True", "False")),
        (probe_job(active=1), None, ("Running", "False", "True", "False")),
        (probe_job(complete=True), "pass", ("Succeeded", "True", "False", "False")),
        (probe_job(complete=True), "warn", ("Succeeded", "True", "False", "False")),
        # The run succeeded; the media did not: kstatus Failed, through Stalled.
        (probe_job(complete=True), "fail", ("Succeeded", "False", "False", "True")),
        (probe_job(complete=True), None, ("Failed", "False", "False", "True")),
        (
            probe_job(
                failed=True,
                reason="DeadlineExceeded",
                message="Job was active longer than specified deadline",
            ),
            None,
            ("Failed", "False", "False", "True"),
        ),
    ],
)
def test_probejob_phases(
    probejob_body: dict[str, Any],
    state: JobState | None,
    verdict: str | None,
    expected: tuple[str, ...],
) -> None:
    assessment = assess_probejob(probejob(probejob_body, verdict), state)
    assert summary(assessment) == expected
    complete = assessment.extra["Complete"].status.value
    assert complete == ("True" if expected[0] in ("Succeeded", "Failed") else "False")


def test_a_scheduled_probe_is_judged_by_its_latest_run(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["schedule"] = "@hourly"
    waiting = assess_probejob(probejob(probejob_body), None)
    assert summary(waiting) == ("Pending", "True", "False", "False")  # reconciled: Current
    failed = assess_probejob(
        probejob(probejob_body), probe_job(failed=True, reason="BackoffLimitExceeded")
    )
    assert summary(failed) == ("Failed", "False", "False", "True")
    # A routine run after a pass keeps the pass until it ends.
    running = assess_probejob(probejob(probejob_body, "pass"), probe_job(active=1))
    assert summary(running) == ("Running", "True", "False", "False")


def test_deployment_state_from_a_real_manifest() -> None:
    manifest = {
        "metadata": {"generation": 3},
        "status": {
            "observedGeneration": 3,
            "replicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 0,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "x" has timed out progressing.',
                },
            ],
        },
    }
    state = DeploymentState.from_manifest(manifest)
    assert state.progress_deadline_exceeded
    assert state.available_replicas == 0
    assert "timed out" in state.message
    assert not state.rollout_complete


def test_a_rolled_out_deployment_whose_pod_turned_unready() -> None:
    """As the Deployment controller leaves it when the one pod fails its readiness probe:
    the rollout stays complete, Available turns False at that moment."""
    manifest = {
        "metadata": {"generation": 2},
        "status": {
            "observedGeneration": 2,
            "replicas": 1,
            "updatedReplicas": 1,
            "unavailableReplicas": 1,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "lastTransitionTime": "2026-11-21T11:00:00Z"},
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "lastTransitionTime": "2026-11-21T12:00:04Z"},
            ],
        },
    }  # fmt: skip
    state = DeploymentState.from_manifest(manifest)
    assert state.rollout_complete and state.available_replicas == 0
    assert state.unavailable_since == datetime(2026, 11, 21, 12, 0, 4, tzinfo=UTC)
    # A new generation the controller has not seen yet is not rolled out.
    manifest["metadata"]["generation"] = 3
    assert not DeploymentState.from_manifest(manifest).rollout_complete


# --- the prober's report, from the pod's termination message ------------------------------

REPORT = {
    "verdict": "fail",
    "summary": {"container": "matroska,webm", "durationSeconds": 12.0, "video": {"codec": "h264"}},
    "checks": [
        {"name": "black", "status": "pass", "value": 0},
        {"name": "loudness", "status": "fail", "value": -16.0, "threshold": -23,
         "events": [{"start": 0, "end": 12}]},
    ],
}  # fmt: skip


def prober_pod(
    job_name: str = "cheers-s01e01-1",
    message: str | None = None,
    finished: str | None = "2026-11-21T12:05:00Z",
) -> dict[str, Any]:
    import json

    state: dict[str, Any] = {"running": {"startedAt": "2026-11-21T12:00:00Z"}}
    if finished is not None:
        text = json.dumps(REPORT) if message is None else message
        state = {"terminated": {"exitCode": 0, "finishedAt": finished, "message": text}}
    return {
        "metadata": {
            "name": f"{job_name}-abcde",
            "ownerReferences": [{"kind": "Job", "name": job_name, "uid": "u"}],
        },
        "status": {"containerStatuses": [{"name": "prober", "state": state}]},
    }


def apply_merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies a status merge patch."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = apply_merge_patch(result[key], value)
        elif isinstance(value, dict):
            result[key] = apply_merge_patch({}, value)
        else:
            result[key] = value
    return result


def test_a_running_prober_has_no_report_yet() -> None:
    assert ProberPod.from_manifest(prober_pod(finished=None)) is None


def test_the_report_comes_from_the_termination_message() -> None:
    pod = ProberPod.from_manifest(prober_pod())
    assert pod is not None and pod.job == "cheers-s01e01-1"
    run = latest_run([pod], probe_job(name="cheers-s01e01-1"))
    assert run is not None and run.report.verdict == "fail"
    assert latest_run([pod], probe_job(name="cheers-s01e01-2")) is None


def test_a_log_tail_is_not_a_report() -> None:
    # terminationMessagePolicy FallbackToLogsOnError: a crash leaves the end of the log.
    pod = ProberPod.from_manifest(prober_pod(message="Traceback (most recent call last):"))
    assert pod is not None and pod.report() is None
    assert latest_run([pod], probe_job(name="cheers-s01e01-1")) is None


def test_a_report_lands_in_status_once(probejob_body: dict[str, Any]) -> None:
    pod = ProberPod.from_manifest(prober_pod())
    assert pod is not None
    run = latest_run([pod], probe_job(name="cheers-s01e01-1"))
    probe = probejob(probejob_body)
    done = probe_job(complete=True)
    assessment, patch = probejob_status_patch(probe, done, now=NOW, run=run)
    assert summary(assessment) == ("Succeeded", "False", "False", "True")
    assert patch["verdict"] == "fail"
    assert patch["checks"][1]["events"] == [{"start": 0.0, "end": 12.0}]
    assert patch["lastRunAt"] == "2026-11-21T12:05:00Z"
    assert patch["history"] == [
        {"job": "cheers-s01e01-1", "finishedAt": "2026-11-21T12:05:00Z", "verdict": "fail",
         "problems": ["loudness"]}
    ]  # fmt: skip
    # What the API server stores, read back: the next reconcile writes nothing.
    probejob_body["status"] = apply_merge_patch({}, patch)
    again = probejob(probejob_body)
    _, second = probejob_status_patch(again, done, now=NOW, run=run)
    assert is_noop(probejob_body["status"], second)


def test_a_new_report_replaces_the_old_summary(probejob_body: dict[str, Any]) -> None:
    probejob_body["status"] = {
        "verdict": "pass",
        "summary": {"container": "mov", "audio": {"codec": "aac"}},
        "history": [{"job": "cheers-s01e01-0", "verdict": "pass"}],
    }
    run = latest_run([ProberPod.from_manifest(prober_pod())], probe_job(name="cheers-s01e01-1"))  # type: ignore[list-item]
    _, patch = probejob_status_patch(
        probejob(probejob_body), probe_job(complete=True), now=NOW, run=run
    )
    stored = apply_merge_patch(probejob_body["status"], patch)
    assert stored["summary"]["container"] == "matroska,webm"
    assert "audio" not in stored["summary"]  # the old media's audio does not linger
    assert [h["job"] for h in stored["history"]] == ["cheers-s01e01-0", "cheers-s01e01-1"]


def test_a_scheduled_probe_keeps_a_short_history(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["schedule"] = "@hourly"
    probejob_body["status"] = {
        "verdict": "pass",
        "history": [{"job": f"cheers-s01e01-{i}", "verdict": "pass"} for i in range(10)],
    }
    run = latest_run(
        [ProberPod.from_manifest(prober_pod("cheers-s01e01-99"))],
        probe_job(name="cheers-s01e01-99"),
    )  # type: ignore[list-item]
    _, patch = probejob_status_patch(
        probejob(probejob_body), probe_job(name="cheers-s01e01-99", complete=True), now=NOW, run=run
    )
    jobs = [h["job"] for h in patch["history"]]
    assert len(jobs) == 10 and jobs[0] == "cheers-s01e01-1" and jobs[-1] == "cheers-s01e01-99"
    # While the next run is going, the latest result stays.
    probejob_body["status"] = apply_merge_patch(probejob_body["status"], patch)
    running = probe_job(name="cheers-s01e01-100", active=1)
    assessment, patch = probejob_status_patch(probejob(probejob_body), running, now=NOW)
    assert "verdict" not in patch and assessment.phase == "Running"


def test_a_new_generation_hides_the_old_verdict(probejob_body: dict[str, Any]) -> None:
    probejob_body["metadata"]["generation"] = 2
    probejob_body["status"] = {
        "verdict": "pass",
        "checks": [{"name": "black", "status": "pass"}],
        "history": [{"job": "cheers-s01e01-1", "verdict": "pass"}],
    }
    assessment, patch = probejob_status_patch(
        probejob(probejob_body), probe_job(name="cheers-s01e01-2", active=1), now=NOW
    )
    assert patch["verdict"] is None and patch["checks"] is None
    assert assessment.phase == "Running"


@pytest.mark.parametrize(
    ("drift", "expected", "reason"),
    [(None, "Unknown", "NoReport"), (0.0, "True", "OnSchedule"), (-1.5, "True", "OnSchedule"),
     (2.5, "False", "OffSchedule"), (-3.0, "False", "OffSchedule")],
)  # fmt: skip
def test_on_schedule_turns_false_past_one_segment(
    channel_body: dict[str, Any], drift: float | None, expected: str, reason: str
) -> None:
    channel = with_stream(channel_body, NOW)
    if drift is not None:
        channel.status.schedule = ScheduleStatus(drift_seconds=drift, checked_at=NOW)
    assessment = assess(channel, rolled_out(), now=NOW)
    assert assessment.phase == "Live"
    on_schedule = assessment.conditions["OnSchedule"]
    assert (on_schedule.status, on_schedule.reason) == (expected, reason)
    if expected == "False":
        assert f"{drift:+.1f}s" in on_schedule.message


# --- a library probe: a summary per shard -------------------------------------------------


def shard_pod(
    shard: int,
    *,
    shards: int = 2,
    failed: int = 0,
    passed: int = 1,
    finished: str = "2026-11-21T12:05:00Z",
    notes: tuple[str, ...] = (),
) -> ProberPod:
    import json

    worst = [
        {"path": f"s{shard}/bad{i}.mkv", "status": "fail", "problems": ["black"]}
        for i in range(failed)
    ]
    summary = {
        "shard": shard,
        "shards": shards,
        "counts": {"total": failed + passed, "pass": passed, "fail": failed},
        "worst": worst,
        "configMap": "cheers-s01e01-report" + (f"-{shard}" if shard else ""),
        "notes": list(notes),
    }
    body = prober_pod(message=json.dumps(summary), finished=finished)
    body["metadata"]["annotations"] = {"batch.kubernetes.io/job-completion-index": str(shard)}
    pod = ProberPod.from_manifest(body)
    assert pod is not None and pod.index == shard
    return pod


def test_a_library_run_waits_for_every_shard(probejob_body: dict[str, Any]) -> None:
    running = probe_job(active=1)
    assert latest_run([shard_pod(0)], running, shards=2) is None
    run = latest_run([shard_pod(0), shard_pod(1, failed=2)], running, shards=2)
    assert run is not None and run.library is not None
    assert run.report.verdict == "fail"
    assert run.library.counts.total == 4 and run.library.counts.failed == 2
    assert run.library.reports == ["cheers-s01e01-report", "cheers-s01e01-report-1"]
    assert [item.path for item in run.library.worst] == ["s1/bad0.mkv", "s1/bad1.mkv"]


def test_a_shard_that_left_no_report_fails_the_library() -> None:
    done = probe_job(complete=False, failed=True)
    run = latest_run([shard_pod(1)], done, shards=2)
    assert run is not None and run.library is not None
    assert run.report.verdict == "fail"
    assert run.library.shards_reported == 1
    assert any("shard 0 left no report" in note for note in run.report.notes)


def test_a_retried_shard_counts_once_and_a_summary_must_be_its_pods() -> None:
    retried = [shard_pod(0, failed=1, finished="2026-11-21T12:01:00Z"), shard_pod(0)]
    run = latest_run([*retried, shard_pod(1)], probe_job(complete=True), shards=2)
    assert run is not None and run.library is not None
    assert run.library.counts.total == 2 and run.report.verdict == "pass"
    # A summary of another shard than the pod's index (or of another shard count) is no
    # summary of this run.
    wrong = shard_pod(1)
    moved = ProberPod(job=wrong.job, finished_at=wrong.finished_at, message=wrong.message, index=0)
    assert moved.shard() is None
    assert latest_run([shard_pod(0, shards=3)], probe_job(active=1), shards=2) is None


def test_an_empty_folder_fails_with_the_shards_note() -> None:
    note = "no media files in /media/shows/Cheers"
    pods = [shard_pod(i, passed=0, notes=(note,)) for i in range(2)]
    run = latest_run(pods, probe_job(complete=True), shards=2)
    assert run is not None and run.report.verdict == "fail"
    assert run.report.notes == [note]  # once, though every shard said it


def test_a_library_run_lands_in_status_and_history(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["source"]["path"] = "shows/Cheers"
    probejob_body["spec"]["parallelism"] = 2
    probe = probejob(probejob_body)
    done = probe_job(complete=True)
    run = latest_run([shard_pod(0, failed=3), shard_pod(1, failed=4)], done, shards=2)
    assessment, patch = probejob_status_patch(probe, done, now=NOW, run=run)
    assert assessment.phase == "Succeeded"
    assert patch["verdict"] == "fail"
    assert patch["library"]["counts"] == {
        "total": 9, "pass": 2, "warn": 0, "fail": 7, "error": 0, "reused": 0
    }  # fmt: skip
    assert len(patch["library"]["worst"]) == 7
    assert len(patch["history"][-1]["problems"]) == 5  # the worst files, in brief
    probejob_body["status"] = apply_merge_patch({}, patch)
    _, again = probejob_status_patch(probejob(probejob_body), done, now=NOW, run=run)
    assert is_noop(probejob_body["status"], again)
