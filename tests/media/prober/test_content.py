"""Defects at known times are found, at those times; clean media passes the broadcast
profile. Real ffmpeg on media the fixtures generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, Verdict
from tests.media.prober.conftest import check, ffmpeg, make_clip, near, run


def test_clean_media_passes_the_broadcast_profile(clean: Path) -> None:
    report = run(clean, "broadcast")
    failing = [(c.name, c.message) for c in report.checks if c.status != CheckStatus.PASS]
    assert report.verdict == Verdict.PASS, failing
    names = {c.name for c in report.checks}
    assert {"black", "freeze", "silence", "loudness", "truePeak", "clipping", "interlacing",
            "letterbox", "blockiness", "blur", "broadcastRange", "decodeErrors",
            "keyframes", "timestamps", "duration", "phase"} <= names  # fmt: skip
    assert check(report, "loudness").value == pytest.approx(-23, abs=0.5)
    summary = report.summary
    assert summary is not None and summary.video is not None and summary.audio is not None
    assert (summary.video.width, summary.video.height, summary.video.frame_rate) == (320, 240, 25)
    assert summary.video.gop is not None and summary.video.gop.max_seconds == pytest.approx(2)
    assert summary.video.frame_rate_mode == "constant"
    assert (summary.audio.channels, summary.audio.sample_rate) == (2, 48000)
    assert summary.bitrate_windows is not None and summary.bitrate_windows.peak > 0


def test_black_silence_and_freeze_at_their_times(defects: Path) -> None:
    report = run(defects)
    assert report.verdict == Verdict.WARN  # the standard profile warns
    black, silence, freeze = (check(report, n) for n in ("black", "silence", "freeze"))
    assert black.status == CheckStatus.WARN and near(black.events, 5, 7)
    assert silence.status == CheckStatus.WARN and near(silence.events, 10, 12)
    assert freeze.status == CheckStatus.WARN and near(freeze.events, 12, 15)
    assert freeze.value == pytest.approx(3, abs=0.25)
    assert run(defects, "broadcast").verdict == Verdict.FAIL


def test_a_programme_at_minus_16_lufs_fails_ebu_r128(loud: Path) -> None:
    report = run(loud, "broadcast")
    loudness = check(report, "loudness")
    assert loudness.status == CheckStatus.FAIL
    assert loudness.value == pytest.approx(-16, abs=0.5)
    assert loudness.threshold == -23
    assert check(report, "truePeak").status == CheckStatus.PASS
    assert report.verdict == Verdict.FAIL


def test_interlaced_video(interlaced: Path) -> None:
    report = run(interlaced)
    found = check(report, "interlacing")
    assert found.status == CheckStatus.WARN
    assert found.value is not None and found.value > 0.9
    assert near(found.events, 0, 8)
    assert report.summary is not None and report.summary.video is not None
    assert report.summary.video.field_order == "tt"


def test_clipped_audio(clipped: Path) -> None:
    found = check(run(clipped, "broadcast"), "clipping")
    assert found.status == CheckStatus.FAIL
    assert near(found.events, 2, 4)


def test_out_of_phase_stereo_at_its_time(out_of_phase: Path) -> None:
    report = run(out_of_phase, "broadcast")
    phase = check(report, "phase")
    assert phase.status == CheckStatus.FAIL, phase.message
    assert near(phase.events, 2, 6, tolerance=0.3), phase.events
    # The two channels carry the same power: the level does not give it away.
    assert check(report, "loudness").status == CheckStatus.PASS
    assert check(run(out_of_phase), "phase").status == CheckStatus.WARN


LEGALISED = "lutyuv=y='clip(val,16,235)':u='clip(val,16,240)':v='clip(val,16,240)'"


def test_a_legal_pattern_that_rings_when_encoded_is_within_r103(clips: Path) -> None:
    """Clipped to legal range, then a fast encode rings past it at the sharp colour edges
    of the pattern on several percent of its pixels: R 103's low-pass filter ignores that."""
    pattern = clips / "legal-pattern.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-t", "4",
        "-vf", f"{LEGALISED},format=yuv420p", "-colorspace", "smpte170m",
        "-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-color_range", "tv",
        "-c:v", "libx264", "-preset", "ultrafast", str(pattern),
    )  # fmt: skip
    gamut = check(run(pattern, "broadcast"), "broadcastRange")
    assert gamut.status == CheckStatus.PASS, gamut.message
    assert gamut.value is not None and gamut.value < 0.01
    per_pixel = float(gamut.message.split("per pixel, up to ")[1].split("%")[0])
    assert per_pixel > 1.0  # what a per-pixel count would have failed


def test_legal_components_out_of_rgb_gamut_fail_broadcast(clips: Path) -> None:
    """Full luma with full red difference, 2-4 s: every Y'CbCr value in range, R far above
    105%."""
    out = make_clip(
        clips / "out-of-gamut.mkv",
        6,
        video_filter="lutyuv=y=235:u=128:v=240:enable='between(t,2,4)'",
    )
    report = run(out, "broadcast")
    gamut = check(report, "broadcastRange")
    assert gamut.status == CheckStatus.FAIL and (gamut.value or 0) > 0.9
    assert near(gamut.events, 2, 4.5, tolerance=0.6), gamut.events
    assert check(run(out), "broadcastRange").status == CheckStatus.WARN


def test_letterbox(letterboxed: Path) -> None:
    report = run(letterboxed)
    found = check(report, "letterbox")
    assert found.status == CheckStatus.WARN
    assert found.value == pytest.approx(0.25, abs=0.02)
    assert near(found.events, 0, 8)
    # Measured on the middle of the picture, the bars' edges do not read as blocking.
    assert check(report, "blockiness").status == CheckStatus.PASS


def test_quick_is_metadata_and_gop_only(clean: Path) -> None:
    report = run(clean, "quick")
    names = [c.name for c in report.checks]
    assert "keyframes" in names and "duration" in names
    assert "black" not in names and "loudness" not in names
    assert report.verdict == Verdict.PASS
