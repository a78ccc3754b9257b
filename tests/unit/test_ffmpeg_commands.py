"""ffmpeg command lines: argument lists, whitelisted protocols, paths that cannot be read
as anything but files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from playout.api.channel import Logo, Output, VideoOutput
from playout.media.ffmpeg import (
    BT709_TAGS,
    RGB_TO_BT709,
    TONE_MAP,
    BurnIn,
    Rung,
    SegmentOutput,
    card_command,
    frame_rate,
    item_command,
    ladder,
    parse_segment_line,
    planned_length,
)
from playout.media.metadata import MediaInfo, parse_metadata


def media(*codecs: tuple[str, str]) -> str:
    streams = [
        {"index": i, "codec_type": kind, "codec_name": name}
        for i, (kind, name) in enumerate(codecs)
    ]
    return json.dumps({"streams": streams, "format": {"duration": "60.0"}})


H264 = parse_metadata(media(("video", "h264"), ("audio", "aac")))
HEVC_SILENT = parse_metadata(media(("video", "hevc")))
OUT = SegmentOutput(Path("/state/work/r1-%06d.ts"), 2, 120.5)


def test_odd_paths_are_file_urls() -> None:
    command = item_command("ffmpeg", Output(), Path("/media/-it's: [a] 名前.mkv"), H264, 0.0, OUT)
    source = command[command.index("-i") + 1]
    assert source == "file:/media/-it's: [a] 名前.mkv"
    assert command[command.index("-protocol_whitelist") + 1] == "file,pipe"
    assert "concat" not in command[command.index("-format_whitelist") + 1].split(",")
    assert "-ss" not in command


def test_resume_seeks_and_timestamps_continue() -> None:
    command = item_command("ffmpeg", Output(), Path("/media/a.mkv"), H264, 754.0, OUT)
    assert command[command.index("-ss") + 1] == "754.000000"
    assert command.index("-ss") < command.index("-i")  # fast input seeking
    assert command[command.index("-output_ts_offset") + 1] == "120.500000"
    assert command[-1] == "/state/work/r1-%06d.ts"


def test_transcode_forces_keyframes_on_segment_boundaries() -> None:
    command = item_command("ffmpeg", Output(segment_seconds=4), Path("/m/a.mkv"), H264, 0.0, OUT)
    assert command[command.index("-force_key_frames") + 1] == "expr:gte(t,n_forced*4)"
    assert command[command.index("-g") + 1] == "120"  # 30 fps x 4 s
    assert "loudnorm=I=-23.0:TP=-1.0:LRA=7.0" in command[command.index("-af") + 1]


def test_copy_mode_copies_what_matches_and_normalises_the_rest() -> None:
    copy = Output(mode="copy")
    assert "copy" in item_command("ffmpeg", copy, Path("/m/a.mkv"), H264, 0.0, OUT)
    normalised = item_command("ffmpeg", copy, Path("/m/b.mkv"), HEVC_SILENT, 0.0, OUT)
    assert "libx264" in normalised
    # No audio of its own: silence is added, and stops with the video.
    assert "anullsrc=r=48000:cl=stereo" in normalised and "-shortest" in normalised


def test_cards_read_their_text_from_a_file() -> None:
    command = card_command("ffmpeg", Output(), Path("/state/work/card.txt"), 4.0, OUT)
    graph = command[command.index("-vf") + 1]
    assert "textfile=/state/work/card.txt" in graph and ":text=" not in graph


def test_card_paths_are_escaped_for_the_filter_graph() -> None:
    command = card_command("ffmpeg", Output(), Path("/st:ate/it's [x].txt"), 4.0, OUT)
    assert r"textfile=/st\\:ate/it\\\'s \[x\].txt:" in command[command.index("-vf") + 1]


def at(rate: float, **fields: object) -> Output:
    return Output.model_validate({**fields, "video": VideoOutput(frame_rate=rate)})


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize(
    ("rate", "exact"),
    [(25, Fraction(25)), (30, Fraction(30)), (60, Fraction(60)), (12.5, Fraction(25, 2)),
     (29.97, Fraction(30000, 1001)), (59.94, Fraction(60000, 1001)),
     (23.976, Fraction(24000, 1001))],
)  # fmt: skip
def test_frame_rates_are_exact_fractions(rate: float, exact: Fraction) -> None:
    assert frame_rate(at(rate)) == exact


@pytest.mark.parametrize(
    ("rate", "seconds", "frames"),
    [(25, 2.0, 50), (25, 3.37, 84), (25, 0.02, 1), (25, 0.019, 0),
     (29.97, 2.0, 60), (29.97, 3.37, 101), (29.97, 0.7, 21),
     (30, 2.05, 62), (30, 0.7, 21), (30, 1 / 60, 1),
     (60, 1.2, 72), (60, 3.37, 202), (60, -1.0, 0)],
)  # fmt: skip
def test_planned_length_is_whole_frames(rate: float, seconds: float, frames: int) -> None:
    output = at(rate)
    length = planned_length(output, seconds)
    assert length == float(frames / frame_rate(output))
    assert planned_length(output, length) == length  # quantizing twice changes nothing


def test_planned_lengths_add_up_on_the_ntsc_grid() -> None:
    """A thousand 2.002 s entries end on frame 60000 (2002 s), where ffmpeg puts it."""
    output = at(29.97)
    total = sum(planned_length(output, 2.0) for _ in range(1000))
    assert round(total * 90_000) == 60_000 * 3003


def test_copy_mode_lengths_use_the_output_grid_too() -> None:
    """Copy mode still encodes cards and the items it cannot copy at the output rate."""
    assert planned_length(at(25, mode="copy"), 1.01) == 1.0


def test_transcode_plays_exactly_the_planned_length() -> None:
    command = item_command("ffmpeg", Output(), Path("/m/a.mkv"), H264, 1.5, OUT, duration=2.5)
    assert option(command, "-ss") == "1.500000"
    video = option(command, "-vf")
    assert "fps=30/1:start_time=0,tpad=stop=-1:stop_mode=clone,trim=end_frame=75," in video
    # 2.5 s at 48 kHz is 117.19 AAC frames: the audio stops after 117 (the first of them
    # the encoder's priming, in place of the first 1024 samples).
    audio = option(command, "-af")
    assert audio.startswith("aresample=48000:async=1:first_pts=0,")
    assert audio.endswith(",apad,atrim=start_pts=1024:end_pts=119808")
    assert "-t" not in command and "-shortest" not in command
    assert command.index("-muxdelay") < command.index("-f", command.index("-af"))


def test_ntsc_rates_reach_ffmpeg_as_fractions() -> None:
    command = item_command("ffmpeg", at(29.97), Path("/m/a.mkv"), H264, 0.0, OUT, duration=2.0)
    assert "fps=30000/1001:start_time=0," in option(command, "-vf")
    assert "trim=end_frame=60," in option(command, "-vf")
    assert option(command, "-g") == "60"


def test_silent_items_with_a_length_get_exactly_that_much_silence() -> None:
    command = item_command(
        "ffmpeg", Output(), Path("/m/b.mkv"), HEVC_SILENT, 0.0, OUT, duration=1.2
    )
    assert "anullsrc=r=48000:cl=stereo" in command and "-shortest" not in command
    assert option(command, "-af").endswith(",apad,atrim=start_pts=1024:end_pts=57344")


def test_without_a_length_items_play_to_their_end() -> None:
    command = item_command("ffmpeg", Output(), Path("/m/a.mkv"), H264, 0.0, OUT)
    assert "tpad" not in option(command, "-vf") and "trim" not in option(command, "-vf")
    assert option(command, "-af").endswith(",atrim=start_pts=1024")


def test_copy_mode_cuts_whole_packets() -> None:
    copy = Output(mode="copy")
    command = item_command("ffmpeg", copy, Path("/m/a.mkv"), H264, 3.0, OUT, duration=2.0)
    assert "copy" in command and "libx264" not in command
    assert option(command, "-copypriorss") == "0"
    assert option(command, "-t") == "2.000000"
    assert option(command, "-bsf:v") == (
        r"h264_mp4toannexb,dump_extra=freq=keyframe,noise=drop=gt(pts+duration\,180090)"
    )
    assert option(command, "-bsf:a") == r"noise=drop=gt(pts+duration\,180000)"
    whole = item_command("ffmpeg", copy, Path("/m/a.mkv"), H264, 0.0, OUT)
    assert "-t" not in whole and "-bsf:a" not in whole
    # Every keyframe carries the parameter sets, cut or not: a client may join at any.
    assert option(whole, "-bsf:v") == "h264_mp4toannexb,dump_extra=freq=keyframe"


def test_less_than_half_a_frame_is_nothing_to_play() -> None:
    with pytest.raises(ValueError, match="less than one frame"):
        item_command("ffmpeg", Output(), Path("/m/a.mkv"), H264, 0.0, OUT, duration=0.01)


def test_cards_last_exactly_the_planned_length() -> None:
    command = card_command("ffmpeg", at(29.97), Path("/state/work/card.txt"), 4.0, OUT)
    assert option(command, "-i").endswith(":r=30000/1001,format=rgb24")
    assert ",trim=end_frame=120," in option(command, "-vf")
    # 4.004 s at 48 kHz: 187 whole AAC frames.
    assert option(command, "-af").endswith(",apad,atrim=start_pts=1024:end_pts=191488")
    assert "-t" not in command


def test_segment_list_lines() -> None:
    assert parse_segment_line("r1-000003.ts,6.000000,8.000000\n") == ("r1-000003.ts", 8.0)
    assert parse_segment_line("garbage") is None


LADDER = Output.model_validate(
    {
        "renditions": [
            {"height": 720, "bitrateKbps": 3000},
            {"height": 480, "bitrateKbps": 1400},
            {"name": "mobile", "height": 360, "bitrateKbps": 800},
        ]
    }
)


def test_a_ladder_keeps_the_output_shape_at_even_widths() -> None:
    assert ladder(Output()) == [Rung(None, 1280, 720, 3000)]
    assert ladder(LADDER) == [
        Rung("720p", 1280, 720, 3000),
        Rung("480p", 854, 480, 1400),
        Rung("mobile", 640, 360, 800),
    ]


def test_every_rendition_comes_from_one_decode() -> None:
    command = item_command("ffmpeg", LADDER, Path("/m/a.mkv"), H264, 0.0, OUT, duration=4.0)
    assert command.count("-i") == 1 and "-vf" not in command
    graph = option(command, "-filter_complex").split(";")
    # Normalised once at the top rung's size, then split and scaled down.
    assert graph[0].startswith("[0:v:0]scale=1280:720:") and graph[0].endswith(
        "split=3[v0][v1][v2]"
    )
    assert graph[1:3] == ["[v1]scale=854:480,setsar=1[v1s]", "[v2]scale=640:360,setsar=1[v2s]"]
    assert graph[3].startswith("[0:1]aresample") and graph[3].endswith("asplit=3[a0][a1][a2]")
    # One encoder pair and one segment muxer per rung, each with its own files and rate,
    # and the same forced keyframes.
    outputs = [i for i, arg in enumerate(command) if arg.endswith(".ts")]
    assert [command[i] for i in outputs] == [
        "/state/work/r1-v0-%06d.ts",
        "/state/work/r1-v1-%06d.ts",
        "/state/work/r1-v2-%06d.ts",
    ]
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "-b:v"] == [
        "3000k",
        "1400k",
        "800k",
    ]
    assert command.count("expr:gte(t,n_forced*2)") == 3
    assert command.count("pipe:1") == 3
    assert OUT.rendition_of("r1-v2-000004.ts", 3) == 2
    assert OUT.rendition_of("other-000004.ts", 3) is None


def test_copy_mode_ladders_copy_the_top_rung_and_cut_the_rest_on_its_keyframes() -> None:
    copy = LADDER.model_copy(update={"mode": "copy"})
    command = item_command("ffmpeg", copy, Path("/m/a.mkv"), H264, 0.0, OUT, duration=4.0)
    top = command.index("/state/work/r1-v0-%06d.ts")
    assert "libx264" not in command[:top] and "copy" in command[:top]
    assert command.count("source") == 2  # -force_key_frames source, for both encoded rungs
    assert "expr:gte(t,n_forced*2)" not in command
    graph = option(command, "-filter_complex")
    assert graph.startswith("[0:v:0]split=2[v1][v2];[v1]scale=854:480:")


def test_cards_make_every_rendition_too() -> None:
    command = card_command("ffmpeg", LADDER, Path("/state/work/card.txt"), 4.0, OUT)
    assert command[command.index("-i") + 1].startswith("color=c=0x14213d:s=1280x720:")
    assert "split=3[v0][v1][v2]" in option(command, "-filter_complex")
    assert command.count("pipe:1") == 3


def video_source(**video: object) -> MediaInfo:
    stream = {"index": 0, "codec_type": "video", "codec_name": "h264", **video}
    return parse_metadata(json.dumps({"streams": [stream], "format": {"duration": "60.0"}}))


def test_sources_are_cleaned_before_they_are_scaled() -> None:
    def graph(info: MediaInfo) -> str:
        return option(item_command("ffmpeg", Output(), Path("/m/a.mkv"), info, 0.0, OUT), "-vf")

    assert graph(video_source()).startswith("scale=1280:720:")
    interlaced = graph(video_source(field_order="tt"))
    assert interlaced.startswith("bwdif=mode=send_frame:parity=auto:deint=all,scale=1280:720:")
    assert graph(video_source(color_transfer="smpte2084")).startswith(f"{TONE_MAP},scale=")
    assert graph(video_source(color_transfer="arib-std-b67")).startswith(f"{TONE_MAP},scale=")
    # Non-square pixels made square first, so the fit sees the display shape.
    assert graph(video_source(sample_aspect_ratio="64:45")).startswith(
        "scale=trunc(iw*sar/2)*2:ih,setsar=1,scale=1280:720:"
    )


def test_encoded_pictures_are_bt709_limited_range_and_tagged_so() -> None:
    def graph(**video: object) -> str:
        info = video_source(pix_fmt="yuv420p", **video)
        command = item_command("ffmpeg", Output(), Path("/m/a.mkv"), info, 0.0, OUT)
        assert " ".join(BT709_TAGS) in " ".join(command)
        return option(command, "-vf")

    # Untagged video is what players guess: BT.709 from 720 lines, BT.601 below.
    assert graph(height=1080).startswith("scale=1280:720:")
    assert graph(height=576).startswith(
        "zscale=min=smpte170m:rin=limited:m=bt709:r=limited,scale=1280:720:"
    )
    assert graph(height=576, color_space="bt470bg").startswith("zscale=min=bt470bg:")
    assert graph(height=1080, color_space="bt709", color_range="pc").startswith(
        "zscale=min=bt709:rin=full:m=bt709:r=limited,"
    )
    assert graph(height=576, color_space="bt709").startswith("scale=1280:720:")
    # HDR is tone-mapped to BT.709 instead; copied video keeps its own tags.
    assert graph(color_transfer="smpte2084", color_space="bt2020nc").startswith(f"{TONE_MAP},")
    copied = item_command("ffmpeg", Output(mode="copy"), Path("/m/a.mkv"), H264, 0.0, OUT)
    assert "-color_primaries" not in copied


def test_the_logo_is_drawn_once_over_the_top_rung_in_its_corner() -> None:
    output = LADDER.model_copy(
        update={"logo": Logo(path="logo.png", corner="bottom-left", opacity=0.5)}
    )
    command = item_command(
        "ffmpeg", output, Path("/m/a.mkv"), H264, 0.0, OUT, logo=Path("/media/logo.png")
    )
    # The logo's input: one image, looped, never read as a pattern of files.
    at = command.index("file:/media/logo.png")
    assert command[at - 7 : at] == [
        "-f", "image2", "-pattern_type", "none", "-loop", "1", "-i",
    ]  # fmt: skip
    graph = option(command, "-filter_complex")
    # Made BT.709 Y'CbCr before it is laid over the picture, which is tagged so.
    logo = "[1:v]format=rgba,colorchannelmixer=aa=0.5,scale=-2:72,"
    assert f"{logo}{RGB_TO_BT709},format=yuva420p[logo]" in graph
    assert "[base][logo]overlay=x=29:y=H-h-29:shortest=1" in graph  # 4% of 720 from the edges
    assert graph.index("overlay") < graph.index("split=3")  # one logo, scaled with each rung


def test_burned_subtitles_are_drawn_at_the_files_times_then_timed_as_before() -> None:
    burn = BurnIn(Path("/media/it's [1].srt"), None)
    command = item_command(
        "ffmpeg", Output(mode="copy"), Path("/m/a.mkv"), H264, 12.5, OUT, burn=burn
    )
    assert "copy" not in command  # burned in means encoded, in copy mode too
    graph = option(command, "-vf")
    assert (
        r"setpts=PTS+12.500000/TB,subtitles=filename=/media/it\\\'s \[1\].srt,setpts=PTS-12.500000/TB"
        in graph
    )
    assert graph.index("subtitles") > graph.index("pad=")  # at the top rung's size
    track = item_command(
        "ffmpeg", Output(), Path("/m/a.mkv"), H264, 0, OUT, burn=BurnIn(Path("/m/a.mkv"), 1)
    )
    assert "subtitles=filename=/m/a.mkv:si=1," in option(track, "-vf")


def test_bitmap_subtitles_are_laid_on_the_source_before_anything_is_scaled() -> None:
    burn = BurnIn(Path("/m/a.mkv"), 0, bitmap_stream=3)
    command = item_command("ffmpeg", Output(), Path("/m/a.mkv"), H264, 60.0, OUT, burn=burn)
    graph = option(command, "-filter_complex")  # two inputs to one filter: a full graph
    assert graph.startswith("[0:v:0]null[picture];[picture][0:3]overlay=eof_action=pass,scale=")
    assert "subtitles=" not in graph


def test_copy_mode_encodes_a_silent_file_when_alternate_audio_needs_its_silence() -> None:
    """Copied, a file without sound would give the alternate audio renditions no segment,
    and the engine waits for every rendition's."""
    output = Output.model_validate(
        {"mode": "copy", "audio": {"languages": ["de", "en"], "alternates": True}}
    )
    silent = parse_metadata(media(("video", "h264")))
    command = item_command("ffmpeg", output, Path("/m/a.mkv"), silent, 0.0, OUT, duration=4.0)
    assert "-copypriorss" not in command and "anullsrc" in " ".join(command)
    assert command.count("pipe:1") == 3  # the video, and both languages' silence
    assert "-copypriorss" in item_command("ffmpeg", output, Path("/m/a.mkv"), H264, 0.0, OUT)
