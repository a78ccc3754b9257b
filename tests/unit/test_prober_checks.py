"""Profiles, thresholds, the filter graph and the verdict of every check. No ffmpeg."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from playout.api.probejob import Check, CheckStatus, ProbeProfile, TimeRange, Verdict
from playout.media.ffmpeg import escape
from playout.media.metadata import PacketStats, parse_metadata
from playout.prober import checks
from playout.prober.catalogue import ThresholdError, parse_override, settings_for
from playout.prober.content import Frame, Interlacing, LogFindings, Span
from playout.prober.graph import (
    GAMUT_KEY,
    ContentFiles,
    Reference,
    content_command,
    vmaf_available,
)
from tests.unit.test_prober_metadata import CLIP

STANDARD = settings_for(ProbeProfile.STANDARD, {})
BROADCAST = settings_for(ProbeProfile.BROADCAST, {})
MEDIA = parse_metadata(json.dumps(CLIP))


# --- catalogue ---------------------------------------------------------------------------


def test_profiles_differ_in_limits_and_weight() -> None:
    assert STANDARD.number("loudnessTolerance") == 7
    assert BROADCAST.number("loudnessTarget") == -23
    assert BROADCAST.number("loudnessTolerance") == 1
    assert BROADCAST.number("truePeakDb") == -1
    assert STANDARD.severity("loudness") == CheckStatus.WARN
    assert BROADCAST.severity("loudness") == CheckStatus.FAIL
    assert BROADCAST.severity("blur") == CheckStatus.WARN  # heuristics only ever warn


def test_overrides_win_and_typos_are_refused() -> None:
    assert settings_for(ProbeProfile.STANDARD, {"blackSeconds": 3}).number("blackSeconds") == 3
    with pytest.raises(ThresholdError, match="unknown threshold blakSeconds; known: "):
        settings_for(ProbeProfile.STANDARD, {"blakSeconds": 3})
    assert parse_override("silenceDb=-50") == ("silenceDb", -50.0)
    with pytest.raises(ThresholdError, match="name=value"):
        parse_override("blackSeconds")
    with pytest.raises(ThresholdError, match="must be a number"):
        parse_override("blackSeconds=long")


def test_verdict_is_the_worst_status() -> None:
    def check(status: CheckStatus) -> Check:
        return Check(name="x", status=status)

    assert checks.verdict_of([check(CheckStatus.PASS)]) == Verdict.PASS
    assert checks.verdict_of([check(CheckStatus.PASS), check(CheckStatus.WARN)]) == Verdict.WARN
    assert checks.verdict_of([check(CheckStatus.WARN), check(CheckStatus.ERROR)]) == Verdict.FAIL


# --- the filter graph --------------------------------------------------------------------


def test_escaping_for_a_filter_graph() -> None:
    assert escape("/tmp/a:b") == r"/tmp/a\\:b"
    assert escape("x,y;z[1]") == r"x\,y\;z\[1\]"
    assert escape("it's") == r"it\\\'s"


def test_one_decode_feeds_every_content_check(tmp_path: Path) -> None:
    command = content_command(
        "ffmpeg", "odd:name.mp4", MEDIA, STANDARD, ContentFiles.under(tmp_path)
    )
    assert command.count("-i") == 1
    graph = command[command.index("-filter_complex") + 1]
    filters = re.findall(r"(?:^|[;,\]])([a-z0-9_]+)(?=[=,;\[]|$)", graph)
    for name in ("blackdetect", "freezedetect", "idet", "cropdetect", "blockdetect",
                 "blurdetect", "silencedetect", "ebur128", "astats", "aphasemeter"):  # fmt: skip
        assert filters.count(name) == 1, name
    # On the same sampled frames: per pixel, and the mean of the gamut mask.
    assert filters.count("signalstats") == 2
    assert "ebur128=peak=true" in graph
    assert graph.startswith("[0:0]") and "[0:1]silencedetect=n=-60dB:d=1" in graph
    assert command[command.index("-map") + 1] == "[vout]"
    assert "-t" not in command  # a file is read to its end


@pytest.mark.parametrize(
    ("channels", "phase"),
    [
        (1, None),  # mono has no phase to lose
        (2, "[aphase]aphasemeter=video=0:phasing=1:duration=1,anullsink"),
        (6, "[aphase]pan=stereo|c0=c0|c1=c1,aphasemeter=video=0:phasing=1:duration=1,anullsink"),
    ],
)
def test_the_phase_of_the_first_two_channels_is_checked(
    tmp_path: Path, channels: int, phase: str | None
) -> None:
    streams = [
        {**stream, "channels": channels} if stream.get("codec_type") == "audio" else stream
        for stream in CLIP["streams"]
    ]
    media = parse_metadata(json.dumps({**CLIP, "streams": streams}))
    command = content_command("ffmpeg", "a.mkv", media, STANDARD, ContentFiles.under(tmp_path))
    graph = command[command.index("-filter_complex") + 1].split(";")
    if phase is None:
        assert not [chain for chain in graph if "aphasemeter" in chain]
        assert any("asplit=2[aout][aclip]" in chain for chain in graph)
    else:
        assert phase in graph
        assert any("asplit=3[aout][aclip][aphase]" in chain for chain in graph)


def test_live_sources_are_read_for_live_seconds(tmp_path: Path) -> None:
    live = parse_metadata(json.dumps({**CLIP, "format": {"format_name": "hls"}}))
    command = content_command(
        "ffmpeg", "http://x/live.m3u8", live, STANDARD, ContentFiles.under(tmp_path)
    )
    assert command[command.index("-t") + 1] == "30"
    assert command.index("-t") < command.index("-i")


def test_a_reference_adds_psnr_and_ssim(tmp_path: Path) -> None:
    reference = Reference("ref.mkv", 0, 640, 480)
    command = content_command(
        "ffmpeg", "a.mp4", MEDIA, STANDARD, ContentFiles.under(tmp_path), reference, vmaf=True
    )
    assert command.count("-i") == 2
    graph = command[command.index("-filter_complex") + 1]
    assert "scale=640:480" in graph and "psnr" in graph and "ssim" in graph
    assert "libvmaf" in graph


def test_vmaf_availability_from_the_filter_list() -> None:
    listing = " ... vmafmotion        V->V       Calculate the VMAF Motion score.\n"
    assert not vmaf_available(listing)
    assert vmaf_available(listing + " ... libvmaf           VV->V      Calculate the VMAF.\n")


# --- metadata checks ---------------------------------------------------------------------


def test_a_truncated_file_fails_duration() -> None:
    check = checks.duration_check(STANDARD, MEDIA, 5.0, "decoding")
    assert check.status == CheckStatus.FAIL
    assert "stopped at 5.00 s of the declared 12.00 s" in check.message
    assert checks.duration_check(STANDARD, MEDIA, 11.5, "decoding").status == CheckStatus.PASS
    assert checks.duration_check(STANDARD, MEDIA, None, "decoding").status == CheckStatus.ERROR


def test_long_gops_warn() -> None:
    from playout.api.probejob import GopSummary

    stats = PacketStats(
        GopSummary(keyframes=3, average_seconds=6, min_seconds=2, max_seconds=12), "constant", None
    )
    check = checks.keyframes_check(STANDARD, stats)
    assert check is not None and check.status == CheckStatus.WARN
    assert check.value == 12 and check.threshold == 10


def test_bitrate_limit_is_optional() -> None:
    from playout.api.probejob import BitrateSummary

    stats = PacketStats(
        None, None, BitrateSummary(window_seconds=1, average=4_000_000, peak=9_000_000, stddev=1)
    )
    assert checks.bitrate_check(STANDARD, stats).status == CheckStatus.PASS
    limited = settings_for(ProbeProfile.BROADCAST, {"maxBitrateMbps": 8})
    check = checks.bitrate_check(limited, stats)
    assert (check.status, check.value, check.threshold) == (CheckStatus.FAIL, 9.0, 8)


def test_timestamp_jumps() -> None:
    stats = PacketStats(None, None, None, [TimeRange(start=3.96, end=10.0)])
    check = checks.timestamps_check(BROADCAST, stats)
    assert check.status == CheckStatus.FAIL
    assert check.events == [TimeRange(start=3.96, end=10.0)]


# --- content checks ----------------------------------------------------------------------


def test_black_runs_with_events() -> None:
    check = checks.run_check(STANDARD, "black", [Span(5, 7.04)], 12, "black", "blackSeconds")
    assert (check.status, check.value, check.threshold) == (CheckStatus.WARN, 2.04, 1)
    assert check.events == [TimeRange(start=5, end=7.04)]
    assert "black at 5.00-7.04 s" in check.message
    clean = checks.run_check(BROADCAST, "black", [], 12, "black", "blackSeconds")
    assert (clean.status, clean.value) == (CheckStatus.PASS, 0)


def test_a_freeze_until_the_end_closes_there() -> None:
    check = checks.run_check(BROADCAST, "freeze", [Span(9, None)], 12.0, "frozen", "freezeSeconds")
    assert check.status == CheckStatus.FAIL
    assert check.events == [TimeRange(start=9, end=12)]


def test_many_events_are_counted_not_listed() -> None:
    spans = [Span(i, i + 1.5) for i in range(0, 200, 2)]
    check = checks.run_check(STANDARD, "black", spans, 300, "black", "blackSeconds")
    assert len(check.events) == checks.MAX_EVENTS and check.events_total == 100


def test_loudness_against_ebu_r128() -> None:
    loud = LogFindings(integrated_lufs=-16.0, loudness_range_lu=6, true_peak_db=-0.5)
    by_name = {c.name: c for c in checks.loudness_checks(BROADCAST, loud)}
    assert by_name["loudness"].status == CheckStatus.FAIL
    assert "+7.0 LU off" in by_name["loudness"].message
    assert by_name["truePeak"].status == CheckStatus.FAIL
    assert by_name["loudnessRange"].status == CheckStatus.PASS
    assert {c.name: c.status for c in checks.loudness_checks(STANDARD, loud)}[
        "loudness"
    ] == CheckStatus.PASS
    ok = LogFindings(integrated_lufs=-23.2, loudness_range_lu=6, true_peak_db=-3)
    assert all(c.status == CheckStatus.PASS for c in checks.loudness_checks(BROADCAST, ok))
    assert checks.loudness_checks(BROADCAST, LogFindings())[0].status == CheckStatus.ERROR


def test_clipping_windows_become_events() -> None:
    windows = [Frame(2.0 + i * 0.1, {}) for i in range(20) if i != 3]
    check = checks.clipping_check(BROADCAST, windows, 6.0)
    assert check.status == CheckStatus.FAIL
    assert check.value == pytest.approx(1.9)
    assert check.events == [TimeRange(start=2.0, end=4.0)]  # a gap of one window is bridged


def test_interlacing_ratio_and_where() -> None:
    counts = Interlacing(tff=270, bff=0, progressive=30, undetermined=0)
    frames = [Frame(i * 0.04, {}) for i in range(270)]
    check = checks.interlacing_check(STANDARD, counts, frames, 0.04, 12)
    assert check.status == CheckStatus.WARN and check.value == 0.9
    assert check.events == [TimeRange(start=0, end=10.8)]
    assert "top field first" in check.message
    progressive = Interlacing(tff=0, bff=0, progressive=290, undetermined=10)
    assert checks.interlacing_check(STANDARD, progressive, [], 0.04, 12).status == CheckStatus.PASS
    assert checks.interlacing_check(STANDARD, None, [], 0.04, 12).status == CheckStatus.ERROR


def _crop(time: float, width: int, height: int) -> Frame:
    return Frame(time, {"lavfi.cropdetect.w": str(width), "lavfi.cropdetect.h": str(height)})


def test_letterbox_from_crop_samples() -> None:
    samples = [_crop(t * 0.5, 320, 240 if t < 6 else 180) for t in range(24)]
    check = checks.letterbox_check(STANDARD, MEDIA, samples, [], 12.0)
    assert check is not None and check.status == CheckStatus.WARN
    assert check.value == 0.25
    assert check.events == [TimeRange(start=3, end=12)]


def test_black_pictures_are_not_letterbox() -> None:
    samples = [_crop(t * 0.5, 320, 2) for t in range(4)]
    check = checks.letterbox_check(STANDARD, MEDIA, samples, [TimeRange(start=0, end=2)], 12.0)
    assert check is not None and check.status == CheckStatus.PASS


def test_blockiness_and_blur_are_averages() -> None:
    samples = [Frame(t * 2.0, {"lavfi.block": "30", "lavfi.blur": "nan"}) for t in range(5)]
    block = checks.blockiness_check(BROADCAST, samples, 10)
    assert block is not None and block.status == CheckStatus.WARN and block.value == 30
    assert checks.blur_check(BROADCAST, samples, 10) is None  # nothing measurable


def test_broadcast_range_is_the_share_of_the_picture_out_of_gamut() -> None:
    # Per pixel, a fifth of the samples are out of range at 2 s: information only.
    samples = [
        Frame(t * 0.5, {"lavfi.signalstats.BRNG": "0.2" if t == 4 else "0"}) for t in range(10)
    ]
    gamut = [Frame(t * 0.5, {GAMUT_KEY: "25.5" if t in (6, 7) else "0"}) for t in range(10)]
    check = checks.broadcast_range_check(BROADCAST, MEDIA, samples, gamut, 5)
    assert check is not None and check.status == CheckStatus.FAIL
    assert check.value == pytest.approx(0.1) and check.threshold == 0.01
    assert check.events == [TimeRange(start=3.0, end=4.0)]
    assert "10.0% of the picture outside EBU R 103's gamut" in check.message
    assert "per pixel, up to 20.0% of Y'CbCr samples" in check.message
    ringing = checks.broadcast_range_check(BROADCAST, MEDIA, samples, gamut[:6], 5)
    assert ringing is not None and ringing.status == CheckStatus.PASS  # per pixel alone
    full = replace(MEDIA, full_range=True)
    judged = checks.broadcast_range_check(BROADCAST, full, samples, [], 5)
    assert judged is not None and "does not apply" in judged.message


@pytest.mark.parametrize(
    ("matrix", "height", "expected"),
    [
        ("bt709", 240, "bt709"),
        ("smpte170m", 1080, "bt601"),
        ("bt470bg", 576, "bt601"),
        ("bt2020nc", 2160, "bt2020"),
        (None, 1080, "bt709"),  # untagged: what players take it for
        (None, 576, "bt601"),
    ],
)
def test_the_gamut_is_judged_with_the_streams_matrix(
    tmp_path: Path, matrix: str | None, height: int, expected: str
) -> None:
    assert MEDIA.summary.video is not None
    video = MEDIA.summary.video.model_copy(update={"color_matrix": matrix})
    media = replace(MEDIA, height=height, summary=MEDIA.summary.model_copy(update={"video": video}))
    graph = " ".join(
        content_command("ffmpeg", "a.mkv", media, STANDARD, ContentFiles.under(tmp_path))
    )
    assert f"scale=in_color_matrix={expected}:in_range=tv,format=gbrp" in graph
    assert str(ContentFiles.under(tmp_path).gamut) in graph
    full = replace(media, full_range=True)
    graph = " ".join(
        content_command("ffmpeg", "a.mkv", full, STANDARD, ContentFiles.under(tmp_path))
    )
    assert "in_color_matrix" not in graph


def test_reference_scores() -> None:
    log = LogFindings(psnr_db=31.0, ssim=0.97)
    low = [Frame(1.0, {}), Frame(1.04, {})]
    psnr, ssim = checks.reference_checks(STANDARD, log, low, [], 0.04, 10, vmaf=False)
    assert (psnr.status, psnr.value, psnr.threshold) == (CheckStatus.FAIL, 31.0, 35)
    assert psnr.events == [TimeRange(start=1.0, end=1.08)]
    assert ssim.status == CheckStatus.PASS
    missing = checks.reference_checks(STANDARD, LogFindings(), [], [], 0.04, 10, vmaf=True)
    assert [c.status for c in missing] == [CheckStatus.ERROR] * 3
