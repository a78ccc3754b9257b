"""How ffmpeg and ffprobe open a source: by URL or `file:` path, with the protocol whitelist
of `playout.media.process` and a demuxer whitelist on top. Pure.

The demuxer whitelist keeps out formats that read other files or devices on behalf of the
input (concat lists, image sequences, lavfi graphs, capture devices): a file that claims
to be one of those is reported as unreadable rather than followed."""

from __future__ import annotations

from pathlib import Path

from playout.media.process import input_for, is_remote, whitelist_for

# Names as `ffmpeg -demuxers` prints them; ffmpeg matches any one of a comma-joined name.
DEMUXERS = (
    "mov", "matroska", "mpegts", "mpeg", "mxf", "avi", "flv", "hls", "asf", "gxf", "dv",
    "nut", "wav", "w64", "aiff", "caf", "mp3", "aac", "ac3", "eac3", "dts", "truehd",
    "flac", "ogg", "loas", "h264", "hevc", "mpegvideo", "m4v", "vc1", "av1", "ivf",
    "yuv4mpegpipe", "lxf", "wtv",
)  # fmt: skip


def input_args(source: str | Path) -> list[str]:
    """The options and `-i` for one input."""
    text = str(source)
    return [
        "-protocol_whitelist", whitelist_for(text),
        "-format_whitelist", ",".join(DEMUXERS),
        "-i", input_for(text),
    ]  # fmt: skip


SIDECAR_DEMUXERS = ("srt", "webvtt", "ass")


def sidecar_args(path: Path) -> list[str]:
    """A sidecar subtitle file as an input: read only as subtitles."""
    return [
        "-protocol_whitelist", "file", "-format_whitelist", ",".join(SIDECAR_DEMUXERS),
        "-i", input_for(str(path)),
    ]  # fmt: skip


def image_args(path: Path) -> list[str]:
    """A still image as an endless video input (a logo): one file, never a sequence."""
    return [
        "-protocol_whitelist", "file", "-f", "image2", "-pattern_type", "none", "-loop", "1",
        "-i", input_for(str(path)),
    ]  # fmt: skip


def is_playlist(source: str | Path) -> bool:
    """HLS, judged by the name: `.m3u8`, also before a query string."""
    text = str(source)
    path = text.split("?", 1)[0] if is_remote(text) else text
    return path.lower().endswith(".m3u8")
