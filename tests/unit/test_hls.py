"""The live playlist keeps RFC 8216's promises whatever is appended."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import m3u8
import pytest
import threefive
from pydantic import TypeAdapter

from playout.media.hls import (
    AdBreak,
    LivePlaylist,
    ParsedPlaylist,
    PlaylistRuleError,
    Segment,
    Variant,
    bandwidth,
    parse_playlist,
    playlist_violations,
    reload_violations,
    render_multivariant,
)

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


def fill(playlist: LivePlaylist, count: int, *, every: int = 0, duration: float = 2.0) -> None:
    for _ in range(count):
        sequence = playlist.next_sequence
        start = playlist.end_time or T0
        playlist.append(
            Segment(
                sequence,
                f"seg-1-{sequence}.ts",
                duration,
                start,
                discontinuity=bool(every) and sequence % every == 0,
            )
        )


def test_window_slides_and_counters_only_grow() -> None:
    playlist = LivePlaylist(target_duration=2, window=5)
    seen = []
    for _ in range(40):
        fill(playlist, 1, every=7)
        parsed = parse_playlist(playlist.render())
        seen.append((parsed.media_sequence, parsed.discontinuity_sequence))
        assert len(parsed.segments) <= 5
        assert parsed.target_duration == 2
    assert seen == sorted(seen)
    assert seen[-1][0] == 35


def test_discontinuity_numbers_survive_sliding() -> None:
    """Each segment keeps its discontinuity sequence number from reload to reload."""
    playlist = LivePlaylist(target_duration=2, window=4)
    numbers: dict[str, int] = {}
    for _ in range(30):
        fill(playlist, 1, every=3)
        for segment in parse_playlist(playlist.render()).segments:
            assert (
                numbers.setdefault(segment.uri, segment.discontinuity_sequence)
                == segment.discontinuity_sequence
            )


def test_program_date_time_is_continuous() -> None:
    playlist = LivePlaylist(target_duration=2, window=6)
    fill(playlist, 10, every=4)
    segments = parse_playlist(playlist.render()).segments
    for before, after in itertools.pairwise(segments):
        assert before.program_date_time is not None and after.program_date_time is not None
        assert after.program_date_time == before.program_date_time + timedelta(
            seconds=before.duration
        )


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (Segment(5, "x.ts", 2.0, T0 + timedelta(seconds=10)), "does not follow"),
        (Segment(2, "x.ts", 3.6, T0 + timedelta(seconds=4)), "exceeds TARGETDURATION"),
        (Segment(2, "x.ts", 2.0, T0), "PROGRAM-DATE-TIME would move back"),
        (Segment(2, "seg-1-1.ts", 2.0, T0 + timedelta(seconds=4)), "already in the playlist"),
    ],
)
def test_rule_breaking_segments_are_refused(segment: Segment, message: str) -> None:
    playlist = LivePlaylist(target_duration=2, window=5)
    fill(playlist, 2)
    with pytest.raises(PlaylistRuleError, match=message):
        playlist.append(segment)


def test_collect_keeps_a_grace_of_removed_segments() -> None:
    playlist = LivePlaylist(target_duration=2, window=3)
    fill(playlist, 10)
    assert len(playlist.removed) == 7
    expired = playlist.collect(keep=3)
    assert [s.sequence for s in expired] == [0, 1, 2, 3]
    assert [s.sequence for s in playlist.removed] == [4, 5, 6]
    assert playlist.collect(keep=3) == []


def test_render_shape() -> None:
    playlist = LivePlaylist(
        target_duration=2, window=3, media_sequence=100, discontinuity_sequence=4
    )
    fill(playlist, 2)
    playlist.append(
        Segment(
            102,
            "seg-1-102.ts",
            1.5,
            T0 + timedelta(seconds=4),
            discontinuity=True,
            title="Cheers, S01E02",
        )
    )
    text = playlist.render()
    assert text.splitlines()[:5] == [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:100",
        "#EXT-X-DISCONTINUITY-SEQUENCE:4",
    ]
    assert (
        "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:00:04.000Z\n#EXTINF:1.500,Cheers  S01E02\nseg-1-102.ts"
        in text
    )
    assert "#EXT-X-ENDLIST" not in text


def test_parser_counts_a_leading_discontinuity() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\nb.ts\n#EXT-X-ENDLIST\n"
    parsed = parse_playlist(text)
    assert [(s.sequence, s.discontinuity_sequence) for s in parsed.segments] == [(7, 4), (8, 4)]
    assert parsed.ended
    with pytest.raises(ValueError, match="EXTM3U"):
        parse_playlist("hello")


def test_fractional_durations_keep_each_segment_time_across_reloads() -> None:
    """EXTINF rounds to milliseconds; a time derived from it would drift from the stated
    one as the window slides (seen in the live test with 2.0667 s segments)."""
    from playout.media.hls import reload_violations

    playlist = LivePlaylist(target_duration=2, window=4)
    previous = None
    for _ in range(30):
        fill(playlist, 1, duration=2.0666667)
        current = parse_playlist(playlist.render())
        if previous is not None:
            assert reload_violations(previous, current) == []
        assert all(s.program_date_time is not None for s in current.segments)
        previous = current


# --- ad breaks ----------------------------------------------------------------------------

# A break of 8 s over segments 3-6 (2 s each); segment 7 is the return.
BREAK = AdBreak(
    id="break-1795780806",
    event_id=1_795_780_806,
    start=T0 + timedelta(seconds=6),
    duration=8.0,
    pts_seconds=16.0,
)
FIRST, LAST, RETURN = 3, 6, 7


def on_air(sequence: int) -> Segment:
    """Segment `sequence` of a stream with BREAK over segments FIRST..LAST."""
    marks: dict[str, Any] = {}
    if sequence == FIRST:
        marks["cue_out"] = BREAK
    elif FIRST < sequence <= LAST:
        marks.update(ad_break=BREAK, break_elapsed=2.0 * (sequence - FIRST))
    elif sequence == RETURN:
        marks["cue_in"] = BREAK
    return Segment(
        sequence,
        f"seg-1-{sequence}.ts",
        2.0,
        T0 + timedelta(seconds=2 * sequence),
        discontinuity=sequence in (FIRST, RETURN),
        **marks,
    )


def played(count: int, window: int) -> LivePlaylist:
    playlist = LivePlaylist(target_duration=2, window=window)
    for sequence in range(count):
        playlist.append(on_air(sequence))
    return playlist


def test_a_break_stays_marked_while_it_slides_out_of_the_window() -> None:
    """Every reload: the break's date range is listed while any of its segments is (at the
    top once its first segment has gone), the CUE tags sit on their segments, and the
    reload rules hold; our parser and the m3u8 library read the same."""
    playlist = LivePlaylist(target_duration=2, window=4)
    previous: ParsedPlaylist | None = None
    for sequence in range(14):
        playlist.append(on_air(sequence))
        text = playlist.render()
        current = parse_playlist(text)
        assert current.version == 3
        assert playlist_violations(current) == []
        if previous is not None:
            assert reload_violations(previous, current) == []
        previous = current

        listed = {s.sequence for s in current.segments}
        starts = [d for d in current.dateranges if d.scte35_out is not None]
        if listed & set(range(FIRST, LAST + 1)):
            assert [d.id for d in starts] == [BREAK.id]
            assert starts[0].planned_duration == 8.0
            assert starts[0].start_date == BREAK.start
        else:
            assert starts == []
        first = current.segments[0]
        if FIRST < first.sequence <= LAST:
            assert text.splitlines()[5].startswith(f'#EXT-X-DATERANGE:ID="{BREAK.id}"')
            assert first.dateranges == tuple(starts)
        for segment in current.segments:
            n = segment.sequence
            assert segment.cue_out == (n == FIRST)
            assert segment.cue_in == (n == RETURN)
            in_break = FIRST <= n <= LAST
            assert segment.break_duration == (8.0 if in_break else None)
            assert segment.break_elapsed == (2.0 * (n - FIRST) if FIRST < n <= LAST else None)

        library = m3u8.loads(text)
        assert [s.uri for s in library.segments] == [s.uri for s in current.segments]
        for theirs, ours in zip(library.segments, current.segments, strict=True):
            assert theirs.cue_out_start == ours.cue_out
            assert theirs.cue_in == ours.cue_in
            assert theirs.cue_out == (FIRST <= ours.sequence <= LAST)
            assert theirs.program_date_time == ours.program_date_time
            assert [d.id for d in theirs.dateranges] == [d.id for d in ours.dateranges]
            assert [d.scte35_out for d in theirs.dateranges] == [
                d.scte35_out for d in ours.dateranges
            ]


def test_the_date_ranges_carry_the_break_as_scte35() -> None:
    parsed = parse_playlist(played(RETURN + 1, window=6).render())
    start, end = parsed.dateranges
    assert start.id == end.id == BREAK.id
    assert start.scte35_out is not None and end.scte35_in is not None
    assert end.start_date == BREAK.start
    assert end.end_date == T0 + timedelta(seconds=2 * RETURN)
    assert end.duration == 8.0

    out = threefive.Cue(start.scte35_out).command
    assert out.name == "Splice Insert"
    assert out.splice_event_id == BREAK.event_id
    assert out.out_of_network_indicator is True
    assert out.pts_time == pytest.approx(16.0)
    assert out.break_duration == pytest.approx(8.0) and out.break_auto_return is True
    back = threefive.Cue(end.scte35_in).command
    assert back.splice_event_id == BREAK.event_id
    assert back.out_of_network_indicator is False
    assert back.pts_time == pytest.approx(24.0)
    assert back.duration_flag is False


def test_render_shape_of_a_break() -> None:
    text = played(RETURN + 1, window=8).render()
    out = BREAK.scte35_out()
    assert (
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:00:06.000Z\n"
        f'#EXT-X-DATERANGE:ID="{BREAK.id}",START-DATE="2026-11-21T12:00:06.000Z",'
        f"PLANNED-DURATION=8.000,SCTE35-OUT={out}\n"
        "#EXT-X-CUE-OUT:DURATION=8.000\n"
        "#EXTINF:2.000,\nseg-1-3.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:00:08.000Z\n"
        "#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=8.000\n"
        "#EXTINF:2.000,\nseg-1-4.ts\n"
    ) in text
    assert (
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:00:14.000Z\n"
        f'#EXT-X-DATERANGE:ID="{BREAK.id}",START-DATE="2026-11-21T12:00:06.000Z",'
        'END-DATE="2026-11-21T12:00:14.000Z",DURATION=8.000,'
        f"SCTE35-IN={BREAK.scte35_in(actual=8.0)}\n"
        "#EXT-X-CUE-IN\n"
        "#EXTINF:2.000,\nseg-1-7.ts\n"
    ) in text
    assert text.count("#EXT-X-DATERANGE") == 2


def test_a_run_that_resumes_mid_break_lists_the_break_first() -> None:
    """After a restart that kept no window, the first segment may be inside a break."""
    playlist = LivePlaylist(target_duration=2, window=4, media_sequence=50)
    playlist.append(
        replace(on_air(5), sequence=50, uri="seg-2-50.ts", discontinuity=True, break_elapsed=4.0)
    )
    parsed = parse_playlist(playlist.render())
    assert [d.scte35_out for d in parsed.segments[0].dateranges] == [BREAK.scte35_out()]
    assert parsed.segments[0].break_elapsed == 4.0


def test_back_to_back_breaks_share_the_return_segment() -> None:
    second = AdBreak(
        id="break-2", event_id=2, start=T0 + timedelta(seconds=14), duration=4.0, pts_seconds=24.0
    )
    playlist = played(RETURN, window=8)
    playlist.append(replace(on_air(RETURN), cue_out=second))
    parsed = parse_playlist(playlist.render())
    last = parsed.segments[-1]
    assert last.cue_in and last.cue_out and last.break_duration == 4.0
    assert [d.id for d in last.dateranges] == [BREAK.id, "break-2"]
    assert playlist_violations(parsed) == []


LATER = AdBreak(
    id="break-2", event_id=2, start=T0 + timedelta(seconds=8), duration=4.0, pts_seconds=18.0
)


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ({"ad_break": BREAK}, "set together"),
        ({"break_elapsed": 2.0}, "set together"),
        ({"ad_break": LATER, "break_elapsed": 2.0}, "did not start"),
        ({"cue_out": replace(LATER, start=T0)}, "PROGRAM-DATE-TIME"),
        ({"cue_out": replace(LATER, id=BREAK.id)}, "already in the playlist"),
        ({"cue_out": LATER, "ad_break": BREAK, "break_elapsed": 2.0}, "first segment"),
        ({"cue_in": replace(LATER, start=T0 + timedelta(seconds=9))}, "ends before it starts"),
    ],
)
def test_break_fields_that_describe_no_single_break_are_refused(
    marks: dict[str, Any], message: str
) -> None:
    playlist = played(FIRST + 1, window=8)  # segment 3 starts BREAK
    with pytest.raises(PlaylistRuleError, match=message):
        playlist.append(
            replace(on_air(FIRST + 1), **({"ad_break": None, "break_elapsed": None} | marks))
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "break ID"),
        ({"id": 'a"b'}, "break ID"),
        ({"event_id": 2**32}, "splice_event_id"),
        ({"pts_seconds": -1.0}, "pts_seconds"),
        ({"duration": -1.0}, "duration_seconds"),
    ],
)
def test_a_break_that_cannot_be_signalled_is_refused_when_made(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BREAK, **changes)


def test_break_fields_survive_the_state_file_and_old_state_still_loads() -> None:
    """Segments are saved by pydantic inside the state file."""
    adapter = TypeAdapter(list[Segment])
    window = played(RETURN + 1, window=8).segments
    assert adapter.validate_json(adapter.dump_json(window)) == window
    old = '[{"sequence": 1, "uri": "a.ts", "duration": 2.0, "program_date_time": "2026-11-21T12:00:00Z", "discontinuity": false, "title": "x"}]'
    (segment,) = adapter.validate_json(old)
    assert segment.cue_out is segment.ad_break is segment.break_elapsed is segment.cue_in is None


def test_the_parser_reads_the_cue_forms_other_servers_write() -> None:
    text = """#EXTM3U
#EXT-X-TARGETDURATION:10
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:00:00Z
#EXT-X-CUE-OUT:30.000
#EXTINF:10,
a.ts
#EXT-X-CUE-OUT-CONT:10.000/30
#EXTINF:10,
b.ts
#EXT-X-CUE-OUT-CONT:ElapsedTime=20,Duration=30,SCTE35=/DAlAAAAAAAAAP/wFAUAAAPnf+/+ABH7nv4AKTLgAAEBAQAATRkqWQ==
#EXTINF:10,
c.ts
#EXT-X-CUE-IN
#EXT-X-DATERANGE:START-DATE="2026-11-21T12:00:30Z"
#EXT-X-CUE-OUT
#EXTINF:10,
d.ts
"""
    a, b, c, d = parse_playlist(text).segments
    assert (a.cue_out, a.break_duration, a.break_elapsed) == (True, 30.0, None)
    assert (b.cue_out, b.break_duration, b.break_elapsed) == (False, 30.0, 10.0)
    assert (c.break_duration, c.break_elapsed) == (30.0, 20.0)
    assert d.cue_in and d.cue_out and d.break_duration is None
    assert d.dateranges == ()  # no ID: illegal, ignored


def reloads() -> tuple[str, str]:
    """The playlist while the break's first segment is listed, then once it has gone."""
    playlist = played(LAST, window=3)
    before = playlist.render()
    playlist.append(on_air(LAST))
    return before, playlist.render()


def test_a_date_range_removed_while_its_break_is_listed_is_a_violation() -> None:
    before, after = reloads()
    stripped = "\n".join(line for line in after.splitlines() if "DATERANGE" not in line)
    problems = reload_violations(parse_playlist(before), parse_playlist(stripped + "\n"))
    assert problems == [
        f"EXT-X-DATERANGE {BREAK.id} was removed while segments it covers are listed"
    ]


def test_a_date_range_that_changes_between_reloads_is_a_violation() -> None:
    before, after = reloads()
    changed = after.replace("PLANNED-DURATION=8.000", "PLANNED-DURATION=9.000")
    problems = reload_violations(parse_playlist(before), parse_playlist(changed))
    assert problems == [f"EXT-X-DATERANGE {BREAK.id} changed PLANNED-DURATION"]


def test_cue_tags_that_change_between_reloads_are_a_violation() -> None:
    before, after = reloads()
    changed = after.replace("ElapsedTime=4.000", "ElapsedTime=5.000")
    assert reload_violations(parse_playlist(before), parse_playlist(changed)) == [
        "segment 5 changed its ad break tags"
    ]


def test_date_range_rules_within_one_playlist() -> None:
    text = played(RETURN + 1, window=8).render()
    no_time = "\n".join(line for line in text.splitlines() if "PROGRAM-DATE-TIME" not in line)
    assert "EXT-X-DATERANGE without EXT-X-PROGRAM-DATE-TIME" in playlist_violations(
        parse_playlist(no_time)
    )
    moved = text.replace(
        'START-DATE="2026-11-21T12:00:06.000Z",END', 'START-DATE="2026-11-21T12:00:07.000Z",END'
    )
    assert playlist_violations(parse_playlist(moved)) == [
        f"EXT-X-DATERANGE {BREAK.id} has two values for START-DATE"
    ]
    longer = text.replace("DURATION=8.000,SCTE35-IN", "DURATION=9.000,SCTE35-IN")
    assert playlist_violations(parse_playlist(longer)) == [
        f"EXT-X-DATERANGE {BREAK.id}: END-DATE is not START-DATE + DURATION"
    ]


def test_bandwidth_is_the_peak_segment_rate_and_the_average() -> None:
    assert bandwidth([(250_000, 2.0), (500_000, 2.0), (100_000, 1.0)]) == (2_000_000, 1_360_000)
    assert bandwidth([]) == (0, 0)


def test_the_multivariant_playlist_names_what_players_choose_by() -> None:
    text = render_multivariant(
        [
            Variant(
                "720p/index.m3u8",
                3_400_000,
                3_200_000,
                1280,
                720,
                29.97,
                ("avc1.64001f", "mp4a.40.2"),
            ),
            Variant("360p/index.m3u8", 900_000, 850_000, 640, 360, 29.97, ()),
        ]
    )
    parsed = m3u8.loads(text)
    assert parsed.is_variant and "#EXT-X-INDEPENDENT-SEGMENTS" in text
    top, low = parsed.playlists
    assert (top.uri, top.stream_info.bandwidth, top.stream_info.average_bandwidth) == (
        "720p/index.m3u8", 3_400_000, 3_200_000,
    )  # fmt: skip
    assert (top.stream_info.resolution, top.stream_info.frame_rate) == ((1280, 720), 29.97)
    assert top.stream_info.codecs == "avc1.64001f,mp4a.40.2"
    assert low.stream_info.codecs is None  # not yet known: left out, never guessed
    copied = render_multivariant(
        [Variant("source/index.m3u8", 1, 1, 2, 2, 25, ())], independent=False
    )
    assert m3u8.loads(copied).is_variant and "INDEPENDENT" not in copied
