"""ffmpeg command lines: argument lists, whitelisted protocols, paths that cannot be read
as anything but files."""

from __future__ import annotations

import json
from pathlib import Path

from playout.api.channel import Output
from playout.media.ffmpeg import SegmentOutput, card_command, item_command, parse_segment_line
from playout.media.metadata import parse_metadata


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
    assert command[command.index("-ss") + 1] == "754.000"
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


def test_segment_list_lines() -> None:
    assert parse_segment_line("r1-000003.ts,6.000000,8.000000\n") == ("r1-000003.ts", 8.0)
    assert parse_segment_line("garbage") is None
