"""What the operator reads from a resource's children: the few fields it judges by, from
the manifests kopf's indexes hold. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from playout.api.probejob import ProbeReport
from playout.controller.builders.probejob import PROBER_CONTAINER


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


@dataclass(frozen=True, kw_only=True)
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
            return Run(job=job, finished_at=pod.finished_at, report=report)
    return None


def _condition(status: dict[str, Any], condition_type: str) -> dict[str, Any]:
    for condition in status.get("conditions") or []:
        if condition.get("type") == condition_type:
            return dict(condition)
    return {}
