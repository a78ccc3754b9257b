"""The picture as viewers see it: the channel's logo where it was asked for, interlaced
sources progressive, HDR sources in SDR BT.709, anamorphic sources in their own shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import m3u8
import pytest

from tests.streaming import StartStreamer, Streamer, channel_document, make_clip, streams

WIDTH, HEIGHT = 320, 240


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=120)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    for folder in ("Dark", "Interlaced", "HDR", "Wide"):
        (root / "shows" / folder).mkdir(parents=True)
    for episode in (1, 2):
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=5", "-f", "lavfi", "-i",
               "sine=d=5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
               str(root / f"shows/Dark/Dark S01E0{episode}.mkv"))  # fmt: skip
    make_clip(root / "bumpers/ident.mp4", 2, source="color")  # black
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", str(root / "logo.png"))
    # Interlaced: two fields of a moving picture woven into each frame, coded as fields.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=720x576:r=50:d=6", "-vf",
           "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-preset", "ultrafast",
           "-flags", "+ilme+ildct", "-x264-params", "tff=1", "-an",
           str(root / "shows/Interlaced/Interlaced S01E01.mkv"))  # fmt: skip
    # HDR10: 10-bit BT.2020 with the PQ transfer.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=6", "-vf", "format=yuv420p10le",
           "-c:v", "libx264", "-preset", "ultrafast", "-color_primaries", "bt2020",
           "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-an",
           str(root / "shows/HDR/HDR S01E01.mkv"))  # fmt: skip
    # Anamorphic PAL widescreen: 720x576 stored, shown 16:9 (pixels 64:45 wide); white.
    ffmpeg("-f", "lavfi", "-i", "color=c=white:s=720x576:r=25:d=6", "-vf", "setsar=64/45",
           "-c:v", "libx264", "-preset", "ultrafast", "-an",
           str(root / "shows/Wide/Wide S01E01.mkv"))  # fmt: skip
    return root


def frame(url: str) -> bytes:
    """The middle picture of a segment, as RGB."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-vf", "select=eq(n\\,10)", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip


def pixel(picture: bytes, x: int, y: int) -> tuple[int, int, int]:
    at = (y * WIDTH + x) * 3
    red, green, blue = picture[at : at + 3]
    return red, green, blue


def segments_of(streamer: Streamer, count: int = 3) -> list[Any]:
    streamer.wait_for_playlist(count)
    playlist = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    return [s for s in playlist.segments if s.duration >= 1]


def stream_info(url: str) -> dict[str, Any]:
    return streams(
        url, "pix_fmt,color_transfer,color_primaries,color_space,color_range,field_order"
    )["video"]


def test_the_logo_sits_in_its_corner_over_items_only(
    media: Path, streamer_for: StartStreamer
) -> None:
    document = channel_document("logo", [{"path": "shows/Dark"}], bumpers={"path": "bumpers"})
    document["spec"]["output"]["logo"] = {
        "path": "logo.png",
        "corner": "bottom-right",
        "heightPercent": 20,  # 48 px
        "marginPercent": 5,  # 12 px
        "opacity": 1,
        "overInterstitials": False,
    }
    streamer = streamer_for(document, media)
    seen: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {}
    for _ in range(10):
        for segment in segments_of(streamer):
            picture = frame(f"{streamer.url}/live/{segment.uri}")
            # Inside the logo (its centre: 36 px from the right and bottom edges), and the
            # opposite corner.
            seen[segment.title] = (pixel(picture, WIDTH - 36, HEIGHT - 36), pixel(picture, 36, 36))
        if {"Dark S01E01", "ident"} <= set(seen) or {"Dark S01E02", "ident"} <= set(seen):
            break
    items = [colours for title, colours in seen.items() if title.startswith("Dark")]
    assert items and "ident" in seen, seen
    for logo, corner in items:
        assert logo[0] > 200 and logo[1] < 60 and logo[2] < 60, logo
        assert max(corner) < 40, corner
    assert max(seen["ident"][0]) < 40, "the logo is not to be drawn over bumpers"


def probe_check(source: str, name: str) -> dict[str, Any]:
    # The streamer under test serves on loopback, which a probe refuses unless told.
    result = subprocess.run(
        [sys.executable, "-m", "playout.cli", "probe", "--json", "--profile", "standard",
         "--allow-private-addresses", source],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    report = json.loads(result.stdout)
    check: dict[str, Any] = next(c for c in report["checks"] if c["name"] == name)
    return check


def test_interlaced_sources_come_out_progressive(media: Path, streamer_for: StartStreamer) -> None:
    source = media / "shows/Interlaced/Interlaced S01E01.mkv"
    assert probe_check(str(source), "interlacing")["status"] != "pass"  # the test is meaningful
    streamer = streamer_for(channel_document("pal", [{"path": "shows/Interlaced"}]), media)
    segment = segments_of(streamer)[-1]
    url = f"{streamer.url}/live/{segment.uri}"
    assert probe_check(url, "interlacing")["status"] == "pass"
    info = stream_info(url)
    assert info.get("field_order", "progressive") == "progressive"
    # An untagged SD source, converted from BT.601 and tagged: the colour checks pass.
    assert "color_space" not in stream_info(str(source))
    assert probe_check(url, "colourTags")["status"] == "pass"
    assert (info.get("color_space"), info.get("color_range")) == ("bt709", "tv")


def test_hdr_sources_come_out_sdr_bt709(media: Path, streamer_for: StartStreamer) -> None:
    assert stream_info(str(media / "shows/HDR/HDR S01E01.mkv"))["color_transfer"] == "smpte2084"
    streamer = streamer_for(channel_document("hdr", [{"path": "shows/HDR"}]), media)
    info = stream_info(f"{streamer.url}/live/{segments_of(streamer)[-1].uri}")
    assert info["pix_fmt"] == "yuv420p"
    assert (info.get("color_transfer"), info.get("color_primaries")) == ("bt709", "bt709")
    assert (info.get("color_space"), info.get("color_range")) == ("bt709", "tv")


def test_anamorphic_sources_keep_their_display_shape(
    media: Path, streamer_for: StartStreamer
) -> None:
    streamer = streamer_for(channel_document("wide", [{"path": "shows/Wide"}]), media)
    picture = frame(f"{streamer.url}/live/{segments_of(streamer)[-1].uri}")
    # 16:9 in a 4:3 frame: 320x180 with bars of 30 rows above and below. Read as its
    # stored 5:4 it would fill the height and leave bars at the sides instead.
    assert max(pixel(picture, 160, 10)) < 40 and max(pixel(picture, 160, 229)) < 40
    assert min(pixel(picture, 160, 120)) > 200 and min(pixel(picture, 5, 120)) > 200
