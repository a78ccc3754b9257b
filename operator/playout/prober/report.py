"""The report as JSON, as text for people, and trimmed to fit a byte budget. Pure."""

from __future__ import annotations

from collections.abc import Callable

from playout.api.common import StatusModel
from playout.api.probejob import Check, CheckStatus, LibraryReport, ProbeReport, Summary

# Kubernetes keeps at most this much of a container's termination message.
TERMINATION_MESSAGE_LIMIT = 4096


def to_json(report: StatusModel, *, indent: int | None = 2) -> str:
    return report.model_dump_json(
        by_alias=True, exclude_none=True, exclude_defaults=True, indent=indent
    )


def plain(report: ProbeReport) -> ProbeReport:
    """The report without the pictures a `DetailedReport` carries: what status, termination
    messages and `--json` hold."""
    if type(report) is ProbeReport:
        return report
    return ProbeReport(**{name: getattr(report, name) for name in ProbeReport.model_fields})


def _compact(report: ProbeReport) -> str:
    return to_json(report, indent=None)


def _size(report: ProbeReport) -> int:
    return len(_compact(report).encode())


# --- trimming ---------------------------------------------------------------------------


def _events(keep: int) -> Callable[[ProbeReport], ProbeReport]:
    def trim(report: ProbeReport) -> ProbeReport:
        checks = [
            check.model_copy(
                update={
                    "events": check.events[:keep],
                    "events_total": check.events_total or len(check.events),
                }
            )
            if len(check.events) > keep
            else check
            for check in report.checks
        ]
        return report.model_copy(update={"checks": checks})

    return trim


def _summary_details(report: ProbeReport) -> ProbeReport:
    summary = report.summary
    if summary is None:
        return report
    video = summary.video.model_copy(update={"side_data": []}) if summary.video else None
    return report.model_copy(
        update={"summary": summary.model_copy(update={"streams": [], "video": video})}
    )


def _messages(limit: int, *, passing_only: bool = False) -> Callable[[ProbeReport], ProbeReport]:
    def trim(report: ProbeReport) -> ProbeReport:
        checks = []
        for check in report.checks:
            if passing_only and check.status != CheckStatus.PASS:
                checks.append(check)
                continue
            if len(check.message) <= limit:
                short = check.message
            else:  # no room at all: no message, not an ellipsis after all but its last letter
                short = check.message[: limit - 1] + "…" if limit > 0 else ""
            checks.append(check.model_copy(update={"message": short}))
        return report.model_copy(update={"checks": checks})

    return trim


def _drop_passing(report: ProbeReport) -> ProbeReport:
    kept = [check for check in report.checks if check.status != CheckStatus.PASS]
    return report.model_copy(update={"checks": kept})


def _drop_summary(report: ProbeReport) -> ProbeReport:
    summary = report.summary
    if summary is None:
        return report
    return report.model_copy(
        update={
            "summary": Summary(
                container=summary.container,
                duration_seconds=summary.duration_seconds,
                bit_rate=summary.bit_rate,
            )
        }
    )


def _only_failures(report: ProbeReport) -> ProbeReport:
    kept = [
        Check(name=check.name, status=check.status, value=check.value)
        for check in report.checks
        if check.status in (CheckStatus.FAIL, CheckStatus.ERROR)
    ]
    return report.model_copy(update={"checks": kept, "summary": None})


# Cheapest loss first: what a reader misses least goes before what they came for.
# Where a problem is (its first event) outlasts the list of checks that passed: that list
# is what the report ConfigMap is for.
_STEPS: tuple[tuple[str, Callable[[ProbeReport], ProbeReport]], ...] = (
    ("events beyond 5 per check", _events(5)),
    ("the stream list and side data", _summary_details),
    ("messages of passing checks", _messages(0, passing_only=True)),
    ("events beyond 1 per check", _events(1)),
    ("long messages", _messages(120)),
    ("passing checks", _drop_passing),
    ("every event", _events(0)),
    ("most of the summary", _drop_summary),
    ("everything but failed checks", _only_failures),
)


def fit(report: ProbeReport, limit: int = TERMINATION_MESSAGE_LIMIT) -> str:
    """Compact JSON of at most `limit` bytes. What did not fit is dropped, least useful
    first, and a note says what; the verdict always survives."""
    report = plain(report)
    if _size(report) <= limit:
        return _compact(report)
    dropped: list[str] = []
    current = report
    for what, step in _STEPS:
        current = step(current)
        dropped.append(what)
        noted = _with_note(current, dropped)
        if _size(noted) <= limit:
            return _compact(noted)
    bare = ProbeReport(verdict=report.verdict, notes=[_note(["everything but the verdict"])])
    return _compact(bare)


def _note(dropped: list[str]) -> str:
    return (
        f"trimmed to fit the {TERMINATION_MESSAGE_LIMIT}-byte termination message, without "
        + ", ".join(dropped)
        + "; the whole report is in the pod's log and its report ConfigMap"
    )


def _with_note(report: ProbeReport, dropped: list[str]) -> ProbeReport:
    return report.model_copy(update={"notes": [*report.notes, _note(dropped)]})


# --- for people -------------------------------------------------------------------------


def human(report: ProbeReport, source: str, profile: str) -> str:
    verdict = report.verdict.value.upper() if report.verdict else "?"
    lines = [f"{source}: {verdict} ({profile} profile)"]
    if report.summary is not None:
        lines.append("  " + describe(report.summary))
    width = max((len(check.name) for check in report.checks), default=0)
    for check in report.checks:
        lines.append(f"  {check.status.value.upper():5} {check.name:{width}}  {check.message}")
    lines += [f"  note: {note}" for note in report.notes]
    if report.elapsed_seconds is not None:
        lines.append(f"  ({report.elapsed_seconds:.1f} s)")
    return "\n".join(lines)


def human_library(report: LibraryReport) -> str:
    """One line per file, then the counts."""
    verdict = report.verdict.value.upper() if report.verdict else "?"
    shard = f", shard {report.shard + 1} of {report.shards}" if report.shards > 1 else ""
    lines = [f"{report.source}: {verdict} ({report.profile.value} profile{shard})"]
    for item in report.files:
        problems = f"  {', '.join(item.problems)}" if item.problems else ""
        reused = "  (unchanged: earlier result)" if item.reused else ""
        lines.append(f"  {item.status.value.upper():5} {item.path}{problems}{reused}")
    counts = report.counts
    lines.append(
        f"  {counts.total} files: {counts.passed} pass, {counts.warned} warn, "
        f"{counts.failed} fail, {counts.errors} error; {counts.reused} carried over"
    )
    lines += [f"  note: {note}" for note in report.notes]
    if report.elapsed_seconds is not None:
        lines.append(f"  ({report.elapsed_seconds:.1f} s)")
    return "\n".join(lines)


def describe(summary: Summary) -> str:
    parts = [summary.container or "unknown container"]
    if summary.duration_seconds is not None:
        parts.append(f"{summary.duration_seconds:.2f} s")
    elif summary.live:
        parts.append("live")
    if summary.bit_rate:
        parts.append(f"{summary.bit_rate / 1e6:.2f} Mb/s")
    text = ", ".join(parts)
    video, audio = summary.video, summary.audio
    if video is not None:
        rate = f" {video.frame_rate:g} fps" if video.frame_rate else ""
        hdr = f" {video.hdr}" if video.hdr else ""
        text += (
            f"; video {video.codec} {video.profile or ''} {video.width}x{video.height}{rate} "
            f"{video.pixel_format or ''}{hdr}"
        ).replace("  ", " ")
    if audio is not None:
        text += f"; audio {audio.codec} {audio.sample_rate} Hz {audio.channel_layout or ''}"
    return text.strip()
