"""ffmpeg and ffprobe command lines, built as argument lists (never shell strings). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playout.api.channel import Output
from playout.media.metadata import MediaInfo
from playout.media.source import input_args

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CARD_BACKGROUND = "0x14213d"


def escape(value: str) -> str:
    """A filter option value as it must appear inside a filter graph: escaped once for the
    option parser (`\\ ' :`) and once more for the graph parser (`\\ ' [ ] , ;`)."""
    for char in "\\':":
        value = value.replace(char, "\\" + char)
    for char in "\\'[],;":
        value = value.replace(char, "\\" + char)
    return value


def can_copy(info: MediaInfo) -> bool:
    """Whether a file can be repackaged as it is into the HLS stream (H.264 + AAC)."""
    video, audio = info.summary.video, info.summary.audio
    return video is not None and video.codec == "h264" and (audio is None or audio.codec == "aac")


@dataclass(frozen=True)
class SegmentOutput:
    """Where and how one ffmpeg run writes its segments."""

    pattern: Path
    """printf-style path of the segment files, e.g. work/run-3-item-7-%06d.ts."""
    segment_seconds: int
    ts_offset: float
    """Output timestamps start here, so they keep rising across items."""


def _segment_muxer(out: SegmentOutput) -> list[str]:
    # The segment muxer prints "file,start,end" to stdout as each segment completes: the
    # engine learns of segments from that, never by polling the disk.
    return [
        "-output_ts_offset", f"{out.ts_offset:.6f}",
        "-f", "segment", "-segment_time", str(out.segment_seconds),
        "-segment_format", "mpegts", "-segment_list", "pipe:1", "-segment_list_type", "csv",
        "-reset_timestamps", "0", str(out.pattern),
    ]  # fmt: skip


def _encoders(output: Output) -> list[str]:
    video, audio = output.video, output.audio
    gop = max(1, round(video.frame_rate * output.segment_seconds))
    return [
        "-c:v", "libx264", "-preset", video.preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-b:v", f"{video.bitrate_kbps}k", "-maxrate", f"{video.bitrate_kbps}k",
        "-bufsize", f"{video.bitrate_kbps * 2}k",
        # A keyframe exactly on every segment boundary, and nowhere it would cut short.
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{output.segment_seconds})",
        "-c:a", "aac", "-b:a", f"{audio.bitrate_kbps}k",
        "-ar", str(audio.sample_rate), "-ac", str(audio.channels),
    ]  # fmt: skip


def _video_filter(output: Output) -> str:
    video = output.video
    return (
        f"scale={video.width}:{video.height}:force_original_aspect_ratio=decrease,"
        f"pad={video.width}:{video.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
        f"fps={video.frame_rate},format=yuv420p"
    )


def _audio_filter(output: Output) -> str:
    audio = output.audio
    layout = "stereo" if audio.channels == 2 else "mono"
    steps = [f"aresample={audio.sample_rate}:async=1", f"aformat=channel_layouts={layout}"]
    if audio.loudness.enabled:
        loud = audio.loudness
        steps.append(
            f"loudnorm=I={loud.integrated_lufs}:TP={loud.true_peak_dbtp}:LRA={loud.range_lu}"
        )
        steps.append(f"aresample={audio.sample_rate}")  # loudnorm works at 192 kHz
    return ",".join(steps)


def _silence(output: Output) -> list[str]:
    layout = "stereo" if output.audio.channels == 2 else "mono"
    return ["-f", "lavfi", "-i", f"anullsrc=r={output.audio.sample_rate}:cl={layout}"]


def item_command(
    ffmpeg: str,
    output: Output,
    source: Path,
    info: MediaInfo,
    start: float,
    segments: SegmentOutput,
) -> list[str]:
    """Play one file (from `start` seconds) into segments. Files that already match the
    stream are copied in copy mode; everything else is normalised to `output`."""
    head = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats"]
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    source_input = [*seek, *input_args(source)]
    has_audio = info.audio_index is not None
    if output.mode == "copy" and can_copy(info):
        audio = ["-map", "0:a:0"] if has_audio else []
        return [
            *head, *source_input, "-map", "0:v:0", *audio, "-c", "copy",
            "-muxdelay", "0", *_segment_muxer(segments),
        ]  # fmt: skip
    inputs = [*source_input, *([] if has_audio else _silence(output))]
    audio_map = "0:a:0" if has_audio else "1:a:0"
    # Without audio of its own the item is as long as its video: stop the silence there.
    shortest = [] if has_audio else ["-shortest"]
    return [
        *head, *inputs, "-map", "0:v:0", "-map", audio_map,
        "-vf", _video_filter(output), "-af", _audio_filter(output), *_encoders(output),
        *shortest, "-muxdelay", "0", *_segment_muxer(segments),
    ]  # fmt: skip


def card_command(
    ffmpeg: str, output: Output, text_file: Path, seconds: float, segments: SegmentOutput
) -> list[str]:
    """A generated card ("Up next: ...", or the slate) with silent audio. The text comes
    from a file, so no title, whatever its quotes or colons, needs escaping."""
    video = output.video
    size = f"{video.width}x{video.height}"
    font = f"fontfile={escape(str(FONT))}:" if FONT.exists() else ""
    text = (
        f"drawtext={font}textfile={escape(str(text_file))}:fontcolor=white:"
        f"fontsize={video.height // 14}:"
        "x=(w-text_w)/2:y=(h-text_h)/2"
    )
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-f", "lavfi", "-i",
        f"color=c={CARD_BACKGROUND}:s={size}:r={video.frame_rate}:d={seconds:.3f}",
        *_silence(output), "-map", "0:v:0", "-map", "1:a:0",
        "-vf", f"{text},format=yuv420p", "-af", _audio_filter(output),
        *_encoders(output), "-t", f"{seconds:.3f}", "-muxdelay", "0", *_segment_muxer(segments),
    ]  # fmt: skip


def parse_segment_line(line: str) -> tuple[str, float] | None:
    """One line of the segment muxer's csv list -> (file name, end time), or None."""
    name, _, times = line.strip().rpartition(",")
    name, _, _start = name.rpartition(",")
    try:
        return (name, float(times)) if name else None
    except ValueError:
        return None
