"""HLS playlists over HTTP and on disk: durations, keyframes, bandwidth, sequence rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, Verdict
from tests.media.prober.conftest import check, ffmpeg, run


def hls(source: Path, folder: Path, *options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    playlist = folder / "index.m3u8"
    ffmpeg(
        "-i", str(source), "-c", "copy", "-f", "hls", "-hls_time", "2",
        "-hls_playlist_type", "vod", *options,
        "-hls_segment_filename", str(folder / "seg%03d.ts"), str(playlist),
    )  # fmt: skip
    return playlist


def master(folder: Path, bandwidth: int) -> Path:
    path = folder / f"master-{bandwidth}.m3u8"
    path.write_text(
        f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION=320x240\nvod/index.m3u8\n"
    )
    return path


@pytest.fixture(scope="module")
def served(clean: Path, http_root: tuple[Path, str]) -> tuple[Path, str]:
    root, base = http_root
    hls(clean, root / "vod")
    return root, base


def test_a_good_vod_stream_over_http(served: tuple[Path, str]) -> None:
    root, base = served
    master(root, 2_000_000)
    report = run(f"{base}/master-2000000.m3u8", "quick", allow_private_addresses=True)
    for name in ("hlsSegments", "hlsKeyframes", "hlsBandwidth", "hlsSequence"):
        assert check(report, name).status == CheckStatus.PASS, check(report, name).message
    assert report.verdict == Verdict.PASS
    assert check(report, "hlsBandwidth").value is not None


def test_measured_bitrate_over_bandwidth(served: tuple[Path, str]) -> None:
    root, base = served
    master(root, 300_000)
    found = check(
        run(f"{base}/master-300000.m3u8", "quick", allow_private_addresses=True), "hlsBandwidth"
    )
    assert found.status == CheckStatus.WARN
    assert "against BANDWIDTH 0.30 Mb/s (over)" in found.message


def test_segments_that_do_not_start_on_a_keyframe(clean: Path, tmp_path: Path) -> None:
    playlist = hls(clean, tmp_path / "split", "-hls_time", "1", "-hls_flags", "split_by_time")
    report = run(playlist, "quick")  # a playlist on disk, segments read as files
    keyframes = check(report, "hlsKeyframes")
    assert keyframes.status == CheckStatus.FAIL
    assert keyframes.events and "do not start with a keyframe" in keyframes.message


def test_segments_longer_than_the_target(clean: Path, tmp_path: Path) -> None:
    playlist = hls(clean, tmp_path / "long")
    text = playlist.read_text()
    playlist.write_text(text.replace("#EXT-X-TARGETDURATION:2", "#EXT-X-TARGETDURATION:1"))
    found = check(run(playlist, "quick"), "hlsSegments")
    assert found.status == CheckStatus.FAIL and found.threshold == 1


def test_a_live_playlist_is_read_for_live_seconds(served: tuple[Path, str]) -> None:
    root, base = served
    vod = (root / "vod" / "index.m3u8").read_text()
    live = vod.replace("#EXT-X-PLAYLIST-TYPE:VOD\n", "").replace("#EXT-X-ENDLIST\n", "")
    (root / "vod" / "live.m3u8").write_text(live)
    report = run(
        f"{base}/vod/live.m3u8",
        thresholds={"liveSeconds": 2},
        timeout=60,
        allow_private_addresses=True,
    )
    assert report.summary is not None and report.summary.live
    assert check(report, "hlsSequence").status == CheckStatus.PASS
    assert any("live stream" in note for note in report.notes)
    # A live stream that stops growing never ends: the timeout ends the probe.
    stuck = run(f"{base}/vod/live.m3u8", "quick", timeout=4, allow_private_addresses=True)
    assert check(stuck, "timeout").status == CheckStatus.ERROR
