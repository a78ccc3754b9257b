"""ffmpeg and ffprobe command lines, built as argument lists (never shell strings). Pure.

Each entry of the timeline is one ffmpeg run whose output timestamps start at the entry's
planned start (`SegmentOutput.ts_offset`). Runs follow one another in one MPEG-TS timeline,
so within the video stream and within the audio stream timestamps must only rise across
entries, as an ffmpeg or player reading the live playlist expects. In transcode mode each
run therefore produces exactly `planned_length` seconds:
- video: whole frames from the entry's start, the last one cloned if the file is short;
- audio: whole AAC frames, the first starting exactly at the entry's start (the encoder's
  priming frame included) and the last ending at or before the entry's end, so the next
  entry's audio never overlaps it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from playout.api.channel import Logo, Output
from playout.api.probejob import VideoSummary
from playout.media import languages, loudness
from playout.media.loudness import Level
from playout.media.metadata import (
    BT2020_MATRICES,
    HDR_TRANSFERS,
    SD_MATRICES,
    MediaInfo,
    assumed_matrix,
)
from playout.media.source import image_args, input_args, sidecar_args

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CARD_BACKGROUND = "0x14213d"
MPEG_TS_CLOCK = 90_000
AAC_FRAME = 1024
"""Samples per AAC frame; ffmpeg's AAC encoder also delays its output by one frame."""
EARLIEST_TS_OFFSET = 10.0
"""The lowest `ts_offset` an entry should have. Its video decodes a few frames before its
first picture (B-frames: DTS < PTS); MPEG-TS has no negative timestamps, and libavformat
shifts a run whose DTS would go negative late by that lead (avoid_negative_ts), into the
entry after it."""


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


def frame_rate(output: Output) -> Fraction:
    """The output frame rate as an exact fraction. 29.97, 59.94 and 23.976 mean the NTSC
    rates (30000/1001, ...): as decimals (2997/100) their frames would fall off the 90 kHz
    clock, and entry lengths would no longer add up to the timestamps ffmpeg writes."""
    return _exact_rate(output.video.frame_rate)


@lru_cache(maxsize=64)
def _exact_rate(value: float) -> Fraction:
    # Cached: planning two weeks asks for it twice per entry.
    rate = Fraction(value).limit_denominator(1000)
    ntsc = Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)
    return ntsc if rate.denominator != 1 and abs(ntsc - rate) < Fraction(1, 1000) else rate


def _frames(output: Output, seconds: float) -> int:
    """Whole output frames nearest to `seconds`, taken to the microsecond (the precision of
    the timeline's clock), so that 2.05 s is the 61.5 frames it says and rounds up."""
    exact = Fraction(round(seconds * 1_000_000), 1_000_000)
    return max(0, math.floor(exact * frame_rate(output) + Fraction(1, 2)))


def planned_length(output: Output, seconds: float) -> float:
    """What an entry asked to last `seconds` really lasts: the nearest whole number of
    output frames (0 for less than half a frame). The timeline quantizes every entry with
    this, so that its sums of lengths are the timestamps ffmpeg writes. Copy mode uses the
    same grid: its cards and the items it cannot copy are encoded at the output rate."""
    return float(_frames(output, seconds) / frame_rate(output))


@dataclass(frozen=True)
class SegmentOutput:
    """Where and how one ffmpeg run writes its segments."""

    pattern: Path
    """printf-style path of the segment files, e.g. work/run-3-item-7-%06d.ts."""
    segment_seconds: int
    ts_offset: float
    """Output timestamps start here (seconds), so they keep rising across entries; at
    least EARLIEST_TS_OFFSET."""
    entry_offset: float = 0.0
    """Seconds into its timeline entry this run starts at (0 unless it joins mid-entry)."""

    def pattern_for(self, rendition: int, count: int) -> Path:
        """Where rendition `rendition` of `count` writes: `pattern` for the only one,
        otherwise `pattern` with `-v<rendition>` before its counter (r3-v1-%06d.ts)."""
        if count == 1:
            return self.pattern
        head, _, counter = self.pattern.name.rpartition("-")
        return self.pattern.with_name(f"{head}-v{rendition}-{counter}")

    def rendition_of(self, name: str, count: int) -> int | None:
        """Which rendition a segment file the muxers reported belongs to."""
        for rendition in range(count):
            head = self.pattern_for(rendition, count).name.partition("%")[0]
            if name.startswith(head):
                return rendition
        return None


@dataclass(frozen=True)
class Rung:
    """One rendition as ffmpeg makes it."""

    name: str | None
    """Its path under /live; None for a channel's only rendition (at /live itself)."""
    width: int
    height: int
    bitrate_kbps: int


def ladder(output: Output) -> list[Rung]:
    """The renditions to make, best first: `output.renditions`, each as wide as `video`'s
    shape makes its height (to an even number of pixels), or the one rendition `video`
    describes (named after its height when alternate audio or subtitle renditions need a
    multivariant playlist to list it in)."""
    video = output.video
    if not output.renditions:
        named = output.audio.alternate_languages or output.subtitle_renditions
        name = f"{video.height}p" if named else None
        return [Rung(name, video.width, video.height, video.bitrate_kbps)]
    return [
        Rung(
            rendition.key,
            max(2, round(rendition.height * video.width / video.height / 2) * 2),
            rendition.height,
            rendition.bitrate_kbps,
        )
        for rendition in output.renditions
    ]


def _phase(segments: SegmentOutput) -> Fraction:
    return Fraction(round(segments.entry_offset * 1_000_000), 1_000_000)


def _segment_muxer(out: SegmentOutput, pattern: Path, *, audio_only: bool = False) -> list[str]:
    # The segment muxer prints "file,start,end" to stdout as each segment completes: the
    # engine learns of segments from that, never by polling the disk (with renditions, each
    # output's muxer writes its own whole lines to the same pipe). `-muxdelay 0`: the mpegts
    # muxer would otherwise add 0.7 s to every timestamp, off the planned start.
    # It cuts at the first keyframe at or past each multiple of the segment time, counted
    # on the timestamps it is given: video cuts on the forced keyframes whatever their
    # offset, but in audio every packet is a keyframe, so an audio-only output is given the
    # run's own timestamps and shifts them itself (`-initial_offset`), after the cut; its
    # list then says run times, which the engine does not read.
    # Every segment opens with its own PAT and PMT, and an HLS client never joins inside a
    # segment: repeating them every 0.1 s (mpegts's default) cost a 144p rung 26 kb/s.
    offset = ["-initial_offset" if audio_only else "-output_ts_offset", f"{out.ts_offset:.6f}"]
    tables = f"pat_period={out.segment_seconds}:sdt_period={out.segment_seconds}"
    return [
        "-muxdelay", "0", *offset,
        "-f", "segment", "-segment_time", str(out.segment_seconds),
        "-segment_format", "mpegts", "-segment_format_options", tables,
        "-segment_list", "pipe:1", "-segment_list_type", "csv",
        "-reset_timestamps", "0", str(pattern),
    ]  # fmt: skip


def _video_encoder(output: Output, rung: Rung, *, keyframes_from_source: bool = False) -> list[str]:
    """x264 at the rung's bit rate. Keyframes fall on every segment boundary and nowhere
    that would cut a segment short; beside a copied rendition they fall where the source has
    them instead, so that every rendition is cut on the same frames."""
    video = output.video
    if keyframes_from_source:
        keyframes = ["-g", "100000", "-sc_threshold", "0", "-force_key_frames", "source"]
    else:
        gop = max(1, round(frame_rate(output) * output.segment_seconds))
        keyframes = [
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-force_key_frames", f"expr:gte(t,n_forced*{output.segment_seconds})",
        ]  # fmt: skip
    return [
        "-c:v", "libx264", "-preset", video.preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-b:v", f"{rung.bitrate_kbps}k", "-maxrate", f"{rung.bitrate_kbps}k",
        "-bufsize", f"{rung.bitrate_kbps * 2}k", *keyframes,
    ]  # fmt: skip


# What every encoded picture is, told to players and to the prober: BT.709 in limited
# range (`_clean` converts what is not). Copied video keeps its source's tags.
BT709_TAGS = (
    "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
    "-color_range", "tv",
)  # fmt: skip
# Makes RGB pictures (cards, logos, lavfi's sources) the BT.709 Y'CbCr that BT709_TAGS say
# they are: swscale's own default matrix is BT.601's.
RGB_TO_BT709 = "scale=out_color_matrix=bt709:out_range=tv"


def _audio_encoder(output: Output) -> list[str]:
    audio = output.audio
    return [
        "-c:a", "aac", "-b:a", f"{audio.bitrate_kbps}k",
        "-ar", str(audio.sample_rate), "-ac", str(audio.channels),
    ]  # fmt: skip


def _encoded(
    output: Output,
    segments: SegmentOutput,
    *,
    video_in: str,
    sounds: list[str],
    video: str,
    audio: list[str],
    logo: int | None = None,
    per_output: list[str] | None = None,
) -> list[str]:
    """Every output from one decode: the `video` chain once, the logo (input `logo`) over
    it, then (with several renditions) the picture split and scaled down for each rung;
    each sound's `audio` chain on it: the main sound's (`sounds[0]`) split for each rung,
    each alternate's (`sounds[1:]`) on its own; one encoder pair and segment muxer per rung,
    then one AAC encoder and muxer per alternate."""
    rungs = ladder(output)
    extra = per_output or []
    if logo is not None and output.logo is not None:
        video = f"{video}[base];{_logo_graph(output.logo, rungs[0], logo)}"
    elif len(rungs) == 1 and len(sounds) == 1 and ";" not in video:
        return [
            "-map", video_in, "-map", sounds[0], "-vf", video, "-af", audio[0],
            *_video_encoder(output, rungs[0]), *BT709_TAGS, *_audio_encoder(output), *extra,
            *_segment_muxer(segments, segments.pattern),
        ]  # fmt: skip
    count = len(rungs) + len(sounds) - 1
    pictures = "".join(f"[v{i}]" for i in range(len(rungs)))
    mains = "".join(f"[a{i}]" for i in range(len(rungs)))
    graph = [f"[{video_in}]{video},split={len(rungs)}{pictures}"]
    graph += [f"[v{i}]scale={r.width}:{r.height},setsar=1[v{i}s]" for i, r in enumerate(rungs) if i]
    graph.append(f"[{sounds[0]}]{audio[0]},asplit={len(rungs)}{mains}")
    graph += [
        f"[{sound}]{chain}[x{j}]"
        for j, (sound, chain) in enumerate(zip(sounds[1:], audio[1:], strict=True))
    ]
    command = ["-filter_complex", ";".join(graph)]
    for i, rung in enumerate(rungs):
        command += [
            "-map", f"[v{i}s]" if i else "[v0]", "-map", f"[a{i}]",
            *_video_encoder(output, rung), *BT709_TAGS, *_audio_encoder(output), *extra,
            *_segment_muxer(segments, segments.pattern_for(i, count)),
        ]  # fmt: skip
    for j in range(len(sounds) - 1):
        command += [
            "-map", f"[x{j}]", *_audio_encoder(output), *extra,
            *_segment_muxer(segments, segments.pattern_for(len(rungs) + j, count), audio_only=True),
        ]  # fmt: skip
    return command


def sounds_of(output: Output, info: MediaInfo) -> list[str]:
    """Input stream specifiers of the sound each output plays: the main track first (the
    item's first track in the first of `audio.languages` it has, else its default track,
    else its first), then one per alternate language (its track in that language, or the
    main one where it has none). Input 1, silence, for an item without audio."""
    tracks = [stream for stream in info.summary.streams if stream.type == "audio"]
    if not tracks:
        return _silent(output)

    def in_language(code: str) -> int | None:
        return next((t.index for t in tracks if languages.same(t.language, code)), None)

    preferred = (in_language(code) for code in output.audio.languages)
    default = next((t.index for t in tracks if "default" in t.dispositions), tracks[0].index)
    main = next((index for index in preferred if index is not None), default)
    alternates = [in_language(code) for code in output.audio.alternate_languages]
    return [f"0:{main}", *(f"0:{main if index is None else index}" for index in alternates)]


def airs_copied(
    output: Output, info: MediaInfo, *, copy: bool = True, burn: BurnIn | None = None
) -> bool:
    """Whether `item_command` copies the file as it is rather than encoding it."""
    # A file without sound is encoded where alternate audio renditions need silence from it.
    silent_alternates = info.audio_index is None and bool(output.audio.alternate_languages)
    return (
        copy and output.mode == "copy" and can_copy(info) and burn is None and not silent_alternates
    )


def tracks_heard(output: Output, info: MediaInfo) -> list[int]:
    """The file's audio tracks that its sounds play (`sounds_of`), by stream index."""
    return sorted({int(sound[2:]) for sound in sounds_of(output, info) if sound.startswith("0:")})


def _silent(output: Output) -> list[str]:
    """Input 1, silence, for every output's sound."""
    return ["1:a:0"] * (1 + len(output.audio.alternate_languages))


@dataclass(frozen=True)
class AlternateAudio:
    """An alternate audio rendition, made after the video rungs by the same ffmpeg."""

    language: str
    """As `audio.languages` writes it."""

    @property
    def name(self) -> str:
        """Its path under /live; rendition names cannot hold "_", so none can clash."""
        return f"audio_{self.language}"


def alternate_audio(output: Output) -> list[AlternateAudio]:
    return [AlternateAudio(language) for language in output.audio.alternate_languages]


# Text subtitles ffmpeg converts to WebVTT; bitmap ones (PGS, DVB) it cannot, but it can
# overlay them.
TEXT_SUBTITLES = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})
BITMAP_SUBTITLES = frozenset({"hdmv_pgs_subtitle", "dvb_subtitle", "dvd_subtitle", "xsub"})


def subtitle_command(ffmpeg: str, source: Path, stream: int | None = None) -> list[str]:
    """One text subtitle track (stream `stream` of `source`, or a sidecar .srt or .vtt
    file) as a WebVTT document on stdout."""
    opened = sidecar_args(source) if stream is None else input_args(source)
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats", *opened,
        "-map", f"0:{stream}" if stream is not None else "0:s:0", "-f", "webvtt", "pipe:1",
    ]  # fmt: skip


def _video_length(output: Output, frames: int | None) -> str:
    """Frames numbered from 0 at the entry's start (`start_time=0` repeats the first picture
    of a video that starts late); with a length, the last picture is held as long as it
    takes and the stream cut after exactly `frames`."""
    rate = frame_rate(output)
    steps = [f"fps={rate.numerator}/{rate.denominator}:start_time=0"]
    if frames is not None:
        steps += ["tpad=stop=-1:stop_mode=clone", f"trim=end_frame={frames}"]
    return ",".join(steps)


def _logo_graph(logo: Logo, top: Rung, index: int) -> str:
    """The logo from input `index`, at its share of the picture's height, faded to its
    opacity, over the picture labelled `base` in its corner. `shortest`: the image loops
    forever; the picture decides the length."""
    height = max(2, round(top.height * logo.height_percent / 100 / 2) * 2)
    margin = round(top.height * logo.margin_percent / 100)
    x = f"W-w-{margin}" if logo.corner.endswith("right") else str(margin)
    y = f"H-h-{margin}" if logo.corner.startswith("bottom") else str(margin)
    return (
        f"[{index}:v]format=rgba,colorchannelmixer=aa={logo.opacity:g},scale=-2:{height},"
        f"{RGB_TO_BT709},format=yuva420p[logo];"
        f"[base][logo]overlay=x={x}:y={y}:shortest=1:format=auto,format=yuv420p"
    )


def _fit(rung: Rung) -> str:
    """Scaled into the rung's frame, keeping the picture's shape (letter- or pillarboxed)."""
    return (
        f"scale={rung.width}:{rung.height}:force_original_aspect_ratio=decrease,"
        f"pad={rung.width}:{rung.height}:(ow-iw)/2:(oh-ih)/2,setsar=1"
    )


# HDR to SDR: to linear light (PQ and HLG alike, from the frames' own tags), to BT.709
# primaries, Hable's curve, then BT.709's transfer and matrix in limited range.
TONE_MAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv"
)


# The SDR matrices zscale converts from.
_CONVERTIBLE_MATRICES = (*SD_MATRICES, *BT2020_MATRICES)


def _to_bt709(video: VideoSummary) -> str | None:
    """SDR YUV that is not BT.709 limited range as players see it (an SD matrix, tagged or
    untagged below 720 lines; full range) converted to it; None when it already is, or is
    not YUV."""
    matrix = assumed_matrix(video.color_matrix, video.height)
    pixels = video.pixel_format or ""
    # yuvj formats are made limited range when they are converted to what zscale takes.
    full = video.color_range in ("pc", "jpeg") and not pixels.startswith("yuvj")
    if matrix not in (*_CONVERTIBLE_MATRICES, "bt709") or not pixels.startswith("yuv"):
        return None
    if matrix == "bt709" and not full:
        return None
    return f"zscale=min={matrix}:rin={'full' if full else 'limited'}:m=bt709:r=limited"


def _clean(info: MediaInfo | None) -> list[str]:
    """What a source needs before it is scaled: interlaced video deinterlaced (bwdif, a
    picture per frame), HDR tone-mapped to SDR BT.709 and other SDR converted to it,
    non-square pixels made square so that the picture keeps its display shape."""
    video = info.summary.video if info is not None else None
    if video is None:
        return []
    steps = []
    if video.field_order in ("tt", "bb", "tb", "bt"):
        steps.append("bwdif=mode=send_frame:parity=auto:deint=all")
    if video.color_transfer in HDR_TRANSFERS:
        steps.append(TONE_MAP)
    elif (conversion := _to_bt709(video)) is not None:
        steps.append(conversion)
    if video.sample_aspect_ratio not in (None, "1:1", "0:1", "N/A"):
        steps.append("scale=trunc(iw*sar/2)*2:ih,setsar=1")
    return steps


@dataclass(frozen=True)
class BurnIn:
    """Subtitles drawn into the picture: text (libass) from a track of the item or a
    sidecar, or a bitmap track (PGS, DVB, DVD) overlaid as ffmpeg decodes it."""

    path: Path
    track: int | None
    """Which subtitle track of `path` (counted among its subtitle tracks); None: a sidecar."""
    bitmap_stream: int | None = None
    """For a bitmap track: its absolute index in the item (input 0)."""


def _burned(burn: BurnIn, start: float) -> str:
    """libass reads the file itself and renders by the frames' times, which count from the
    seek point: they are moved to the file's times for it and back."""
    track = f":si={burn.track}" if burn.track is not None else ""
    return (
        f"setpts=PTS+{start:.6f}/TB,subtitles=filename={escape(str(burn.path))}{track},"
        f"setpts=PTS-{start:.6f}/TB"
    )


def _video_filter(
    output: Output,
    frames: int | None,
    info: MediaInfo | None = None,
    *,
    burn: BurnIn | None = None,
    start: float = 0.0,
) -> str:
    steps = [*_clean(info), _fit(ladder(output)[0])]
    if burn is not None and burn.bitmap_stream is not None:
        # Pictures made for the source's frame: laid on it before anything is scaled. The
        # track is input 0's, so it was seeked with the picture.
        steps.insert(0, f"null[picture];[picture][0:{burn.bitmap_stream}]overlay=eof_action=pass")
    elif burn is not None:
        # Drawn at the top rung's size, so text is sharp there and scaled with the rest.
        steps.append(_burned(burn, start + (info.start_seconds if info else 0.0)))
    steps.append(_video_length(output, frames))
    return ",".join([*steps, "format=yuv420p"])


def _audio_length(output: Output, frames: int | None, phase: Fraction) -> str:
    """Audio without its first AAC frame's worth of samples: the encoder emits a frame of
    priming ahead of its input, which takes their place, so the first packet starts on the
    entry's start instead of a frame before it, and the sound stays in sync. A run that
    starts `phase` seconds into its entry (a restart, or a second engine joining) also drops
    the samples up to the entry's next AAC frame boundary, so that its packets fall where
    those of a run from the entry's start fall. With a length, silence pads it and it stops
    at the entry's last whole AAC frame that fits: a partial last frame would still decode
    whole, into the next entry."""
    rate = output.audio.sample_rate
    into = phase * rate  # samples of the entry before this run
    trim = f"atrim=start_pts={AAC_FRAME + math.ceil(into / AAC_FRAME) * AAC_FRAME - into}"
    if frames is None:
        return trim
    seconds = phase + Fraction(frames) / frame_rate(output)
    end = math.floor(seconds * rate / AAC_FRAME) * AAC_FRAME - into
    return f"apad,{trim}:end_pts={end}"


def _audio_filter(
    output: Output, frames: int | None, phase: Fraction, normalised: str | None = None
) -> str:
    """One sound's chain: resampled to the stream's rate and layout, `normalised` (the
    loudness filters), then cut to the entry's length."""
    audio = output.audio
    layout = "stereo" if audio.channels == 2 else "mono"
    # first_pts=0: samples count from the entry's start (padded with silence where the
    # source's audio starts late), so that the trims below cut at exact samples.
    steps = [
        f"aresample={audio.sample_rate}:async=1:first_pts=0",
        f"aformat=channel_layouts={layout}",
    ]
    if normalised:
        steps.append(normalised)
    steps.append(_audio_length(output, frames, phase))
    return ",".join(steps)


def _normalised(output: Output, sound: str, levels: Mapping[str, Level]) -> str | None:
    """`audio.loudness` for one sound: the linear level measured for its track, or
    loudnorm's dynamic mode where none is known yet; nothing for the silence of an item
    without audio."""
    target = output.audio.loudness
    if not target.enabled or not sound.startswith("0:"):
        return None
    level = levels.get(sound)
    if level is None:
        return loudness.dynamic_filter(target, output.audio.sample_rate)
    return loudness.level_filter(level, target)


def _silence(output: Output) -> list[str]:
    layout = "stereo" if output.audio.channels == 2 else "mono"
    return ["-f", "lavfi", "-i", f"anullsrc=r={output.audio.sample_rate}:cl={layout}"]


def _length(output: Output, duration: float | None) -> int | None:
    if duration is None:
        return None
    frames = _frames(output, duration)
    if frames < 1:
        raise ValueError(f"{duration}s is less than one frame: nothing to play")
    return frames


# A copied H.264 picture that starts a segment must carry the parameter sets: files keep
# them once in their header (avcC), and open-GOP sources have no IDR after the first
# picture, before which alone h264_mp4toannexb repeats them. Without them a client that
# joins at such a segment cannot decode until the item ends.
PARAMETER_SETS = "h264_mp4toannexb,dump_extra=freq=keyframe"


def _copy_cut(output: Output, frames: int | None, *, video: bool = True) -> list[str]:
    """Copy mode's bitstream filters: the parameter sets before every keyframe, and the cut.
    The cut takes whole packets: `-t` stops reading, and the noise filter drops what
    `-t` keeps because it cuts in decode order: video frames that would still be on screen
    after the end (beyond the millisecond to which Matroska rounds times) and audio frames
    that would sound past it. Clean only where the end falls on a keyframe of the source:
    elsewhere the last B-frames may lose a reference."""
    if frames is None:
        return ["-bsf:v", PARAMETER_SETS] if video else []
    seconds = Fraction(frames) / frame_rate(output)
    # ffmpeg 5.1 hands output filters packets timed from the entry's start in the mpegts
    # muxer's 1/90000 while their `tb` still says the source's: count in 90 kHz ticks.
    end = round(seconds * MPEG_TS_CLOCK)
    pictures = [
        "-bsf:v",
        f"{PARAMETER_SETS},noise=drop=gt(pts+duration\\,{end + MPEG_TS_CLOCK // 1000})",
    ]
    return [
        "-t", f"{float(seconds):.6f}", *(pictures if video else []),
        "-bsf:a", f"noise=drop=gt(pts+duration\\,{end})",
    ]  # fmt: skip


def item_command(
    ffmpeg: str,
    output: Output,
    source: Path,
    info: MediaInfo,
    start: float,
    segments: SegmentOutput,
    *,
    duration: float | None = None,
    copy: bool = True,
    logo: Path | None = None,
    burn: BurnIn | None = None,
    levels: Mapping[str, Level] | None = None,
) -> list[str]:
    """Play one file from `start` seconds into segments: `planned_length(duration)` seconds
    of it, or to its end when `duration` is None. Files that already match the stream are
    copied in copy mode (unless `copy` is False: their keyframes are too far apart for the
    segments); everything else is normalised to `output`, padded or cut to the exact
    length, each sound at its measured loudness level (`levels`, by input stream as
    `sounds_of` names them) or else through loudnorm."""
    frames = _length(output, duration)
    phase = _phase(segments)
    head = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats"]
    seek = ["-ss", f"{start:.6f}"] if start > 0 else []
    source_input = [*seek, *input_args(source)]
    has_audio = info.audio_index is not None
    sounds = sounds_of(output, info)
    if airs_copied(output, info, copy=copy, burn=burn):
        return [*head, *source_input, *_copied(output, frames, segments, sounds, has_audio)]
    inputs = [*source_input, *([] if has_audio else _silence(output))]
    logo_input = None
    if logo is not None:
        logo_input, inputs = inputs.count("-i"), [*inputs, *image_args(logo)]
    # Without audio of its own and a length, the item is as long as its video: stop the
    # silence there.
    shortest = ["-shortest"] if frames is None and not has_audio else []
    return [
        *head, *inputs,
        *_encoded(
            output, segments, video_in="0:v:0", sounds=sounds,
            video=_video_filter(output, frames, info, burn=burn, start=start), logo=logo_input,
            audio=[
                _audio_filter(output, frames, phase, _normalised(output, sound, levels or {}))
                for sound in sounds
            ],
            per_output=shortest,
        ),
    ]  # fmt: skip


def _copied(
    output: Output,
    frames: int | None,
    segments: SegmentOutput,
    sounds: list[str],
    has_audio: bool,
) -> list[str]:
    """The source as it is for the first rendition; the others encoded from its decode,
    keyframes where the source has them, so that all are cut on the same frames. The
    sound is copied into each, and each alternate's track into its own output."""
    # -copypriorss 0: after a seek, start at the first keyframe at or after `start`
    # rather than at the one before it, whose pictures belong before the entry.
    audio = ["-map", sounds[0]] if has_audio else []
    cut = _copy_cut(output, frames)
    rungs = ladder(output)
    count = len(rungs) + len(sounds) - 1
    command = [
        "-map", "0:v:0", *audio, "-c", "copy", "-copypriorss", "0", *cut,
        *_segment_muxer(segments, segments.pattern_for(0, count)),
    ]  # fmt: skip
    if len(rungs) > 1:
        pictures = "".join(f"[v{i}]" for i in range(1, len(rungs)))
        graph = [f"[0:v:0]split={len(rungs) - 1}{pictures}"]
        graph += [f"[v{i}]{_fit(rung)}[v{i}s]" for i, rung in enumerate(rungs) if i]
        command = ["-filter_complex", ";".join(graph), *command]
    for i, rung in enumerate(rungs[1:], start=1):
        command += [
            "-map", f"[v{i}s]", *audio, *_video_encoder(output, rung, keyframes_from_source=True),
            "-c:a", "copy", *cut, *_segment_muxer(segments, segments.pattern_for(i, count)),
        ]  # fmt: skip
    for j, sound in enumerate(sounds[1:]):
        command += [
            "-map", sound, "-c:a", "copy", *_copy_cut(output, frames, video=False),
            *_segment_muxer(segments, segments.pattern_for(len(rungs) + j, count), audio_only=True),
        ]  # fmt: skip
    return command


def card_command(
    ffmpeg: str,
    output: Output,
    text_file: Path,
    seconds: float,
    segments: SegmentOutput,
    *,
    logo: Path | None = None,
) -> list[str]:
    """A generated card ("Up next: ...", or the slate) with silent audio, lasting exactly
    `planned_length(seconds)`. The text comes from a file, so no title, whatever its quotes
    or colons, needs escaping."""
    frames = _length(output, seconds)
    top = ladder(output)[0]
    rate = frame_rate(output)
    size = f"{top.width}x{top.height}"
    font = f"fontfile={escape(str(FONT))}:" if FONT.exists() else ""
    text = (
        f"drawtext={font}textfile={escape(str(text_file))}:fontcolor=white:"
        f"fontsize={top.height // 14}:"
        "x=(w-text_w)/2:y=(h-text_h)/2"
    )
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-f", "lavfi", "-i", f"color=c={CARD_BACKGROUND}:s={size}:r={rate},format=rgb24",
        *_silence(output),
        *(image_args(logo) if logo is not None else []),
        *_encoded(
            output, segments, video_in="0:v:0", sounds=_silent(output),
            video=f"{text},trim=end_frame={frames},{RGB_TO_BT709},format=yuv420p",
            logo=None if logo is None else 2,
            audio=[_audio_filter(output, frames, _phase(segments))] * len(_silent(output)),
        ),
    ]  # fmt: skip


def parse_segment_line(line: str) -> tuple[str, float] | None:
    """One line of the segment muxer's csv list -> (file name, end time), or None."""
    name, _, times = line.strip().rpartition(",")
    name, _, _start = name.rpartition(",")
    try:
        return (name, float(times)) if name else None
    except ValueError:
        return None
