"""From what the children report to a kstatus-compliant status. Pure.

kstatus rules (what Flux, Argo CD and `kubectl wait` rely on): `observedGeneration` at top
level and per condition; `Reconciling` is True only while converging and `Stalled` only when
progress stopped for good (both "abnormal-true"); `Ready` summarises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from playout.api.channel import Channel, ChannelPhase
from playout.api.common import Condition, ConditionStatus
from playout.api.probejob import (
    HISTORY_LIMIT,
    CheckStatus,
    ProbeJob,
    ProbeJobPhase,
    ProbeReport,
    ProbeRun,
    Verdict,
)
from playout.controller.builders.channel import stream_url

TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN

# The engine reports at least this often (plus on every item change), so a report older
# than this plus a few segments means the stream stopped.
REPORT_HEARTBEAT = timedelta(seconds=30)
# Time for a report to travel and land (API latency, a retry).
REPORT_SLACK = timedelta(seconds=15)
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


PROBER_CONTAINER = "prober"


@dataclass(frozen=True)
class ProberPod:
    """A prober pod whose container has terminated, with its termination message: how the
    report reaches the operator, through the API and never from the pod itself."""

    job: str
    finished_at: str
    message: str

    @classmethod
    def from_manifest(cls, body: dict[str, Any]) -> ProberPod | None:
        """None while the prober is still running (or the pod belongs to no Job)."""
        meta = body.get("metadata") or {}
        job = next(
            (
                ref.get("name")
                for ref in meta.get("ownerReferences") or []
                if ref.get("kind") == "Job"
            ),
            None,
        )
        statuses = (body.get("status") or {}).get("containerStatuses") or []
        prober: dict[str, Any] = next(
            (c for c in statuses if c.get("name") == PROBER_CONTAINER), {}
        )
        terminated = (prober.get("state") or {}).get("terminated")
        if job is None or not terminated:
            return None
        return cls(
            job=job,
            finished_at=terminated.get("finishedAt") or "",
            message=terminated.get("message") or "",
        )

    def report(self) -> ProbeReport | None:
        """The report in the termination message; None when there is none (the prober died
        before writing it, and the kubelet fell back to the end of its log)."""
        try:
            document = json.loads(self.message)
            if not isinstance(document, dict) or "verdict" not in document:
                return None
            return ProbeReport.model_validate(document)
        except (ValueError, ValidationError):
            return None


@dataclass(frozen=True)
class Run:
    """The report of one finished probe Job."""

    job: str
    finished_at: str
    """As the kubelet wrote it (RFC 3339)."""
    report: ProbeReport


def latest_run(pods: list[ProberPod], job: str) -> Run | None:
    """The report of `job`: from its last pod to finish with one (a retried Job has more)."""
    for pod in sorted(pods, key=lambda pod: pod.finished_at, reverse=True):
        if pod.job != job:
            continue
        report = pod.report()
        if report is not None:
            return Run(job, pod.finished_at, report)
    return None


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
    """A report older than this means the stream stopped: one missed heartbeat's worth of
    slack over the heartbeat itself and three segments (the engine's own health rule)."""
    segments = timedelta(seconds=3 * channel.spec.output.segment_seconds)
    return REPORT_HEARTBEAT + segments + REPORT_SLACK


def assess_channel(
    channel: Channel, deployment: DeploymentState | None, now: datetime
) -> Assessment:
    """Phase and conditions of a Channel from its Deployment and the engine's reports."""
    assessment = _assess_stream(channel, deployment, now)
    on_schedule = (
        _on_schedule(channel)
        if assessment.phase == ChannelPhase.LIVE
        else Concluded(UNKNOWN, "NotLive", "The channel is not on air")
    )
    return replace(assessment, extra={**assessment.extra, "OnSchedule": on_schedule})


def _on_schedule(channel: Channel) -> Concluded:
    """Whether the latest entry went on air within one segment of the timeline."""
    schedule = channel.status.schedule
    drift = schedule.drift_seconds if schedule else None
    if drift is None:
        return Concluded(UNKNOWN, "NoReport", "The engine has not reported its drift yet")
    segment = channel.spec.output.segment_seconds
    if abs(drift) > segment:
        checked = schedule.checked_at.isoformat() if schedule and schedule.checked_at else "?"
        return Concluded(
            FALSE,
            "OffSchedule",
            f"An entry went on air {drift:+.1f}s from its scheduled time (at {checked}), "
            f"more than one segment ({segment}s)",
        )
    return Concluded(TRUE, "OnSchedule", "On air within one segment of the timeline")


def _assess_stream(
    channel: Channel, deployment: DeploymentState | None, now: datetime
) -> Assessment:
    if channel.spec.suspend:
        if deployment is not None and deployment.replicas > 0:
            return Assessment(
                ChannelPhase.SUSPENDED,
                Concluded(FALSE, "Suspending", "Taking the channel off air"),
                Concluded(TRUE, "Suspending", "Waiting for the streamer to stop"),
                _NOT_STALLED,
                {"StreamHealthy": Concluded(UNKNOWN, "Suspended")},
            )
        # Off air as asked is the desired state reached: Ready, so that kstatus (Flux)
        # says Current rather than waiting forever; the phase says Suspended.
        return Assessment(
            ChannelPhase.SUSPENDED,
            Concluded(TRUE, "Suspended", "The channel is suspended (spec.suspend)"),
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


def assess_probejob(
    probe: ProbeJob, job: JobState | None, scheduled: bool, verdict: Verdict | None = None
) -> Assessment:
    """Phase and conditions of a ProbeJob from its latest Job and the prober's verdict (by
    default, the one already in the status).

    In kstatus terms: a usable result (pass or warn) is Current; a fail verdict, a run
    that failed or one that left no report is Failed (Stalled), until a later run of a
    scheduled probe does better; a scheduled probe waiting for its first run is Current."""
    verdict = verdict if verdict is not None else probe.status.verdict
    if job is None:
        if scheduled:
            if verdict is None:
                waiting = f"Waiting for the first run (schedule {probe.spec.schedule})"
                return Assessment(
                    ProbeJobPhase.PENDING,
                    Concluded(TRUE, "Scheduled", waiting),
                    _CALM,
                    _NOT_STALLED,
                    {"Complete": Concluded(FALSE, "Scheduled", waiting)},
                )
            return _result(_finished_phase(probe), verdict, "The latest run completed")
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
            Concluded(TRUE, job.reason or "JobFailed", message),
            {"Complete": Concluded(TRUE, "JobFailed", message)},
        )
    if job.complete:
        if verdict is None:
            message = f"Job {job.name} finished without a report; its pod's log says why"
            return Assessment(
                ProbeJobPhase.FAILED,
                Concluded(FALSE, "NoReport", message),
                _CALM,
                Concluded(TRUE, "NoReport", message),
                {"Complete": Concluded(TRUE, "JobComplete", message)},
            )
        return _result(ProbeJobPhase.SUCCEEDED, verdict, f"Job {job.name} completed")
    running = job.active > 0
    phase = ProbeJobPhase.RUNNING if running else ProbeJobPhase.PENDING
    reason = "Running" if running else "Scheduling"
    message = f"Job {job.name} is {reason.lower()}"
    if scheduled and verdict is not None:
        # A routine run of a scheduled probe: the last result stands until this one ends.
        last = _result(phase, verdict, message)
        return Assessment(
            phase, last.ready, _CALM, last.stalled, {"Complete": Concluded(FALSE, reason, message)}
        )
    return Assessment(
        phase,
        Concluded(FALSE, reason, message),
        Concluded(TRUE, reason, message),
        _NOT_STALLED,
        {"Complete": Concluded(FALSE, reason, message)},
    )


def _result(phase: ProbeJobPhase, verdict: Verdict, complete: str) -> Assessment:
    """A finished probe, judged by its verdict."""
    done = {"Complete": Concluded(TRUE, "JobComplete", complete)}
    if verdict == Verdict.FAIL:
        failed = Concluded(FALSE, "VerdictFail", "The media failed its checks (see status.checks)")
        return Assessment(
            phase, failed, _CALM, Concluded(TRUE, "VerdictFail", failed.message), done
        )
    ready = Concluded(TRUE, f"Verdict{verdict.value.capitalize()}", f"Verdict: {verdict.value}")
    return Assessment(phase, ready, _CALM, _NOT_STALLED, done)


def _finished_phase(probe: ProbeJob) -> ProbeJobPhase:
    return probe.status.phase or ProbeJobPhase.SUCCEEDED


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


def owned_fields(
    existing: list[Condition], assessment: Assessment, generation: int, now: datetime
) -> dict[str, Any]:
    """The status fields the operator writes for every kind, as a merge patch body."""
    conditions = merge_conditions(existing, assessment, generation, now)
    return {
        "observedGeneration": generation,
        "phase": str(assessment.phase),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
    }


def channel_status_patch(
    channel: Channel, deployment: DeploymentState | None, now: datetime
) -> tuple[Assessment, dict[str, Any]]:
    """The status fields the operator owns, as a merge patch body."""
    assessment = assess_channel(channel, deployment, now)
    generation = channel.metadata.generation or 0
    namespace = channel.metadata.namespace or "default"
    return assessment, {
        **owned_fields(channel.status.conditions, assessment, generation, now),
        "stream": {"url": stream_url(channel.metadata.name, namespace)},
    }


def probejob_status_patch(
    probe: ProbeJob, job: JobState | None, scheduled: bool, now: datetime, run: Run | None = None
) -> tuple[Assessment, dict[str, Any]]:
    """The operator's status fields, and the report of the latest run when there is a new
    one. A one-off probe whose current Job has no report yet shows no verdict rather than
    the verdict of an earlier generation; a scheduled one keeps its latest result."""
    history = probe.status.history
    stale = (
        not scheduled
        and job is not None
        and run is None
        and bool(history)
        and history[-1].job != job.name
    )
    verdict = run.report.verdict if run else None
    assessment = assess_probejob(
        probe.model_copy(update={"status": probe.status.model_copy(update={"verdict": None})})
        if stale
        else probe,
        job,
        scheduled,
        verdict,
    )
    generation = probe.metadata.generation or 0
    patch = owned_fields(probe.status.conditions, assessment, generation, now)
    if run is not None:
        patch.update(_report_fields(run.report))
        patch["lastRunAt"] = run.finished_at or None
        if not history or history[-1].job != run.job:
            entry = ProbeRun(
                job=run.job,
                finished_at=run.finished_at or None,
                verdict=run.report.verdict,
                problems=[c.name for c in run.report.checks if c.status != CheckStatus.PASS],
            )
            history = [*history, entry][-HISTORY_LIMIT:]
            patch["history"] = _no_nulls_in_lists(
                [h.model_dump(mode="json", by_alias=True) for h in history]
            )
    elif stale:
        patch.update({name: None for name in _report_fields(ProbeReport())})
    return assessment, patch


def _report_fields(report: ProbeReport) -> dict[str, Any]:
    """Every field of the report, absent ones as null: in a merge patch a null removes what
    an earlier report left, down to the nested summary fields. Lists are replaced whole, so
    their items carry no nulls (which the API server would not store, and `is_noop` would
    then never match)."""
    fields: dict[str, Any] = _no_nulls_in_lists(report.model_dump(mode="json", by_alias=True))
    return fields


def _no_nulls_in_lists(value: Any, in_list: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            key: _no_nulls_in_lists(item, in_list)
            for key, item in value.items()
            if not (in_list and item is None)
        }
    if isinstance(value, list):
        return [_no_nulls_in_lists(item, True) for item in value]
    return value


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
