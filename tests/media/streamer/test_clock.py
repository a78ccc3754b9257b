"""The clock decides what airs (real ffmpeg, slots a few minutes apart from now).

One ten-minute run covers the issue's whole story, because each part needs minutes of
real time: slots that start on time, a guide read at the start that the as-run log
matches for every programme through bumpers, "Up next" cards, ad breaks, a SIGKILL restart
and a file deleted mid-run; break markers that parse as SCTE-35 and sit on segment
boundaries; a second engine, started 20 s later, that publishes the same segments; and
ffmpeg, reading the live stream as Jellyfin or Plex would, seeing no timestamp go back.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import threefive  # type: ignore[import-untyped]

from playout.media.hls import ParsedPlaylist, parse_playlist, playlist_violations, reload_violations
from tests.streaming import StartStreamer, channel_document, make_clip
from tests.xmltv import assert_valid, xmltv_dtd

SEGMENT = 2
RUN_SECONDS = 600


def _xmltv_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S %z").astimezone(UTC)


def _rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clock-media")
    # Long enough for a mid-roll break (none in the first or last minute).
    make_clip(root / "shows/Show S01E01.mkv", 185, size="320x240", rate=25, tone=300)
    make_clip(root / "shows/Show S01E02.mkv", 40, size="320x240", rate=30, tone=350)
    make_clip(root / "shows/Show S01E03.mkv", 37.3, size="480x270", rate=25, tone=400)
    make_clip(root / "news/News Today.mkv", 31.7, size="320x240", rate=25, tone=500)
    make_clip(root / "news/News Later.mkv", 23.1, size="320x240", rate=25, audio=False)
    for n in range(3):
        make_clip(root / f"filler/promo {n}.mp4", 6 + n, size="320x240", rate=25, tone=700 + n)
    make_clip(root / "bumpers/ident.mp4", 3, size="320x240", rate=25, tone=1000)
    return root


class Follower(threading.Thread):
    """Reloads a playlist once a second, collecting rule violations and every segment."""

    def __init__(self, fetch: Any) -> None:
        super().__init__(daemon=True)
        self.fetch = fetch
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.segments: dict[int, Any] = {}
        self.last: ParsedPlaylist | None = None

    def run(self) -> None:
        while not self.stop.wait(1):
            playlist = self.fetch()
            if playlist is None:
                continue  # the engine is restarting
            self.problems += playlist_violations(playlist)
            if self.last is not None:
                self.problems += reload_violations(self.last, playlist)
            for segment in playlist.segments:
                # The first segment of a window carries no DISCONTINUITY tag: keep what the
                # segment looked like when it had one.
                if segment.discontinuity or segment.sequence not in self.segments:
                    self.segments[segment.sequence] = segment
            self.last = playlist


def test_the_clock_decides_what_airs(
    library: Path, streamer_for: StartStreamer, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=40)
    slot_times = [start + timedelta(seconds=s) for s in (0, 150, 300, 450)]
    clock = [t.strftime("%H:%M:%S") for t in slot_times]
    document = channel_document(
        "clock",
        [{"path": "shows"}, {"path": "news"}],
        schedule={
            "timezone": "UTC",
            "guideDays": 1,
            "slots": [
                {"start": clock[0], "program": "shows"},
                {"start": clock[1], "program": "news"},
                {"start": clock[2], "program": "shows", "fill": "cut"},
                {"start": clock[3], "program": "news", "fill": "slate"},
            ],
        },
        filler={"path": "filler"},
        bumpers={"path": "bumpers", "upNext": True, "upNextSeconds": 2},
        breaks=[{"program": "shows", "everyMinutes": 2, "seconds": 10}],
    )
    # The channel's epoch, as the operator passes it: both engines count time from it.
    document["metadata"]["creationTimestamp"] = (start - timedelta(minutes=5)).isoformat()
    first = streamer_for(document, library, tmp_path / "a")
    first.wait_for_playlist()
    guide_text = first.get("/xmltv.xml").decode()
    assert_valid(guide_text, xmltv_dtd())
    guide = ElementTree.fromstring(guide_text)
    planned = [
        (p.findtext("title"), _xmltv_time(p.get("start", "")), _xmltv_time(p.get("stop", "")))
        for p in guide.iter("programme")
    ]
    follower = Follower(first.playlist)
    follower.start()

    # ffmpeg as an IPTV client: 45 s across item boundaries, no timestamp going back.
    client = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "warning", "-t", "45",
         "-i", first.url + "/live/index.m3u8", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert not re.findall(r"(?i)non[- ]monoton", client.stderr), client.stderr[-3000:]

    second = streamer_for(document, library, tmp_path / "b")
    second.wait_for_playlist()

    # SIGKILL mid-run: the engine comes back within a segment or two, on the same timeline.
    time.sleep(max(0.0, (start + timedelta(seconds=200) - datetime.now(UTC)).total_seconds()))
    first.stop(signal.SIGKILL)
    first.start()
    first.wait_for_playlist()

    # A file deleted before its turn: its time airs filler, the timeline does not move.
    deleted = "news/News Later.mkv"
    (library / deleted).unlink()

    deadline = start + timedelta(seconds=RUN_SECONDS - 40)
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()))
    follower.stop.set()
    follower.join()
    assert not follower.problems, follower.problems[:10]

    asrun = [
        __import__("json").loads(line) for line in first.get("/asrun?limit=10000").splitlines()
    ]
    aired = [r for r in asrun if r["kind"] == "item" and not r.get("joinedAt")]
    # Every slot starts on time, within one segment.
    for boundary in slot_times:
        if boundary > deadline - timedelta(seconds=10):
            continue
        near = [
            r for r in asrun if abs((_rfc3339(r["start"]) - boundary).total_seconds()) <= SEGMENT
        ]
        assert near, f"nothing started at the slot boundary {boundary}"
    # The guide read at the start holds for every programme that aired since.
    window = [p for p in planned if start - timedelta(seconds=30) <= p[1] <= deadline]
    assert len(window) >= 8, planned
    starts = [_rfc3339(r["start"]) for r in asrun]
    for title, begins, _ in window:
        closest = min(abs((s - begins).total_seconds()) for s in starts)
        assert closest <= SEGMENT, f"{title} at {begins}: nearest as-run start {closest:.1f}s away"
    assert any(r["kind"] == "bumper" for r in asrun)
    assert any(r["kind"] == "up-next" for r in asrun)
    assert any(r.get("break") for r in asrun)
    # The deleted file's time aired as filler, with the reason.
    substituted = [r for r in asrun if r.get("reason")]
    assert substituted and all(r["kind"] in ("filler", "slate") for r in substituted)
    assert {r["kind"] for r in aired} == {"item"}

    # Break markers: on a segment boundary (a segment of its own entry), real SCTE-35.
    segments = [follower.segments[k] for k in sorted(follower.segments)]
    outs = [s for s in segments if s.cue_out]
    assert outs, "no break reached the playlist"
    for segment in outs:
        assert segment.discontinuity  # the break is a new entry, so a new segment
        assert segment.break_duration == pytest.approx(10, abs=0.05)
        (opening,) = [d for d in segment.dateranges if d.scte35_out]
        assert opening.start_date == segment.program_date_time
        cue = threefive.Cue(opening.scte35_out)
        cue.decode()
        command = cue.command
        assert command.command_type == 5  # splice_insert
        assert command.out_of_network_indicator is True
        assert command.break_duration == pytest.approx(10, abs=0.05)
    returns = [s for s in segments if s.cue_in]
    assert returns and all(s.discontinuity for s in returns)
    assert any(d.scte35_in for s in returns for d in s.dateranges)

    # Two engines, 20 s apart, publish the same segments: time, title and length.
    a = {s.sequence: s for s in (first.playlist() or parse_playlist("#EXTM3U\n")).segments}
    b = {s.sequence: s for s in (second.playlist() or parse_playlist("#EXTM3U\n")).segments}
    shared = sorted(set(a) & set(b))
    assert len(shared) >= 3, (sorted(a), sorted(b))
    for sequence in shared:
        left, right = a[sequence], b[sequence]
        assert left.program_date_time == right.program_date_time
        assert left.duration == pytest.approx(right.duration, abs=1e-3)
        assert _first_pts(first.url, left.uri) == _first_pts(second.url, right.uri)


def _first_pts(base: str, uri: str) -> int:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts",
         "-read_intervals", "%+#1", "-of", "csv=p=0", f"{base}/live/{uri}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return int(result.stdout.split()[0].split(",")[0])
