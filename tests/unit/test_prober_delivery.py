"""The checks distributors ask for: channel layouts, closed captions, audio against video
length, variable frame rate; and the `require` rules they are held to. No ffmpeg."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from playout.api.probejob import (
    CheckStatus,
    LibraryReport,
    ProbeJobSpec,
    ProbeProfile,
    ProbeRequirements,
    TimeRange,
)
from playout.media.channels import declared, layout_channels, satisfies
from playout.media.metadata import (
    PacketStats,
    StreamSpan,
    analyse_packets,
    parse_metadata,
    parse_packets,
)
from playout.prober import checks
from playout.prober.catalogue import settings_for
from playout.prober.content import captioned_streams
from playout.prober.library import earlier_results
from tests.unit.test_prober_checks import BROADCAST, STANDARD
from tests.unit.test_prober_metadata import CLIP


def _clip(*audio: dict[str, Any], video: dict[str, Any] | None = None) -> Any:
    """CLIP with these audio streams (channels, channel_layout) instead of its own."""
    document = copy.deepcopy(CLIP)
    base = {k: v for k, v in document["streams"][1].items() if k != "channel_layout"}
    document["streams"][1:] = [{**base, "index": 1 + n, **fields} for n, fields in enumerate(audio)]
    document["streams"][0].update(video or {})
    return parse_metadata(json.dumps(document))


# --- channel layouts ---------------------------------------------------------------------


def test_layout_names() -> None:
    assert layout_channels("5.1(side)") == 6
    assert layout_channels("FL+FR+LFE") == 3  # a custom layout
    assert layout_channels("surround") is None
    assert not declared("unknown") and not declared("6 channels") and not declared(None)
    assert satisfies("5.1(side)", "5.1") and satisfies("5.1", "5.1")
    assert not satisfies("5.1", "5.1(side)") and not satisfies("5.0", "5.1")


def test_every_audio_track_is_listed() -> None:
    media = _clip({"channels": 2, "channel_layout": "stereo"}, {"channels": 6})
    assert [(t.index, t.channels, t.layout) for t in media.audio_tracks] == [
        (1, 2, "stereo"),
        (2, 6, None),
    ]


def test_declared_layouts_pass() -> None:
    media = _clip(
        {"channels": 2, "channel_layout": "stereo"}, {"channels": 6, "channel_layout": "5.1(side)"}
    )
    check = checks.channel_layout_check(BROADCAST, media)
    assert check is not None and check.status == CheckStatus.PASS
    assert check.message == "stream 1 stereo, stream 2 5.1(side)"


def test_many_channels_without_a_layout() -> None:
    media = _clip({"channels": 6, "channel_layout": "unknown"})
    check = checks.channel_layout_check(STANDARD, media)
    assert check is not None and (check.status, check.value) == (CheckStatus.WARN, 1)
    assert "audio stream 1 has 6 channels and declares no layout" in check.message
    assert "aformat=channel_layouts=5.1" in check.message
    broadcast = checks.channel_layout_check(BROADCAST, media)
    assert broadcast is not None and broadcast.status == CheckStatus.FAIL
    # One or two channels without a layout play as mono or stereo.
    two = checks.channel_layout_check(BROADCAST, _clip({"channels": 2}))
    assert two is not None and (two.status, two.message) == (CheckStatus.PASS, "stream 1 stereo")


def test_a_layout_that_disagrees_with_the_channels() -> None:
    check = checks.channel_layout_check(STANDARD, _clip({"channels": 2, "channel_layout": "5.1"}))
    assert check is not None and check.status == CheckStatus.WARN
    assert "audio stream 1 declares 5.1 (6 channels) but has 2" in check.message


def test_required_layouts() -> None:
    require = ProbeRequirements(audio_layouts=["stereo", "5.1"])
    settings = settings_for(ProbeProfile.BROADCAST, {}, require)
    media = _clip(
        {"channels": 2, "channel_layout": "stereo"},
        {"channels": 6, "channel_layout": "5.1(side)"},
        {"channels": 1, "channel_layout": "mono"},
    )
    check = checks.channel_layout_check(settings, media)
    assert check is not None and (check.status, check.value) == (CheckStatus.FAIL, 1)
    assert "audio stream 3 is mono, not stereo or 5.1 (require.audioLayouts)" in check.message
    assert "stream 1" not in check.message and "stream 2" not in check.message


def test_required_layouts_are_known_names() -> None:
    with pytest.raises(ValidationError, match="'stero' must be a channel layout as ffprobe prints"):
        ProbeRequirements(audio_layouts=["stero"])
    spec = ProbeJobSpec.model_validate(
        {"source": {"url": "https://example.com/a.mp4"}, "require": {"audioLayouts": ["5.1"]}}
    )
    assert spec.require is not None and spec.require.audio_layouts == ["5.1"]


def test_no_audio_no_layout_check() -> None:
    document = copy.deepcopy(CLIP)
    del document["streams"][1]
    assert checks.channel_layout_check(STANDARD, parse_metadata(json.dumps(document))) is None


# --- closed captions ---------------------------------------------------------------------

# What ffmpeg 5.1 logs of a captioned H.264 MP4 at -loglevel level+info (its input, then
# its output).
CAPTIONED_LOG = """\
[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'cc.mp4':
[info]   Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), \
320x180 [SAR 1:1 DAR 16:9], Closed Captions, 232 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
[info]   Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))
[info]   Stream #0:3(und): Video: wrapped_avframe, yuv420p, Closed Captions, 25 fps
"""


def test_captions_in_the_decode_log() -> None:
    assert captioned_streams(CAPTIONED_LOG) == {0}
    assert captioned_streams(CAPTIONED_LOG.replace(", Closed Captions", "")) == set()


def test_ffprobe_says_captions_when_it_decoded_some() -> None:
    assert _clip({"channels": 2}, video={"closed_captions": 1}).closed_captions
    assert not _clip({"channels": 2}, video={"closed_captions": 0}).closed_captions


def test_captions_are_reported_and_only_required_ones_fail() -> None:
    found = checks.captions_check(STANDARD, True)
    assert (found.status, found.value) == (CheckStatus.PASS, 1)
    assert found.message == "CEA-608/708 closed captions in the video"
    absent = checks.captions_check(BROADCAST, False)
    assert (absent.status, absent.value) == (CheckStatus.PASS, 0)
    required = settings_for(ProbeProfile.STANDARD, {}, ProbeRequirements(captions=True))
    missing = checks.captions_check(required, False)
    assert missing.status == CheckStatus.FAIL
    assert "(require.captions)" in missing.message and "-a53cc 1" in missing.message


# --- audio against video -----------------------------------------------------------------


def _spans(video: tuple[float, float], *audio: tuple[float, float]) -> PacketStats:
    spans = {0: StreamSpan(*video)} | {1 + n: StreamSpan(*span) for n, span in enumerate(audio)}
    return PacketStats(None, "constant", None, spans=spans)


def test_each_streams_packets_span() -> None:
    video = [f"0,{1.4 + i * 0.04:.6f},{1.4 + i * 0.04:.6f},1000,__" for i in range(250)]
    audio = [f"1,{1.4 + i * 0.02:.6f},{1.4 + i * 0.02:.6f},300,K_" for i in range(350)]
    stats = analyse_packets(parse_packets("\n".join(video + audio)), 0, 1.4)
    assert stats.spans == {0: StreamSpan(0.0, 9.96), 1: StreamSpan(0.0, 6.98)}


def test_audio_three_seconds_short() -> None:
    media = _clip({"channels": 2})
    check = checks.av_duration_check(STANDARD, media, _spans((0, 9.96), (0, 6.98)))
    assert check is not None
    assert (check.status, check.value, check.threshold) == (CheckStatus.WARN, 2.98, 1)
    assert check.message.startswith("audio stream 1 shorter than the video by 2.98 s")
    assert "-af apad -shortest" in check.message
    assert check.events == [TimeRange(start=6.98, end=9.96)]
    broadcast = checks.av_duration_check(BROADCAST, media, _spans((0, 9.96), (0, 6.98)))
    assert broadcast is not None and broadcast.status == CheckStatus.FAIL


def test_the_worst_audio_track_is_judged() -> None:
    media = _clip({"channels": 2}, {"channels": 2})
    check = checks.av_duration_check(STANDARD, media, _spans((0, 10), (0, 9.98), (0, 12.5)))
    assert check is not None and check.status == CheckStatus.WARN
    assert "audio stream 2 longer than the video by 2.50 s" in check.message
    assert "-shortest" in check.message


def test_a_frame_apart_passes() -> None:
    media = _clip({"channels": 2})
    check = checks.av_duration_check(BROADCAST, media, _spans((0, 9.96), (0, 9.98)))
    assert check is not None and check.status == CheckStatus.PASS and check.events == []
    looser = settings_for(ProbeProfile.BROADCAST, {"avDurationMismatchSeconds": 5})
    within = checks.av_duration_check(looser, media, _spans((0, 10), (0, 7)))
    assert within is not None and within.status == CheckStatus.PASS


def test_damaged_times_before_the_start_stay_on_the_media_timeline() -> None:
    media = _clip({"channels": 2})
    check = checks.av_duration_check(STANDARD, media, _spans((0, 9.96), (-1.458, 6.98)))
    assert check is not None and check.status == CheckStatus.WARN
    assert check.events == [TimeRange(start=6.98, end=9.96)]


def test_no_audio_or_live_is_not_judged() -> None:
    document = copy.deepcopy(CLIP)
    del document["streams"][1]
    video_only = parse_metadata(json.dumps(document))
    assert checks.av_duration_check(STANDARD, video_only, _spans((0, 10))) is None
    live = parse_metadata(json.dumps({**CLIP, "format": {"format_name": "hls"}}))
    assert checks.av_duration_check(STANDARD, live, _spans((0, 10), (0, 2))) is None


# --- variable frame rate -----------------------------------------------------------------


def test_variable_frame_rate_fails_broadcast_and_says_the_fix() -> None:
    media = _clip({"channels": 2})
    stats = PacketStats(None, "variable", None)
    standard = checks.frame_rate_check(STANDARD, media, stats)
    broadcast = checks.frame_rate_check(BROADCAST, media, stats)
    assert standard is not None and standard.status == CheckStatus.WARN
    assert broadcast is not None and broadcast.status == CheckStatus.FAIL
    assert "-fps_mode cfr -r 25" in broadcast.message
    ntsc = _clip({"channels": 2}, video={"avg_frame_rate": "2997/100"})
    check = checks.frame_rate_check(STANDARD, ntsc, stats)
    assert check is not None and "-r 30000/1001" in check.message
    steady = checks.frame_rate_check(BROADCAST, media, PacketStats(None, "constant", None))
    assert steady is not None and (steady.status, steady.message) == (CheckStatus.PASS, "25 fps")


# --- a library's earlier results -----------------------------------------------------------


def test_changed_requirements_judge_every_file_again() -> None:
    report = LibraryReport.model_validate(
        {
            "source": "/media",
            "profile": "standard",
            "require": {"captions": True},
            "files": [{"path": "a.mp4", "status": "pass"}],
        }
    )
    same = earlier_results(
        [report], profile="standard", thresholds={}, require=ProbeRequirements(captions=True)
    )
    assert list(same) == ["a.mp4"]
    assert earlier_results([report], profile="standard", thresholds={}) == {}
