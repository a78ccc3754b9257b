"""Colour tags through real ffprobe: untagged, BT.709, contradicting tags, and PQ from x265
with and without its mastering metadata, which MPEG-TS and x265's own output carry in
each frame's SEI rather than among the stream's parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus
from playout.prober.checks import BT709_FLAGS
from tests.media.prober.conftest import VIDEO, check, ffmpeg, make_clip, run

PQ_TAGS = ("-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
           "-color_range", "tv")  # fmt: skip
MASTERING = (
    "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):"
    "max-cll=1000,400"
)


def pq_clip(path: Path, x265_params: str = "") -> Path:
    params = "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"
    ffmpeg(
        "-f", "lavfi", "-i", VIDEO, "-t", "1", "-pix_fmt", "yuv420p10le",
        "-c:v", "libx265", "-preset", "ultrafast",
        "-x265-params", f"{params}:{x265_params}" if x265_params else params,
        *PQ_TAGS, str(path),
    )  # fmt: skip
    return path


def test_untagged_video_warns_with_the_fix(clips: Path) -> None:
    untagged = clips / "untagged.mkv"
    ffmpeg("-f", "lavfi", "-i", VIDEO, "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(untagged))  # fmt: skip
    report = run(untagged, "quick")
    tags = check(report, "colourTags")
    assert tags.status == CheckStatus.WARN
    assert tags.message.startswith("primaries, transfer and matrix untagged")
    assert BT709_FLAGS in tags.message and "h264_metadata" in tags.message
    assert check(report, "colourConsistency").status == CheckStatus.PASS


def test_bt709_tagged_video_passes(clips: Path) -> None:
    report = run(make_clip(clips / "bt709.mp4", 1), "quick")
    for name in ("colourTags", "colourConsistency"):
        assert check(report, name).status == CheckStatus.PASS, check(report, name).message
    video = report.summary.video if report.summary else None
    assert video is not None
    assert (video.color_primaries, video.color_transfer, video.color_matrix) == ("bt709",) * 3
    assert video.color_range == "tv" and video.hdr is None


def test_bt2020_primaries_with_a_bt709_matrix_fail_broadcast(clips: Path) -> None:
    mixed = make_clip(clips / "mixed.mkv", 2, extra=("-color_primaries", "bt2020"))
    assert check(run(mixed, "quick"), "colourConsistency").status == CheckStatus.WARN
    report = run(mixed, "broadcast")
    found = check(report, "colourConsistency")
    assert found.status == CheckStatus.FAIL
    assert "BT.2020 primaries with a bt709 matrix" in found.message
    assert check(report, "colourTags").status == CheckStatus.PASS


@pytest.mark.parametrize("container", ["mkv", "ts"])
def test_pq_without_mastering_metadata_warns(clips: Path, container: str) -> None:
    report = run(pq_clip(clips / f"pq-bare.{container}"), "quick")
    tags = check(report, "colourTags")
    assert tags.status == CheckStatus.WARN
    assert "PQ without SMPTE ST 2086 mastering display metadata or content light" in tags.message
    assert "master-display=" in tags.message
    assert check(report, "colourConsistency").status == CheckStatus.PASS
    video = report.summary.video if report.summary else None
    assert video is not None and video.hdr == "PQ"


@pytest.mark.parametrize("container", ["mkv", "ts"])
def test_pq_with_mastering_metadata_in_its_frames_passes(clips: Path, container: str) -> None:
    report = run(pq_clip(clips / f"pq-hdr10.{container}", MASTERING), "quick")
    for name in ("colourTags", "colourConsistency"):
        assert check(report, name).status == CheckStatus.PASS, check(report, name).message
    video = report.summary.video if report.summary else None
    assert video is not None and video.hdr == "HDR10"
    assert {"Mastering display metadata", "Content light level metadata"} <= set(video.side_data)
