"""What `kubectl playout` prints, from the models: status, the guide, the as-run log and
reports, with and without colour."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playout.api.channel import ChannelSpec, ChannelStatus
from playout.api.probejob import (
    Check,
    CheckStatus,
    LibraryReport,
    ProbeJobStatus,
    ProbeProfile,
    ProbeReport,
    Summary,
    TimeRange,
)
from playout.kubectl import views
from playout.prober import library
from playout.streamer.timeline import Library, MediaFile, plan, programmes, start_cursor

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
PLAIN = views.Palette(colour=False)
COLOUR = views.Palette(colour=True)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def stamp(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def live_status(**extra: object) -> ChannelStatus:
    return ChannelStatus.model_validate(
        {
            "phase": "Live",
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "Live", "message": "segments reported at 13:59:58",
                 "lastTransitionTime": stamp(-3600)},
                {"type": "OnSchedule", "status": "True", "reason": "OnTime",
                 "lastTransitionTime": stamp(-3600)},
            ],
            "nowPlaying": {"program": "shows", "item": "shows/Cheers/S01E02.mkv",
                           "title": "Cheers S01E02", "startedAt": stamp(-750),
                           "positionSeconds": 750, "durationSeconds": 1325},
            "schedule": {"next": [{"title": "ident", "start": stamp(575), "kind": "bumper"},
                                  {"title": "Cheers S01E03", "start": stamp(577)}],
                         "driftSeconds": 0.12},
            "skipped": [{"item": "shows/Cheers/S01E09.mkv", "reason": "undecodable",
                         "at": stamp(-60)}],
            "stream": {"url": "http://classics.tv.svc/live/index.m3u8"},
            **extra,
        }
    )  # fmt: skip


def probe(name: str, verdict: str | None, ran: float | None) -> views.ProbeVerdict:
    status = ProbeJobStatus.model_validate(
        {"verdict": verdict, "lastRunAt": stamp(ran) if ran is not None else None}
    )
    return views.ProbeVerdict(name, status)


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert views.colour_wanted(terminal=True, environ={})
    assert not views.colour_wanted(terminal=False, environ={})
    assert not views.colour_wanted(terminal=True, environ={"NO_COLOR": "1"})
    assert views.colour_wanted(terminal=True, environ={"NO_COLOR": ""})  # set, but empty
    assert (
        COLOUR("Live", views.GOOD) != "Live" and ANSI.sub("", COLOUR("Live", views.GOOD)) == "Live"
    )
    assert PLAIN("Live", views.GOOD) == "Live"


def test_a_channels_status_says_what_is_on_air_next_and_how_it_fares() -> None:
    text = views.status_view(
        "classics",
        live_status(),
        pipelines=views.Pipelines(desired=1, ready=1),
        probes=[probe("old-check", "fail", -7200), probe("classics-check", "pass", -300)],
        paint=PLAIN,
        zone=UTC,
        now=NOW,
    )
    assert text.splitlines() == [
        "classics  Live",
        "  segments reported at 13:59:58",
        "  on air     Cheers S01E02  (shows) since 13:47:30, 12:30 of 22:05",
        "  next       14:09:35  ident (bumper)",
        "             14:09:37  Cheers S01E03",
        "  pipelines  1/1 ready",
        "  drift      +0.12 s",
        "  skipped    13:59:00  shows/Cheers/S01E09.mkv  undecodable",
        "  probe      classics-check PASS at 13:55:00",
        "  stream     http://classics.tv.svc/live/index.m3u8",
    ]


def test_status_in_colour_paints_phase_verdict_and_problems() -> None:
    text = views.status_view(
        "classics",
        live_status(phase="Degraded"),
        pipelines=views.Pipelines(desired=1, ready=0),
        probes=[probe("classics-check", "fail", -300)],
        paint=COLOUR,
        zone=UTC,
        now=NOW,
    )
    assert "\x1b[" in text
    plain = ANSI.sub("", text)
    assert plain.splitlines()[0] == "classics  Degraded"
    assert "0/1 ready" in plain and "classics-check FAIL" in plain
    # Red for the failed probe, yellow for the degraded phase.
    assert "\x1b[31m\x1b[1mFAIL" in text
    assert "\x1b[33mDegraded" in text


def test_a_channel_without_a_status_yet() -> None:
    text = views.status_view(
        "news", ChannelStatus(), pipelines=None, probes=[], paint=PLAIN, zone=UTC, now=NOW
    )
    assert text.splitlines() == [
        "news  no status yet",
        "  on air  nothing",
        "  drift   -",
        "  probe   -",
    ]


def test_one_line_per_channel() -> None:
    text = views.channels_view(
        [("classics", live_status()), ("news", ChannelStatus())],
        probes={"classics": [probe("classics-check", "warn", -300)]},
        paint=PLAIN,
        zone=UTC,
        now=NOW,
    )
    assert text.splitlines() == [
        "NAME       PHASE   ON AIR          NEXT             DRIFT     PROBE",
        "classics   Live    Cheers S01E02   14:09:35 ident   +0.12 s   classics-check warn",
        "news       -       -               -                -         -",
    ]
    # Colour does not move the columns.
    coloured = views.channels_view(
        [("classics", live_status()), ("news", ChannelStatus())],
        probes={"classics": [probe("classics-check", "warn", -300)]},
        paint=COLOUR,
        zone=UTC,
        now=NOW,
    )
    assert ANSI.sub("", coloured) == text


def test_the_guide_from_the_timeline_marks_what_is_on_air() -> None:
    spec = ChannelSpec.model_validate(
        {
            "media": {"persistentVolumeClaim": {"claimName": "m"}},
            "programs": [{"name": "shows", "path": "shows"}],
            "breaks": [{"program": "shows", "everyMinutes": 8, "seconds": 60}],
        }
    )
    shows = [MediaFile(f"shows/Show S01E0{n}.mkv", 20 * 60) for n in (1, 2, 3)]
    library = Library(programs={"shows": shows}, filler=(), bumpers=())
    start = NOW - timedelta(minutes=30)
    entries, _ = plan(spec, library, start_cursor(spec, start), until=NOW + timedelta(hours=2))
    text = views.guide_view(programmes(entries), now=NOW, hours=1, paint=PLAIN, zone=UTC)
    lines = text.splitlines()
    assert lines[0].startswith("> 13:")  # the programme on air, marked
    assert all(line.startswith("  ") for line in lines[1:])
    assert "Show S01E02" in lines[0] and "[2 breaks]" in lines[0]
    # Nothing that starts after the hour.
    starts = [line[2:10] for line in lines]
    assert all(start < "15:00:00" for start in starts)
    assert views.guide_view([], now=NOW, hours=6, paint=PLAIN, zone=UTC) == (
        "Nothing planned in the next 6 hours."
    )


def test_the_asrun_log_says_what_aired_and_what_was_skipped() -> None:
    records = [
        {"id": "item-1", "kind": "item", "title": "Cheers S01E02", "start": stamp(-750),
         "driftSeconds": 0.04},
        {"id": "item-1", "event": "skipped", "kind": "item", "title": "Cheers S01E02",
         "end": stamp(-10), "reason": "skipped by request (playout.dev/skip: x)"},
        {"id": "filler-2", "kind": "filler", "title": "Filler", "start": stamp(-10),
         "driftSeconds": -0.5, "reason": "requested"},
    ]  # fmt: skip
    text = views.asrun_view(records, paint=PLAIN, zone=UTC, now=NOW)
    assert text.splitlines() == [
        "13:47:30  item     Cheers S01E02  drift +0.04 s",
        "13:59:50  ended early  Cheers S01E02 (item): skipped by request (playout.dev/skip: x)",
        "13:59:50  filler   Filler  drift -0.50 s  instead (requested)",
    ]
    assert views.asrun_view([], paint=PLAIN, zone=UTC, now=NOW) == "Nothing aired yet."


def test_a_reports_checks_as_a_table() -> None:
    report = ProbeReport(
        verdict="warn",
        summary=Summary(container="matroska", duration_seconds=90.0, bit_rate=2_000_000),
        checks=[
            Check(name="readable", status=CheckStatus.PASS, message="ok"),
            Check(
                name="black",
                status=CheckStatus.WARN,
                message="2 black stretches",
                events=[TimeRange(start=1, end=2), TimeRange(start=5, end=6)],
            ),
        ],
        notes=["a note"],
    )
    assert views.report_view("clip", report, paint=PLAIN).splitlines() == [
        "clip: WARN",
        "  matroska, 90.00 s, 2.00 Mb/s",
        "  STATUS CHECK     MESSAGE",
        "  PASS   readable  ok",
        "  WARN   black     2 black stretches (2 events)",
        "  note: a note",
    ]


def test_a_library_report_has_a_row_per_file_worst_first() -> None:
    files = [
        library.file_result(
            path,
            ProbeReport(checks=[Check(name=name, status=status) for name, status in checks]),
            size=1,
            modified=1.0,
        )
        for path, checks in (
            ("S01E01.mkv", [("readable", CheckStatus.PASS)]),
            ("S01E02.mkv", [("black", CheckStatus.WARN)]),
            ("S01E03.mkv", [("decodeErrors", CheckStatus.FAIL), ("black", CheckStatus.WARN)]),
        )
    ]
    shard = LibraryReport(
        source="/media/shows/Cheers", profile=ProbeProfile.BROADCAST, files=files, shard=0, shards=2
    )
    other = LibraryReport(
        source="/media/shows/Cheers", profile=ProbeProfile.BROADCAST, shard=1, shards=2
    )
    text = views.library_view("cheers", library.merged([shard, other], expected=2), paint=PLAIN)
    assert text.splitlines() == [
        "cheers: FAIL  /media/shows/Cheers (broadcast profile, 2 shards)",
        "  3 files: 1 pass, 1 warn, 1 fail, 0 error; 0 unchanged since the run before",
        "  STATUS FILE  PROBLEMS",
        "  FAIL   S01E03.mkv  decodeErrors, black",
        "  WARN   S01E02.mkv  black",
        "  PASS   S01E01.mkv  -",
    ]
