"""What `kubectl playout` prints, from the models it reads: pure, so every view is tested
without a cluster. Colour is a `Palette`, off when the output is not a terminal or NO_COLOR
is set (https://no-color.org)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import click

from playout.api.channel import ChannelPhase, ChannelStatus
from playout.api.probejob import CheckStatus, LibraryReport, ProbeJobStatus, ProbeReport, Verdict
from playout.prober.report import describe
from playout.streamer.timeline import Programme

# Tones, and what carries each.
GOOD, WARN, BAD, DIM = "good", "warn", "bad", "dim"
_STYLE: dict[str, dict[str, Any]] = {
    GOOD: {"fg": "green"},
    WARN: {"fg": "yellow"},
    BAD: {"fg": "red", "bold": True},
    DIM: {"dim": True},
}
_PHASE_TONE = {
    ChannelPhase.LIVE: GOOD,
    ChannelPhase.STARTING: WARN,
    ChannelPhase.PENDING: WARN,
    ChannelPhase.DEGRADED: WARN,
    ChannelPhase.SUSPENDED: DIM,
    ChannelPhase.FAILED: BAD,
}
_STATUS_TONE = {
    CheckStatus.PASS: GOOD,
    CheckStatus.WARN: WARN,
    CheckStatus.FAIL: BAD,
    CheckStatus.ERROR: BAD,
}
_VERDICT_TONE = {Verdict.PASS: GOOD, Verdict.WARN: WARN, Verdict.FAIL: BAD}


def colour_wanted(*, terminal: bool, environ: Mapping[str, str]) -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set to anything."""
    return terminal and not environ.get("NO_COLOR")


@dataclass(frozen=True)
class Palette:
    colour: bool

    def __call__(self, text: str, tone: str | None) -> str:
        if not self.colour or tone is None:
            return text
        return click.style(text, **_STYLE[tone])


@dataclass(frozen=True)
class Pipelines:
    """The channel's Deployment as the user sees it: pods wanted, and ready."""

    desired: int
    ready: int


@dataclass(frozen=True)
class ProbeVerdict:
    """The latest verdict of a ProbeJob whose source is the channel."""

    name: str
    status: ProbeJobStatus


# --- times ------------------------------------------------------------------------------


def clock(moment: datetime, zone: tzinfo, now: datetime) -> str:
    """A time of day, with its date when it is not within a day of `now`."""
    local = moment.astimezone(zone)
    if abs(moment - now) < timedelta(hours=20):
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _drift(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:+.2f} s"


def _condition(status: ChannelStatus, kind: str) -> tuple[str, str] | None:
    for condition in status.conditions:
        if condition.type == kind:
            return condition.status, condition.message or ""
    return None


# --- status -----------------------------------------------------------------------------


def latest_probe(probes: Sequence[ProbeVerdict]) -> ProbeVerdict | None:
    """The probe with the latest run (those that never ran last, by name)."""
    ran = [probe for probe in probes if probe.status.last_run_at is not None]
    if ran:
        return max(ran, key=lambda probe: probe.status.last_run_at or datetime.min)
    return min(probes, key=lambda probe: probe.name, default=None)


def _probe_text(probe: ProbeVerdict | None, paint: Palette, zone: tzinfo, now: datetime) -> str:
    if probe is None:
        return "-"
    verdict = probe.status.verdict
    word = paint(verdict.value.upper(), _VERDICT_TONE[verdict]) if verdict else "no verdict yet"
    when = probe.status.last_run_at
    return f"{probe.name} {word}" + (f" at {clock(when, zone, now)}" if when else "")


def status_view(
    name: str,
    status: ChannelStatus,
    *,
    pipelines: Pipelines | None,
    probes: Sequence[ProbeVerdict],
    paint: Palette,
    zone: tzinfo,
    now: datetime,
) -> str:
    """One channel: phase, what is on air and next, pipelines, drift, what was skipped and
    the latest probe of it."""
    phase = status.phase
    lines = [f"{name}  {paint(phase.value, _PHASE_TONE[phase]) if phase else 'no status yet'}"]
    ready = _condition(status, "Ready")
    if ready is not None and ready[1]:
        lines.append(f"  {ready[1]}")
    playing = status.now_playing
    rows: list[tuple[str, str]] = []
    if playing is not None:
        length = playing.duration_seconds
        where = duration(playing.position_seconds) + (f" of {duration(length)}" if length else "")
        rows.append(
            (
                "on air",
                f"{paint(playing.title, GOOD)}  ({playing.program or playing.item}) since "
                f"{clock(playing.started_at, zone, now)}, {where}",
            )
        )
    else:
        rows.append(("on air", paint("nothing", WARN)))
    upcoming = status.schedule.next if status.schedule else []
    for index, entry in enumerate(upcoming):
        kind = "" if entry.kind == "item" else f" ({entry.kind})"
        rows.append(
            ("next" if index == 0 else "", f"{clock(entry.start, zone, now)}  {entry.title}{kind}")
        )
    if pipelines is not None:
        tone = GOOD if pipelines.ready >= pipelines.desired > 0 else WARN
        rows.append(("pipelines", paint(f"{pipelines.ready}/{pipelines.desired} ready", tone)))
    drift = status.schedule.drift_seconds if status.schedule else None
    on_schedule = _condition(status, "OnSchedule")
    drift_tone = None if on_schedule is None else GOOD if on_schedule[0] == "True" else WARN
    rows.append(("drift", paint(_drift(drift), drift_tone)))
    for index, skipped in enumerate(status.skipped[:5]):
        text = f"{clock(skipped.at, zone, now)}  {skipped.item}  {skipped.reason}"
        rows.append(("skipped" if index == 0 else "", paint(text, WARN)))
    if len(status.skipped) > 5:
        rows.append(("", f"... {len(status.skipped) - 5} more"))
    rows.append(("probe", _probe_text(latest_probe(probes), paint, zone, now)))
    if status.stream is not None and status.stream.url:
        rows.append(("stream", status.stream.url))
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label:{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


def channels_view(
    channels: Sequence[tuple[str, ChannelStatus]],
    *,
    probes: Mapping[str, Sequence[ProbeVerdict]],
    paint: Palette,
    zone: tzinfo,
    now: datetime,
) -> str:
    """One line per channel."""
    header = ("NAME", "PHASE", "ON AIR", "NEXT", "DRIFT", "PROBE")
    rows: list[tuple[tuple[str, str | None], ...]] = []
    for name, status in channels:
        phase = status.phase
        upcoming = status.schedule.next if status.schedule else []
        following = (
            f"{clock(upcoming[0].start, zone, now)} {upcoming[0].title}" if upcoming else "-"
        )
        probe = latest_probe(probes.get(name, ()))
        verdict = probe.status.verdict if probe else None
        rows.append(
            (
                (name, None),
                (phase.value if phase else "-", _PHASE_TONE[phase] if phase else None),
                (status.now_playing.title if status.now_playing else "-", None),
                (following, None),
                (_drift(status.schedule.drift_seconds if status.schedule else None), None),
                (
                    f"{probe.name} {verdict.value}" if probe and verdict else "-",
                    _VERDICT_TONE[verdict] if verdict else None,
                ),
            )
        )
    widths = [
        max([len(header[column]), *(len(row[column][0]) for row in rows)])
        for column in range(len(header))
    ]
    # Padded before painting: escape codes must not count towards the width.
    lines = ["   ".join(f"{title:{width}}" for title, width in zip(header, widths, strict=True))]
    for row in rows:
        cells = [
            paint(f"{text:{width}}", tone) for (text, tone), width in zip(row, widths, strict=True)
        ]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(line.rstrip() for line in lines)


# --- the guide --------------------------------------------------------------------------


def guide_view(
    programmes: Sequence[Programme],
    *,
    now: datetime,
    hours: float,
    paint: Palette,
    zone: tzinfo,
) -> str:
    """What airs from now for `hours`: the programme on air first, marked."""
    until = now + timedelta(hours=hours)
    shown = [p for p in programmes if p.stop > now and p.start < until]
    if not shown:
        return f"Nothing planned in the next {hours:g} hours."
    lines = []
    for programme in shown:
        on_air = programme.start <= now
        kind = "" if programme.kind == "item" else f"  ({programme.kind})"
        breaks = f"  [{len(programme.breaks)} break{'s' * (len(programme.breaks) != 1)}]"
        span = f"{clock(programme.start, zone, now)}-{clock(programme.stop, zone, now)}"
        text = f"{span}  {programme.title}{kind}{breaks if programme.breaks else ''}"
        lines.append(f"{paint('>', GOOD)} {paint(text, GOOD)}" if on_air else f"  {text}")
    return "\n".join(lines)


# --- the as-run log ---------------------------------------------------------------------


def asrun_view(
    records: Sequence[Mapping[str, Any]], *, paint: Palette, zone: tzinfo, now: datetime
) -> str:
    """One line per record: when it went on air, against its scheduled time, and why a
    substitute aired; entries ended early by request say so."""
    lines = []
    for record in records:
        title = str(record.get("title") or record.get("item") or "?")
        kind = str(record.get("kind", ""))
        if record.get("event") == "skipped":
            end = _parsed(record.get("end"))
            when = clock(end, zone, now) if end else "?"
            lines.append(
                paint(f"{when}  ended early  {title} ({kind}): {record.get('reason', '')}", WARN)
            )
            continue
        start = _parsed(record.get("start"))
        when = clock(start, zone, now) if start else "?"
        drift = record.get("driftSeconds")
        late = f"  drift {_drift(float(drift))}" if isinstance(drift, (int, float)) else ""
        reason = record.get("reason")
        instead = paint(f"  instead ({reason})", WARN) if reason else ""
        joined = "  (joined)" if record.get("joinedAt") else ""
        lines.append(f"{when}  {kind:8} {title}{late}{joined}{instead}")
    return "\n".join(lines) if lines else "Nothing aired yet."


def _parsed(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- reports ----------------------------------------------------------------------------


def _verdict_line(verdict: Verdict | None, paint: Palette) -> str:
    return paint(verdict.value.upper(), _VERDICT_TONE[verdict]) if verdict else "no verdict"


def report_view(name: str, report: ProbeReport, *, paint: Palette) -> str:
    """One source: verdict, summary, a table of checks, notes."""
    lines = [f"{name}: {_verdict_line(report.verdict, paint)}"]
    if report.summary is not None:
        lines.append(f"  {describe(report.summary)}")
    if report.checks:
        width = max(len(check.name) for check in report.checks)
        lines.append(f"  {'STATUS':6} {'CHECK':{width}}  MESSAGE")
        for check in report.checks:
            status = paint(f"{check.status.value.upper():6}", _STATUS_TONE[check.status])
            events = f" ({check.events_total or len(check.events)} events)" if check.events else ""
            lines.append(f"  {status} {check.name:{width}}  {check.message}{events}".rstrip())
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)


def library_view(name: str, report: LibraryReport, *, paint: Palette) -> str:
    """A folder: verdict and counts, then one row per file, worst first."""
    counts = report.counts
    lines = [
        f"{name}: {_verdict_line(report.verdict, paint)}  {report.source} "
        f"({report.profile.value} profile, {report.shards} shard{'s' * (report.shards != 1)})",
        f"  {counts.total} files: {counts.passed} pass, {counts.warned} warn, "
        f"{counts.failed} fail, {counts.errors} error; {counts.reused} unchanged since the run "
        "before",
    ]
    if report.files:
        lines.append(f"  {'STATUS':6} FILE  PROBLEMS")
        for item in report.files:
            status = paint(f"{item.status.value.upper():6}", _STATUS_TONE[item.status])
            problems = ", ".join(item.problems) or "-"
            lines.append(f"  {status} {item.path}  {problems}")
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)
