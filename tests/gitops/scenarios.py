"""Channels and ProbeJobs as the API server returns them in each state, with the status the
operator's own status code (playout.controller.status) writes: what GitOps tools judge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from playout.api import Channel, ProbeJob
from playout.api.channel import REPORT_HEARTBEAT_SECONDS
from playout.controller.status.assessment import STALE_GIVE_UP, stale_after
from playout.controller.status.observed import DeploymentState, JobState
from playout.controller.status.patch import channel_status_patch, probejob_status_patch
from tests.conftest import as_stored, load_example, probe_job, rolled_out

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
GENERATION = 3


@dataclass(frozen=True)
class Scenario:
    name: str
    body: dict[str, Any]
    kstatus: str
    """What kstatus (Flux, kpt) should compute."""
    argocd: str
    """What the Argo CD health script should say."""


def channel(
    deployment: DeploymentState | None,
    *,
    last_segment_at: datetime | None = None,
    disk_full_since: datetime | None = None,
    suspend: bool = False,
    observed: int = GENERATION,
) -> dict[str, Any]:
    """A stored Channel whose status the operator computed at NOW; one with a report of
    its last segment has been on air (and with `disk_full_since`, it is waiting for room)."""
    body = as_stored(load_example("channel.yaml"), generation=GENERATION)
    body["spec"] = {**body["spec"], "suspend": suspend}
    if last_segment_at is not None:
        body["status"] = {
            "phase": "Live",
            "nowPlaying": {
                "program": "shows/Cheers",
                "item": "shows/Cheers/Cheers S01E02.mkv",
                "title": "Cheers S01E02",
                "startedAt": last_segment_at.isoformat(),
                "positionSeconds": 12.0,
            },
            "stream": {"mediaSequence": 1042, "lastSegmentAt": last_segment_at.isoformat()},
        }
        if disk_full_since is not None:
            body["status"]["stream"]["diskFullSince"] = disk_full_since.isoformat()
    _, patch = channel_status_patch(
        Channel.model_validate(body),
        deployment,
        now=NOW,
        heartbeat_seconds=REPORT_HEARTBEAT_SECONDS,
    )
    status = {**body.get("status", {}), **patch, "observedGeneration": observed}
    status["stream"] = {**body.get("status", {}).get("stream", {}), **patch["stream"]}
    return {**body, "status": status}


def probejob(
    job: JobState | None,
    *,
    verdict: str | None = None,
    schedule: str | None = None,
    observed: int = GENERATION,
) -> dict[str, Any]:
    """A stored ProbeJob whose status the operator (and the prober, for the verdict) wrote."""
    example = "probejob-scheduled.yaml" if schedule else "probejob.yaml"
    body = as_stored(load_example(example), generation=GENERATION)
    if verdict is not None:
        body["status"] = {"verdict": verdict}
    _, patch = probejob_status_patch(ProbeJob.model_validate(body), job, now=NOW)
    return {**body, "status": {**body.get("status", {}), **patch, "observedGeneration": observed}}


def _job(**overrides: Any) -> JobState:
    """The probe Job of generation GENERATION."""
    return probe_job(**{"name": f"cheers-s01e01-{GENERATION}", **overrides})


def _stale(age: timedelta) -> dict[str, Any]:
    """A channel whose reports stopped `age` after they turned stale."""
    limit = stale_after(
        Channel.model_validate(_fresh_channel()), heartbeat_seconds=REPORT_HEARTBEAT_SECONDS
    )
    return channel(rolled_out(), last_segment_at=NOW - limit - age)


def _unready(age: timedelta) -> dict[str, Any]:
    """A channel on air whose streamer pod has not been ready for `age`."""
    unready = rolled_out(available_replicas=0, unavailable_since=NOW - age)
    return channel(unready, last_segment_at=NOW - age - timedelta(seconds=30))


def _disk_full(age: timedelta) -> dict[str, Any]:
    """A channel whose engine has had no room on its volume for `age`: its pod is unready."""
    unready = rolled_out(available_replicas=0, unavailable_since=NOW - age)
    return channel(unready, last_segment_at=NOW - age, disk_full_since=NOW - age)


def _fresh_channel() -> dict[str, Any]:
    return as_stored(load_example("channel.yaml"), generation=1)


CHANNELS = [
    # kstatus cannot tell a Channel the operator has not seen yet from a finished one: with
    # no status at all it says Current. Flux users who need to wait use healthCheckExprs.
    Scenario("no-status", _fresh_channel(), "Current", "Progressing"),
    Scenario("pending", channel(None), "InProgress", "Progressing"),
    Scenario(
        "rolling-out",
        channel(rolled_out(available_replicas=0, rollout_complete=False)),
        "InProgress",
        "Progressing",
    ),
    Scenario("waiting-for-stream", channel(rolled_out()), "InProgress", "Progressing"),
    Scenario(
        "live",
        channel(rolled_out(), last_segment_at=NOW - timedelta(seconds=4)),
        "Current",
        "Healthy",
    ),
    Scenario(
        "new-generation",
        channel(rolled_out(), last_segment_at=NOW, observed=GENERATION - 1),
        "InProgress",
        "Progressing",
    ),
    # Given up STALE_GIVE_UP after the stream turned stale, not after its last report.
    Scenario("stale-recovering", _stale(timedelta(seconds=10)), "InProgress", "Degraded"),
    Scenario("stale-given-up", _stale(STALE_GIVE_UP + timedelta(minutes=1)), "Failed", "Degraded"),
    Scenario("pod-unready", _unready(timedelta(seconds=10)), "InProgress", "Degraded"),
    Scenario(
        "pod-unready-given-up", _unready(STALE_GIVE_UP + timedelta(minutes=1)), "Failed", "Degraded"
    ),
    Scenario("disk-full", _disk_full(timedelta(seconds=10)), "InProgress", "Degraded"),
    Scenario(
        "disk-full-given-up", _disk_full(STALE_GIVE_UP + timedelta(minutes=1)), "Failed", "Degraded"
    ),
    Scenario(
        "rollout-failed",
        channel(
            rolled_out(
                available_replicas=0,
                progress_deadline_exceeded=True,
                message='ReplicaSet "classics-5d8f" has timed out progressing.',
            )
        ),
        "Failed",
        "Degraded",
    ),
    Scenario("suspending", channel(rolled_out(), suspend=True), "InProgress", "Suspended"),
    Scenario("suspended", channel(rolled_out(replicas=0), suspend=True), "Current", "Suspended"),
]

PROBEJOBS = [
    Scenario("pending", probejob(None), "InProgress", "Progressing"),
    Scenario("running", probejob(_job(active=1)), "InProgress", "Progressing"),
    Scenario("pass", probejob(_job(complete=True), verdict="pass"), "Current", "Healthy"),
    Scenario("warn", probejob(_job(complete=True), verdict="warn"), "Current", "Healthy"),
    Scenario("fail", probejob(_job(complete=True), verdict="fail"), "Failed", "Degraded"),
    Scenario("no-report", probejob(_job(complete=True)), "Failed", "Degraded"),
    Scenario(
        "job-failed",
        probejob(
            _job(
                failed=True,
                reason="DeadlineExceeded",
                message="Job was active longer than specified deadline",
            )
        ),
        "Failed",
        "Degraded",
    ),
    Scenario(
        "new-generation",
        probejob(_job(complete=True), verdict="pass", observed=GENERATION - 1),
        "InProgress",
        "Progressing",
    ),
    Scenario("scheduled-waiting", probejob(None, schedule="*/30 * * * *"), "Current", "Healthy"),
    Scenario(
        "scheduled-running-after-pass",
        probejob(_job(active=1), verdict="pass", schedule="*/30 * * * *"),
        "Current",
        "Healthy",
    ),
    # A scheduled probe whose latest run failed is Failed until a later run does better.
    Scenario(
        "scheduled-run-failed",
        probejob(
            _job(
                failed=True,
                reason="BackoffLimitExceeded",
                message="Job has reached the backoff limit",
            ),
            schedule="*/30 * * * *",
        ),
        "Failed",
        "Degraded",
    ),
]
