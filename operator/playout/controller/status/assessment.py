"""How the operator judges what it observed: a phase and the conditions, per kind. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from playout.api.channel import Channel, ChannelPhase
from playout.api.common import ConditionStatus
from playout.api.probejob import ProbeJob, ProbeJobPhase, Verdict
from playout.controller.status.observed import DeploymentState, JobState

TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN

# Time for a report to travel and land (API latency, a retry).
REPORT_SLACK = timedelta(seconds=15)
# A stream that stays stale this long needs a human: Stalled.
STALE_GIVE_UP = timedelta(minutes=5)


@dataclass(frozen=True)
class Concluded:
    """One condition as concluded, before timestamps are attached."""

    status: ConditionStatus
    reason: str
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What the operator concluded about an object."""

    phase: str
    ready: Concluded
    reconciling: Concluded
    stalled: Concluded
    extra: dict[str, Concluded] = field(default_factory=dict)
    """Conditions beyond the three kstatus ones, by type."""
    recheck_at: datetime | None = None
    """When the clock alone would change this conclusion (a stream turning stale, a stale
    one given up); None when only a change of the object or its children can."""

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
_WAITING_STREAM = {"StreamHealthy": Concluded(UNKNOWN, "NoReport", "No report from the engine")}


def stale_after(channel: Channel, *, heartbeat_seconds: float) -> timedelta:
    """A report this old means the engine stopped reporting: the heartbeat, three segments
    (the engine's own health rule) and the slack of one report's travel."""
    segments = timedelta(seconds=3 * channel.spec.output.segment_seconds)
    return timedelta(seconds=heartbeat_seconds) + segments + REPORT_SLACK


def assess_channel(
    channel: Channel,
    deployment: DeploymentState | None,
    *,
    now: datetime,
    heartbeat_seconds: float,
) -> Assessment:
    """Phase and conditions of a Channel from its Deployment and the engine's reports;
    `heartbeat_seconds`: how often the engines report at least."""
    assessment = _assess_stream(channel, deployment, now=now, heartbeat_seconds=heartbeat_seconds)
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
    channel: Channel,
    deployment: DeploymentState | None,
    *,
    now: datetime,
    heartbeat_seconds: float,
) -> Assessment:
    if channel.spec.suspend:
        if deployment is not None and deployment.replicas > 0:
            return Assessment(
                phase=ChannelPhase.SUSPENDED,
                ready=Concluded(FALSE, "Suspending", "Taking the channel off air"),
                reconciling=Concluded(TRUE, "Suspending", "Waiting for the streamer to stop"),
                stalled=_NOT_STALLED,
                extra={"StreamHealthy": Concluded(UNKNOWN, "Suspended")},
            )
        # Off air as asked is the desired state reached: Ready, so that kstatus (Flux)
        # says Current rather than waiting forever; the phase says Suspended.
        return Assessment(
            phase=ChannelPhase.SUSPENDED,
            ready=Concluded(TRUE, "Suspended", "The channel is suspended (spec.suspend)"),
            reconciling=_CALM,
            stalled=_NOT_STALLED,
            extra={"StreamHealthy": Concluded(UNKNOWN, "Suspended")},
        )
    if deployment is None:
        return Assessment(
            phase=ChannelPhase.PENDING,
            ready=Concluded(FALSE, "Creating", "Creating the streamer"),
            reconciling=Concluded(TRUE, "Creating", "Creating the streamer"),
            stalled=_NOT_STALLED,
            extra=_WAITING_STREAM,
        )
    if deployment.progress_deadline_exceeded:
        message = f"The streamer did not become available: {deployment.message}"
        return Assessment(
            phase=ChannelPhase.FAILED,
            ready=Concluded(FALSE, "StreamerUnavailable", message),
            reconciling=Concluded(FALSE, "StreamerUnavailable", message),
            stalled=Concluded(TRUE, "ProgressDeadlineExceeded", message),
            extra=_WAITING_STREAM,
        )
    if not deployment.rollout_complete:
        waiting = "Waiting for the streamer pod to become available"
        return Assessment(
            phase=ChannelPhase.STARTING,
            ready=Concluded(FALSE, "Starting", waiting),
            reconciling=Concluded(TRUE, "Starting", waiting),
            stalled=_NOT_STALLED,
            extra=_WAITING_STREAM,
        )
    stream = channel.status.stream
    last = stream.last_segment_at if stream else None
    full = stream.disk_full_since if stream else None
    if full is not None:
        # The engine said why its segments stopped, and the fix is the user's.
        message = (
            f"The streamer's volume has had no room for the next segment since "
            f"{full.isoformat()}: make spec.storage larger or free the volume"
        )
        return _stopped(channel, message=message, since=full, now=now, reason="DiskFull")
    if deployment.available_replicas == 0:
        # The pod is ready only while segments keep coming (its /healthz): none ready
        # means the stream stopped, seen as soon as the kubelet probes, at no write.
        since = deployment.unavailable_since
        message = "The streamer has had no ready pod"
        if since is not None:
            message += f" since {since.isoformat()}"
        return _stopped(channel, message=message, since=since, now=now)
    if last is not None:
        stale_since = last + stale_after(channel, heartbeat_seconds=heartbeat_seconds)
        if now < stale_since:
            title = channel.status.now_playing.title if channel.status.now_playing else None
            return Assessment(
                phase=ChannelPhase.LIVE,
                ready=Concluded(TRUE, "Live", f"On air: {title or 'the stream'}"),
                reconciling=_CALM,
                stalled=_NOT_STALLED,
                extra={
                    "StreamHealthy": Concluded(TRUE, "SegmentsFresh", "New segments keep coming")
                },
                recheck_at=stale_since,
            )
        if _was_on_air(channel):
            # The pod looks ready but its reports stopped (or nothing probes it for real).
            message = f"No new segment since {last.isoformat()}"
            return _stopped(channel, message=message, since=stale_since, now=now)
    # No report yet, or only one from before the channel was suspended.
    return Assessment(
        phase=ChannelPhase.STARTING,
        ready=Concluded(FALSE, "WaitingForStream", "Waiting for the first segments"),
        reconciling=Concluded(TRUE, "WaitingForStream", "Waiting for the first segments"),
        stalled=_NOT_STALLED,
        extra=_WAITING_STREAM,
    )


def _stopped(
    channel: Channel,
    *,
    message: str,
    since: datetime | None,
    now: datetime,
    reason: str = "StreamStale",
) -> Assessment:
    """A stream that stopped at `since` (None: unknown): Degraded while it may recover,
    Stalled once it has not for STALE_GIVE_UP. A channel that was not on air yet (a pod
    starting after a resume) is still Starting. Messages hold timestamps, not ages: one that
    changed on every evaluation would rewrite the status, and wake every watcher, each time."""
    give_up = since + STALE_GIVE_UP if since is not None else None
    was_on_air = _was_on_air(channel)
    unhealthy = (
        {"StreamHealthy": Concluded(FALSE, reason, message)} if was_on_air else _WAITING_STREAM
    )
    if give_up is not None and now >= give_up:
        return Assessment(
            phase=ChannelPhase.DEGRADED,
            ready=Concluded(FALSE, reason, message),
            reconciling=Concluded(FALSE, reason, message),
            stalled=Concluded(TRUE, reason, message),
            extra=unhealthy,
        )
    if not was_on_air:
        waiting = f"Waiting for the streamer to go on air: {message}"
        return Assessment(
            phase=ChannelPhase.STARTING,
            ready=Concluded(FALSE, "Starting", waiting),
            reconciling=Concluded(TRUE, "Starting", waiting),
            stalled=_NOT_STALLED,
            extra=unhealthy,
            recheck_at=give_up,
        )
    return Assessment(
        phase=ChannelPhase.DEGRADED,
        ready=Concluded(FALSE, reason, message),
        reconciling=Concluded(
            TRUE, "Recovering", f"{message}; waiting for the streamer to recover"
        ),
        stalled=_NOT_STALLED,
        extra=unhealthy,
        recheck_at=give_up,
    )


def _was_on_air(channel: Channel) -> bool:
    """Whether the operator last saw the channel on air (the phase it wrote)."""
    return channel.status.phase in (ChannelPhase.LIVE, ChannelPhase.DEGRADED)


def assess_probejob(
    probe: ProbeJob, job: JobState | None, *, verdict: Verdict | None = None
) -> Assessment:
    """Phase and conditions of a ProbeJob from its latest Job and the prober's verdict (by
    default, the one already in the status).

    In kstatus terms: a usable result (pass or warn) is Current; a fail verdict, a run
    that failed or one that left no report is Failed (Stalled), until a later run of a
    scheduled probe does better; a scheduled probe waiting for its first run is Current."""
    verdict = verdict if verdict is not None else probe.status.verdict
    scheduled = probe.spec.schedule is not None
    if job is None:
        if scheduled:
            if verdict is None:
                waiting = f"Waiting for the first run (schedule {probe.spec.schedule})"
                return Assessment(
                    phase=ProbeJobPhase.PENDING,
                    ready=Concluded(TRUE, "Scheduled", waiting),
                    reconciling=_CALM,
                    stalled=_NOT_STALLED,
                    extra={"Complete": Concluded(FALSE, "Scheduled", waiting)},
                )
            return _result(_finished_phase(probe), verdict, "The latest run completed")
        return Assessment(
            phase=ProbeJobPhase.PENDING,
            ready=Concluded(FALSE, "Creating", "Creating the probe Job"),
            reconciling=Concluded(TRUE, "Creating", "Creating the probe Job"),
            stalled=_NOT_STALLED,
            extra={"Complete": Concluded(FALSE, "Creating")},
        )
    if job.failed:
        message = f"Job {job.name} failed ({job.reason}): {job.message}".rstrip(": ")
        return Assessment(
            phase=ProbeJobPhase.FAILED,
            ready=Concluded(FALSE, "ProbeFailed", message),
            reconciling=_CALM,
            stalled=Concluded(TRUE, job.reason or "JobFailed", message),
            extra={"Complete": Concluded(TRUE, "JobFailed", message)},
        )
    if job.complete:
        if verdict is None:
            message = f"Job {job.name} finished without a report; its pod's log says why"
            return Assessment(
                phase=ProbeJobPhase.FAILED,
                ready=Concluded(FALSE, "NoReport", message),
                reconciling=_CALM,
                stalled=Concluded(TRUE, "NoReport", message),
                extra={"Complete": Concluded(TRUE, "JobComplete", message)},
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
            phase=phase,
            ready=last.ready,
            reconciling=_CALM,
            stalled=last.stalled,
            extra={"Complete": Concluded(FALSE, reason, message)},
        )
    return Assessment(
        phase=phase,
        ready=Concluded(FALSE, reason, message),
        reconciling=Concluded(TRUE, reason, message),
        stalled=_NOT_STALLED,
        extra={"Complete": Concluded(FALSE, reason, message)},
    )


def _result(phase: ProbeJobPhase, verdict: Verdict, complete: str) -> Assessment:
    """A finished probe, judged by its verdict."""
    done = {"Complete": Concluded(TRUE, "JobComplete", complete)}
    if verdict == Verdict.FAIL:
        failed = Concluded(FALSE, "VerdictFail", "The media failed its checks (see status.checks)")
        return Assessment(
            phase=phase,
            ready=failed,
            reconciling=_CALM,
            stalled=Concluded(TRUE, "VerdictFail", failed.message),
            extra=done,
        )
    ready = Concluded(TRUE, f"Verdict{verdict.value.capitalize()}", f"Verdict: {verdict.value}")
    return Assessment(phase=phase, ready=ready, reconciling=_CALM, stalled=_NOT_STALLED, extra=done)


def _finished_phase(probe: ProbeJob) -> ProbeJobPhase:
    return probe.status.phase or ProbeJobPhase.SUCCEEDED


def assess_problem(
    *, reason: str, message: str, stalled: bool, failed_phase: str, current_phase: str | None
) -> Assessment:
    """A reconcile that could not get as far as judging the children (an invalid spec, an
    apply the API server refused): Stalled with the failed phase when it will not fix
    itself, else still Reconciling in the phase it had."""
    return Assessment(
        phase=failed_phase if stalled else current_phase or "Pending",
        ready=Concluded(FALSE, reason, message),
        reconciling=Concluded(FALSE if stalled else TRUE, reason, message),
        stalled=Concluded(TRUE if stalled else FALSE, reason, message),
    )
