"""The decode pass's log, metadata files and progress -> measurements. Captured text."""

from __future__ import annotations

import pytest

from playout.prober.content import Span, parse_frames, parse_log, parse_progress

# ffmpeg 5.1 `-loglevel level+info` of the decode pass over a clip with black and a freeze
# at 5-7 s and silence at 9-11 s. The complex graph is set up twice: the first, empty setup
# prints its own (meaningless) summaries first.
LOG = """\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/clip.mp4':
[Parsed_ebur128_18 @ 0x55f168654f80] [info] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  Loudness range:
    LRA:         0.0 LU
    Threshold:   0.0 LUFS
    LRA low:     0.0 LUFS
    LRA high:    0.0 LUFS

  True peak:
    Peak:       -inf dBFS
[Parsed_idet_2 @ 0x55f16863b740] [info] Multi frame detection: TFF:     0 BFF:     0 Progressive:     0 Undetermined:     0
[info] Stream mapping:
[freezedetect @ 0x55f16865a3c0] [info] lavfi.freezedetect.freeze_start: 5
[blackdetect @ 0x55f168673040] [info] black_start:5 black_end:7.04 black_duration:2.04
[freezedetect @ 0x55f16865a3c0] [info] lavfi.freezedetect.freeze_duration: 2.04
[freezedetect @ 0x55f16865a3c0] [info] lavfi.freezedetect.freeze_end: 7.04
[silencedetect @ 0x55f168ab3980] [info] silence_start: 9.00581
[silencedetect @ 0x55f168ab3980] [info] silence_end: 11.008 | silence_duration: 2.00215
[aphasemeter @ 0x5651bf0fca00] [info] mono_start: 0.0853333
[aphasemeter @ 0x5651bf0fca00] [info] mono_end: 1.984 | mono_duration: 1.89867
[aphasemeter @ 0x5651bf0fca00] [info] out_phase_start: 2.048
[aphasemeter @ 0x5651bf0fca00] [info] out_phase_end: 5.9945 | out_phase_duration: 3.9465
[Parsed_cropdetect_8 @ 0x558e4e376780] [info] x1:0 x2:319 y1:0 y2:239 w:320 h:240 x:0 y:0 pts:7168 t:0.560000 crop=320:240:0:0
[info] frame=  300 fps=0.0 q=-0.0 Lsize=N/A time=00:00:12.01 bitrate=N/A speed=25.9x
[Parsed_ebur128_18 @ 0x55f168b39c00] [info] Summary:

  Integrated loudness:
    I:         -21.9 LUFS
    Threshold: -31.9 LUFS

  Loudness range:
    LRA:         4.8 LU
    Threshold: -42.5 LUFS
    LRA low:   -26.6 LUFS
    LRA high:  -21.8 LUFS

  True peak:
    Peak:      -16.1 dBFS
[Parsed_blurdetect_14 @ 0x55f168af7680] [info] blur mean: -nan
[Parsed_idet_2 @ 0x55f168651c80] [info] Multi frame detection: TFF:   178 BFF:   101 Progressive:    21 Undetermined:     0
"""


def test_events_and_summaries_from_the_log() -> None:
    found = parse_log(LOG)
    assert found.black == [Span(5.0, 7.04)]
    assert found.freeze == [Span(5.0, 7.04)]
    assert found.silence == [Span(9.00581, 11.008)]
    assert found.out_of_phase == [Span(2.048, 5.9945)]  # dual mono is no defect
    # The last summary is the real one.
    assert (found.integrated_lufs, found.loudness_range_lu, found.true_peak_db) == (
        -21.9,
        4.8,
        -16.1,
    )
    assert found.interlacing is not None
    assert found.interlacing.frames == 300
    assert found.interlacing.ratio == pytest.approx(279 / 300)
    assert found.errors == 0


def test_runs_still_open_at_the_end() -> None:
    found = parse_log(
        "[freezedetect @ 0x1] [info] lavfi.freezedetect.freeze_start: 4\n"
        "[silencedetect @ 0x2] [info] silence_start: 4.01705\n"
    )
    assert found.freeze == [Span(4.0, None)]
    assert found.silence == [Span(4.01705, None)]


def test_silent_audio_has_no_true_peak() -> None:
    found = parse_log("  True peak:\n    Peak:       -inf dBFS\n")
    assert found.true_peak_db is None


# Errors of a damaged MPEG-TS: the decoders', not the null muxer's.
ERRORS = """\
[mpegts @ 0x55abf06d38c0] [warning] Packet corrupt (stream = 0, dts = 450000).
[h264 @ 0x562dbcf88f40] [error] error while decoding MB 17 13, bytestream -5
[error] Error while decoding stream #0:1: Invalid data found when processing input
    Last message repeated 4 times
[aac @ 0x562dbcf69000] [error] Input buffer exhausted before END element found
[null @ 0x562dbcf69bc0] [error] Application provided invalid, non monotonically increasing dts to muxer in stream 0: 94 >= 94
[h264 @ 0x562dbcf88f40] [error] co located POCs unavailable
"""


def test_decode_errors_are_counted_with_samples() -> None:
    found = parse_log(ERRORS, error_samples=2)
    assert found.errors == 1 + 1 + 4 + 1 + 1
    assert found.error_samples == [
        "error while decoding MB 17 13, bytestream -5",
        "Error while decoding stream #0:1: Invalid data found when processing input",
    ]


def test_reference_scores() -> None:
    found = parse_log(
        "[Parsed_psnr_3 @ 0x1] [info] PSNR y:38.1 u:41.2 v:41.9 average:39.123456 "
        "min:35.0 max:44.1\n"
        "[Parsed_ssim_4 @ 0x2] [info] SSIM Y:0.981 (17.2) U:0.99 (20.0) V:0.99 (20.1) "
        "All:0.985432 (18.4)\n"
        "[Parsed_libvmaf_5 @ 0x3] [info] VMAF score: 93.456\n"
    )
    assert (found.psnr_db, found.ssim, found.vmaf) == (39.123456, 0.985432, 93.456)
    identical = parse_log("[Parsed_psnr_3 @ 0x1] [info] PSNR y:inf u:inf v:inf average:inf\n")
    assert identical.psnr_db == 100.0


SAMPLES = """\
frame:0    pts:0       pts_time:0
lavfi.cropdetect.w=320
lavfi.cropdetect.h=176
lavfi.signalstats.BRNG=0.0315625
frame:1    pts:3584    pts_time:0.5
lavfi.blur=-nan
lavfi.block=15.9
"""


def test_metadata_print_files() -> None:
    frames = list(parse_frames(SAMPLES.splitlines()))
    assert [f.time for f in frames] == [0.0, 0.5]
    assert frames[0].number("lavfi.cropdetect.h") == 176
    assert frames[1].number("lavfi.blur") is None  # nan: a picture without edges
    assert frames[1].number("lavfi.block") == 15.9
    assert frames[1].number("missing") is None


def test_progress_says_how_far_decoding_got() -> None:
    progress = parse_progress(
        "frame=150\nout_time_us=6000000\nprogress=continue\n"
        "frame=300\nout_time_us=12010667\nout_time=00:00:12.010667\nprogress=end\n"
    )
    assert progress.seconds == pytest.approx(12.010667)
    assert parse_progress("out_time_us=N/A\n").seconds is None
