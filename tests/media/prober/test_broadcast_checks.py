"""The checks distributors ask for, on real media: channel layouts, closed captions, audio
shorter than the video, a variable frame rate. Real ffmpeg on clips the fixtures make."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, ProbeRequirements, Verdict
from tests.media.prober.conftest import CALM, check, ffmpeg, make_clip, near, run

SIX_CHANNELS = "|".join(f"c{n}=c0" for n in range(6))


@pytest.fixture(scope="module")
def surround(clips: Path) -> Path:
    """5.1 audio, declared as 5.1."""
    return make_clip(clips / "surround.mkv", 4, audio_filter=f"pan=5.1|{SIX_CHANNELS}")


@pytest.fixture(scope="module")
def undeclared(clips: Path) -> Path:
    """Six channels of PCM that do not say which is which."""
    return make_clip(
        clips / "six-channels.mkv",
        4,
        audio_filter=f"pan=6c|{SIX_CHANNELS}",
        extra=("-c:a", "pcm_s16le"),
    )


@pytest.fixture(scope="module")
def short_audio(clips: Path) -> Path:
    """8 s of video, the audio stopping at 5 s."""
    return make_clip(clips / "short-audio.mkv", 8, audio_filter="atrim=end=5")


@pytest.fixture(scope="module")
def variable_rate(clips: Path) -> Path:
    """Every third frame shown twice as long (a phone's recording, or frames dropped)."""
    return make_clip(
        clips / "vfr.mkv",
        6,
        video_filter="setpts='(N+floor(N/3))/25/TB'",
        extra=("-fps_mode", "vfr"),
    )


def _with_captions(annex_b: bytes) -> bytes:
    """An H.264 stream with CEA-608 caption data (an A/53 SEI, as a caption encoder writes
    it) before every picture: ffmpeg has no filter that makes captions."""
    cc_data = bytes([0xFC, 0x94, 0x20, 0xFC, 0x94, 0x2C])  # field 1: resume caption loading
    payload = (
        bytes([0xB5, 0x00, 0x31]) + b"GA94" + bytes([0x03, 0x40 | 2, 0xFF]) + cc_data + b"\xff"
    )
    sei = b"\x00\x00\x00\x01" + bytes([0x06, 0x04, len(payload)]) + payload + b"\x80"
    starts = [match.start() for match in re.finditer(b"\x00\x00\x01", annex_b)]
    out = bytearray()
    for start, end in zip(starts, [*starts[1:], len(annex_b)], strict=True):
        nal = annex_b[start:end]
        if nal[3] & 0x1F in (1, 5):  # a slice: one per picture here
            out += sei
        out += nal
    return bytes(out)


@pytest.fixture(scope="module")
def captioned(clips: Path) -> Path:
    plain = clips / "plain.h264"
    ffmpeg(
        "-f", "lavfi", "-i", "mandelbrot=s=320x240:r=25", "-t", "4",
        "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p",
        "-threads", "1", "-f", "h264", str(plain),
    )  # fmt: skip
    raw = clips / "captioned.h264"
    raw.write_bytes(_with_captions(plain.read_bytes()))
    path = clips / "captioned.mp4"
    ffmpeg(
        "-r", "25", "-f", "h264", "-i", str(raw),
        "-f", "lavfi", "-i", f"aevalsrc='{CALM}*sin(2*PI*1000*t)':s=48000", "-t", "4",
        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(path),
    )  # fmt: skip
    return path


def test_clean_media_passes_the_new_checks(clean: Path) -> None:
    report = run(clean, "broadcast")
    for name in ("channelLayout", "avDuration", "captions", "frameRate"):
        assert check(report, name).status == CheckStatus.PASS, check(report, name).message
    assert check(report, "channelLayout").message == "stream 1 stereo"
    assert check(report, "captions").value == 0


def test_surround_meets_its_own_layout_but_not_a_stereo_requirement(surround: Path) -> None:
    assert check(run(surround, "quick"), "channelLayout").message == "stream 1 5.1"
    stereo_only = ProbeRequirements(audio_layouts=["stereo"])
    report = run(surround, "broadcast", require=stereo_only)
    layout = check(report, "channelLayout")
    assert layout.status == CheckStatus.FAIL
    assert "audio stream 1 is 5.1, not stereo (require.audioLayouts)" in layout.message
    assert report.verdict == Verdict.FAIL
    either = ProbeRequirements(audio_layouts=["stereo", "5.1"])
    assert check(run(surround, "quick", require=either), "channelLayout").status == (
        CheckStatus.PASS
    )


def test_channels_without_a_layout(undeclared: Path) -> None:
    layout = check(run(undeclared, "quick"), "channelLayout")
    assert layout.status == CheckStatus.WARN
    assert "audio stream 1 has 6 channels and declares no layout" in layout.message


def test_audio_three_seconds_shorter_than_the_video(short_audio: Path) -> None:
    found = check(run(short_audio, "quick"), "avDuration")
    assert found.status == CheckStatus.WARN
    assert found.value == pytest.approx(3, abs=0.1)
    assert "audio stream 1 shorter than the video by" in found.message
    assert near(found.events, 5, 8, tolerance=0.1)
    assert check(run(short_audio, "broadcast"), "avDuration").status == CheckStatus.FAIL


def test_variable_frame_rate(variable_rate: Path) -> None:
    report = run(variable_rate, "quick")
    rate = check(report, "frameRate")
    assert rate.status == CheckStatus.WARN
    assert "variable frame rate" in rate.message and "-fps_mode cfr" in rate.message
    assert report.summary is not None and report.summary.video is not None
    assert report.summary.video.frame_rate_mode == "variable"
    assert check(run(variable_rate, "broadcast"), "frameRate").status == CheckStatus.FAIL


def test_closed_captions(captioned: Path, clean: Path) -> None:
    required = ProbeRequirements(captions=True)
    found = check(run(captioned, "standard", require=required), "captions")
    assert (found.status, found.value) == (CheckStatus.PASS, 1)
    missing = check(run(clean, "standard", require=required), "captions")
    assert (missing.status, missing.value) == (CheckStatus.FAIL, 0)
    quick = run(clean, "quick", require=required)
    assert "captions" not in {c.name for c in quick.checks}
    assert any("quick profile does not check them" in note for note in quick.notes)
