"""Loudness measured ahead of air: every item of a transcoded channel reaches the target
(EBU R128, -23 LUFS) within 1 LU, a loud one turned down, a quiet one with sharp peaks
raised behind the limiter, and a restart measures nothing again."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import m3u8
import pytest

from tests.streaming import StartStreamer, Streamer, channel_document

SECONDS = 8
# Each a tone or noise of its own level, on a small picture.
SOUNDS = {
    # Pink noise at about -15 LUFS.
    "loud": "anoisesrc=a=1:c=pink:r=48000,aformat=channel_layouts=stereo",
    # A quiet tone (about -31 LUFS) with a 1 ms click at -3 dBTP every second: raised by
    # 8 dB, the clicks would reach +5.
    "peaks": "aevalsrc='0.02*sin(2*PI*440*t)+0.7*sin(2*PI*1000*t)*lt(mod(t\\,1)\\,0.001)':s=48000,"
    "aformat=channel_layouts=stereo",
    # A tone at about -41 LUFS.
    "quiet": "aevalsrc='0.01*sin(2*PI*440*t)':s=48000,aformat=channel_layouts=stereo",
}
TARGET_LUFS, TOLERANCE_LU = -23.0, 1.0


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "clips").mkdir()
    for name, sound in SOUNDS.items():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=160x120:r=25:d={SECONDS}",
             "-f", "lavfi", "-i", sound, "-map", "0", "-map", "1", "-t", str(SECONDS),
             "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(root / f"clips/{name}.mkv")],
            check=True, timeout=60,
        )  # fmt: skip
    return root


def loudness_of(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a file's sound."""
    log = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-map", "0:a:0",
         "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stderr  # fmt: skip
    integrated = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", log)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", log)[-1])
    return integrated, peak


def aired(streamer: Streamer, folder: Path, *, timeout: float = 90) -> dict[str, Path]:
    """Each clip's sound as the stream carried it: its segments, in order, in one file,
    once each clip has had at least 3 segments (6 s) on air."""
    streamer.wait_for_playlist(1)
    segments: dict[str, dict[str, bytes]] = {name: {} for name in SOUNDS}
    deadline = time.monotonic() + timeout
    while any(len(got) < 3 for got in segments.values()):
        assert time.monotonic() < deadline, f"not every clip aired:\n{streamer.log_text()}"
        playlist = m3u8.loads(streamer.get("/live/index.m3u8").decode())
        for segment in playlist.segments:
            if segment.title in segments and segment.uri not in segments[segment.title]:
                segments[segment.title][segment.uri] = streamer.get(f"/live/{segment.uri}")
        time.sleep(1)
    folder.mkdir(exist_ok=True)
    found = {}
    for name, parts in segments.items():
        found[name] = folder / f"{name}.ts"
        found[name].write_bytes(b"".join(parts.values()))  # MPEG-TS: joined as they are
    return found


def test_every_item_airs_at_the_target_loudness(
    media: Path, streamer_for: StartStreamer, tmp_path: Path
) -> None:
    for name in SOUNDS:
        before, _ = loudness_of(media / f"clips/{name}.mkv")
        assert abs(before - TARGET_LUFS) > 5, f"{name} is already near the target ({before})"
    document = channel_document("levels", [{"path": "clips"}])
    document["spec"]["output"]["mode"] = "transcode"
    state = tmp_path / "state"
    streamer = streamer_for(document, media, state)
    for name, path in aired(streamer, tmp_path / "first").items():
        integrated, peak = loudness_of(path)
        assert abs(integrated - TARGET_LUFS) <= TOLERANCE_LU, f"{name}: {integrated} LUFS"
        # The ceiling is -1 dBTP; AAC may add a little at a sharp click.
        assert peak <= -0.5, f"{name}: true peak {peak} dBTP"
    cache = json.loads((state / "loudness.json").read_text())
    levels = {
        Path(path).stem: next(iter(entry["tracks"].values())) for path, entry in cache.items()
    }
    assert set(levels) == set(SOUNDS)
    assert levels["loud"]["level"]["gain_db"] < -5 and not levels["loud"]["level"]["limited"]
    assert levels["peaks"]["level"]["limited"]
    assert levels["quiet"]["level"]["gain_db"] > 15

    # A restart measures nothing it knows, and airs the same levels.
    streamer.stop()
    again = streamer_for(document, media, state)
    for name, path in aired(again, tmp_path / "second").items():
        integrated, _ = loudness_of(path)
        assert abs(integrated - TARGET_LUFS) <= TOLERANCE_LU, (
            f"{name} after a restart: {integrated}"
        )
    assert "Loudness of" not in again.log_text()
