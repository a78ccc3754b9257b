"""What the media is, from ffprobe alone (no decode): format and streams, then the packets
for keyframe spacing, bitrate over time and timestamp continuity. Commands and parsers,
pure."""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from playout.api.probejob import (
    AudioSummary,
    BitrateSummary,
    GopSummary,
    StreamSummary,
    Summary,
    TimeRange,
    VideoSummary,
)
from playout.media.source import input_args

BITRATE_WINDOW_SECONDS = 1.0


def metadata_command(ffprobe: str, source: str | Path) -> list[str]:
    return [
        ffprobe, "-hide_banner", "-v", "error",
        "-show_format", "-show_streams", "-of", "json",
        *input_args(source),
    ]  # fmt: skip


def packets_command(ffprobe: str, source: str | Path, limit_seconds: float | None) -> list[str]:
    """One CSV line per packet: stream_index,pts_time,dts_time,size,flags (ffprobe's own
    field order). `limit_seconds` bounds what is read of a live source."""
    limit = ["-read_intervals", f"%+{limit_seconds:g}"] if limit_seconds else []
    return [
        ffprobe, "-hide_banner", "-v", "error", *limit,
        "-show_entries", "packet=stream_index,pts_time,dts_time,size,flags",
        "-of", "csv=p=0",
        *input_args(source),
    ]  # fmt: skip


def keyframes_command(ffprobe: str, source: str | Path) -> list[str]:
    """The presentation time and flags of every packet of the first video stream: where
    its keyframes are (no decode)."""
    return [
        ffprobe, "-hide_banner", "-v", "error", "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0",
        *input_args(source),
    ]  # fmt: skip


def parse_keyframes(text: str) -> tuple[float, ...]:
    """Keyframe times, in order, from `keyframes_command`'s output."""
    times = []
    for line in text.splitlines():
        time, _, flags = line.partition(",")
        if flags.startswith("K"):
            value = _float(time)
            if value is not None:
                times.append(value)
    return tuple(sorted(times))


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream, as the channel layout check sees it."""

    index: int
    channels: int | None
    layout: str | None
    """ffprobe's `channel_layout` ("unknown" or none when the stream does not say)."""


@dataclass(frozen=True)
class MediaInfo:
    """ffprobe's view of a source: the summary users see, and what the decode pass needs."""

    summary: Summary
    video_index: int | None
    """Absolute index of the main video stream (cover art is not video)."""
    audio_index: int | None
    sample_rate: int | None
    audio_channels: int | None
    """Of the audio stream the checks hear (the first)."""
    frame_rate: float | None
    width: int | None
    height: int | None
    start_seconds: float
    duration_seconds: float | None
    full_range: bool
    audio_tracks: tuple[AudioTrack, ...] = ()
    """Every audio stream, in the container's order."""
    closed_captions: bool = False
    """ffprobe saw CEA-608/708 captions in the main video (it says so only when it decoded
    some of it; the decode pass's description of its input says so too:
    `content.captioned_streams`)."""

    @property
    def live(self) -> bool:
        return self.duration_seconds is None


class UnreadableMedia(ValueError):
    """ffprobe found nothing it could read."""


def parse_metadata(text: str) -> MediaInfo:
    """`ffprobe -show_format -show_streams -of json` -> MediaInfo."""
    try:
        document: dict[str, Any] = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise UnreadableMedia(f"ffprobe printed something that is not JSON: {error}") from None
    fmt = document.get("format") or {}
    streams: list[dict[str, Any]] = document.get("streams") or []
    if not fmt and not streams:
        raise UnreadableMedia("ffprobe found no container and no streams")
    video = next((s for s in streams if _is_video(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration"))
    video_summary = _video(video) if video else None
    summary = Summary(
        container=fmt.get("format_name"),
        duration_seconds=duration,
        size_bytes=_int(fmt.get("size")),
        bit_rate=_int(fmt.get("bit_rate")),
        probe_score=_int(fmt.get("probe_score")),
        live=True if duration is None else None,
        video=video_summary,
        audio=_audio(audio) if audio else None,
        streams=[_stream(s) for s in streams],
    )
    return MediaInfo(
        summary=summary,
        video_index=video["index"] if video else None,
        audio_index=audio["index"] if audio else None,
        sample_rate=_int((audio or {}).get("sample_rate")),
        audio_channels=_int((audio or {}).get("channels")),
        frame_rate=video_summary.frame_rate if video_summary else None,
        width=_int((video or {}).get("width")),
        height=_int((video or {}).get("height")),
        start_seconds=_float(fmt.get("start_time")) or 0.0,
        duration_seconds=duration,
        full_range=(video or {}).get("color_range") in ("pc", "jpeg"),
        audio_tracks=tuple(
            AudioTrack(s["index"], _int(s.get("channels")), s.get("channel_layout"))
            for s in streams
            if s.get("codec_type") == "audio" and "index" in s
        ),
        closed_captions=bool(_int((video or {}).get("closed_captions"))),
    )


def _is_video(stream: dict[str, Any]) -> bool:
    attached = (stream.get("disposition") or {}).get("attached_pic")
    return stream.get("codec_type") == "video" and not attached


def _video(stream: dict[str, Any]) -> VideoSummary:
    pix_fmt = stream.get("pix_fmt")
    side_data = [str(item.get("side_data_type")) for item in stream.get("side_data_list") or []]
    return VideoSummary(
        codec=stream.get("codec_name"),
        profile=stream.get("profile"),
        level=_level(stream.get("codec_name"), stream.get("level")),
        width=_int(stream.get("width")),
        height=_int(stream.get("height")),
        sample_aspect_ratio=stream.get("sample_aspect_ratio"),
        display_aspect_ratio=stream.get("display_aspect_ratio"),
        frame_rate=_rate(stream.get("avg_frame_rate")) or _rate(stream.get("r_frame_rate")),
        pixel_format=pix_fmt,
        bit_depth=_int(stream.get("bits_per_raw_sample")) or _bit_depth(pix_fmt),
        chroma_subsampling=chroma_subsampling(pix_fmt),
        field_order=stream.get("field_order"),
        color_primaries=stream.get("color_primaries"),
        color_transfer=stream.get("color_transfer"),
        color_matrix=stream.get("color_space"),
        color_range=stream.get("color_range"),
        hdr=hdr_format(stream.get("color_transfer"), side_data),
        side_data=side_data,
        bit_rate=_int(stream.get("bit_rate")),
    )


def _audio(stream: dict[str, Any]) -> AudioSummary:
    return AudioSummary(
        codec=stream.get("codec_name"),
        profile=stream.get("profile"),
        sample_rate=_int(stream.get("sample_rate")),
        sample_format=stream.get("sample_fmt"),
        channels=_int(stream.get("channels")),
        channel_layout=stream.get("channel_layout"),
        bit_rate=_int(stream.get("bit_rate")),
        language=(stream.get("tags") or {}).get("language"),
    )


def _stream(stream: dict[str, Any]) -> StreamSummary:
    dispositions = [name for name, on in (stream.get("disposition") or {}).items() if on]
    return StreamSummary(
        index=stream.get("index", 0),
        type=stream.get("codec_type", "unknown"),
        codec=stream.get("codec_name"),
        language=(stream.get("tags") or {}).get("language"),
        dispositions=dispositions,
    )


def _level(codec: str | None, level: object) -> str | None:
    """ffprobe prints H.264 level 4.1 as 41 and HEVC level 4.1 as 123 (30 x 4.1)."""
    number = _int(level)
    if number is None or number < 0:
        return None
    if codec == "h264":
        return f"{number / 10:g}"
    if codec == "hevc":
        return f"{number / 30:g}"
    return str(number)


_DEPTH = re.compile(r"(\d+)(le|be)$")
_SUBSAMPLING = {"420": "4:2:0", "422": "4:2:2", "444": "4:4:4", "440": "4:4:0", "411": "4:1:1"}


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    match = _DEPTH.search(pix_fmt)
    return int(match.group(1)) if match else 8


def chroma_subsampling(pix_fmt: str | None) -> str | None:
    if not pix_fmt:
        return None
    if pix_fmt.startswith(("nv12", "nv21", "p010", "p016")):
        return "4:2:0"
    if pix_fmt.startswith("gray"):
        return "4:0:0"
    match = re.match(r"yuva?j?(4\d\d)", pix_fmt)
    if match:
        return _SUBSAMPLING.get(match.group(1))
    return "4:4:4" if pix_fmt.startswith(("rgb", "bgr", "gbr")) else None


# Colour tags as ffprobe prints them. Untagged video is shown as players guess it: BT.601
# below 720 lines, BT.709 from there (`assumed_matrix`).
UNTAGGED = (None, "unknown", "unspecified", "reserved")
SD_MATRICES = ("bt470bg", "smpte170m")
BT2020_MATRICES = ("bt2020nc", "bt2020c")
HD_LINES = 720
PQ, HLG = "smpte2084", "arib-std-b67"
HDR_TRANSFERS = {PQ: "PQ", HLG: "HLG"}
"""The transfers of HDR video, and what people call them."""


def assumed_matrix(matrix: str | None, height: int | None) -> str | None:
    """The Y'CbCr matrix players decode video tagged `matrix` with: that one, or, untagged,
    BT.601 below 720 lines and BT.709 from there (still untagged when the height is
    unknown)."""
    if matrix in UNTAGGED and height:
        return "bt709" if height >= HD_LINES else "smpte170m"
    return matrix


# Side data kinds as ffprobe names them, on streams and frames alike: SMPTE ST 2086 and
# CTA-861.3 (MaxCLL, MaxFALL).
MASTERING_DISPLAY = "Mastering display metadata"
LIGHT_LEVEL = "Content light level metadata"


def hdr_format(transfer: str | None, side_data: list[str]) -> str | None:
    if any("DOVI" in kind or "Dolby Vision" in kind for kind in side_data):
        return "Dolby Vision"
    if transfer == HLG:
        return "HLG"
    if transfer == PQ:
        mastering = MASTERING_DISPLAY in side_data
        return "HDR10" if mastering else "PQ"
    return None


def frame_side_data_command(ffprobe: str, source: str | Path, video_index: int) -> list[str]:
    """The kinds of side data on the first frame of the video stream (one frame decoded).
    MPEG-TS and raw HEVC carry HDR mastering display and light level metadata in every
    frame's SEI, not among the stream's parameters."""
    return [
        ffprobe, "-hide_banner", "-v", "error", "-select_streams", str(video_index),
        "-read_intervals", "%+#1", "-show_entries", "frame_side_data=side_data_type",
        "-of", "json",
        *input_args(source),
    ]  # fmt: skip


def parse_frame_side_data(text: str) -> list[str]:
    """Side data kinds from `frame_side_data_command`'s output; nothing when unreadable."""
    try:
        document = json.loads(text or "{}")
    except json.JSONDecodeError:
        return []
    frames = document.get("frames") if isinstance(document, dict) else None
    if not isinstance(frames, list):
        return []
    return [
        str(item.get("side_data_type"))
        for frame in frames[:1]
        if isinstance(frame, dict)
        for item in frame.get("side_data_list") or []
        if isinstance(item, dict)
    ]


def lacks_hdr_side_data(media: MediaInfo) -> bool:
    """PQ video whose stream parameters lack mastering display or light level metadata:
    its first frame may still carry them (`frame_side_data_command`)."""
    video = media.summary.video
    if video is None or video.color_transfer != PQ:
        return False
    return not {MASTERING_DISPLAY, LIGHT_LEVEL} <= set(video.side_data)


def with_frame_side_data(media: MediaInfo, kinds: list[str]) -> MediaInfo:
    """The first frame's side data added to the video's, and its HDR format told again."""
    video = media.summary.video
    if video is None:
        return media
    side_data = [*video.side_data, *(kind for kind in kinds if kind not in video.side_data)]
    video = video.model_copy(
        update={"side_data": side_data, "hdr": hdr_format(video.color_transfer, side_data)}
    )
    return replace(media, summary=media.summary.model_copy(update={"video": video}))


def _rate(text: object) -> float | None:
    if not isinstance(text, str) or "/" not in text:
        return None
    numerator, _, denominator = text.partition("/")
    try:
        rate = Fraction(int(numerator), int(denominator))
    except (ValueError, ZeroDivisionError):
        return None
    return round(float(rate), 3) if rate > 0 else None


def _float(value: object) -> float | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None


# --- packets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    stream: int
    time: float
    """Presentation time, or decode time where the packet has none."""
    dts: float | None
    size: int
    key: bool


def parse_packets(text: str) -> Iterable[Packet]:
    """ffprobe's packet CSV. Lines that are not packets (side data) are skipped."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) < 5 or not fields[0].isdigit():
            continue
        pts, dts, size = _float(fields[1]), _float(fields[2]), _int(fields[3])
        time = pts if pts is not None else dts
        if time is None or size is None:
            continue
        yield Packet(int(fields[0]), time, dts, size, fields[4].startswith("K"))


@dataclass(frozen=True)
class StreamSpan:
    """Where a stream's packets begin and end, in seconds from the start of the media."""

    first: float
    last: float

    @property
    def seconds(self) -> float:
        return self.last - self.first


@dataclass(frozen=True)
class PacketStats:
    gop: GopSummary | None
    frame_rate_mode: Literal["constant", "variable"] | None
    bitrate: BitrateSummary | None
    jumps: list[TimeRange] = field(default_factory=list)
    """Timestamp discontinuities: [before, after] in seconds from the start."""
    end_seconds: float | None = None
    """Where the last packet ends: the duration as the packets tell it."""
    spans: dict[int, StreamSpan] = field(default_factory=dict)
    """Each stream's first and last packet, by stream index."""


# A gap in one stream's decode times longer than this many typical packet durations (and
# than one second) is a discontinuity; so is any step back.
_JUMP_FACTOR = 10
_MIN_JUMP_SECONDS = 1.0


def analyse_packets(
    packets: Iterable[Packet],
    video_index: int | None,
    start_seconds: float,
    window: float = BITRATE_WINDOW_SECONDS,
) -> PacketStats:
    by_stream: dict[int, list[Packet]] = {}
    for packet in packets:
        by_stream.setdefault(packet.stream, []).append(packet)
    if not by_stream:
        return PacketStats(None, None, None)
    video = by_stream.get(video_index, []) if video_index is not None else []
    everything = [packet for stream in by_stream.values() for packet in stream]
    end = max(packet.time for packet in everything) - start_seconds
    return PacketStats(
        gop=_gop(video, start_seconds, end),
        frame_rate_mode=_frame_rate_mode(video),
        bitrate=_bitrate(everything, window),
        jumps=sorted(
            (jump for stream in by_stream.values() for jump in _jumps(stream, start_seconds)),
            key=lambda jump: jump.start,
        ),
        end_seconds=round(max(end, 0.0), 3),
        spans={
            index: StreamSpan(
                round(min(p.time for p in stream) - start_seconds, 3),
                round(max(p.time for p in stream) - start_seconds, 3),
            )
            for index, stream in by_stream.items()
        },
    )


def _gop(video: list[Packet], start: float, end: float) -> GopSummary | None:
    keyframes = sorted(packet.time - start for packet in video if packet.key)
    if not keyframes:
        return GopSummary(keyframes=0) if video else None
    # The last GOP runs to the end of the stream: a file with a single keyframe has one
    # GOP as long as the file.
    intervals = [b - a for a, b in itertools.pairwise(keyframes)]
    tail = end - keyframes[-1]
    spans = intervals + ([tail] if tail > 0 else [])
    if not spans:
        return GopSummary(keyframes=len(keyframes))
    return GopSummary(
        keyframes=len(keyframes),
        average_seconds=round(statistics.fmean(intervals or spans), 3),
        min_seconds=round(min(intervals or spans), 3),
        max_seconds=round(max(spans), 3),
    )


def _frame_rate_mode(video: list[Packet]) -> Literal["constant", "variable"] | None:
    """Constant when nearly every frame lasts as long as the most common frame duration."""
    times = sorted(packet.time for packet in video)
    deltas = [round(b - a, 4) for a, b in itertools.pairwise(times) if b > a]
    if len(deltas) < 2:
        return None
    typical = statistics.mode(deltas)
    regular = sum(1 for delta in deltas if abs(delta - typical) <= max(0.0015, typical * 0.01))
    return "constant" if regular >= 0.95 * len(deltas) else "variable"


def _bitrate(packets: list[Packet], window: float) -> BitrateSummary | None:
    times = [packet.time for packet in packets]
    first, last = min(times), max(times)
    full_windows = int((last - first) // window)
    if full_windows < 1:
        return None
    bits = [0] * full_windows
    for packet in packets:
        slot = int((packet.time - first) // window)
        if slot < full_windows:
            bits[slot] += packet.size * 8
    rates = [value / window for value in bits]
    return BitrateSummary(
        window_seconds=window,
        average=round(statistics.fmean(rates)),
        peak=round(max(rates)),
        stddev=round(statistics.pstdev(rates)),
    )


def _jumps(stream: list[Packet], start: float) -> list[TimeRange]:
    stamps = [packet.dts for packet in stream if packet.dts is not None]
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    positive = [step for step in steps if step > 0]
    if not positive:
        return []
    limit = max(_MIN_JUMP_SECONDS, _JUMP_FACTOR * statistics.median(positive))
    return [
        TimeRange(
            start=round(max(min(a, b) - start, 0), 3), end=round(max(max(a, b) - start, 0), 3)
        )
        for a, b in itertools.pairwise(stamps)
        if b < a or b - a > limit
    ]
