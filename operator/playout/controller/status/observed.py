"""What the operator reads from a resource's children: the few fields it judges by, from
the manifests kopf's indexes hold. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from playout.api.probejob import LibraryShard, LibraryStatus, ProbeReport, Verdict
from playout.controller.builders.probejob import PROBER_CONTAINER
from playout.prober.library import library_status, verdict_of

# Set by the Job controller on each pod of an Indexed Job: the pod's shard.
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


@dataclass(frozen=True, kw_only=True)
class DeploymentState:
    """What the operator reads from a channel's Deployment."""

    replicas: int
    available_replicas: int
    progress_deadline_exceeded: bool
    message: str
    rollout_complete: bool
    """The current template is rolled out (Progressing, reason NewReplicaSetAvailable). It
    stays so while the pod restarts or turns unready: only a new rollout resets it."""
    unavailable_since: datetime | None
    """Since when fewer replicas are available than wanted (the Available condition)."""

    @classmethod
    def from_manifest(cls, body: dict[str, Any]) -> DeploymentState:
        status = body.get("status") or {}
        progressing = _condition(status, "Progressing")
        available = _condition(status, "Available")
        generation = body.get("metadata", {}).get("generation", 0)
        since = available.get("lastTransitionTime")
        return cls(
            replicas=status.get("replicas", 0),
            available_replicas=status.get("availableReplicas", 0),
            progress_deadline_exceeded=progressing.get("reason") == "ProgressDeadlineExceeded",
            message=progressing.get("message", ""),
            # A condition of an older generation says nothing of the current template.
            rollout_complete=progressing.get("reason") == "NewReplicaSetAvailable"
            and status.get("observedGeneration", 0) >= generation,
            unavailable_since=datetime.fromisoformat(since)
            if available.get("status") == "False" and since
            else None,
        )


@dataclass(frozen=True, kw_only=True)
class JobState:
    """What the operator reads from a probe Job."""

    name: str
    created: str
    active: int
    complete: bool
    failed: bool
    reason: str
    message: str

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
        )


@dataclass(frozen=True, kw_only=True)
class ProberPod:
    """A prober pod whose container has terminated, with its termination message: how the
    report reaches the operator, through the API and never from the pod itself."""

    job: str
    finished_at: str
    message: str
    index: int | None = None
    """The pod's completion index in an Indexed Job (a library probe's shard)."""

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
        index = (meta.get("annotations") or {}).get(COMPLETION_INDEX, "")
        return cls(
            job=job,
            finished_at=terminated.get("finishedAt") or "",
            message=terminated.get("message") or "",
            index=int(index) if index.isdigit() else None,
        )

    def report(self) -> ProbeReport | None:
        """The report in the termination message; None when there is none (the prober died
        before writing it, and the kubelet fell back to the end of its log)."""
        document = self._document()
        if document is None or "verdict" not in document:
            return None
        try:
            return ProbeReport.model_validate(document)
        except ValidationError:
            return None

    def shard(self) -> LibraryShard | None:
        """The summary of a library probe's shard in the termination message; None when
        there is none, or it is not this pod's shard."""
        document = self._document()
        if document is None or "shard" not in document:
            return None
        try:
            summary = LibraryShard.model_validate(document)
        except ValidationError:
            return None
        return summary if summary.shard == self.index else None

    def _document(self) -> dict[str, Any] | None:
        try:
            document = json.loads(self.message)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None


@dataclass(frozen=True, kw_only=True)
class Run:
    """The report of one finished probe Job."""

    job: str
    finished_at: str
    """As the kubelet wrote it (RFC 3339)."""
    report: ProbeReport
    """The report; of a library probe, only its verdict and notes."""
    library: LibraryStatus | None = None
    """A library probe's counts and worst files."""


def latest_run(pods: list[ProberPod], job: JobState, *, shards: int | None = None) -> Run | None:
    """The report of `job`: from its last pod to finish with one (a retried Job has more).
    With `shards`, a library probe's: once every shard has reported, or the Job is over."""
    if shards is not None:
        return _library_run(pods, job, shards=shards)
    for pod in sorted(pods, key=lambda pod: pod.finished_at, reverse=True):
        if pod.job != job.name:
            continue
        report = pod.report()
        if report is not None:
            return Run(job=job.name, finished_at=pod.finished_at, report=report)
    return None


def _library_run(pods: list[ProberPod], job: JobState, *, shards: int) -> Run | None:
    latest: dict[int, tuple[str, LibraryShard]] = {}
    for pod in sorted(pods, key=lambda pod: pod.finished_at):
        summary = pod.shard() if pod.job == job.name else None
        if summary is not None and summary.shards == shards:
            latest[summary.shard] = (pod.finished_at, summary)
    over = job.complete or job.failed
    if not latest or (len(latest) < shards and not over):
        return None
    ordered = [latest[shard][1] for shard in sorted(latest)]
    status = library_status(ordered, shards=shards)
    # Once each: every shard says the same of the folder as a whole.
    notes = list(dict.fromkeys(note for summary in ordered for note in summary.notes))
    missing = [str(shard) for shard in range(shards) if shard not in latest]
    if missing:
        notes.append(
            f"shard {', '.join(missing)} left no report (its pod's log says why): "
            "the counts leave its files out"
        )
    if not status.counts.total and not missing and not notes:
        notes.append("no media files in the folder")
    verdict = Verdict.FAIL if missing or not status.counts.total else verdict_of(status.counts)
    return Run(
        job=job.name,
        finished_at=max(finished for finished, _ in latest.values()),
        report=ProbeReport(verdict=verdict, notes=notes),
        library=status,
    )


def _condition(status: dict[str, Any], condition_type: str) -> dict[str, Any]:
    for condition in status.get("conditions") or []:
        if condition.get("type") == condition_type:
            return dict(condition)
    return {}
