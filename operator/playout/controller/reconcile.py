"""One reconcile of a Channel or ProbeJob: desired children from the spec, applied; status
from the children's real state, written back. kopf's handlers only decide *when* to call
this; it holds no Kubernetes logic of its own beyond calling the pure builders."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2
from lightkube import ApiError
from prometheus_client.context_managers import Timer
from pydantic import ValidationError

from playout.api.channel import ChannelPhase
from playout.api.common import Condition, explain
from playout.api.probejob import ProbeJob, ProbeJobPhase
from playout.clock import utc_now
from playout.controller.builders.channel import build_channel
from playout.controller.builders.common import Manifest
from playout.controller.builders.probejob import build_probejob
from playout.controller.config import OperatorConfig
from playout.controller.drift import holds
from playout.controller.kinds import CHANNEL, PROBEJOB, ModelT, ReconciledKind
from playout.controller.kube import Kube
from playout.controller.metrics import Metrics, ObjectState
from playout.controller.status.assessment import Assessment, assess_problem
from playout.controller.status.observed import DeploymentState, JobState, ProberPod, latest_run
from playout.controller.status.patch import (
    channel_status_patch,
    is_noop,
    merged,
    owned_fields,
    probejob_status_patch,
)

Body = dict[str, Any]
Key = tuple[str, str]
"""(namespace, name)"""

# A reconcile that failed on something passing (the API server did not answer, a conflict,
# throttling) is tried again this much later, by the resync loop.
RETRY_AFTER = timedelta(seconds=10)

_WARNING_PHASES = {ChannelPhase.DEGRADED, ChannelPhase.FAILED, ProbeJobPhase.FAILED}


def _condition_time() -> datetime:
    """Now, to the second: condition times are RFC 3339 to the second, like every other
    Kubernetes timestamp."""
    return utc_now().replace(microsecond=0)


def _digest(manifests: list[Manifest]) -> str:
    return hashlib.sha256(json.dumps(manifests, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Recheck:
    """An object to reconcile again at a given time, when no event would trigger it."""

    at: datetime
    kind: ReconciledKind[Any]
    key: Key


def _whole_second_up(at: datetime) -> datetime:
    """Condition times, and so the reconciler's clock, are to the second: a recheck due
    within a second would otherwise find the clock not there yet, and come due again."""
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + timedelta(seconds=1)


class Reconciler:
    """Reconciles Channels and ProbeJobs; one instance per operator process."""

    def __init__(
        self,
        *,
        kube: Kube,
        config: OperatorConfig,
        metrics: Metrics,
        clock: Callable[[], datetime] = _condition_time,
    ) -> None:
        self._kube = kube
        self._config = config
        self._metrics = metrics
        self._clock = clock
        # What was last applied successfully, by owner uid: a reconcile whose desired
        # children are unchanged skips the apply (child watches catch drift meanwhile).
        self._applied: dict[str, str] = {}
        # What this process last wrote into each owner's status, by uid (`_as_written`).
        self._written: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # By owner uid: when the clock alone would change the status (an assessment's
        # `recheck_at`), or the retry of a reconcile that failed on something passing.
        self._rechecks: dict[str, Recheck] = {}
        self.rechecks_changed = asyncio.Event()
        """Set when a recheck comes due sooner than before: the resync loop waits on it."""

    def forget(self, uid: str) -> None:
        self._applied.pop(uid, None)
        self._written.pop(uid, None)
        self._locks.pop(uid, None)
        self._rechecks.pop(uid, None)
        self._metrics.objects.pop(uid, None)

    def _as_written(self, body: Body) -> Body:
        """The body with what this process last wrote into its status laid over it. A
        reconcile's body can predate that write (a child's event, with the owner from the
        index before the watch brought the write back, or an event that waited in a long
        queue): read as it is, the same phase was written, and its event posted, again, and
        two writes with different transition times took turns for ever. No one else
        writes the operator's fields."""
        written = self._written.get(body["metadata"]["uid"])
        if written is None:
            return body
        return {**body, "status": merged(body.get("status") or {}, written)}

    def _lock(self, uid: str) -> asyncio.Lock:
        return self._locks.setdefault(uid, asyncio.Lock())

    def next_recheck(self) -> datetime | None:
        return min((recheck.at for recheck in self._rechecks.values()), default=None)

    def due_rechecks(self, now: datetime) -> list[Recheck]:
        """The rechecks due at `now`, taken off the list (the reconcile sets the next)."""
        due = [uid for uid, recheck in self._rechecks.items() if recheck.at <= now]
        return [self._rechecks.pop(uid) for uid in due]

    def _recheck(self, kind: ReconciledKind[Any], body: Body, at: datetime | None) -> None:
        meta = body["metadata"]
        if at is None:
            self._rechecks.pop(meta["uid"], None)
            return
        at = _whole_second_up(at)
        previous = self._rechecks.get(meta["uid"])
        self._rechecks[meta["uid"]] = Recheck(at, kind, (meta["namespace"], meta["name"]))
        if previous is None or at < previous.at:
            self.rechecks_changed.set()

    def _retry(self, kind: ReconciledKind[Any], body: Body) -> None:
        self._recheck(kind, body, self._clock() + RETRY_AFTER)

    @contextlib.asynccontextmanager
    async def _one_at_a_time(
        self, kind: ReconciledKind[Any], body: Body, logger: logging.Logger
    ) -> AsyncIterator[None]:
        """One reconcile of an object at a time. One that the API server did not answer
        (a timeout, a refused connection) is retried RETRY_AFTER later: raised into kopf,
        it would be a traceback and a lost event."""
        uid = body["metadata"]["uid"]
        async with self._lock(uid):
            try:
                yield
            except httpx2.TransportError as error:
                self._metrics.errors.labels(kind.name, "Unreachable").inc()
                self._applied.pop(uid, None)  # what was applied is not known
                self._retry(kind, body)
                retry = RETRY_AFTER.total_seconds()
                logger.warning(
                    f"The API server did not answer ({type(error).__name__}: {error}); "
                    f"retrying in {retry:g} s"
                )

    # --- Channel ------------------------------------------------------------------------

    async def reconcile_channel(
        self, body: Body, *, deployment: DeploymentState | None, logger: logging.Logger
    ) -> None:
        async with self._one_at_a_time(CHANNEL, body, logger):
            body = self._as_written(body)
            with self._timed(CHANNEL):
                channel = await self._validated(CHANNEL, body, logger)
                if channel is None:
                    return
                children = build_channel(channel, self._config)
                if not await self._apply_all(CHANNEL, body, children, logger):
                    return
                assessment, patch = channel_status_patch(
                    channel,
                    deployment,
                    now=self._clock(),
                    heartbeat_seconds=self._config.report_heartbeat_seconds,
                )
                await self._write_status(CHANNEL, body, assessment, patch, logger)

    async def reapply_channel_child(
        self,
        parent: Body,
        *,
        child_kind: str,
        name: str,
        live: Body | None,
        logger: logging.Logger,
    ) -> None:
        """Re-apply one child that drifted or vanished (`live` None): drift correction."""
        try:
            channel = CHANNEL.model.model_validate(parent)
        except ValidationError:
            return  # the parent's own reconcile reports this
        async with self._one_at_a_time(CHANNEL, parent, logger):
            children = build_channel(channel, self._config)
            parent = self._as_written(parent)
            await self._reapply(CHANNEL, parent, children, child_kind, name, live, logger)

    # --- ProbeJob -----------------------------------------------------------------------

    async def reconcile_probejob(
        self,
        body: Body,
        *,
        job: JobState | None,
        pods: list[ProberPod],
        logger: logging.Logger,
    ) -> None:
        """`pods`: the finished prober pods of this ProbeJob, whose termination messages
        carry the reports."""
        async with self._one_at_a_time(PROBEJOB, body, logger):
            body = self._as_written(body)
            with self._timed(PROBEJOB):
                probe = await self._validated(PROBEJOB, body, logger)
                if probe is None:
                    return
                children = build_probejob(probe, self._config)
                if not _probe_done(probe, body) and not await self._apply_all(
                    PROBEJOB, body, children, logger
                ):
                    return
                scheduled = probe.spec.schedule is not None
                if job is None and _probe_done(probe, body):
                    return  # the result stands after its Job is gone
                if not scheduled and job is not None and job.name != _job_name(children):
                    job = None  # the Job of an earlier generation says nothing of this one
                shards = probe.spec.shards if probe.spec.source.is_folder else None
                run = latest_run(pods, job, shards=shards) if job is not None else None
                assessment, patch = probejob_status_patch(probe, job, now=self._clock(), run=run)
                await self._write_status(PROBEJOB, body, assessment, patch, logger)

    async def reapply_probejob_child(
        self,
        parent: Body,
        *,
        child_kind: str,
        name: str,
        live: Body | None,
        logger: logging.Logger,
    ) -> None:
        try:
            probe = PROBEJOB.model.model_validate(parent)
        except ValidationError:
            return
        if not _probe_done(probe, parent):
            async with self._one_at_a_time(PROBEJOB, parent, logger):
                children = build_probejob(probe, self._config)
                parent = self._as_written(parent)
                await self._reapply(PROBEJOB, parent, children, child_kind, name, live, logger)

    # --- shared -------------------------------------------------------------------------

    async def _validated(
        self, kind: ReconciledKind[ModelT], body: Body, logger: logging.Logger
    ) -> ModelT | None:
        """The body as its model, or None when the spec is invalid (which is reported)."""
        try:
            return kind.model.model_validate(body)
        except ValidationError as error:
            self._metrics.errors.labels(kind.name, "InvalidSpec").inc()
            message = f"Invalid {kind.name}: {explain(error)}"
            logger.error(message)
            await self._report_problem(
                kind, body, reason="InvalidSpec", message=message, stalled=True, logger=logger
            )
            return None

    async def _apply_all(
        self,
        kind: ReconciledKind[Any],
        body: Body,
        children: list[Manifest],
        logger: logging.Logger,
    ) -> bool:
        meta = body["metadata"]
        digest = _digest(children)
        if self._applied.get(meta["uid"]) == digest:
            return True
        try:
            for child in children:
                await self._kube.apply(child)
            pruned = await self._kube.prune(
                kind,
                owner=body,
                keep=[(child["kind"], child["metadata"]["name"]) for child in children],
            )
        except ApiError as error:
            await self._apply_failed(kind, body, error, logger)
            return False
        for name in pruned:
            logger.info(f"Deleted {name}: no longer wanted")
        self._applied[meta["uid"]] = digest
        logger.debug(f"Applied {len(children)} children")
        return True

    async def _reapply(
        self,
        kind: ReconciledKind[Any],
        parent: Body,
        children: list[Manifest],
        child_kind: str,
        name: str,
        live: Body | None,
        logger: logging.Logger,
    ) -> None:
        for child in children:
            if child["kind"] == child_kind and child["metadata"]["name"] == name:
                if live is not None and holds(applied=child, live=live):
                    return  # an echo of our own apply, or a change to fields not ours
                try:
                    await self._kube.apply(child)
                except ApiError as error:
                    await self._apply_failed(kind, parent, error, logger)
                    return
                drift = "changed" if live is not None else "gone"
                logger.info(f"Re-applied {child_kind}/{name}: it was {drift}")

    async def _apply_failed(
        self, kind: ReconciledKind[Any], body: Body, error: ApiError, logger: logging.Logger
    ) -> None:
        self._metrics.errors.labels(kind.name, "ApplyFailed").inc()
        self._applied.pop(body["metadata"]["uid"], None)
        message = f"Applying children failed: {error.status.message}"
        logger.error(message)
        # 4xx other than conflicts and throttling will not fix themselves: Stalled.
        code = error.status.code or 0
        permanent = 400 <= code < 500 and code not in (409, 429)
        await self._report_problem(
            kind, body, reason="ApplyFailed", message=message, stalled=permanent, logger=logger
        )
        if not permanent:
            self._retry(kind, body)

    async def _report_problem(
        self,
        kind: ReconciledKind[Any],
        body: Body,
        *,
        reason: str,
        message: str,
        stalled: bool,
        logger: logging.Logger,
    ) -> None:
        status = body.get("status") or {}
        assessment = assess_problem(
            reason=reason,
            message=message,
            stalled=stalled,
            failed_phase=kind.failed_phase,
            current_phase=status.get("phase"),
        )
        current = [Condition.model_validate(c) for c in status.get("conditions") or []]
        generation = body["metadata"].get("generation", 0)
        patch = owned_fields(current, assessment, generation=generation, now=self._clock())
        await self._write_status(kind, body, assessment, patch, logger)

    async def _write_status(
        self,
        kind: ReconciledKind[Any],
        body: Body,
        assessment: Assessment,
        patch: dict[str, Any],
        logger: logging.Logger,
    ) -> None:
        meta = body["metadata"]
        current = body.get("status") or {}
        self._recheck(kind, body, assessment.recheck_at)
        verdict = patch.get("verdict", current.get("verdict")) or ""
        self._metrics.objects[meta["uid"]] = ObjectState(
            kind.name, meta["namespace"], meta["name"], str(assessment.phase), str(verdict)
        )
        if is_noop(current, patch):
            return
        try:
            await self._kube.patch_status(kind, owner=body, status=patch)
        except ApiError as error:
            if error.status.code == 404:
                return  # deleted meanwhile
            self._metrics.errors.labels(kind.name, "StatusFailed").inc()
            logger.error(f"Writing status failed: {error.status.message}")
            self._retry(kind, body)
            return
        written = self._written.get(meta["uid"], {})
        self._written[meta["uid"]] = merged(written, patch, keep_nulls=True)
        previous = current.get("phase")
        if previous != patch["phase"]:
            # Events on transitions only; the Ready condition says why.
            ready = assessment.ready
            try:
                await self._kube.post_event(
                    body,
                    event_type="Warning" if patch["phase"] in _WARNING_PHASES else "Normal",
                    reason=str(patch["phase"]),
                    message=ready.message or ready.reason,
                )
            except ApiError as error:
                logger.warning(f"Posting an event failed: {error.status.message}")
            logger.info(f"{kind.name} phase {previous or '-'} -> {patch['phase']}: {ready.message}")

    def _timed(self, kind: ReconciledKind[Any]) -> Timer:
        self._metrics.reconciles.labels(kind.name).inc()
        return self._metrics.duration.labels(kind.name).time()


def _probe_done(probe: ProbeJob, body: Body) -> bool:
    """A one-off probe whose current generation has run: its Job, deleted afterwards by its
    TTL or by hand, must not come back and run the probe again."""
    status = body.get("status") or {}
    return (
        probe.spec.schedule is None
        and status.get("phase") in (ProbeJobPhase.SUCCEEDED, ProbeJobPhase.FAILED)
        and status.get("observedGeneration") == probe.metadata.generation
    )


def _job_name(children: list[Manifest]) -> str | None:
    return next((c["metadata"]["name"] for c in children if c["kind"] == "Job"), None)
