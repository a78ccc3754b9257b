"""From what the children report to a kstatus-compliant status. Pure.

kstatus rules (what Flux, Argo CD and `kubectl wait` rely on): `observedGeneration` at top
level and per condition; `Reconciling` is True only while converging and `Stalled` only when
progress stopped for good (both "abnormal-true"); `Ready` summarises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from playout.api.channel import Channel, ChannelPhase
from playout.api.common import Condition, ConditionStatus
from playout.api.probejob import ProbeJob, ProbeJobPhase, Verdict
from playout.controller.builders.channel import stream_url

TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN

# The engine reports at least this often (plus on every item change), so a report older
# than this plus a few segments means the stream stopped.
REPORT_HEARTBEAT = timedelta(seconds=30)
# A stream that stays stale this long needs a human: Stalled.
STALE_GIVE_UP = timedelta(minutes=5)


@dataclass(frozen=True)
class DeploymentState:
    """What the operator reads from a channel's Deployment."""

    generation: int
    observed_generation: int
    replicas: int
    updated_replicas: int
    available_replicas: int
    progress_deadline_exceeded: bool
    message: str

    @classmethod
    def from_manifest(cls, body: dict[str, Any]) -> DeploymentState:
        status = body.get("status") or {}
        progressing = _condition(status, "Progressing")
        return cls(
            generation=body.get("metadata", {}).get("generation", 0),
            observed_generation=status.get("observedGeneration", 0),
            replicas=status.get("replicas", 0),
            updated_replicas=status.get("updatedReplicas", 0),
            available_replicas=status.get("availableReplicas", 0),
            progress_deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
            message=progressing.get("message", ""),
        )


@dataclass(frozen=True)
class JobState:
    """What the operator reads from a probe Job."""

    name: str
    created: str
    active: int
    complete: bool
    failed: bool
    reason: str
    message: str
    completion_time: str | None

    @classmethod
    def from_manifest(cls, body: dict[str, Any]) -> JobState:
        status = body.get("status") or {}
        complete = _condition(status, "Complete").get("status") == "True"
        failure = _condition(status, "Failed")
        return cls(
            name=body["metadata"]["name"],
            created=body["metadata"].get("creationTimestamp", ""),
            active=status.get("active", 0),
            complete=complete,
            failed=failure.get("status") == "True",
            reason=failure.get("reason", ""),
            message=failure.get("message", ""),
            completion_time=status.get("completionTime"),
        )


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


@dataclass(frozen=True)
class Concluded:
    """One condition as concluded, before timestamps are attached."""

    status: ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True)
class Assessment:
    """What the operator concluded about an object."""

    phase: str
    ready: Concluded
    reconciling: Concluded
    stalled: Concluded
    extra: dict[str, Concluded] = field(default_factory=dict)

    @property
    def conditions(self) -> dict[str, Concluded]:
        return {
            "Ready": self.ready,
            "Reconciling": self.reconciling,
            "Stalled": self.stalled,
            **self.extra,
        }


_CALM = Concluded(FALSE, "Reconciled")
_NOT_STALLED = Concluded(FALSE, "Progressing")


def stale_after(channel: Channel) -> timedelta:
    return REPORT_HEARTBEAT + timedelta(seconds=3 * channel.spec.output.segment_seconds)


def assess_channel(
    channel: Channel, deployment: DeploymentState | None, now: datetime
) -> Assessment:
    """Phase and conditions of a Channel from its Deployment and the engine's reports."""
    if channel.spec.suspend:
        if deployment is not None and deployment.replicas > 0:
            return Assessment(
                ChannelPhase.SUSPENDED,
                Concluded(FALSE, "Suspending", "Taking the channel off air"),
                Concluded(TRUE, "Suspending", "Waiting for the streamer to stop"),
                _NOT_STALLED,
                {"StreamHealthy": Concluded(UNKNOWN, "Suspended")},
            )
        return Assessment(
            ChannelPhase.SUSPENDED,
            Concluded(FALSE, "Suspended", "The channel is suspended (spec.suspend)"),
            _CALM,
            _NOT_STALLED,
            {"StreamHealthy": Concluded(UNKNOWN, "Suspended")},
        )
    waiting_stream = {"StreamHealthy": Concluded(UNKNOWN, "NoReport", "No report from the engine")}
    if deployment is None:
        return Assessment(
            ChannelPhase.PENDING,
            Concluded(FALSE, "Creating", "Creating the streamer"),
            Concluded(TRUE, "Creating", "Creating the streamer"),
            _NOT_STALLED,
            waiting_stream,
        )
    if deployment.progress_deadline_exceeded:
        message = f"The streamer did not become available: {deployment.message}"
        return Assessment(
            ChannelPhase.FAILED,
            Concluded(FALSE, "StreamerUnavailable", message),
            Concluded(FALSE, "StreamerUnavailable", message),
            Concluded(TRUE, "ProgressDeadlineExceeded", message),
            waiting_stream,
        )
    rolled_out = (
        deployment.observed_generation >= deployment.generation
        and deployment.updated_replicas >= 1
        and deployment.available_replicas >= 1
    )
    if not rolled_out:
        return Assessment(
            ChannelPhase.STARTING,
            Concluded(FALSE, "Starting", "Waiting for the streamer pod to become available"),
            Concluded(TRUE, "Starting", "Waiting for the streamer pod to become available"),
            _NOT_STALLED,
            waiting_stream,
        )
    stream = channel.status.stream
    last = stream.last_segment_at if stream else None
    if last is None:
        return Assessment(
            ChannelPhase.STARTING,
            Concluded(FALSE, "WaitingForStream", "Waiting for the first segments"),
            Concluded(TRUE, "WaitingForStream", "Waiting for the first segments"),
            _NOT_STALLED,
            waiting_stream,
        )
    age = now - last
    if age > stale_after(channel):
        # Timestamps, not ages, in messages: a message that changed on every evaluation
        # would rewrite the status, and wake every watcher, each time.
        message = f"No new segment since {last.isoformat()}"
        unhealthy = {"StreamHealthy": Concluded(FALSE, "StreamStale", message)}
        if age > STALE_GIVE_UP:
            return Assessment(
                ChannelPhase.DEGRADED,
                Concluded(FALSE, "StreamStale", message),
                Concluded(FALSE, "StreamStale", message),
                Concluded(TRUE, "StreamStale", message),
                unhealthy,
            )
        return Assessment(
            ChannelPhase.DEGRADED,
            Concluded(FALSE, "StreamStale", message),
            Concluded(TRUE, "Recovering", message + "; waiting for the streamer to recover"),
            _NOT_STALLED,
            unhealthy,
        )
    title = channel.status.now_playing.title if channel.status.now_playing else "the stream"
    return Assessment(
        ChannelPhase.LIVE,
        Concluded(TRUE, "Live", f"On air: {title}"),
        _CALM,
        _NOT_STALLED,
        {"StreamHealthy": Concluded(TRUE, "SegmentsFresh", "New segments keep coming")},
    )


def assess_probejob(probe: ProbeJob, job: JobState | None, scheduled: bool) -> Assessment:
    """Phase and conditions of a ProbeJob from its latest Job and the prober's report."""
    verdict = probe.status.verdict
    if job is None:
        if scheduled:
            return Assessment(
                ProbeJobPhase.PENDING if verdict is None else _finished_phase(probe),
                _verdict_ready(verdict)
                if verdict
                else Concluded(FALSE, "Scheduled", "Waiting for the first run"),
                _CALM,
                _NOT_STALLED,
                {
                    "Complete": Concluded(
                        FALSE, "Scheduled", f"Runs on schedule {probe.spec.schedule}"
                    )
                },
            )
        return Assessment(
            ProbeJobPhase.PENDING,
            Concluded(FALSE, "Creating", "Creating the probe Job"),
            Concluded(TRUE, "Creating", "Creating the probe Job"),
            _NOT_STALLED,
            {"Complete": Concluded(FALSE, "Creating")},
        )
    if job.failed:
        message = f"Job {job.name} failed ({job.reason}): {job.message}".rstrip(": ")
        return Assessment(
            ProbeJobPhase.FAILED,
            Concluded(FALSE, "ProbeFailed", message),
            _CALM,
            # A scheduled probe tries again at the next run; a one-off does not.
            Concluded(FALSE, "WillRetry", message)
            if scheduled
            else Concluded(TRUE, job.reason or "JobFailed", message),
            {"Complete": Concluded(TRUE, "JobFailed", message)},
        )
    if job.complete:
        return Assessment(
            ProbeJobPhase.SUCCEEDED,
            _verdict_ready(verdict),
            _CALM,
            _NOT_STALLED,
            {"Complete": Concluded(TRUE, "JobComplete", f"Job {job.name} completed")},
        )
    running = job.active > 0
    phase = ProbeJobPhase.RUNNING if running else ProbeJobPhase.PENDING
    reason = "Running" if running else "Scheduling"
    return Assessment(
        phase,
        Concluded(FALSE, reason, f"Job {job.name} is {reason.lower()}"),
        _CALM if scheduled else Concluded(TRUE, reason, f"Job {job.name} is {reason.lower()}"),
        _NOT_STALLED,
        {"Complete": Concluded(FALSE, reason)},
    )


def _finished_phase(probe: ProbeJob) -> ProbeJobPhase:
    return probe.status.phase or ProbeJobPhase.SUCCEEDED


def _verdict_ready(verdict: Verdict | None) -> Concluded:
    if verdict is None:
        return Concluded(UNKNOWN, "NoReport", "The probe finished without a report")
    if verdict == Verdict.FAIL:
        return Concluded(FALSE, "VerdictFail", "The media failed its checks")
    return Concluded(TRUE, f"Verdict{verdict.value.capitalize()}", f"Verdict: {verdict.value}")


def merge_conditions(
    existing: list[Condition], assessment: Assessment, generation: int, now: datetime
) -> list[Condition]:
    """The new condition list: a condition whose status did not change keeps its
    lastTransitionTime; conditions we do not own are kept as they are."""
    by_type = {condition.type: condition for condition in existing}
    result = []
    for kind, concluded in assessment.conditions.items():
        previous = by_type.pop(kind, None)
        changed = previous is None or previous.status != concluded.status
        result.append(
            Condition(
                type=kind,
                status=concluded.status,
                reason=concluded.reason,
                message=concluded.message,
                last_transition_time=now
                if changed or previous is None
                else previous.last_transition_time,
                observed_generation=generation,
            )
        )
    return result + list(by_type.values())


def channel_status_patch(
    channel: Channel, deployment: DeploymentState | None, now: datetime
) -> tuple[Assessment, dict[str, Any]]:
    """The status fields the operator owns, as a merge patch body."""
    assessment = assess_channel(channel, deployment, now)
    generation = channel.metadata.generation or 0
    conditions = merge_conditions(channel.status.conditions, assessment, generation, now)
    namespace = channel.metadata.namespace or "default"
    return assessment, {
        "observedGeneration": generation,
        "phase": str(assessment.phase),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
        "stream": {"url": stream_url(channel.metadata.name, namespace)},
    }


def probejob_status_patch(
    probe: ProbeJob, job: JobState | None, scheduled: bool, now: datetime
) -> tuple[Assessment, dict[str, Any]]:
    assessment = assess_probejob(probe, job, scheduled)
    generation = probe.metadata.generation or 0
    conditions = merge_conditions(probe.status.conditions, assessment, generation, now)
    return assessment, {
        "observedGeneration": generation,
        "phase": str(assessment.phase),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
    }


def is_noop(current: dict[str, Any], patch: dict[str, Any]) -> bool:
    """Whether merging `patch` into the `current` status would change nothing."""
    for key, value in patch.items():
        now = current.get(key)
        if isinstance(value, dict):
            if not isinstance(now, dict) or not is_noop(now, value):
                return False
        elif now != value:
            return False
    return True
