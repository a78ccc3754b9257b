"""Status follows kstatus: what Flux, Argo CD and `kubectl wait` read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from playout.api import Channel, ProbeJob
from playout.api.common import Condition
from playout.controller.status import (
    STALE_GIVE_UP,
    TRUE,
    Assessment,
    Concluded,
    DeploymentState,
    JobState,
    assess_channel,
    assess_probejob,
    channel_status_patch,
    is_noop,
    merge_conditions,
    stale_after,
)

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def deployment(**overrides: Any) -> DeploymentState:
    fields = {
        "generation": 1,
        "observed_generation": 1,
        "replicas": 1,
        "updated_replicas": 1,
        "available_replicas": 1,
        "progress_deadline_exceeded": False,
        "message": "",
    }
    return DeploymentState(**{**fields, **overrides})


def with_stream(body: dict[str, Any], last_segment_at: datetime | None) -> Channel:
    body["status"] = {
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
    assessment = assess_channel(channel, deployment(), NOW)
    assert summary(assessment) == ("Live", "True", "False", "False")
    assert assessment.ready.message == "On air: Cheers S01E01"
    assert assessment.extra["StreamHealthy"].status == TRUE


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, ("Pending", "False", "True", "False")),
        (deployment(available_replicas=0), ("Starting", "False", "True", "False")),
        (deployment(observed_generation=0), ("Starting", "False", "True", "False")),
        (
            deployment(progress_deadline_exceeded=True, message="ImagePullBackOff"),
            ("Failed", "False", "False", "True"),
        ),
    ],
)
def test_rollout_states(
    channel_body: dict[str, Any], state: DeploymentState | None, expected: tuple[str, ...]
) -> None:
    channel = with_stream(channel_body, NOW)
    assert summary(assess_channel(channel, state, NOW)) == expected


def test_no_report_yet_is_still_starting(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, None)
    assessment = assess_channel(channel, deployment(), NOW)
    assert summary(assessment) == ("Starting", "False", "True", "False")
    assert assessment.ready.reason == "WaitingForStream"


def test_a_stale_stream_degrades_then_stalls(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW)
    limit = stale_after(channel)
    assert summary(assess_channel(channel, deployment(), NOW + limit)) == (
        "Live",
        "True",
        "False",
        "False",
    )
    stale = assess_channel(channel, deployment(), NOW + limit + timedelta(seconds=1))
    assert summary(stale) == ("Degraded", "False", "True", "False")
    assert stale.extra["StreamHealthy"].reason == "StreamStale"
    given_up = assess_channel(channel, deployment(), NOW + STALE_GIVE_UP + timedelta(seconds=1))
    assert summary(given_up) == ("Degraded", "False", "False", "True")


def test_stale_messages_do_not_change_with_the_clock(channel_body: dict[str, Any]) -> None:
    """A message that changed every evaluation would rewrite the status every time."""
    channel = with_stream(channel_body, NOW)
    first = assess_channel(channel, deployment(), NOW + timedelta(minutes=2))
    later = assess_channel(channel, deployment(), NOW + timedelta(minutes=3))
    assert first.conditions == later.conditions


def test_suspended(channel_body: dict[str, Any]) -> None:
    channel_body["spec"]["suspend"] = True
    channel = with_stream(channel_body, NOW)
    assert summary(assess_channel(channel, deployment(replicas=1), NOW)) == (
        "Suspended",
        "False",
        "True",
        "False",
    )
    assert summary(assess_channel(channel, deployment(replicas=0), NOW)) == (
        "Suspended",
        "False",
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
        "Live",
        Concluded(TRUE, "Live", "On air"),
        Concluded("False", "Reconciled"),
        Concluded("False", "Progressing"),
    )
    merged = {c.type: c for c in merge_conditions(existing, assessment, 2, NOW)}
    assert merged["Ready"].last_transition_time == earlier
    assert merged["Ready"].observed_generation == 2
    assert merged["Reconciling"].last_transition_time == NOW
    assert merged["Stalled"].last_transition_time == NOW
    assert "SomeoneElses" in merged


def test_status_patch_is_kstatus_shaped(channel_body: dict[str, Any]) -> None:
    channel_body["metadata"]["generation"] = 7
    channel = with_stream(channel_body, NOW)
    _, patch = channel_status_patch(channel, deployment(), NOW)
    assert patch["observedGeneration"] == 7
    assert {c["type"] for c in patch["conditions"]} == {
        "Ready",
        "Reconciling",
        "Stalled",
        "StreamHealthy",
    }
    assert all(c["observedGeneration"] == 7 for c in patch["conditions"])
    assert patch["stream"] == {"url": "http://classics.tv.svc/live/index.m3u8"}
    assert "nowPlaying" not in patch and "progress" not in patch  # the engine's fields


def test_writing_the_same_status_twice_is_a_noop(channel_body: dict[str, Any]) -> None:
    channel = with_stream(channel_body, NOW)
    _, patch = channel_status_patch(channel, deployment(), NOW)
    current = {
        **channel_body["status"],
        **patch,
        "stream": {**channel_body["status"]["stream"], **patch["stream"]},
    }
    assert is_noop(current, patch)
    channel_body["status"] = current
    _, again = channel_status_patch(
        Channel.model_validate(channel_body), deployment(), NOW + timedelta(seconds=10)
    )
    assert is_noop(current, again)
    assert not is_noop(current, {**again, "phase": "Degraded"})


# --- ProbeJob ---------------------------------------------------------------------------


def job(**overrides: Any) -> JobState:
    fields = {
        "name": "cheers-s01e01-1",
        "created": "2026-11-21T12:00:00Z",
        "active": 0,
        "complete": False,
        "failed": False,
        "reason": "",
        "message": "",
        "completion_time": None,
    }
    return JobState(**{**fields, **overrides})


def probejob(body: dict[str, Any], verdict: str | None = None) -> ProbeJob:
    if verdict:
        body["status"] = {"verdict": verdict}
    return ProbeJob.model_validate(body)


@pytest.mark.parametrize(
    ("state", "verdict", "expected"),
    [
        (None, None, ("Pending", "False", "True", "False")),
        (job(), None, ("Pending", "False", "True", "False")),
        (job(active=1), None, ("Running", "False", "True", "False")),
        (job(complete=True), "pass", ("Succeeded", "True", "False", "False")),
        (job(complete=True), "warn", ("Succeeded", "True", "False", "False")),
        (job(complete=True), "fail", ("Succeeded", "False", "False", "False")),
        (
            job(
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
    assessment = assess_probejob(probejob(probejob_body, verdict), state, scheduled=False)
    assert summary(assessment) == expected
    complete = assessment.extra["Complete"].status.value
    assert complete == ("True" if expected[0] in ("Succeeded", "Failed") else "False")


def test_a_failed_scheduled_probe_is_not_stalled(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["schedule"] = "@hourly"
    assessment = assess_probejob(
        probejob(probejob_body), job(failed=True, reason="BackoffLimitExceeded"), scheduled=True
    )
    assert summary(assessment) == ("Failed", "False", "False", "False")


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
