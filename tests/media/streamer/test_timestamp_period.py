"""MPEG-TS timestamps wrap at 2^33 ticks of 90 kHz (about 26.5 h). The engine restarts them
every TS_PERIOD of the channel's clock, at the next entry boundary, which starts a
discontinuity: never inside a run of ffmpeg (an item longer than 12 hours airs in parts).
A channel whose clock is a few seconds short of the
period shows it, on the real engine and ffmpeg."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from playout.media.ffmpeg import EARLIEST_TS_OFFSET, MPEG_TS_CLOCK
from playout.media.hls import parse_playlist
from playout.streamer.timeline import MAX_PART_SECONDS, TS_PERIOD
from tests.streaming import StartStreamer, channel_document, make_clip, streams

pytestmark = pytest.mark.fault

# The MPEG-TS clock's range, in seconds.
TS_WRAP = 2**33 / MPEG_TS_CLOCK
# The longest run of ffmpeg whose timestamps cannot wrap, wherever in the period it starts.
LONGEST_UNWRAPPED = TS_WRAP - TS_PERIOD - EARLIEST_TS_OFFSET
ITEM_SECONDS = 11


def test_the_period_leaves_room_for_the_longest_part_of_an_item() -> None:
    """Longer items air in parts (the timeline's unit tests show it)."""
    assert LONGEST_UNWRAPPED > MAX_PART_SECONDS


def test_timestamps_restart_at_the_first_entry_after_the_period(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    # 11 s items do not divide the 12-hour period: the mark falls inside one of them.
    for episode in (1, 2, 3):
        make_clip(tmp_path / f"media/shows/Show S01E0{episode}.mkv", ITEM_SECONDS)
    document = channel_document("period", [{"path": "shows"}])
    mark = datetime.now(UTC) + timedelta(seconds=25)
    document["metadata"]["creationTimestamp"] = (mark - timedelta(seconds=TS_PERIOD)).isoformat()
    streamer = streamer_for(document, tmp_path / "media")
    streamer.wait_for_playlist(2)
    # Every segment as it is published, from before the mark to well after it.
    starts: dict[int, tuple[bool, float]] = {}
    while datetime.now(UTC) < mark + timedelta(seconds=30):
        playlist = parse_playlist(streamer.get("/live/index.m3u8").decode())
        for segment in playlist.segments:
            if segment.sequence not in starts:
                (tmp_path / "segment.ts").write_bytes(streamer.get(f"/live/{segment.uri}"))
                first = float(
                    streams(str(tmp_path / "segment.ts"), "start_time")["video"]["start_time"]
                )
                starts[segment.sequence] = (segment.discontinuity, first)
        time.sleep(0.5)
    ordered = [starts[sequence] for sequence in sorted(starts)]
    # Timestamps rise inside every entry (between discontinuities), on both sides of the mark,
    resets = [
        index
        for index, (discontinuity, start) in enumerate(ordered)
        if index and start < ordered[index - 1][1]
    ]
    assert resets, ordered
    assert all(ordered[index][0] for index in resets), ordered
    # ... the entry that spans the mark goes on past the period, never wrapping inside ...
    assert max(start for _, start in ordered) > TS_PERIOD + EARLIEST_TS_OFFSET - ITEM_SECONDS, (
        ordered
    )
    # ... and the first entry after it starts again from the bottom of the range: its start
    # after the mark, at most an item later.
    (reset,) = resets
    assert ordered[reset][1] <= EARLIEST_TS_OFFSET + ITEM_SECONDS + 0.1, ordered
    print(
        f"\ntimestamps reached {max(start for _, start in ordered):.3f}s in the entry that spans "
        f"the period; the next entry started at {ordered[reset][1]:.3f}s, a discontinuity"
    )
