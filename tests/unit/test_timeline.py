"""The timeline: slots on the clock (midnight, weekdays, DST), filler to the boundary, breaks
away from the edges of items, exact ends, and the guide's view of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from playout.api.channel import ChannelSpec
from playout.streamer.timeline import (
    MAX_PART_SECONDS,
    Library,
    MediaFile,
    Planned,
    cut,
    join_point,
    on_air,
    plan,
    plan_key,
    programmes,
    slot_starts,
    start_cursor,
    ts_offset,
)

BERLIN = ZoneInfo("Europe/Berlin")
FRAME = 1 / 30
SHOWS = [MediaFile(f"shows/S01E{n:02d}.mkv", 22 * 60 + n) for n in range(1, 7)]
NEWS = [MediaFile("news/today.mkv", 14 * 60 + 3.5)]
MOVIES = [MediaFile("movies/long.mkv", 2 * 3600 + 5), MediaFile("movies/short.mkv", 95 * 60)]
FILLER = [MediaFile(f"filler/f{n}.mkv", 30.0 + n) for n in range(3)]


def spec(**fields: Any) -> ChannelSpec:
    base: dict[str, Any] = {
        "media": {"persistentVolumeClaim": {"claimName": "m"}},
        "programs": [
            {"name": "shows", "path": "shows"},
            {"name": "news", "path": "news"},
            {"name": "movies", "path": "movies"},
        ],
        "filler": {"path": "filler"},
    }
    return ChannelSpec.model_validate({**base, **fields})


LIBRARY = Library(
    programs={"shows": SHOWS, "news": NEWS, "movies": MOVIES}, filler=FILLER, bumpers=()
)


def planned(
    channel: ChannelSpec, start: datetime, hours: float, library: Library = LIBRARY
) -> list[Planned]:
    entries, cursor = plan(
        channel, library, start_cursor(channel, start), until=start + timedelta(hours=hours)
    )
    assert cursor.at >= start + timedelta(hours=hours)
    return entries


def assert_contiguous(entries: list[Planned], segment_seconds: int = 2) -> None:
    for before, after in pairwise(entries):
        assert after.at == before.end, (before, after)
        assert after.sequence == before.sequence + before.segments(segment_seconds)
        assert before.length > 0


def starts_of(entries: list[Planned], program: str) -> list[datetime]:
    return [
        e.at
        for e in entries
        if e.entry.program == program and e.entry.kind == "item" and e.part == 0
    ]


def test_lineup_mode_plays_back_to_back_with_exact_ends() -> None:
    start = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    entries = planned(spec(), start, 6)
    assert_contiguous(entries)
    items = [e for e in entries if e.entry.kind == "item"]
    assert [e.entry.program for e in items[:3]] == ["shows", "news", "movies"]
    assert items[0].length == pytest.approx(SHOWS[0].duration, abs=FRAME)
    assert all(round(e.length * 30, 6).is_integer() for e in entries)


def test_slots_start_on_time_and_filler_pads_to_the_boundary() -> None:
    channel = spec(
        schedule={
            "timezone": "Europe/Berlin",
            "slots": [
                {"start": "07:00", "program": "news"},
                {"start": "08:00", "program": "shows"},
                {"start": "20:00", "program": "movies"},
                {"start": "23:30", "program": "shows", "fill": "slate"},
            ],
        }
    )
    start = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    entries = planned(channel, start, 48)
    assert_contiguous(entries)
    for local_day in (1, 2):
        for hour, minute, program in ((7, 0, "news"), (8, 0, "shows"), (20, 0, "movies")):
            at = datetime(2026, 12, local_day, hour, minute, tzinfo=BERLIN).astimezone(UTC)
            index = on_air(entries, at)
            assert index is not None
            # The slot's first item starts on the boundary, within one frame.
            starting = [e for e in entries if abs((e.at - at).total_seconds()) <= FRAME]
            assert starting and starting[0].entry.program == program, at
    # Nothing runs over a boundary: the news slot (one 14-minute item) is padded with filler.
    seven = datetime(2026, 12, 2, 7, 0, tzinfo=BERLIN).astimezone(UTC)
    eight = seven + timedelta(hours=1)
    inside = [e for e in entries if seven <= e.at < eight]
    assert {e.entry.kind for e in inside} == {"item", "filler"}
    assert inside[-1].end == pytest.approx(eight, abs=timedelta(seconds=FRAME))
    # `fill: slate` pads with the slate instead.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=BERLIN).astimezone(UTC)
    tail = [e for e in entries if late <= e.at < late + timedelta(hours=7, minutes=30)]
    assert {e.entry.kind for e in tail} <= {"item", "slate"}


def test_slot_across_midnight_and_on_weekdays_only() -> None:
    channel = spec(
        schedule={
            "timezone": "Europe/Berlin",
            "slots": [
                {"start": "22:00", "program": "movies"},
                {"start": "02:00", "program": "shows"},
                {"start": "07:00", "program": "news", "days": ["mon", "tue", "wed", "thu", "fri"]},
            ],
        }
    )
    # 2026-12-05 is a Saturday: no news slot that morning, the 02:00 slot runs on.
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    entries = planned(channel, start, 72)
    assert_contiguous(entries)
    news = [at.astimezone(BERLIN) for at in starts_of(entries, "news")]
    assert {at.strftime("%a") for at in news} == {"Fri", "Mon"}  # none on the weekend
    assert "Mon 07:00" in [at.strftime("%a %H:%M") for at in news]
    movies = starts_of(entries, "movies")
    assert all(at.astimezone(BERLIN).hour in (22, 23, 0, 1) for at in movies)


def test_daylight_saving_forward_and_back() -> None:
    slots = [{"start": "02:30", "program": "news"}, {"start": "06:00", "program": "shows"}]
    starts = slot_starts(
        [*spec(schedule={"slots": slots}).schedule.slots],
        "Europe/Berlin",
        datetime(2027, 3, 27, tzinfo=UTC),
        datetime(2027, 3, 29, tzinfo=UTC),
    )
    utc = [when for when, slot in starts if slot.start == "02:30"]
    # 28 March 2027: 02:30 does not exist in Berlin; the slot airs at 03:30 CEST (01:30 UTC).
    assert datetime(2027, 3, 28, 1, 30, tzinfo=UTC) in utc
    assert datetime(2027, 3, 27, 1, 30, tzinfo=UTC) in utc  # 02:30 CET the day before
    autumn = slot_starts(
        [*spec(schedule={"slots": slots}).schedule.slots],
        "Europe/Berlin",
        datetime(2026, 10, 24, tzinfo=UTC),
        datetime(2026, 10, 26, tzinfo=UTC),
    )
    # 25 October 2026: 02:30 happens twice; the slot airs at the first (CEST, 00:30 UTC).
    assert datetime(2026, 10, 25, 0, 30, tzinfo=UTC) in [w for w, _ in autumn]
    assert datetime(2026, 10, 25, 1, 30, tzinfo=UTC) not in [w for w, _ in autumn]
    # The day is 25 hours long: the 06:00 slot starts at 05:00 UTC, a CET hour.
    assert datetime(2026, 10, 25, 5, 0, tzinfo=UTC) in [w for w, _ in autumn]
    channel = spec(schedule={"timezone": "Europe/Berlin", "slots": slots})
    entries = planned(channel, datetime(2026, 10, 24, 12, tzinfo=UTC), 48)
    assert_contiguous(entries)


def test_a_slot_shorter_than_every_item_is_all_filler() -> None:
    channel = spec(
        schedule={
            "slots": [
                {"start": "10:00", "program": "movies"},
                {"start": "10:30", "program": "news"},
            ]
        }
    )
    entries = planned(channel, datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 26)
    ten = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    inside = [e for e in entries if ten <= e.at < ten + timedelta(minutes=30)]
    assert inside and {e.entry.kind for e in inside} == {"filler"}
    # Whole clips, then one shortened to land on the boundary; the rotation goes on.
    assert sorted(e.entry.path or "" for e in inside[:3]) == [f.path for f in FILLER]
    assert inside[-1].length < 33
    assert inside[-1].end == pytest.approx(
        ten + timedelta(minutes=30), abs=timedelta(seconds=FRAME)
    )
    # `cut` plays the movie and cuts it at the boundary instead.
    cut = spec(
        schedule={
            "slots": [
                {"start": "10:00", "program": "movies", "fill": "cut"},
                {"start": "10:30", "program": "news"},
            ]
        }
    )
    entries = planned(cut, datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 26)
    inside = [e for e in entries if ten <= e.at < ten + timedelta(minutes=30)]
    assert [e.entry.kind for e in inside] == ["item"]
    assert inside[0].length == pytest.approx(1800, abs=FRAME)


def test_one_item_programs_and_empty_folders() -> None:
    channel = spec(schedule={"slots": [{"start": "00:00", "program": "news"}]})
    entries = planned(channel, datetime(2026, 12, 1, tzinfo=UTC), 25)
    news = starts_of(entries, "news")
    assert len(news) > 50  # the one item plays again and again, 14 min + filler to fit
    empty = Library(programs={"shows": [], "news": [], "movies": []}, filler=FILLER)
    entries = planned(channel, datetime(2026, 12, 1, tzinfo=UTC), 2, library=empty)
    assert {e.entry.kind for e in entries} == {"filler"}
    # Nothing at all to play: the lineup plans a few minutes of slate, not days of it.
    nothing = Library(programs={"shows": [], "news": [], "movies": []})
    lineup, cursor = plan(
        spec(), nothing, start_cursor(spec(), datetime(2026, 12, 1, tzinfo=UTC)),
        until=datetime(2026, 12, 4, tzinfo=UTC),
    )  # fmt: skip
    assert {e.entry.kind for e in lineup} == {"slate"}
    assert cursor.at <= datetime(2026, 12, 1, 0, 10, tzinfo=UTC)


def test_breaks_are_never_in_the_first_or_last_minute() -> None:
    channel = spec(breaks=[{"program": "shows", "everyMinutes": 8, "seconds": 90}])
    entries = planned(channel, datetime(2026, 12, 1, tzinfo=UTC), 4)
    assert_contiguous(entries)
    show_parts = [e for e in entries if e.entry.program == "shows"]
    # 22 minutes: breaks after 8 and 16 minutes, three parts.
    first = [e for e in show_parts if e.entry.path == SHOWS[0].path]
    assert [round(e.entry.start) for e in first] == [0, 480, 960]
    assert [e.part for e in first] == [0, 1, 2]
    breaks = [e for e in entries if e.avail is not None]
    assert breaks
    for mark in {e.avail for e in breaks if e.avail and e.avail.offset == 0}:
        assert mark.length == pytest.approx(90, abs=FRAME)
        inside = [e for e in breaks if e.avail and e.avail.id == mark.id]
        assert sum(e.length for e in inside) == pytest.approx(90, abs=FRAME)
    short = spec(breaks=[{"program": "news", "everyMinutes": 2, "seconds": 30}])
    news = [
        e for e in planned(short, datetime(2026, 12, 1, tzinfo=UTC), 1) if e.entry.program == "news"
    ]
    first_news = [e for e in news if e.entry.path == NEWS[0].path][:8]
    points = [e.entry.start for e in first_news]
    assert min(p for p in points if p > 0) >= 60
    assert max(points) <= NEWS[0].duration - 60


def test_fourteen_days_ahead() -> None:
    channel = spec(
        schedule={
            "timezone": "America/New_York",
            "guideDays": 14,
            "slots": [
                {"start": "06:00", "program": "news"},
                {"start": "09:00", "program": "shows"},
                {"start": "19:30", "program": "movies"},
            ],
        },
        breaks=[{"program": "movies", "everyMinutes": 15, "seconds": 120}],
    )
    start = datetime(2026, 12, 1, tzinfo=UTC)
    entries = planned(channel, start, 14 * 24)
    assert_contiguous(entries)
    assert entries[-1].end >= start + timedelta(days=14)


def test_two_plans_agree_and_ts_offsets_follow_the_clock() -> None:
    channel = spec(schedule={"slots": [{"start": "00:00", "program": "shows"}]})
    epoch = datetime(2026, 12, 1, tzinfo=UTC)
    a = planned(channel, epoch, 10)
    b = planned(channel, epoch, 10)
    assert a == b
    assert ts_offset(epoch + timedelta(seconds=90), epoch) == 100  # 10 s of room for B-frames
    assert ts_offset(epoch + timedelta(hours=13), epoch) == 3610
    index = on_air(a, epoch + timedelta(minutes=5, seconds=3))
    assert index is not None
    joined = join_point(a[index], epoch + timedelta(minutes=5, seconds=3), 2)
    assert joined is not None and joined % 2 == 0
    assert a[index].at + timedelta(seconds=joined) >= epoch + timedelta(minutes=5, seconds=3)
    # On a boundary, that boundary; past the last one, none.
    assert join_point(a[0], a[0].at + timedelta(seconds=4), 2) == 4
    assert join_point(a[0], a[0].end, 2) is None


def test_guide_programmes_fold_breaks_and_padding() -> None:
    channel = spec(
        schedule={
            "slots": [
                {"start": "00:00", "program": "news"},
                {"start": "01:00", "program": "movies"},
            ]
        },
        breaks=[{"program": "news", "everyMinutes": 5, "seconds": 60}],
    )
    entries = planned(channel, datetime(2026, 12, 1, tzinfo=UTC), 5)
    guide = programmes(entries)
    for before, after in pairwise(guide):
        assert after.start == before.stop
    first = guide[0]
    assert first.title == "today"
    assert len(first.breaks) == 2  # 14 minutes: breaks at 5 and 10 minutes
    # 14 min + 2 breaks + filler to the next news at 00:... : folded while under 5 minutes.
    assert all(p.kind in ("item", "filler") for p in guide)


def test_copy_mode_breaks_fall_on_keyframes() -> None:
    keyframes = tuple(float(t) for t in range(0, 22 * 60, 7))  # a keyframe every 7 s
    show = MediaFile("shows/S01E01.mkv", 22 * 60, keyframes)
    channel = spec(
        output={"mode": "copy"}, breaks=[{"program": "shows", "everyMinutes": 8, "seconds": 30}]
    )
    library = Library(programs={"shows": [show], "news": NEWS, "movies": MOVIES}, filler=FILLER)
    entries = planned(channel, datetime(2026, 12, 1, tzinfo=UTC), 1, library=library)
    parts = [e for e in entries if e.entry.path == show.path][:3]
    # 480 s and 960 s move to the nearest keyframes, 483 and 959.
    assert [e.entry.start for e in parts] == [0.0, 483.0, 959.0]
    assert all(e.entry.start in keyframes for e in parts)


@pytest.mark.parametrize("with_breaks", [False, True], ids=["plain", "with-breaks"])
def test_an_item_too_long_for_the_timestamps_airs_in_parts(with_breaks: bool) -> None:
    """A 30-hour recording: no run of ffmpeg reaches the 2^33 wrap of MPEG-TS timestamps
    (about 26.5 h). It airs in parts of at most 12 hours, back to back where no break falls
    (the breaks, where the program has them, stay where they were), and the guide shows it
    as one programme."""
    epoch = datetime(2026, 12, 1, tzinfo=UTC)
    marathon = MediaFile("movies/marathon.mkv", 30 * 3600)
    breaks = [{"program": "movies", "everyMinutes": 240, "seconds": 60}] if with_breaks else []
    channel = spec(programs=[{"name": "movies", "path": "movies"}], breaks=breaks)
    library = Library(programs={"movies": [marathon]}, filler=FILLER)
    entries = planned(channel, epoch, 40, library=library)
    assert_contiguous(entries)
    parts = [e for e in entries if e.entry.path == marathon.path][: 8 if with_breaks else 3]
    wrap = 2**33 / 90_000
    for part in parts:
        assert part.length <= MAX_PART_SECONDS
        assert ts_offset(part.at, epoch) + part.length < wrap
    assert [p.final for p in parts] == [False] * (len(parts) - 1) + [True]
    assert sum(p.length for p in parts) == pytest.approx(marathon.duration, abs=len(parts) * FRAME)
    if with_breaks:
        # Breaks every 4 hours; the 12-hour limit never cuts between two of them.
        assert [round(p.entry.start / 3600, 3) for p in parts] == [0, 4, 8, 12, 16, 20, 24, 28]
        inside = entries[: entries.index(parts[-1])]
        assert len({e.avail.id for e in inside if e.avail is not None}) == 7
    else:
        assert [p.entry.start for p in parts] == [0, MAX_PART_SECONDS, 2 * MAX_PART_SECONDS]
        assert entries[: len(parts)] == parts  # nothing between the parts
    (programme, *later) = programmes(entries)
    assert programme.path == marathon.path and programme.start == parts[0].at
    assert all(p.start >= parts[-1].end for p in later)


def test_the_plan_key_follows_what_planning_reads() -> None:
    base = spec(schedule={"slots": [{"start": "06:00", "program": "news"}]})
    same = spec(
        schedule={"slots": [{"start": "06:00", "program": "news"}]},
        output={"video": {"bitrateKbps": 5000}},
        guide={"number": "7"},
    )
    assert plan_key(base) == plan_key(same)  # bit rate and guide number plan nothing
    moved = spec(schedule={"slots": [{"start": "07:00", "program": "news"}]})
    assert plan_key(moved) != plan_key(base)
    faster = spec(
        schedule={"slots": [{"start": "06:00", "program": "news"}]},
        output={"video": {"frameRate": 25}},
    )
    assert plan_key(faster) != plan_key(base)


def test_a_skipped_entry_ends_where_it_was_cut_and_the_lineup_moves_up() -> None:
    """`kubectl playout skip` on a lineup: the entry ends on the segment grid where the
    engine stopped, everything after it (breaks too) starts that much earlier, contiguous,
    with the sequence numbers of the segments that are no longer made taken off."""
    channel = spec(breaks=[{"program": "shows", "everyMinutes": 8, "seconds": 90}])
    start = datetime(2026, 12, 1, tzinfo=UTC)
    entries, cursor = plan(
        channel, LIBRARY, start_cursor(channel, start), until=start + timedelta(hours=3)
    )
    victim = entries[0]
    assert victim.length > 100
    cut_entries, cut_cursor = cut(entries, cursor, victim, 100.0, 2)
    assert cut_entries[0] == replace(victim, length=100.0)
    assert_contiguous(cut_entries)
    early = timedelta(seconds=victim.length - 100.0)
    fewer = victim.segments(2) - 50
    for before, after in zip(entries[1:], cut_entries[1:], strict=True):
        assert after.at == before.at - early
        assert after.sequence == before.sequence - fewer
        assert after.entry == before.entry
        if before.avail is not None:
            assert after.avail is not None and after.avail.start == before.avail.start - early
    assert cut_cursor.at == cursor.at - early and cut_cursor.sequence == cursor.sequence - fewer
    # Cut before its first segment, the entry goes altogether.
    gone, _ = cut(entries, cursor, victim, 0.0, 2)
    assert gone[0].at == victim.at and gone[0].entry == entries[1].entry
    assert_contiguous(gone)
