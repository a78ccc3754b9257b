"""Audio in the viewer's language: the preferred track plays, ISO 639 codes of every kind
match, and alternate languages are offered as audio renditions players can switch to."""

from __future__ import annotations

import array
import subprocess
import time
from pathlib import Path

import m3u8
import pytest

from playout.media.hls import parse_playlist
from tests.streaming import StartStreamer, Streamer, channel_document, make_clip

ENGLISH_HZ, GERMAN_HZ, ONLY_HZ = 300, 700, 1100


def bilingual(path: Path, seconds: int) -> Path:
    """English on the first audio track (the default) and German on the second, each a tone
    of its own, tagged as Matroska writes them (639-2/B: `eng`, `ger`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f={ENGLISH_HZ}:d={seconds}", "-f", "lavfi", "-i", f"sine=f={GERMAN_HZ}:d={seconds}",
         "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
         "-c:a", "aac", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=ger", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    bilingual(root / "shows/Both/Both S01E01.mkv", 6)
    bilingual(root / "shows/Both/Both S01E02.mkv", 6)
    # An item with one untagged track: every language plays it.
    make_clip(root / "shows/Mixed/Mixed S01E01.mkv", 6, tone=ONLY_HZ)
    bilingual(root / "shows/Mixed/Mixed S01E02.mkv", 6)
    return root


def tone_of(url: str) -> float:
    """The frequency of a segment's sound, from its zero crossings."""
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", url, "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
        capture_output=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    # Sign changes of the samples clear of the noise floor (an entry's edges may be
    # near-silent), timed from the first to the last.
    changes, sign = [], 0
    for index, sample in enumerate(array.array("h", pcm)):
        if abs(sample) > 500 and (sample > 0) != (sign > 0):
            if sign:
                changes.append(index)
            sign = sample
    if len(changes) < 3:
        return 0.0
    return (len(changes) - 1) / 2 / ((changes[-1] - changes[0]) / 48000)


def near(value: float, hz: int) -> bool:
    return abs(value - hz) < 0.05 * hz


def tones(streamer: Streamer, folder: str, count: int) -> dict[str, float]:
    """Segment title -> the tone of its sound, over the latest `count` segments."""
    streamer.wait_for_playlist(count, path=f"/live/{folder}index.m3u8")
    playlist = m3u8.loads(streamer.get(f"/live/{folder}index.m3u8").decode())
    return {
        segment.title: tone_of(f"{streamer.url}/live/{folder}{segment.uri}")
        for segment in playlist.segments[-count:]
        if segment.duration >= 1  # not an entry's last frame or two
    }


def test_the_preferred_language_plays_whatever_code_the_file_uses(
    media: Path, streamer_for: StartStreamer
) -> None:
    document = channel_document("german", [{"path": "shows/Both"}])
    document["spec"]["output"]["audio"]["languages"] = ["de"]  # the files say "ger"
    streamer = streamer_for(document, media)
    heard = tones(streamer, "", 3)
    assert all(near(hz, GERMAN_HZ) for hz in heard.values()), heard


def test_without_a_match_the_default_track_plays(media: Path, streamer_for: StartStreamer) -> None:
    document = channel_document("french", [{"path": "shows/Both"}])
    document["spec"]["output"]["audio"]["languages"] = ["fra"]
    streamer = streamer_for(document, media)
    heard = tones(streamer, "", 3)
    assert all(near(hz, ENGLISH_HZ) for hz in heard.values()), heard


def test_alternate_languages_are_audio_renditions(media: Path, streamer_for: StartStreamer) -> None:
    document = channel_document("bilingual", [{"path": "shows/Mixed"}])
    document["spec"]["output"]["audio"].update(languages=["deu", "en"], alternates=True)
    streamer = streamer_for(document, media)
    streamer.wait_for_playlist(3, path="/live/240p/index.m3u8")
    master = m3u8.loads(streamer.get("/live/index.m3u8").decode())
    audio = [(m.language, m.name, m.default, m.autoselect, m.uri) for m in master.media]
    assert audio == [
        ("de", "German", "YES", "YES", "audio_deu/index.m3u8"),
        ("en", "English", "NO", "YES", "audio_en/index.m3u8"),
    ]
    (variant,) = master.playlists
    assert variant.stream_info.audio == "audio"
    assert variant.uri == "240p/index.m3u8"
    # Through both items: German where the item has it, its only track where it has not;
    # the variant's own sound is the preferred language's.
    deadline = time.monotonic() + 40
    seen: dict[str, dict[str, float]] = {"audio_deu/": {}, "audio_en/": {}, "240p/": {}}
    while time.monotonic() < deadline and not all(
        {"Mixed S01E01", "Mixed S01E02"} <= set(heard) for heard in seen.values()
    ):
        for folder, heard in seen.items():
            heard.update(tones(streamer, folder, 2))
        time.sleep(2)
    expected = {
        "audio_deu/": {"Mixed S01E01": ONLY_HZ, "Mixed S01E02": GERMAN_HZ},
        "audio_en/": {"Mixed S01E01": ONLY_HZ, "Mixed S01E02": ENGLISH_HZ},
        "240p/": {"Mixed S01E01": ONLY_HZ, "Mixed S01E02": GERMAN_HZ},
    }
    for folder, titles in expected.items():
        for title, hz in titles.items():
            assert near(seen[folder][title], hz), (folder, title, seen[folder])
    # The audio renditions keep the video's sequence numbers, times and discontinuities.
    texts = {f: streamer.get(f"/live/{f}index.m3u8").decode() for f in seen}
    parsed = {f: parse_playlist(t) for f, t in texts.items()}
    sequences = {f: [s.sequence for s in p.segments] for f, p in parsed.items()}
    common = set.intersection(*(set(s) for s in sequences.values()))
    assert len(common) >= 4, sequences
