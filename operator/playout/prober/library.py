"""A library probe, pure: the files of a folder dealt into shards, each file's result, the
counts and worst files a shard reports, their sum for the ProbeJob's status, and the
report as it is kept in a ConfigMap (compressed, trimmed to fit)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

from playout.api.common import StatusModel
from playout.api.probejob import (
    WORST_FILES,
    CheckStatus,
    DetailedReport,
    FileCounts,
    LibraryFile,
    LibraryReport,
    LibraryShard,
    LibraryStatus,
    ProbeReport,
    ProbeRequirements,
    Verdict,
)
from playout.media.folders import natural_key, natural_sorted
from playout.prober.report import TERMINATION_MESSAGE_LIMIT, fit, plain, to_json

# The key of the report in its ConfigMap.
REPORT_KEY = "report.json.gz"
# A ConfigMap holds at most 1 MiB, names and metadata included.
CONFIG_MAP_BUDGET = 1000 * 1024

SEVERITY = {CheckStatus.FAIL: 3, CheckStatus.ERROR: 2, CheckStatus.WARN: 1, CheckStatus.PASS: 0}
"""How bad a file's status is: what the worst files, and a report page's table, sort by."""


def shard_of(paths: Iterable[str], *, shard: int, shards: int) -> list[str]:
    """The files one shard probes: every `shards`-th of the natural order, from `shard`.
    Dealt rather than cut in blocks, so a season's long and short episodes spread evenly."""
    return natural_sorted(list(paths))[shard::shards]


def file_status(report: ProbeReport) -> CheckStatus:
    """The worst status of the file's checks, in the ranking the worst files sort by."""
    statuses = (check.status for check in report.checks)
    return max(statuses, key=SEVERITY.__getitem__, default=CheckStatus.PASS)


def file_result(
    path: str, report: ProbeReport, *, size: int | None, modified: float | None
) -> LibraryFile:
    return LibraryFile(
        path=path,
        status=file_status(report),
        problems=[check.name for check in report.checks if check.status != CheckStatus.PASS],
        size_bytes=size,
        modified=modified,
        report=report,
    )


def reusable(
    earlier: Mapping[str, LibraryFile], path: str, *, size: int, modified: float
) -> LibraryFile | None:
    """The earlier result of `path` when the file is the same version (size and
    modification time)."""
    found = earlier.get(path)
    if found is None:
        return None
    if found.size_bytes != size or found.modified != modified:
        return None
    return found.model_copy(update={"reused": True})


def earlier_results(
    reports: Iterable[LibraryReport],
    *,
    profile: str,
    thresholds: Mapping[str, float],
    require: ProbeRequirements | None = None,
) -> dict[str, LibraryFile]:
    """Earlier files by path, from reports made with the same checks only: a changed
    profile, threshold or requirement judges every file again."""
    found: dict[str, LibraryFile] = {}
    for report in reports:
        if report.profile != profile or dict(report.thresholds) != dict(thresholds):
            continue
        if (report.require or ProbeRequirements()) != (require or ProbeRequirements()):
            continue
        for item in report.files:
            found[item.path] = item
    return found


def count(files: Iterable[LibraryFile]) -> FileCounts:
    counts = FileCounts()
    for item in files:
        counts.total += 1
        counts.reused += item.reused
        match item.status:
            case CheckStatus.PASS:
                counts.passed += 1
            case CheckStatus.WARN:
                counts.warned += 1
            case CheckStatus.FAIL:
                counts.failed += 1
            case CheckStatus.ERROR:
                counts.errors += 1
    return counts


def add(counts: Iterable[FileCounts]) -> FileCounts:
    total = FileCounts()
    for part in counts:
        for name in FileCounts.model_fields:
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return total


def worst_first(files: Iterable[LibraryFile]) -> list[LibraryFile]:
    """Failed, errors, warned, passed; then most problems; then in natural order."""
    return sorted(
        files,
        key=lambda item: (-SEVERITY[item.status], -len(item.problems), natural_key(item.path)),
    )


def worst(files: Iterable[LibraryFile], limit: int = WORST_FILES) -> list[LibraryFile]:
    """The files that did not pass, worst first, without their reports."""
    kept = [item for item in worst_first(files) if item.status != CheckStatus.PASS]
    return [item.model_copy(update={"report": None}) for item in kept[:limit]]


def verdict_of(counts: FileCounts) -> Verdict:
    """The library's verdict: as a single file's, an error counts as a failure."""
    if counts.failed or counts.errors:
        return Verdict.FAIL
    if counts.warned:
        return Verdict.WARN
    return Verdict.PASS


def shard_summary(
    report: LibraryReport, *, config_map: str | None, notes: Sequence[str] = ()
) -> str:
    """What a shard's pod leaves as its termination message: counts and worst files, as
    many of them as fit in 4096 bytes."""
    summary = LibraryShard(
        shard=report.shard,
        shards=report.shards,
        counts=count(report.files),
        worst=worst(report.files),
        config_map=config_map,
        notes=list(notes),
    )
    while True:
        text = to_json(summary, indent=None)
        if len(text.encode()) <= TERMINATION_MESSAGE_LIMIT or not summary.worst:
            return text
        summary = summary.model_copy(
            update={"worst": summary.worst[:-1], "notes": _worst_note(summary.notes)}
        )


def _worst_note(notes: list[str]) -> list[str]:
    note = "fewer worst files than usual, to fit the 4096-byte termination message"
    return notes if note in notes else [*notes, note]


def library_status(summaries: Sequence[LibraryShard], *, shards: int) -> LibraryStatus:
    """The shards' summaries added up, for the ProbeJob's status."""
    ordered = sorted(summaries, key=lambda summary: summary.shard)
    return LibraryStatus(
        counts=add(summary.counts for summary in ordered),
        worst=worst(item for summary in ordered for item in summary.worst),
        reports=[summary.config_map for summary in ordered if summary.config_map],
        shards_reported=len(ordered),
        shards=shards,
    )


# --- the report in a ConfigMap ----------------------------------------------------------


def pack(report: LibraryReport, budget: int = CONFIG_MAP_BUDGET) -> tuple[str, LibraryReport]:
    """The report gzipped and base64-encoded for a ConfigMap's binaryData, and the report
    as packed: when the whole does not fit, each file's report is trimmed as a termination
    message is, then dropped (the file's status and problems stay), and a note says so."""
    steps = (
        ("", lambda item: item),
        ("each file's report trimmed to 4096 bytes", _trimmed),
        ("the files' reports (only their status and failing checks are kept)", _bare),
    )
    packed = ""
    for note, step in steps:
        files = [step(item) for item in report.files]
        current = report.model_copy(
            update={"files": files, "notes": [*report.notes, *([note] if note else [])]}
        )
        packed = _encode(current)
        if len(packed) <= budget:
            return packed, current
    return packed, current


def pack_single(report: ProbeReport, budget: int = CONFIG_MAP_BUDGET) -> str:
    """One source's report (with its pictures, if it has them), packed as `pack` does. When
    the whole does not fit, the pictures go first (a note says so), and the rest is trimmed
    as a termination message only in the unlikely case that it still does not fit."""
    packed = _encode(report)
    if len(packed) <= budget:
        return packed
    if isinstance(report, DetailedReport) and report.pictures is not None:
        note = "the pictures (they did not fit in the report ConfigMap)"
        packed = _encode(plain(report).model_copy(update={"notes": [*report.notes, note]}))
        if len(packed) <= budget:
            return packed
    return _encode(ProbeReport.model_validate_json(fit(report)))


def unpack_single(packed: str) -> DetailedReport | None:
    """One source's packed report (`pack_single`), with its pictures if it has them, or
    None when it cannot be read."""
    try:
        return DetailedReport.model_validate(_decode(packed))
    except (OSError, ValueError, ValidationError):
        return None


def unpack(packed: str) -> LibraryReport | None:
    """A packed library report, or None when it cannot be read (it is then probed again)."""
    try:
        return LibraryReport.model_validate(_decode(packed))
    except (OSError, ValueError, ValidationError):
        return None


def merged(shards: Sequence[LibraryReport], *, expected: int) -> LibraryReport:
    """Every shard's report as one: all the files, worst first, counted again; a shard of
    the `expected` ones that left no report fails the whole, as in the status."""
    ordered = sorted(shards, key=lambda report: report.shard)
    files = worst_first(item for report in ordered for item in report.files)
    counts = count(files)
    notes = list(dict.fromkeys(note for report in ordered for note in report.notes))
    found = {report.shard for report in ordered}
    missing = [str(shard) for shard in range(expected) if shard not in found]
    if missing:
        notes.append(f"no report from shard {', '.join(missing)}: its files are left out")
    first = ordered[0] if ordered else None
    return LibraryReport(
        source=first.source if first else "",
        profile=first.profile if first else "standard",
        thresholds=first.thresholds if first else {},
        shards=expected,
        verdict=Verdict.FAIL if missing or not files else verdict_of(counts),
        counts=counts,
        files=files,
        notes=notes,
    )


def _decode(packed: str) -> object:
    return json.loads(gzip.decompress(base64.b64decode(packed)))


def _encode(report: StatusModel) -> str:
    text = to_json(report, indent=None).encode()
    return base64.b64encode(gzip.compress(text, mtime=0)).decode()


def _trimmed(item: LibraryFile) -> LibraryFile:
    if item.report is None:
        return item
    small = ProbeReport.model_validate_json(fit(item.report))
    return item.model_copy(update={"report": small})


def _bare(item: LibraryFile) -> LibraryFile:
    return item.model_copy(update={"report": None})
