"""Subtitles as players show them: WebVTT renditions whose cues land on the picture they
belong to, after an item boundary and after a restart, from a file's own tracks or from a
sidecar file."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import m3u8
import pytest

from tests.streaming import StartStreamer, Streamer, channel_document, make_clip

CUES = {
    "A S01E01": {"eng": [(1.0, 2.5, "A one")], "ger": [(1.0, 2.5, "A eins")]},
    "B S01E01": {"eng": [(2.0, 3.0, "B one")]},  # a sidecar, English only
}


def srt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(seconds: float) -> str:
        return f"00:00:{int(seconds):02d},{round(seconds % 1 * 1000):03d}"

    return "".join(
        f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1)
    )


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    plain = make_clip(root / "work/a.mkv", 5, tone=300)
    for language in ("eng", "ger"):
        (root / f"work/{language}.srt").write_text(srt(CUES["A S01E01"][language]))
    (root / "shows/Subs").mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-i", str(root / "work/eng.srt"),
         "-i", str(root / "work/ger.srt"), "-map", "0", "-map", "1", "-map", "2", "-c", "copy",
         "-c:s", "srt", "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=ger",
         str(root / "shows/Subs/A S01E01.mkv")],
        check=True, timeout=60,
    )  # fmt: skip
    make_clip(root / "shows/Subs/B S01E01.mp4", 5, tone=500)
    (root / "shows/Subs/B S01E01.en.srt").write_text(srt(CUES["B S01E01"]["eng"]))
    return root


def first_pts(url: str) -> float:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=start_time", "-of", "json", url],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return float(json.loads(result.stdout)["streams"][0]["start_time"])


def cues_in(text: str) -> list[tuple[float, str]]:
    """(the cue's MPEG-TS time in seconds, its text), as a player maps it."""
    mapping = re.search(r"X-TIMESTAMP-MAP=MPEGTS:(\d+),LOCAL:(\d+):(\d+):([\d.]+)", text)
    assert mapping, text
    mpegts = int(mapping[1]) / 90_000
    local = int(mapping[2]) * 3600 + int(mapping[3]) * 60 + float(mapping[4])
    found = []
    for match in re.finditer(r"(\d+):(\d+):([\d.]+) --> [\d:.]+\n(.+)\n", text):
        start = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
        found.append((mpegts + start - local, match[4]))
    return found


def check_cues(streamer: Streamer, seconds: float) -> dict[str, set[str]]:
    """Follow the subtitle renditions; for every cue, the picture it belongs to must be on
    screen at its time: the cue's MPEG-TS time minus the first picture of its item is the
    cue's time in the file. Returns the texts seen per language."""
    seen: dict[str, set[str]] = {"subs_de": set(), "subs_en": set()}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        video = m3u8.loads(streamer.get("/live/240p/index.m3u8").decode())
        lists = {f: m3u8.loads(streamer.get(f"/live/{f}/index.m3u8").decode()) for f in seen}
        # Where the entry of each segment starts in MPEG-TS time: the first picture of the
        # entry's first segment (unknown for an entry that began before the window).
        starts: dict[str, float] = {}
        entry_start: float | None = None
        for previous, segment in zip([None, *video.segments], video.segments, strict=False):
            if previous is not None and previous.title != segment.title:
                entry_start = first_pts(f"{streamer.url}/live/240p/{segment.uri}")
            elif previous is not None and segment.discontinuity:
                # A restart that resumed inside the item: it began before this segment.
                entry_start = None
            if entry_start is not None:
                starts[segment.uri.removesuffix(".ts")] = entry_start
        for folder, language, fallback in (("subs_de", "ger", None), ("subs_en", "eng", "eng")):
            playlist = lists[folder]
            # The same segments (read a moment apart: the window may have moved by one).
            names = [s.uri.removesuffix(".vtt") for s in playlist.segments]
            assert len(set(names) & {s.uri.removesuffix(".ts") for s in video.segments}) >= (
                len(names) - 1
            )
            for segment in playlist.segments:
                text = streamer.get(f"/live/{folder}/{segment.uri}").decode()
                assert text.startswith("WEBVTT\n")
                for at, cue in cues_in(text):
                    seen[folder].add(cue)
                    expected = CUES[segment.title].get(language) or CUES[segment.title].get(
                        fallback or ""
                    )
                    assert expected, (folder, segment.title, cue)
                    (start, _, words) = next(c for c in expected if c[2] == cue)
                    entry_start = starts.get(segment.uri.removesuffix(".vtt"))
                    if entry_start is not None:
                        assert abs(at - entry_start - start) < 0.05, (folder, cue, at)
                    assert words == cue
        time.sleep(2)
    return seen


def test_cues_land_on_their_picture_across_items_and_restarts(
    media: Path, streamer_for: StartStreamer, tmp_path: Path
) -> None:
    document = channel_document("subs", [{"path": "shows/Subs"}])
    document["spec"]["output"]["subtitles"] = {"languages": ["de", "en"]}
    state = tmp_path / "subs-state"
    streamer = streamer_for(document, media, state)
    streamer.wait_for_playlist(3, path="/live/240p/index.m3u8")
    master = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    subtitles = [(m.type, m.language, m.name, m.default, m.uri) for m in master.media]
    assert subtitles == [
        ("SUBTITLES", "de", "German", "NO", "subs_de/index.m3u8"),
        ("SUBTITLES", "en", "English", "NO", "subs_en/index.m3u8"),
    ]
    assert master.playlists[0].stream_info.subtitles == "subs"
    seen = check_cues(streamer, 24)
    # German only from the file's own track; English from the track and the sidecar.
    assert seen["subs_de"] == {"A eins"}
    assert seen["subs_en"] == {"A one", "B one"}
    assert streamer.process is not None
    streamer.stop(signal.SIGKILL)
    again = streamer_for(document, media, state)
    again.wait_for_playlist(3, path="/live/240p/index.m3u8")
    seen = check_cues(again, 16)
    assert seen["subs_en"], "no cue after the restart"


def bright_pixels(url: str, index: int) -> int:
    """Near-white pixels in the lower half of picture `index` of a segment."""
    picture = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return sum(1 for value in picture[len(picture) // 2 :] if value > 200)


def burned(
    tmp_path: Path, streamer_for: StartStreamer, subtitles: Path, codec: str
) -> tuple[int, int]:
    """A black 5 s item with `subtitles` muxed in as its English track (`codec`), played
    with `burnIn`: the bright pixels of its first segment at 1.0 s (inside a cue from 0.5 s
    to 3.5 s) and of its last at 4.4 s (after it)."""
    root = tmp_path / "media"
    (root / "shows/Burn").mkdir(parents=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=5",
         "-i", str(subtitles), "-map", "0", "-map", "1", "-c:v", "libx264",
         "-preset", "ultrafast", "-c:s", codec, "-metadata:s:s:0", "language=eng",
         str(root / "shows/Burn/Burn S01E01.mkv")],
        check=True, timeout=60,
    )  # fmt: skip
    document = channel_document("burn", [{"path": "shows/Burn"}])
    document["spec"]["output"]["subtitles"] = {"languages": ["en"], "burnIn": True}
    streamer = streamer_for(document, root)
    streamer.wait_for_playlist(4)
    master = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    assert not master.is_variant  # drawn in, not offered
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        playlist = m3u8.loads(streamer.get("/live/index.m3u8").decode())
        starts = [i for i, s in enumerate(playlist.segments) if s.discontinuity and i > 0]
        if starts and starts[-1] + 2 < len(playlist.segments):
            first = playlist.segments[starts[-1]]
            last = playlist.segments[starts[-1] + 2]
            return (
                bright_pixels(f"{streamer.url}/live/{first.uri}", 25),
                bright_pixels(f"{streamer.url}/live/{last.uri}", 10),
            )
        time.sleep(1)
    raise AssertionError("no whole item in the window")


def test_burned_in_subtitles_are_in_the_picture_while_their_cue_lasts(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    (tmp_path / "cue.srt").write_text(srt([(0.5, 3.5, "BURNED IN")]))
    inside, after = burned(tmp_path, streamer_for, tmp_path / "cue.srt", "srt")
    assert inside > 50 and after == 0


def pgs(
    width: int, height: int, box: tuple[int, int, int, int], shown: tuple[float, float]
) -> bytes:
    """A PGS (Blu-ray) subtitle stream, as a .sup file: one white box from `shown[0]` to
    `shown[1]` seconds. ffmpeg cannot make bitmap subtitles from text, so the test writes
    its own: a presentation, window, palette and object segment, then a clearing set."""

    def segment(kind: int, at: float, data: bytes) -> bytes:
        ticks = round(at * 90_000)
        return (
            b"PG"
            + ticks.to_bytes(4, "big")
            + bytes(4)
            + bytes([kind])
            + len(data).to_bytes(2, "big")
            + data
        )

    x, y, w, h = box
    size = width.to_bytes(2, "big") + height.to_bytes(2, "big") + b"\x10"
    window = (
        b"\x01\x00"
        + x.to_bytes(2, "big")
        + y.to_bytes(2, "big")
        + w.to_bytes(2, "big")
        + h.to_bytes(2, "big")
    )
    line = b"\x00" + bytes([0xC0 | w >> 8, w & 0xFF, 1]) + b"\x00\x00"  # w pixels of colour 1
    picture = line * h
    start, stop = shown
    return b"".join([
        segment(0x16, start, size + b"\x00\x01\x80\x00\x00\x01" + b"\x00\x00\x00\x00" + x.to_bytes(2, "big") + y.to_bytes(2, "big")),
        segment(0x17, start, window),
        segment(0x14, start, b"\x00\x00" + bytes([1, 235, 128, 128, 255])),
        segment(0x15, start, b"\x00\x00\x00\xc0" + (len(picture) + 4).to_bytes(3, "big") + w.to_bytes(2, "big") + h.to_bytes(2, "big") + picture),
        segment(0x80, start, b""),
        segment(0x16, stop, size + b"\x00\x02\x00\x00\x00\x00"),
        segment(0x17, stop, window),
        segment(0x80, stop, b""),
    ])  # fmt: skip


def test_bitmap_subtitles_are_burned_in_too(tmp_path: Path, streamer_for: StartStreamer) -> None:
    (tmp_path / "box.sup").write_bytes(pgs(320, 240, (110, 170, 100, 30), (0.5, 3.5)))
    inside, after = burned(tmp_path, streamer_for, tmp_path / "box.sup", "copy")
    assert inside > 1000 and after == 0  # the box
