"""What the operator writes into a status: the fields it owns, as a merge patch body, and
whether writing it would change anything. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from playout.api.channel import Channel
from playout.api.common import Condition
from playout.api.probejob import HISTORY_LIMIT, CheckStatus, ProbeJob, ProbeReport, ProbeRun
from playout.controller.builders.channel import stream_url
from playout.controller.status.assessment import Assessment, assess_channel, assess_probejob
from playout.controller.status.observed import DeploymentState, JobState, Run

# A library run in the history names this many of its worst files (the status has 20).
HISTORY_PROBLEMS = 5


def merge_conditions(
    existing: list[Condition], assessment: Assessment, *, generation: int, now: datetime
) -> list[Condition]:
    """The new condition list: a condition whose status did not change keeps its
    lastTransitionTime; conditions we do not own are kept as they are."""
    by_type = {condition.type: condition for condition in existing}
    result = []
    for condition_type, concluded in assessment.conditions.items():
        previous = by_type.pop(condition_type, None)
        changed = previous is None or previous.status != concluded.status
        result.append(
            Condition(
                type=condition_type,
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
    existing: list[Condition], assessment: Assessment, *, generation: int, now: datetime
) -> dict[str, Any]:
    """The status fields the operator writes for every kind, as a merge patch body."""
    conditions = merge_conditions(existing, assessment, generation=generation, now=now)
    return {
        "observedGeneration": generation,
        "phase": str(assessment.phase),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
    }


def channel_status_patch(
    channel: Channel,
    deployment: DeploymentState | None,
    *,
    now: datetime,
    heartbeat_seconds: float,
) -> tuple[Assessment, dict[str, Any]]:
    """The status fields the operator owns, as a merge patch body."""
    assessment = assess_channel(channel, deployment, now=now, heartbeat_seconds=heartbeat_seconds)
    generation = channel.metadata.generation or 0
    namespace = channel.metadata.namespace or "default"
    return assessment, {
        **owned_fields(channel.status.conditions, assessment, generation=generation, now=now),
        "stream": {"url": stream_url(channel.metadata.name, namespace)},
    }


def probejob_status_patch(
    probe: ProbeJob, job: JobState | None, *, now: datetime, run: Run | None = None
) -> tuple[Assessment, dict[str, Any]]:
    """The operator's status fields, and the report of the latest run when there is a new
    one. A one-off probe whose current Job has no report yet shows no verdict rather than
    the verdict of an earlier generation; a scheduled one keeps its latest result."""
    history = probe.status.history
    stale = (
        probe.spec.schedule is None
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
        verdict=verdict,
    )
    generation = probe.metadata.generation or 0
    patch = owned_fields(probe.status.conditions, assessment, generation=generation, now=now)
    if run is not None:
        patch.update(_report_fields(run.report))
        patch["library"] = (
            _no_nulls_in_lists(run.library.model_dump(mode="json", by_alias=True))
            if run.library is not None
            else None
        )
        patch["lastRunAt"] = run.finished_at or None
        entry = ProbeRun(
            job=run.job,
            finished_at=run.finished_at or None,
            verdict=run.report.verdict,
            problems=_problems(run),
        )
        # The same Job's run again replaces its entry: a shard's summary can come after
        # the Job ended, and a retried pod's report after the first.
        if history and history[-1].job == run.job:
            history = history[:-1]
        history = [*history, entry][-HISTORY_LIMIT:]
        patch["history"] = _no_nulls_in_lists(
            [h.model_dump(mode="json", by_alias=True) for h in history]
        )
    elif stale:
        patch.update({name: None for name in _report_fields(ProbeReport())})
        patch["library"] = None
    return assessment, patch


def _problems(run: Run) -> list[str]:
    """In the history: the checks that did not pass, or a library's worst files."""
    if run.library is not None:
        return [item.path for item in run.library.worst if item.status != CheckStatus.PASS][
            :HISTORY_PROBLEMS
        ]
    return [check.name for check in run.report.checks if check.status != CheckStatus.PASS]


def _report_fields(report: ProbeReport) -> dict[str, Any]:
    """Every field of the report, absent ones as null: in a merge patch a null removes what
    an earlier report left, down to the nested summary fields. Lists are replaced whole, so
    their items carry no nulls (which the API server would not store, and `is_noop` would
    then never match)."""
    fields: dict[str, Any] = _no_nulls_in_lists(report.model_dump(mode="json", by_alias=True))
    return fields


def _no_nulls_in_lists(value: Any, *, in_list: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            key: _no_nulls_in_lists(item, in_list=in_list)
            for key, item in value.items()
            if not (in_list and item is None)
        }
    if isinstance(value, list):
        return [_no_nulls_in_lists(item, in_list=True) for item in value]
    return value


def merged(
    current: dict[str, Any], patch: dict[str, Any], *, keep_nulls: bool = False
) -> dict[str, Any]:
    """`current` with the merge patch `patch` applied (RFC 7386: objects merge, null
    removes, anything else replaces). `keep_nulls`: the nulls stay, so that the result is
    still a patch (two patches in one)."""
    result = dict(current)
    for key, value in patch.items():
        if value is None and not keep_nulls:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value, keep_nulls=keep_nulls)
        else:
            result[key] = value
    return result


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
