"""ffprobe's output -> what the media is: format, streams, packets. Captured text, no ffmpeg."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playout.media.metadata import (
    UnreadableMedia,
    analyse_packets,
    chroma_subsampling,
    hdr_format,
    metadata_command,
    packets_command,
    parse_metadata,
    parse_packets,
)

# `ffprobe -show_format -show_streams -of json` of a 12 s H.264/AAC MP4 (trimmed).
CLIP: dict[str, Any] = {
    "streams": [
        {
            "index": 0, "codec_name": "h264", "profile": "High", "codec_type": "video",
            "width": 320, "height": 240, "sample_aspect_ratio": "1:1",
            "display_aspect_ratio": "4:3", "pix_fmt": "yuv420p", "level": 13,
            "field_order": "progressive", "r_frame_rate": "25/1", "avg_frame_rate": "25/1",
            "bits_per_raw_sample": "8", "bit_rate": "228568",
            "disposition": {"default": 1, "dub": 0, "attached_pic": 0},
            "tags": {"language": "und"},
        },
        {
            "index": 1, "codec_name": "aac", "profile": "LC", "codec_type": "audio",
            "sample_fmt": "fltp", "sample_rate": "48000", "channels": 2,
            "channel_layout": "stereo", "bit_rate": "58757",
            "disposition": {"default": 1}, "tags": {"language": "eng"},
        },
    ],
    "format": {
        "format_name": "mov,mp4,m4a,3gp,3g2,mj2", "start_time": "0.000000",
        "duration": "12.000000", "size": "441684", "bit_rate": "294456", "probe_score": 100,
    },
}  # fmt: skip


def test_the_summary_says_what_the_media_is() -> None:
    media = parse_metadata(json.dumps(CLIP))
    summary = media.summary
    assert summary.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert summary.duration_seconds == 12.0
    assert (summary.size_bytes, summary.bit_rate, summary.probe_score) == (441684, 294456, 100)
    video = summary.video
    assert video is not None
    assert (video.codec, video.profile, video.level) == ("h264", "High", "1.3")
    assert (video.width, video.height, video.frame_rate) == (320, 240, 25.0)
    assert (video.bit_depth, video.chroma_subsampling, video.hdr) == (8, "4:2:0", None)
    audio = summary.audio
    assert audio is not None
    assert (audio.codec, audio.sample_rate, audio.channels, audio.language) == (
        "aac",
        48000,
        2,
        "eng",
    )
    assert [s.dispositions for s in summary.streams] == [["default"], ["default"]]
    assert (media.video_index, media.audio_index, media.sample_rate) == (0, 1, 48000)
    assert not media.live and not media.full_range


def test_cover_art_is_not_video() -> None:
    document = json.loads(json.dumps(CLIP))
    document["streams"][0]["disposition"]["attached_pic"] = 1
    media = parse_metadata(json.dumps(document))
    assert media.video_index is None and media.summary.video is None
    assert media.summary.streams[0].type == "video"  # still listed


def test_hdr_and_ten_bit_video() -> None:
    document = json.loads(json.dumps(CLIP))
    document["streams"][0].update(
        codec_name="hevc", level=153, pix_fmt="yuv420p10le", color_transfer="smpte2084",
        color_primaries="bt2020", color_range="tv",
        side_data_list=[{"side_data_type": "Mastering display metadata"}],
    )  # fmt: skip
    del document["streams"][0]["bits_per_raw_sample"]
    video = parse_metadata(json.dumps(document)).summary.video
    assert video is not None
    assert (video.level, video.bit_depth, video.hdr) == ("5.1", 10, "HDR10")
    assert video.side_data == ["Mastering display metadata"]


@pytest.mark.parametrize(
    ("pix_fmt", "expected"),
    [("yuv420p", "4:2:0"), ("yuvj422p", "4:2:2"), ("yuv444p12le", "4:4:4"), ("nv12", "4:2:0"),
     ("gray", "4:0:0"), ("rgb24", "4:4:4"), (None, None)],
)  # fmt: skip
def test_chroma_subsampling(pix_fmt: str | None, expected: str | None) -> None:
    assert chroma_subsampling(pix_fmt) == expected


def test_hdr_formats() -> None:
    assert hdr_format("arib-std-b67", []) == "HLG"
    assert hdr_format("smpte2084", []) == "PQ"
    assert hdr_format("bt709", ["DOVI configuration record"]) == "Dolby Vision"
    assert hdr_format("bt709", []) is None


def test_a_stream_without_duration_is_live() -> None:
    document = json.loads(json.dumps(CLIP))
    del document["format"]["duration"]
    media = parse_metadata(json.dumps(document))
    assert media.live and media.summary.live


@pytest.mark.parametrize("text", ["", "{}", "not json"])
def test_nothing_readable_is_an_error(text: str) -> None:
    with pytest.raises(UnreadableMedia):
        parse_metadata(text)


def test_commands_open_odd_names_as_files_with_whitelists() -> None:
    command = metadata_command("ffprobe", "-weird:name,[x].mkv")
    assert command[-1].startswith("file:/") and command[-1].endswith("/-weird:name,[x].mkv")
    assert command[command.index("-protocol_whitelist") + 1] == "file,pipe"
    formats = command[command.index("-format_whitelist") + 1].split(",")
    assert "concat" not in formats and "image2" not in formats and "mov" in formats
    remote = packets_command("ffprobe", "https://cdn.example/live.m3u8", 30)
    assert remote[-1] == "https://cdn.example/live.m3u8"
    assert remote[remote.index("-protocol_whitelist") + 1] == "http,tcp,crypto"
    assert remote[remote.index("-read_intervals") + 1] == "%+30"


# `ffprobe -show_entries packet=stream_index,pts_time,dts_time,size,flags -of csv=p=0`
PACKETS = """\
0,0.000000,-0.080000,4755,K_
0,0.160000,-0.040000,2193,__
1,-0.021333,-0.021333,212,KD,

0,0.080000,0.000000,1281,__
"""


def test_packet_lines_and_side_data_lines() -> None:
    packets = list(parse_packets(PACKETS))
    assert [p.stream for p in packets] == [0, 0, 1, 0]
    assert packets[0].key and not packets[1].key
    assert packets[0].time == 0.0 and packets[0].dts == -0.08


def _video_packets(times: list[float], keys: set[float], size: int = 1000) -> str:
    return "".join(f"0,{t:.6f},{t:.6f},{size},{'K_' if t in keys else '__'}\n" for t in times)


def test_gop_from_keyframes() -> None:
    times = [i * 0.04 for i in range(250)]  # 10 s at 25 fps
    keys = {times[0], times[50], times[100], times[200]}  # at 0, 2, 4, 8 s
    stats = analyse_packets(parse_packets(_video_packets(times, keys)), 0, 0.0)
    assert stats.gop is not None
    assert stats.gop.keyframes == 4
    assert stats.gop.max_seconds == 4.0
    assert stats.gop.min_seconds == 2.0
    assert stats.frame_rate_mode == "constant"
    assert stats.end_seconds == pytest.approx(9.96)


def test_a_single_keyframe_makes_one_long_gop() -> None:
    times = [i * 0.04 for i in range(250)]
    stats = analyse_packets(parse_packets(_video_packets(times, {0.0})), 0, 0.0)
    assert stats.gop is not None and stats.gop.keyframes == 1
    assert stats.gop.max_seconds == pytest.approx(9.96)


def test_variable_frame_rate() -> None:
    times, t = [], 0.0
    for i in range(200):
        times.append(t)
        t += 0.04 if i % 3 else 0.1
    stats = analyse_packets(parse_packets(_video_packets(times, {0.0})), 0, 0.0)
    assert stats.frame_rate_mode == "variable"


def test_bitrate_over_windows() -> None:
    # 1000 bytes per packet at 25 packets/s = 200 kb/s, with a burst in the third second.
    lines = [
        f"0,{i * 0.04:.6f},{i * 0.04:.6f},{3000 if 50 <= i < 75 else 1000},__" for i in range(125)
    ]
    stats = analyse_packets(parse_packets("\n".join(lines)), 0, 0.0)
    assert stats.bitrate is not None
    assert stats.bitrate.peak == 600_000
    assert stats.bitrate.average == 300_000  # four full windows; the partial fifth is left out
    assert stats.bitrate.stddev > 0


def test_timestamp_jumps_back_and_forward() -> None:
    times = [i * 0.04 for i in range(100)] + [10 + i * 0.04 for i in range(50)] + [3.0, 3.04]
    stats = analyse_packets(parse_packets(_video_packets(times, {0.0})), 0, 0.0)
    assert [(j.start, j.end) for j in stats.jumps] == [(3.0, 11.96), (3.96, 10.0)]


def test_times_are_from_the_start_of_the_media() -> None:
    times = [1.4 + i * 0.04 for i in range(100)]
    stats = analyse_packets(parse_packets(_video_packets(times, {1.4, 3.4})), 0, 1.4)
    assert stats.gop is not None and stats.gop.max_seconds == 2.0
    assert stats.end_seconds == pytest.approx(3.96)
