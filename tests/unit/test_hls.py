"""The live playlist keeps RFC 8216's promises whatever is appended."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from playout.media.hls import LivePlaylist, PlaylistRuleError, Segment, parse_playlist

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
