"""An adaptive bit rate ladder as players and distributors read it: a multivariant playlist
whose figures are true, and renditions that agree segment for segment."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import m3u8
import pytest

from playout.media.hls import ParsedPlaylist, parse_playlist
from tests.streaming import (
    LiveFollow,
    StartStreamer,
    channel_document,
    follow_live_playlist,
    make_clip,
    streams,
)

LADDER = [
    {"height": 360, "bitrateKbps": 900},
    {"height": 240, "bitrateKbps": 450},
    {"height": 144, "bitrateKbps": 200},
]


# The length of each episode of shows/A.
EPISODE_SECONDS = 5


@pytest.fixture(scope="module")
def shows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Short episodes of other shapes and rates than the output, so the boundaries come
    often; a busy picture, so the encoders have work at every bit rate."""
    root = tmp_path_factory.mktemp("media")
    make_clip(root / "shows/A/A S01E01.mkv", EPISODE_SECONDS, size="480x270", rate=25, tone=300)
    make_clip(
        root / "shows/A/A S01E02.mkv", EPISODE_SECONDS, size="320x240", rate=30, source="mandelbrot"
    )
    make_clip(
        root / "shows/A/A S01E03.mkv", EPISODE_SECONDS, size="640x360", rate=25, source="rgbtestsrc"
    )
    # Copy mode: one shape, keyframes every second (make_clip's GOP is one second).
    make_clip(root / "shows/Copy/C S01E01.mp4", 6, size="640x360", rate=25, tone=500)
    make_clip(root / "shows/Copy/C S01E02.mp4", 6, size="640x360", rate=25, tone=600)
    return root


def ladder_channel(name: str, program: str, **output: Any) -> dict[str, Any]:
    document = channel_document(name, [{"path": program}])
    document["spec"]["output"].update(
        video={"width": 640, "height": 360, "frameRate": 25, "preset": "ultrafast"},
        renditions=LADDER,
        **output,
    )
    return document


def probe(url: str) -> dict[str, dict[str, Any]]:
    return streams(url, "width,height,profile,level,r_frame_rate")


def fetch_all(get: Any, paths: list[str]) -> list[str]:
    """The renditions' playlists as a player switching between them would see them: read
    again until no segment was published between the first read and the last."""
    for _ in range(20):
        texts = [get(path).decode() for path in paths]
        if len(set(texts)) == 1:
            return texts
        time.sleep(0.2)
    return texts


def test_three_renditions_share_every_segment_boundary(
    shows: Path, streamer_for: StartStreamer
) -> None:
    streamer = streamer_for(ladder_channel("ladder", "shows/A"), shows)
    streamer.wait_for_playlist(3, path="/live/360p/index.m3u8")

    # The multivariant playlist, as third-party tools read it.
    master = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    assert master.is_variant
    assert [p.uri for p in master.playlists] == [
        "360p/index.m3u8",
        "240p/index.m3u8",
        "144p/index.m3u8",
    ]
    assert [p.stream_info.resolution for p in master.playlists] == [
        (640, 360),
        (426, 240),
        (256, 144),
    ]
    assert all(p.stream_info.frame_rate == 25.0 for p in master.playlists)

    # Follow every rendition for half a minute, across several item boundaries.
    paths = [f"/live/{p.uri}" for p in master.playlists]
    follows: dict[str, LiveFollow] = {}

    def follow(path: str) -> None:
        follows[path] = follow_live_playlist(lambda: streamer.get(path).decode(), 30, 2)

    threads = [threading.Thread(target=follow, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for path in paths:
        assert follows[path].problems == [], path
        assert follows[path].transitions >= 4, path

    # Line for line the same playlist: sequence numbers, durations, discontinuities, times.
    texts = fetch_all(streamer.get, paths)
    assert len(set(texts)) == 1, texts
    playlist: ParsedPlaylist = parse_playlist(texts[0])

    # What each rendition really is, and its bandwidth within 10% of the truth.
    master = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    window = sum(s.duration for s in playlist.segments)
    # Items that start in the window, at most (see the rate bound below).
    starts = math.ceil(window / EPISODE_SECONDS) + 1
    for variant, height, rung in zip(master.playlists, (360, 240, 144), LADDER, strict=True):
        rates = []
        for segment in playlist.segments:
            size = len(streamer.get(f"/live/{variant.uri.rpartition('/')[0]}/{segment.uri}"))
            rates.append(size * 8 / segment.duration)
        truth = max(rates)
        assert abs(variant.stream_info.bandwidth - truth) <= 0.1 * truth, (variant.uri, truth)
        average = sum(r * s.duration for r, s in zip(rates, playlist.segments, strict=True))
        average /= window
        assert abs(variant.stream_info.average_bandwidth - average) <= 0.1 * average
        # A rung never far above its target: maxrate caps it, audio and TS overhead added,
        # and every item's encoder may start by spending its whole buffer (2x the rate, see
        # media/ffmpeg.py), which with 5 s episodes is a share of the window a long show's
        # first seconds never are.
        bound = (rung["bitrateKbps"] + 64) * 1000 * 1.35
        bound += starts * rung["bitrateKbps"] * 2 * 1000 / window
        assert average <= bound, (variant.uri, average, bound)

        info = probe(
            f"{streamer.url}/live/{variant.uri.rpartition('/')[0]}/{playlist.segments[-1].uri}"
        )
        assert (info["video"]["height"], info["video"]["r_frame_rate"]) == (height, "25/1")
        profile = {"High": "64", "Main": "4d", "Constrained Baseline": "42"}[
            info["video"]["profile"]
        ]
        video_codec, audio_codec = variant.stream_info.codecs.split(",")
        assert video_codec.startswith(f"avc1.{profile}")
        assert int(video_codec[-2:], 16) == info["video"]["level"]
        assert audio_codec == "mp4a.40.2"
    ladder_rates = [v.stream_info.average_bandwidth for v in master.playlists]
    assert ladder_rates == sorted(ladder_rates, reverse=True)
    assert b"playout_rendition_misaligned_segments_total 0.0" in streamer.get("/metrics")


def test_copy_mode_passes_the_source_through_as_the_top_rendition(
    shows: Path, streamer_for: StartStreamer
) -> None:
    document = ladder_channel("copyladder", "shows/Copy", mode="copy")
    streamer = streamer_for(document, shows)
    streamer.wait_for_playlist(4, path="/live/360p/index.m3u8")
    follow_live_playlist(lambda: streamer.get("/live/144p/index.m3u8").decode(), 16, 2)
    master_text = streamer.get("/live/index.m3u8").decode()
    # A copied source may have open GOPs: its segments are not promised independent.
    assert "EXT-X-INDEPENDENT-SEGMENTS" not in master_text
    master = m3u8.loads(master_text)
    paths = [f"/live/{p.uri}" for p in master.playlists]
    texts = fetch_all(streamer.get, paths)
    assert len(set(texts)) == 1
    last = parse_playlist(texts[0]).segments[-1].uri
    source = probe(str(shows / "shows/Copy/C S01E01.mp4"))["video"]
    top = probe(f"{streamer.url}/live/360p/{last}")["video"]
    # The top rendition is the source's own stream: its encoder's profile and level.
    assert (top["width"], top["height"], top["profile"], top["level"]) == (
        source["width"], source["height"], source["profile"], source["level"],
    )  # fmt: skip
    assert [
        probe(f"{streamer.url}/live/{n}/{last}")["video"]["height"] for n in ("240p", "144p")
    ] == [240, 144]
    assert b"playout_rendition_misaligned_segments_total 0.0" in streamer.get("/metrics")
    assert b"playout_copy_fallbacks_total 0.0" in streamer.get("/metrics")


def test_a_rendition_that_does_not_exist_is_not_found(
    shows: Path, streamer_for: StartStreamer
) -> None:
    import urllib.error
    import urllib.request

    streamer = streamer_for(ladder_channel("names", "shows/A"), shows)
    playlist = streamer.wait_for_playlist(1, path="/live/144p/index.m3u8")
    for bad in (
        "/live/1080p/index.m3u8",
        f"/live/1080p/{playlist.segments[0].uri}",
        "/live/144p/../state.json",
    ):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(streamer.url + bad)
        assert caught.value.code == 404
