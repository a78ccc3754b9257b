"""Loudness levels measured ahead of air: the gain, the limiter, and how an item's command
airs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playout.api.channel import Loudness, Output
from playout.media.ffmpeg import SegmentOutput, airs_copied, item_command, tracks_heard
from playout.media.loudness import (
    MAX_GAIN_DB,
    Level,
    Measured,
    corrected,
    level_filter,
    level_for,
    measure_command,
)
from playout.media.metadata import parse_metadata
from playout.streamer.loudness import measured_from

TARGET = Loudness()  # -23 LUFS, -1 dBTP
OUT = SegmentOutput(Path("/state/work/r1-%06d.ts"), 2, 120.5)


def media(*streams: dict[str, object]) -> str:
    listed = [{"index": i, **stream} for i, stream in enumerate(streams)]
    return json.dumps({"streams": listed, "format": {"duration": "60.0"}})


VIDEO = {"codec_type": "video", "codec_name": "hevc"}
ENGLISH = {"codec_type": "audio", "codec_name": "aac", "tags": {"language": "eng"}}
GERMAN = {"codec_type": "audio", "codec_name": "aac", "tags": {"language": "deu"}}


def test_a_loud_item_is_turned_down_without_a_limiter() -> None:
    assert level_for(Measured(-14.0, -0.5, 6.0), TARGET) == Level(-9.0, limited=False)


def test_a_quiet_item_with_peaks_is_raised_behind_the_limiter() -> None:
    # +8 dB would put its -4 dBTP peaks at +4.
    assert level_for(Measured(-31.0, -4.0, 12.0), TARGET) == Level(8.0, limited=True)


def test_a_quiet_item_whose_peaks_fit_needs_no_limiter() -> None:
    assert level_for(Measured(-27.0, -12.0, 5.0), TARGET) == Level(4.0, limited=False)


def test_silence_stays_silent_and_near_silence_is_raised_only_so_far() -> None:
    assert level_for(Measured(-70.0, None, None), TARGET) == Level(0.0, limited=False)
    assert level_for(Measured(-60.0, -45.0, 2.0), TARGET).gain_db == MAX_GAIN_DB


def test_the_target_is_the_channels() -> None:
    streaming = Loudness(integrated_lufs=-16, true_peak_dbtp=-2)
    assert level_for(Measured(-20.0, -3.0, 4.0), streaming) == Level(4.0, limited=True)


def test_what_the_limiter_took_is_given_back() -> None:
    level = Level(8.0, limited=True)
    # Measured through the limiter at -23.8: 0.8 LU short of the target.
    assert corrected(level, Measured(-23.8, -2.1, 10.0), TARGET) == Level(8.8, limited=True)
    unlimited = Level(-3.0, limited=False)
    assert corrected(unlimited, Measured(-23.4, -5.0, 3.0), TARGET) is unlimited


def test_level_filters() -> None:
    assert level_filter(Level(-9.0, limited=False), TARGET) == "volume=-9.00dB"
    limited = level_filter(Level(8.0, limited=True), TARGET)
    assert limited.startswith("volume=8.00dB,alimiter=limit=0.7943:")  # -2 dBFS
    # No make-up gain of its own, and no delay against the picture.
    assert "level=false" in limited and "latency=true" in limited


def test_the_meter_reads_one_track_and_no_picture() -> None:
    command = measure_command("ffmpeg", Path("/media/a b.mkv"), 2, through="volume=3dB")
    assert command[command.index("-map") + 1] == "0:2"
    assert "-vn" in command
    assert command[command.index("-af") + 1] == "volume=3dB,ebur128=peak=true:framelog=verbose"
    assert command[command.index("-i") + 1] == "file:/media/a b.mkv"


def test_the_meters_summary_is_parsed() -> None:
    log = """[Parsed_ebur128_0 @ 0x1] Summary:

  Integrated loudness:
    I:         -19.6 LUFS
    Threshold: -30.0 LUFS

  Loudness range:
    LRA:         3.2 LU
    Threshold: -40.1 LUFS
    LRA low:   -21.4 LUFS
    LRA high:  -18.2 LUFS

  True peak:
    Peak:       -2.7 dBFS
"""
    assert measured_from(log) == Measured(-19.6, -2.7, 3.2)
    assert measured_from("Conversion failed!") is None
    silent = log.replace("-19.6", "-70.0").replace("-2.7 dBFS", "-inf dBFS")
    assert measured_from(silent) == Measured(-70.0, None, 3.2)


def test_each_sound_airs_at_its_own_tracks_level() -> None:
    output = Output.model_validate({"audio": {"languages": ["en", "de"], "alternates": True}})
    info = parse_metadata(media(VIDEO, ENGLISH, GERMAN))
    assert tracks_heard(output, info) == [1, 2]
    levels = {"0:1": Level(-4.0, limited=False), "0:2": Level(6.0, limited=True)}
    command = item_command("ffmpeg", output, Path("/m/a.mkv"), info, 0.0, OUT, levels=levels)
    graph = command[command.index("-filter_complex") + 1].split(";")
    # The main sound (English) and an alternate of each language, German its own track.
    english = [chain for chain in graph if chain.startswith("[0:1]")]
    german = [chain for chain in graph if chain.startswith("[0:2]")]
    assert len(english) == 2 and len(german) == 1
    for chain in english:
        assert "volume=-4.00dB" in chain and "alimiter" not in chain and "loudnorm" not in chain
    assert "volume=6.00dB,alimiter" in german[0]


@pytest.mark.parametrize("levels", [None, {"0:2": Level(1.0, limited=False)}])
def test_a_track_not_measured_in_time_airs_through_loudnorm(
    levels: dict[str, Level] | None,
) -> None:
    output = Output.model_validate({"audio": {"languages": ["en"]}})
    info = parse_metadata(media(VIDEO, ENGLISH, GERMAN))
    command = item_command("ffmpeg", output, Path("/m/a.mkv"), info, 0.0, OUT, levels=levels)
    assert "loudnorm=I=-23.0:TP=-1.0:LRA=7.0" in command[command.index("-af") + 1]


def test_silence_added_for_an_item_without_sound_is_not_normalised() -> None:
    info = parse_metadata(media(VIDEO))
    assert tracks_heard(Output(), info) == []
    command = item_command("ffmpeg", Output(), Path("/m/a.mkv"), info, 0.0, OUT)
    assert "loudnorm" not in command[command.index("-af") + 1]


def test_disabled_loudness_leaves_the_sound_as_it_is() -> None:
    output = Output.model_validate({"audio": {"loudness": {"enabled": False}}})
    info = parse_metadata(media(VIDEO, ENGLISH))
    levels = {"0:1": Level(-4.0, limited=False)}
    command = item_command("ffmpeg", output, Path("/m/a.mkv"), info, 0.0, OUT, levels=levels)
    chain = command[command.index("-af") + 1]
    assert "volume" not in chain and "loudnorm" not in chain


def test_copied_items_are_not_measured() -> None:
    copy = Output(mode="copy")
    h264 = parse_metadata(media({"codec_type": "video", "codec_name": "h264"}, ENGLISH))
    assert airs_copied(copy, h264)
    assert not airs_copied(copy, h264, copy=False)  # keyframes too far apart
    assert not airs_copied(Output(), h264)
