"""The report as a web page people look at: the verdict, a table of checks, the loudness
graph, a strip of where each check found something and the pictures at those times; for a
library, a sortable table of its files, each linking to its checks. Pure: a report in,
one self-contained page out (inline SVG, CSS and pictures; it opens offline)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from playout.api.probejob import (
    Check,
    CheckStatus,
    DetailedReport,
    LibraryFile,
    LibraryReport,
    LoudnessCurve,
    ProbeReport,
    Thumbnail,
    TimeRange,
)
from playout.prober.library import SEVERITY, file_status
from playout.prober.pictures import events_of, picture_for
from playout.prober.report import describe

WIDTH = 960
"""Of the graph and the strip, in CSS pixels."""
_AXIS = 104
"""Room left of the plots for their labels (a check's name)."""
_RIGHT = 24
_FLOOR_DB = -60.0
_CEILING_DB = 3.0
_EVENTS_LISTED = 10

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#1d2430}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.1em;margin:1.6em 0 .5em}
.muted{color:#5b6472} code{font-size:.95em}
.status{display:inline-block;min-width:3.6em;padding:.05em .5em;border-radius:.6em;
 text-align:center;font-weight:600;text-transform:uppercase;font-size:.8em;color:#fff}
.pass{background:#2e7d32} .warn{background:#b26a00} .fail,.error{background:#c62828}
.verdict{font-size:1.05em;padding:.2em .8em}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.3em .5em;
 border-bottom:1px solid #e3e6ea;vertical-align:top} th{background:#f4f6f8}
th[data-sort]{cursor:pointer} th[data-sort]:after{content:" \\2195";color:#9aa3ad}
td.number{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
svg{display:block;background:#fbfcfd;border:1px solid #e3e6ea}
svg text{font:11px system-ui,sans-serif;fill:#5b6472}
.pictures{display:flex;flex-wrap:wrap;gap:.8em} figure{margin:0;width:160px}
figure img{display:block;width:160px;border:1px solid #ccd2d8}
figcaption{font-size:.8em;color:#5b6472}
"""
_SORTING = """
document.querySelectorAll("th[data-sort]").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var up = th.dataset.order !== "up"; th.dataset.order = up ? "up" : "down";
    var key = function (row) {
      var cell = row.children[column];
      return cell.dataset.key !== undefined ? cell.dataset.key : cell.textContent;
    };
    var numeric = th.dataset.sort === "number";
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = numeric ? x - y : x.localeCompare(y, undefined, {numeric: true});
      return up ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: Iterable[str], *, script: str = "") -> str:
    scripts = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + scripts
        + "</body></html>\n"
    )


def _status(status: CheckStatus | str, *, extra: str = "") -> str:
    value = status.value if isinstance(status, CheckStatus) else status
    return f'<span class="status {_e(value)} {extra}">{_e(value)}</span>'


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{int(value // 60)}:{value % 60:04.1f}"


def _range(event: TimeRange) -> str:
    return f"{_seconds(event.start)} to {_seconds(event.end)}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


# --- one source -------------------------------------------------------------------------


def report_page(report: ProbeReport, *, source: str, profile: str) -> str:
    """The page of one source's report; a `DetailedReport` adds its graph and pictures."""
    pictures = report.pictures if isinstance(report, DetailedReport) else None
    thumbnails = pictures.thumbnails if pictures is not None else []
    span = _span(report, pictures.loudness if pictures else None, thumbnails)
    verdict = report.verdict.value if report.verdict else "error"
    body = [
        f"<h1>{_e(source)}</h1>",
        f'<p>{_status(verdict, extra="verdict")} <span class="muted">{_e(profile)} profile'
        + (f", {report.elapsed_seconds:.1f} s to probe" if report.elapsed_seconds else "")
        + "</span></p>",
    ]
    if report.summary is not None:
        body.append(f'<p class="muted">{_e(describe(report.summary))}</p>')
    events = events_of(report.checks)
    if events and span:
        body += ["<h2>Where</h2>", _event_strip(report.checks, span)]
    if pictures is not None and pictures.loudness is not None and pictures.loudness.seconds:
        body += ["<h2>Loudness</h2>", _loudness_graph(pictures.loudness, report.checks, span)]
    body += ["<h2>Checks</h2>", _checks_table(report.checks)]
    if thumbnails:
        body += _event_pictures(events, thumbnails)
        body += ["<h2>Across the media</h2>", _strip_pictures(thumbnails)]
    body += _notes(report.notes)
    return _page(f"{source}: {verdict}", body)


def _span(
    report: ProbeReport, loudness: LoudnessCurve | None, thumbnails: Sequence[Thumbnail]
) -> float:
    """How much time the graph and the strip show."""
    ends = [event.end for check in report.checks for event in check.events]
    if report.summary is not None and report.summary.duration_seconds:
        ends.append(report.summary.duration_seconds)
    if loudness is not None and loudness.seconds:
        ends.append(loudness.seconds[-1])
    ends += [thumbnail.seconds for thumbnail in thumbnails]
    return max(ends, default=0.0)


def _x(seconds: float, span: float) -> float:
    share = seconds / span if span > 0 else 0.0  # a source shorter than a block
    return _AXIS + (WIDTH - _AXIS - _RIGHT) * min(max(share, 0.0), 1.0)


def _time_axis(span: float, bottom: float) -> list[str]:
    steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]
    step = next((s for s in steps if span / s <= 10), 7200)
    marks = []
    tick = 0.0
    while tick <= span:
        x = _x(tick, span)
        marks.append(
            f'<line x1="{x:.1f}" y1="{bottom - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#9aa3ad"/>'
            f'<text x="{x:.1f}" y="{bottom + 12}" text-anchor="middle">{_seconds(tick)}</text>'
        )
        tick += step
    return marks


def _event_strip(checks: Sequence[Check], span: float) -> str:
    rows = [check for check in checks if check.events]
    row_height = 18
    height = row_height * len(rows) + 24
    parts = [
        f'<svg id="events" role="img" aria-label="Where each check found something" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">'
    ]
    for row, check in enumerate(rows):
        y = row * row_height + 4
        colour = "#c62828" if check.status in (CheckStatus.FAIL, CheckStatus.ERROR) else "#b26a00"
        parts.append(f'<text x="4" y="{y + 11}">{_e(check.name)}</text>')
        for event in check.events:
            x = _x(event.start, span)
            width = max(_x(event.end, span) - x, 2.0)
            parts.append(
                f'<a href="#event-{_e(check.name)}-{event.start:g}">'
                f'<rect class="event" x="{x:.1f}" y="{y}" width="{width:.1f}" height="12" '
                f'fill="{colour}"><title>{_e(check.name)} {_range(event)}</title></rect></a>'
            )
    parts += _time_axis(span, height - 14)
    parts.append("</svg>")
    return "".join(parts)


def _threshold(checks: Sequence[Check], name: str) -> float | None:
    return next((check.threshold for check in checks if check.name == name), None)


def _loudness_graph(curve: LoudnessCurve, checks: Sequence[Check], span: float) -> str:
    height, top, bottom = 280, 8.0, 256.0

    def y(db: float) -> float:
        share = (min(max(db, _FLOOR_DB), _CEILING_DB) - _CEILING_DB) / (_FLOOR_DB - _CEILING_DB)
        return top + (bottom - top) * share

    parts = [
        f'<svg id="loudness" role="img" aria-label="Loudness over time" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}">'
    ]
    for db in range(0, int(_FLOOR_DB) - 1, -10):
        parts.append(
            f'<line x1="{_AXIS}" y1="{y(db):.1f}" x2="{WIDTH - _RIGHT}" y2="{y(db):.1f}" '
            f'stroke="#e3e6ea"/><text x="{_AXIS - 4}" y="{y(db) + 4:.1f}" '
            f'text-anchor="end">{db}</text>'
        )
    lines = (
        ("momentary", curve.momentary, "#90a4ae", 1.0),
        ("short-term", curve.short_term, "#1565c0", 2.0),
        ("true peak so far", curve.true_peak, "#c62828", 1.5),
    )
    for name, values, colour, width in lines:
        for run in _runs(curve.seconds, values):
            points = " ".join(f"{_x(t, span):.1f},{y(v):.1f}" for t, v in run)
            parts.append(
                f'<polyline class="{name.replace(" ", "-")}" points="{points}" fill="none" '
                f'stroke="{colour}" stroke-width="{width}"/>'
            )
    limits = (
        ("target", _threshold(checks, "loudness"), "#1565c0"),
        ("true peak limit", _threshold(checks, "truePeak"), "#c62828"),
    )
    legend = [(name, colour) for name, _, colour, _ in lines]
    for name, value, colour in limits:
        if value is None:
            continue
        parts.append(
            f'<line class="{name.replace(" ", "-")}" x1="{_AXIS}" y1="{y(value):.1f}" '
            f'x2="{WIDTH - _RIGHT}" y2="{y(value):.1f}" stroke="{colour}" stroke-dasharray="6 4">'
            f"<title>{_e(name)} {value:g}</title></line>"
        )
        legend.append((f"{name} {value:g}", colour))
    for number, (name, colour) in enumerate(legend):
        x = _AXIS + 8 + number * 150
        parts.append(
            f'<rect x="{x}" y="{top + 2}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{top + 7}">{_e(name)}</text>'
        )
    parts += _time_axis(span, height - 14)
    parts.append(f'<text x="4" y="{top + 10}">LUFS</text></svg>')
    return "".join(parts)


def _runs(
    seconds: Sequence[float], values: Sequence[float | None]
) -> list[list[tuple[float, float]]]:
    """The curve's unbroken stretches: a null (nothing measured) breaks the line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for time, value in zip(seconds, values, strict=False):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((time, value))
    return [run for run in runs if run]


def _checks_table(checks: Sequence[Check]) -> str:
    rows = [
        "<table id=checks><thead><tr><th>Status</th><th>Check</th><th>Value</th>"
        "<th>Threshold</th><th>What was found</th></tr></thead><tbody>"
    ]
    for check in checks:
        shown = check.events[:_EVENTS_LISTED]
        more = (check.events_total or len(check.events)) - len(shown)
        where = ", ".join(_range(event) for event in shown)
        where += f" and {more} more" if more > 0 else ""
        rows.append(
            f"<tr><td>{_status(check.status)}</td><td><code>{_e(check.name)}</code></td>"
            f'<td class="number">{_number(check.value)}</td>'
            f'<td class="number">{_number(check.threshold)}</td>'
            f"<td>{_e(check.message)}"
            + (f'<br><span class="muted">at {_e(where)}</span>' if where else "")
            + "</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _figure(thumbnail: Thumbnail, caption: str, *, anchor: str = "") -> str:
    id_ = f' id="{_e(anchor)}"' if anchor else ""
    return (
        f'<figure{id_}><img alt="{_e(caption)}" width="160" '
        f'src="data:image/jpeg;base64,{thumbnail.jpeg}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _event_pictures(
    events: Sequence[tuple[str, TimeRange]], thumbnails: Sequence[Thumbnail]
) -> list[str]:
    if not events:
        return []
    taken = [thumbnail.seconds for thumbnail in thumbnails]
    figures = []
    for name, event in events:
        number = picture_for(event, taken)
        if number is None:
            continue
        picture = thumbnails[number]
        caption = f"{name} {_range(event)} (picture at {_seconds(picture.seconds)})"
        figures.append(_figure(picture, caption, anchor=f"event-{name}-{event.start:g}"))
    return ["<h2>At each event</h2>", f'<div class="pictures">{"".join(figures)}</div>']


def _strip_pictures(thumbnails: Sequence[Thumbnail]) -> str:
    figures = "".join(_figure(t, _seconds(t.seconds)) for t in thumbnails)
    return f'<div class="pictures">{figures}</div>'


def _notes(notes: Sequence[str]) -> list[str]:
    if not notes:
        return []
    items = "".join(f"<li>{_e(note)}</li>" for note in notes)
    return [f"<h2>Notes</h2><ul>{items}</ul>"]


# --- a library --------------------------------------------------------------------------


def library_page(report: LibraryReport) -> str:
    """One row per file (sortable by any column), each linking to its checks below."""
    verdict = report.verdict.value if report.verdict else "error"
    counts = report.counts
    body = [
        f"<h1>{_e(report.source)}</h1>",
        f'<p>{_status(verdict, extra="verdict")} <span class="muted">'
        f"{_e(report.profile.value)} profile: {counts.total} files, {counts.passed} pass, "
        f"{counts.warned} warn, {counts.failed} fail, {counts.errors} error"
        + (f", {counts.reused} unchanged since the last run" if counts.reused else "")
        + "</span></p>",
        _files_table(report.files),
    ]
    body += [_file_details(number, item) for number, item in enumerate(report.files)]
    body += _notes(report.notes)
    return _page(f"{report.source}: {verdict}", body, script=_SORTING)


def _files_table(files: Sequence[LibraryFile]) -> str:
    rows = [
        "<table id=files><thead><tr><th data-sort=number>Status</th>"
        "<th data-sort=text>File</th><th data-sort=text>Problems</th>"
        "<th data-sort=number>Size</th></tr></thead><tbody>"
    ]
    for number, item in enumerate(files):
        size = f"{item.size_bytes / 1e6:.1f} MB" if item.size_bytes is not None else ""
        reused = ' <span class="muted">(unchanged)</span>' if item.reused else ""
        rows.append(
            # Ascending puts the worst first.
            f'<tr><td data-key="{-SEVERITY[item.status]}">'
            f"{_status(item.status)}</td>"
            f'<td><a href="#file-{number}">{_e(item.path)}</a>{reused}</td>'
            f"<td>{_e(', '.join(item.problems))}</td>"
            f'<td class="number" data-key="{item.size_bytes or 0}">{size}</td></tr>'
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _file_details(number: int, item: LibraryFile) -> str:
    report = item.report
    status = file_status(report) if report is not None else item.status
    head = f'<h2 id="file-{number}">{_status(status)} {_e(item.path)}</h2>'
    if report is None:
        return head + '<p class="muted">Its report was left out to keep the library small.</p>'
    summary = f'<p class="muted">{_e(describe(report.summary))}</p>' if report.summary else ""
    return head + summary + _checks_table(report.checks) + "".join(_notes(report.notes))
