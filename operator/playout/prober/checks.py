"""Measurements + thresholds -> checks with a status, a value, the threshold, a message
and the times where problems are. Pure.

A check that finds a problem takes the weight the profile gives it (`catalogue`); one that
could not measure is `error`; the verdict is the worst of them, an error counting as fail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from playout.api.probejob import (
    Check,
    CheckStatus,
    ProbeProfile,
    TimeRange,
    Verdict,
    VideoSummary,
)
from playout.media.channels import declared, layout_channels, satisfies
from playout.media.ffmpeg import BT709_TAGS
from playout.media.metadata import (
    BT2020_MATRICES,
    HD_LINES,
    HDR_TRANSFERS,
    LIGHT_LEVEL,
    MASTERING_DISPLAY,
    PQ,
    SD_MATRICES,
    UNTAGGED,
    AudioTrack,
    MediaInfo,
    PacketStats,
)
from playout.prober.catalogue import Settings
from playout.prober.content import Frame, Interlacing, LogFindings, Span
from playout.prober.flashes import FlashFindings, FlashRules
from playout.prober.graph import CLIP_WINDOW_SECONDS, GAMUT_KEY

# Events beyond this many per check are counted, not listed.
MAX_EVENTS = 50
# Samples or windows closer than this are one event.
_BRIDGE_SECONDS = 0.3
# Detector runs this close are one run.
_TOUCHING_SECONDS = 0.1


def verdict_of(checks: Iterable[Check]) -> Verdict:
    statuses = {check.status for check in checks}
    if statuses & {CheckStatus.FAIL, CheckStatus.ERROR}:
        return Verdict.FAIL
    if CheckStatus.WARN in statuses:
        return Verdict.WARN
    return Verdict.PASS


def error(name: str, message: str) -> Check:
    return Check(name=name, status=CheckStatus.ERROR, message=message)


def judged(
    settings: Settings,
    name: str,
    problem: bool,
    message: str,
    value: float | None = None,
    threshold: float | None = None,
    events: Sequence[TimeRange] = (),
) -> Check:
    return Check(
        name=name,
        status=settings.severity(name) if problem else CheckStatus.PASS,
        value=None if value is None else round(value, 3),
        threshold=threshold,
        message=message,
        events=list(events[:MAX_EVENTS]),
        events_total=len(events) if len(events) > MAX_EVENTS else None,
    )


def merge(starts: Iterable[float], length: float, end: float | None = None) -> list[TimeRange]:
    """Runs of samples (each covering `length` seconds from its time) as time ranges; runs
    closer than a fraction of a second are one."""
    ranges: list[TimeRange] = []
    for start in sorted(starts):
        stop = start + length if end is None else min(start + length, end)
        if ranges and start <= ranges[-1].end + _BRIDGE_SECONDS:
            ranges[-1] = TimeRange(start=ranges[-1].start, end=max(ranges[-1].end, stop))
        else:
            ranges.append(TimeRange(start=start, end=stop))
    return [TimeRange(start=round(r.start, 3), end=round(r.end, 3)) for r in ranges]


def _ranges(spans: Iterable[Span], end: float | None) -> list[TimeRange]:
    """Detector runs as time ranges, a run still open at the end closing there, and runs
    that touch (within two frames) joined."""
    ranges: list[TimeRange] = []
    for span in sorted(spans, key=lambda span: span.start):
        stop = span.end if span.end is not None else (end if end is not None else span.start)
        start, stop = round(max(span.start, 0), 3), round(max(stop, 0), 3)
        if ranges and start <= ranges[-1].end + _TOUCHING_SECONDS:
            ranges[-1] = TimeRange(start=ranges[-1].start, end=max(ranges[-1].end, stop))
        else:
            ranges.append(TimeRange(start=start, end=stop))
    return ranges


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def where(ranges: Sequence[TimeRange], limit: int = 3) -> str:
    shown = ", ".join(f"{r.start:.2f}-{r.end:.2f} s" for r in ranges[:limit])
    more = f" and {len(ranges) - limit} more" if len(ranges) > limit else ""
    return f"at {shown}{more}"


# --- metadata ---------------------------------------------------------------------------


def streams_check(settings: Settings, media: MediaInfo) -> Check:
    kinds: dict[str, list[str]] = {}
    for stream in media.summary.streams:
        kinds.setdefault(stream.type, []).append(stream.codec or "?")
    listing = "; ".join(
        f"{len(codecs)} {kind} ({', '.join(codecs)})" for kind, codecs in kinds.items()
    )
    missing = media.video_index is None and media.audio_index is None
    return judged(
        settings,
        "streams",
        missing,
        "no audio or video stream" + (f": only {listing}" if listing else "")
        if missing
        else listing,
        value=len(media.summary.streams),
    )


def duration_check(
    settings: Settings, media: MediaInfo, decoded_seconds: float | None, how: str
) -> Check:
    """Declared against what was read (`how`: "decoding" or "the packets")."""
    declared = media.duration_seconds
    if declared is None:
        return judged(settings, "duration", False, "a live stream: no declared duration")
    if declared <= 0:
        return judged(settings, "duration", True, "the media declares no duration", 0.0)
    if decoded_seconds is None:
        return error("duration", f"{how} produced no timestamps: nothing could be read")
    tolerance = settings.number("durationToleranceSeconds")
    short = decoded_seconds < declared - tolerance
    message = (
        f"{how} stopped at {decoded_seconds:.2f} s of the declared {declared:.2f} s: "
        "the file is truncated or damaged"
        if short
        else f"{declared:.2f} s"
    )
    return judged(settings, "duration", short, message, decoded_seconds, round(declared, 3))


def keyframes_check(settings: Settings, stats: PacketStats) -> Check | None:
    gop = stats.gop
    if gop is None:
        return None
    limit = settings.number("keyframeIntervalSeconds")
    if gop.keyframes == 0 or gop.max_seconds is None:
        found = "no keyframe" if gop.keyframes == 0 else "a single keyframe"
        return judged(settings, "keyframes", gop.keyframes == 0, f"{found} in the video")
    message = f"{_count(gop.keyframes, 'keyframe')}, longest gap {gop.max_seconds:.2f} s"
    if gop.keyframes > 1:
        message += f", {gop.average_seconds:.2f} s apart on average"
    long_gop = gop.max_seconds > limit
    if long_gop:
        message += f" (over {limit:g} s: slow to start and seek, hard to segment)"
    return judged(settings, "keyframes", long_gop, message, gop.max_seconds, limit)


def bitrate_check(settings: Settings, stats: PacketStats) -> Check:
    windows = stats.bitrate
    limit = settings["maxBitrateMbps"]
    if windows is None:
        return judged(settings, "bitrate", False, "too short to measure over 1 s windows")
    peak = windows.peak / 1e6
    message = (
        f"average {windows.average / 1e6:.2f} Mb/s, peak {peak:.2f} Mb/s, "
        f"deviation {windows.stddev / 1e6:.2f} Mb/s over {windows.window_seconds:g} s windows"
    )
    over = limit is not None and peak > limit
    if over:
        message += f": peak over the {limit:g} Mb/s limit"
    return judged(settings, "bitrate", over, message, peak, limit)


def timestamps_check(settings: Settings, stats: PacketStats) -> Check:
    allowed = settings.number("timestampJumps")
    jumps = stats.jumps
    problem = len(jumps) > allowed
    message = f"{_count(len(jumps), 'timestamp jump')} {where(jumps)}" if jumps else "continuous"
    return judged(settings, "timestamps", problem, message, len(jumps), allowed, jumps)


def frame_rate_check(settings: Settings, media: MediaInfo, stats: PacketStats) -> Check | None:
    """Variable frame rate, from the packets' times: frames that do not all last as long
    (ffprobe's r_frame_rate and avg_frame_rate differ for interlaced and telecined video
    too, so they are not the test)."""
    if media.video_index is None:
        return None
    variable = stats.frame_rate_mode == "variable"
    rate = media.frame_rate
    shown = f"{rate:g} fps" if rate else "unknown rate"
    message = (
        f"variable frame rate ({shown} on average): players and encoders downstream drop "
        "or repeat frames and the audio drifts; make it constant, e.g. ffmpeg -i IN "
        f"-fps_mode cfr -r {_nominal_rate(rate)} OUT"
        if variable
        else shown
    )
    return judged(settings, "frameRate", variable, message, rate)


def _nominal_rate(rate: float | None) -> str:
    """The broadcast rate nearest an average (24000/1001 for 23.9 fps...)."""
    if not rate:
        return "25"
    rates = {"24000/1001": 23.976, "24": 24, "25": 25, "30000/1001": 29.97, "30": 30,
             "50": 50, "60000/1001": 59.94, "60": 60}  # fmt: skip
    return min(rates, key=lambda name: abs(rates[name] - rate))


def _effective_layout(track: AudioTrack) -> str | None:
    """The layout a track declares, or what players take an undeclared one for (one
    channel: mono, two: stereo)."""
    if declared(track.layout):
        return track.layout
    return {1: "mono", 2: "stereo"}.get(track.channels or 0)


def _layout_problem(track: AudioTrack, required: Sequence[str]) -> str | None:
    name = f"audio stream {track.index}"
    channels = track.channels
    if declared(track.layout):
        assert track.layout is not None
        expected = layout_channels(track.layout)
        if expected is not None and channels is not None and expected != channels:
            return f"{name} declares {track.layout} ({expected} channels) but has {channels}"
    elif channels and channels > 2:
        return f"{name} has {channels} channels and declares no layout (which one is which)"
    layout = _effective_layout(track)
    if required and not (layout and any(satisfies(layout, wanted) for wanted in required)):
        return (
            f"{name} is {layout or f'{channels} channels with no layout'}, "
            f"not {' or '.join(required)} (require.audioLayouts)"
        )
    return None


def channel_layout_check(settings: Settings, media: MediaInfo) -> Check | None:
    """Every audio track's declared layout agrees with its channels, and is one of the
    required layouts when `require.audioLayouts` names some."""
    tracks = media.audio_tracks
    if not tracks:
        return None
    required = settings.require.audio_layouts
    problems = [p for track in tracks if (p := _layout_problem(track, required)) is not None]
    if problems:
        message = (
            "; ".join(problems)
            + ": declare the layout when encoding, e.g. ffmpeg -i IN -c:v copy -af "
            "aformat=channel_layouts=5.1 OUT, or downmix to stereo with -ac 2"
        )
    else:
        message = ", ".join(
            f"stream {track.index} {_effective_layout(track) or '?'}" for track in tracks
        )
    return judged(settings, "channelLayout", bool(problems), message, len(problems))


def captions_check(settings: Settings, found: bool) -> Check:
    """CEA-608/708 closed captions in the video: reported either way, a problem only when
    `require.captions` asks for them."""
    if found:
        return judged(settings, "captions", False, "CEA-608/708 closed captions in the video", 1)
    required = settings.require.captions
    message = "no CEA-608/708 closed captions in the video"
    if required:
        message += (
            " (require.captions): caption the master, and keep the captions when "
            "transcoding (-c:v copy keeps them; libx264 passes them on with -a53cc 1, its "
            "default, unless a filter in between drops them)"
        )
    return judged(settings, "captions", required, message, 0)


def av_duration_check(settings: Settings, media: MediaInfo, stats: PacketStats) -> Check | None:
    """Each audio track against the video: how much longer or shorter it runs, from the
    first and last packets of each (live sources are cut where reading stopped: not
    judged)."""
    video = stats.spans.get(media.video_index) if media.video_index is not None else None
    if video is None or media.live:
        return None
    limit = settings.number("avDurationMismatchSeconds")
    audio = [
        (track.index, span)
        for track in media.audio_tracks
        if (span := stats.spans.get(track.index)) is not None
    ]
    if not audio:
        return None
    index, span = max(audio, key=lambda item: abs(item[1].seconds - video.seconds))
    difference = span.seconds - video.seconds
    off = abs(difference) > limit
    spans = f"audio {span.first:.2f}-{span.last:.2f} s, video {video.first:.2f}-{video.last:.2f} s"
    if not off:
        return judged(
            settings,
            "avDuration",
            False,
            f"the audio runs within {abs(difference):.2f} s of the video ({spans})",
            abs(difference),
            limit,
        )
    shorter = difference < 0
    message = (
        f"audio stream {index} {'shorter' if shorter else 'longer'} than the video by "
        f"{abs(difference):.2f} s ({spans}): "
        + (
            "pad it with silence, e.g. ffmpeg -i IN -c:v copy -af apad -shortest OUT"
            if shorter
            else "trim it to the video, e.g. ffmpeg -i IN -c:v copy -shortest OUT"
        )
    )
    # Damaged packets can carry times before zero: events are on the media's timeline.
    gaps = [
        (max(min(a, b), 0.0), max(a, b))
        for a, b in ((span.first, video.first), (span.last, video.last))
    ]
    events = [
        TimeRange(start=start, end=end) for start, end in gaps if end - start >= _BRIDGE_SECONDS
    ]
    return judged(settings, "avDuration", True, message, abs(difference), limit, events)


# --- colour -----------------------------------------------------------------------------

# An HDR picture's YUV may also be ICtCp.
_HDR_MATRICES = (*BT2020_MATRICES, "ictcp")
BT709_FLAGS = " ".join(BT709_TAGS)
_TAG_IN_PLACE = {
    "h264": "h264_metadata",
    "hevc": "hevc_metadata",
}
_X265_HDR10 = (
    "x265 -x265-params hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)"
    "WP(15635,16450)L(10000000,1):max-cll=1000,400 with the grade's own values"
)


def _listed(words: Sequence[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _rgb(video: VideoSummary) -> bool:
    """RGB pictures have no YUV matrix to tag."""
    return (video.pixel_format or "").startswith(("rgb", "bgr", "gbr"))


def _untagged_fix(video: VideoSummary) -> str:
    bsf = _TAG_IN_PLACE.get(video.codec or "")
    in_place = (
        f"without re-encoding (-c copy -bsf:v {bsf}=colour_primaries=1:"
        "transfer_characteristics=1:matrix_coefficients=1 for BT.709) or "
        if bsf
        else ""
    )
    return (
        f"tag them {in_place}when encoding ({BT709_FLAGS}; "
        "SD from BT.601 masters: smpte170m or bt470bg)"
    )


def _tag_problems(settings: Settings, video: VideoSummary) -> list[str]:
    problems = []
    tags = [("primaries", video.color_primaries), ("transfer", video.color_transfer)]
    if not _rgb(video):
        tags.append(("matrix", video.color_matrix))
    untagged = [what for what, tag in tags if tag in UNTAGGED]
    if untagged:
        problems.append(
            f"{_listed(untagged)} untagged: players guess them from the picture's size, "
            f"each its own way; {_untagged_fix(video)}"
        )
    lines = video.height or 0
    if video.color_matrix in SD_MATRICES and lines >= HD_LINES:
        problems.append(
            f"an SD matrix ({video.color_matrix}) on {lines}-line video, which HD chains "
            "decode as BT.709: convert it with -vf colorspace=all=bt709 and tag "
            f"{BT709_FLAGS}"
        )
    if video.color_range in ("pc", "jpeg") and settings.profile == ProbeProfile.BROADCAST:
        problems.append(
            f"full range ({video.color_range}), where broadcast carries limited range: "
            "convert it with -vf scale=out_range=tv and tag -color_range tv"
        )
    if video.color_transfer == PQ:
        missing = [
            what
            for what, kind in (
                ("SMPTE ST 2086 mastering display metadata", MASTERING_DISPLAY),
                ("content light level (MaxCLL, MaxFALL)", LIGHT_LEVEL),
            )
            if kind not in video.side_data
        ]
        if missing:
            problems.append(
                f"PQ without {' or '.join(missing)}: displays tone-map it by guesswork; "
                f"write them when encoding, e.g. {_X265_HDR10}"
            )
    return problems


def _tags(video: VideoSummary) -> str:
    hdr = f", {video.hdr}" if video.hdr else ""
    return (
        f"primaries {video.color_primaries or 'untagged'}, "
        f"transfer {video.color_transfer or 'untagged'}, "
        f"matrix {video.color_matrix or 'untagged'}, "
        f"range {video.color_range or 'untagged'}{hdr}"
    )


def _consistency_problems(video: VideoSummary) -> list[str]:
    primaries, transfer, matrix = video.color_primaries, video.color_transfer, video.color_matrix
    problems = []
    hdr = HDR_TRANSFERS.get(transfer or "")
    if hdr is not None:
        wrong = [] if primaries == "bt2020" else [f"primaries {primaries or 'untagged'}"]
        if matrix not in _HDR_MATRICES and not _rgb(video):
            wrong.append(f"matrix {matrix or 'untagged'}")
        if wrong:
            problems.append(
                f"{hdr} transfer ({transfer}) with {' and '.join(wrong)}: HDR is BT.2020; "
                "tag -color_primaries bt2020 -colorspace bt2020nc if the picture is BT.2020 "
                "(x265: colorprim=bt2020:colormatrix=bt2020nc), else it is SDR tagged as HDR: "
                f"{BT709_FLAGS}"
            )
    if primaries == "bt2020" and matrix in ("bt709", *SD_MATRICES):
        problems.append(
            f"BT.2020 primaries with a {matrix} matrix: decoders turn its YUV into the wrong "
            "colours; tag -colorspace bt2020nc if it was encoded so, else convert it with "
            "-vf zscale=m=bt2020nc"
        )
    if primaries == "bt709" and matrix in BT2020_MATRICES:
        problems.append(
            f"BT.709 primaries with a {matrix} matrix: decoders turn its YUV into the wrong "
            "colours; tag -colorspace bt709 if it was encoded so, else convert it with "
            "-vf zscale=m=bt709"
        )
    return problems


def colour_checks(settings: Settings, media: MediaInfo) -> list[Check]:
    """colourTags: what players need to show the picture's colours (tags, HD matrix,
    broadcast range, PQ's mastering metadata); colourConsistency: tags that contradict each
    other. From the stream's parameters and, for PQ, its first frame's side data."""
    video = media.summary.video
    if video is None:
        return []
    checks = []
    for name, problems in (
        ("colourTags", _tag_problems(settings, video)),
        ("colourConsistency", _consistency_problems(video)),
    ):
        message = "; ".join(problems) if problems else _tags(video)
        checks.append(judged(settings, name, bool(problems), message))
    return checks


# --- content ----------------------------------------------------------------------------


def decode_errors_check(settings: Settings, log: LogFindings, truncated: bool) -> Check:
    allowed = settings.number("decodeErrors")
    problem = log.errors > allowed
    if problem:
        message = f"{_count(log.errors, 'decoding error')}, first: " + " | ".join(log.error_samples)
    else:
        message = "decoded cleanly"
    if truncated:
        message += " (ffmpeg's log outgrew its limit: later errors were not counted)"
    return judged(settings, "decodeErrors", problem, message, log.errors, allowed)


def run_check(
    settings: Settings,
    name: str,
    spans: list[Span],
    end: float | None,
    what: str,
    threshold_name: str,
) -> Check:
    """Black, freeze, silence: runs at least as long as the threshold are problems."""
    limit = settings.number(threshold_name)
    ranges = [r for r in _ranges(spans, end) if r.end - r.start >= limit - 1e-6]
    longest = max((r.end - r.start for r in ranges), default=0.0)
    message = (
        f"{what} {where(ranges)}, longest {longest:.2f} s"
        if ranges
        else f"nothing {what} for {limit:g} s or more"
    )
    return judged(settings, name, bool(ranges), message, longest, limit, ranges)


def loudness_checks(settings: Settings, log: LogFindings) -> list[Check]:
    if log.integrated_lufs is None:
        return [error("loudness", "ebur128 printed no summary: the audio could not be measured")]
    target = settings.number("loudnessTarget")
    tolerance = settings.number("loudnessTolerance")
    integrated = log.integrated_lufs
    off = abs(integrated - target) > tolerance
    checks = [
        judged(
            settings,
            "loudness",
            off,
            f"{integrated:.1f} LUFS integrated, target {target:g} ± {tolerance:g} LU"
            + (f": {integrated - target:+.1f} LU off" if off else ""),
            integrated,
            target,
        )
    ]
    if log.true_peak_db is not None:
        limit = settings.number("truePeakDb")
        peak = log.true_peak_db
        checks.append(
            judged(
                settings,
                "truePeak",
                peak > limit,
                f"true peak {peak:.1f} dBTP, limit {limit:g} dBTP",
                peak,
                limit,
            )
        )
    else:
        checks.append(judged(settings, "truePeak", False, "no measurable peak (silent audio)"))
    if log.loudness_range_lu is not None:
        limit = settings.number("loudnessRangeLu")
        lra = log.loudness_range_lu
        checks.append(
            judged(
                settings,
                "loudnessRange",
                lra > limit,
                f"loudness range {lra:.1f} LU, limit {limit:g} LU",
                lra,
                limit,
            )
        )
    return checks


def clipping_check(settings: Settings, windows: list[Frame], end: float | None) -> Check:
    allowed = settings.number("clippingSeconds")
    level = settings.number("clippingDb")
    seconds = len(windows) * CLIP_WINDOW_SECONDS
    events = merge((w.time for w in windows), CLIP_WINDOW_SECONDS, end)
    problem = seconds > allowed + 1e-9
    message = (
        f"{seconds:.1f} s of audio at or over {level:g} dBFS {where(events)}"
        if windows
        else f"no audio at or over {level:g} dBFS"
    )
    return judged(settings, "clipping", problem, message, seconds, allowed, events)


def interlacing_check(
    settings: Settings,
    counts: Interlacing | None,
    frames: list[Frame],
    frame_seconds: float,
    end: float | None,
) -> Check:
    if counts is None or counts.frames == 0:
        return error("interlacing", "idet printed no counts: the video could not be measured")
    limit = settings.number("interlacedRatio")
    ratio = counts.ratio
    problem = ratio > limit
    events = merge((f.time for f in frames), frame_seconds, end) if problem else []
    order = "top field first" if counts.tff >= counts.bff else "bottom field first"
    message = (
        f"{ratio:.0%} of {counts.frames} frames look interlaced ({order})"
        if problem
        else f"progressive ({ratio:.0%} of frames look interlaced)"
    )
    return judged(settings, "interlacing", problem, message, ratio, limit, events)


def letterbox_check(
    settings: Settings,
    media: MediaInfo,
    samples: list[Frame],
    black: list[TimeRange],
    end: float | None,
) -> Check | None:
    if not media.width or not media.height:
        return None
    limit = settings.number("letterboxRatio")
    every = settings.number("sampleSeconds")
    boxed: list[tuple[float, float]] = []
    for sample in samples:
        width = sample.number("lavfi.cropdetect.w")
        height = sample.number("lavfi.cropdetect.h")
        if not width or not height or width <= 0 or height <= 0:
            continue
        if any(r.start <= sample.time <= r.end for r in black):
            continue  # a black picture is all bars
        bars = max(1 - height / media.height, 1 - width / media.width)
        if bars >= limit:
            boxed.append((sample.time, bars))
    events = merge((time for time, _ in boxed), every, end)
    largest = max((bars for _, bars in boxed), default=0.0)
    if boxed:
        covered = sum(r.end - r.start for r in events)
        message = (
            f"black bars take up to {largest:.0%} of the picture, {covered:.1f} s {where(events)}"
        )
    else:
        message = f"no black bars of {limit:.0%} or more"
    return judged(settings, "letterbox", bool(boxed), message, largest, limit, events)


def _sampled_mean_check(
    settings: Settings,
    name: str,
    key: str,
    samples: list[Frame],
    end: float | None,
    what: str,
) -> Check | None:
    scored = [(s.time, value) for s in samples if (value := s.number(key)) is not None]
    if not scored:
        return None
    limit = settings.number(name)
    mean = sum(value for _, value in scored) / len(scored)
    problem = mean > limit
    every = settings.number("qualitySampleSeconds")
    events = merge((t for t, value in scored if value > limit), every, end) if problem else []
    message = f"{what} {mean:.1f} on average (limit {limit:g}; heuristic)"
    return judged(settings, name, problem, message, mean, limit, events)


def blockiness_check(settings: Settings, samples: list[Frame], end: float | None) -> Check | None:
    return _sampled_mean_check(settings, "blockiness", "lavfi.block", samples, end, "blockiness")


def blur_check(settings: Settings, samples: list[Frame], end: float | None) -> Check | None:
    return _sampled_mean_check(settings, "blur", "lavfi.blur", samples, end, "blur")


def broadcast_range_check(
    settings: Settings,
    media: MediaInfo,
    samples: list[Frame],
    gamut: list[Frame],
    end: float | None,
) -> Check | None:
    """EBU R 103 as broadcasters apply it: the share of the (low-pass filtered) picture
    whose R, G or B lies outside -5% to 105%, on each sampled frame. The share of Y'CbCr
    samples outside their nominal range, per pixel and unfiltered, is given as information:
    ringing at sharp edges puts a legal picture's pixels there."""
    if media.full_range:
        return judged(
            settings, "broadcastRange", False, "full-range video: broadcast range does not apply"
        )
    scored = [(f.time, value / 255) for f in gamut if (value := f.number(GAMUT_KEY)) is not None]
    if not scored:
        return None
    limit = settings.number("broadcastRangeRatio")
    over = [time for time, share in scored if share > limit]
    worst = max(share for _, share in scored)
    pixels = [v for s in samples if (v := s.number("lavfi.signalstats.BRNG")) is not None]
    per_pixel = (
        f"; per pixel, up to {max(pixels):.1%} of Y'CbCr samples outside their nominal range"
        if pixels
        else ""
    )
    events = merge(over, settings.number("sampleSeconds"), end)
    message = (
        f"up to {worst:.1%} of the picture outside EBU R 103's gamut (R, G, B from -5% to "
        f"105%, low-pass filtered) {where(events)}{per_pixel}: bring it into range with a "
        "legaliser in the grade (clipping Y'CbCr alone leaves RGB out of gamut)"
        if over
        else f"within EBU R 103's gamut (at most {worst:.2%} of the picture outside){per_pixel}"
    )
    return judged(settings, "broadcastRange", bool(over), message, worst, limit, events)


def reference_checks(
    settings: Settings,
    log: LogFindings,
    psnr_frames: list[Frame],
    ssim_frames: list[Frame],
    frame_seconds: float,
    end: float | None,
    vmaf: bool,
) -> list[Check]:
    checks = []
    for name, value, frames, unit in (
        ("psnr", log.psnr_db, psnr_frames, " dB"),
        ("ssim", log.ssim, ssim_frames, ""),
    ):
        threshold_name = "psnrDb" if name == "psnr" else "ssim"
        limit = settings.number(threshold_name)
        if value is None:
            checks.append(error(name, f"{name} printed no average: the comparison failed"))
            continue
        events = merge((f.time for f in frames), frame_seconds, end)
        low = value < limit
        message = f"{value:.3f}{unit} on average, lowest allowed {limit:g}{unit}"
        if events:
            message += f"; frames under it {where(events)}"
        checks.append(judged(settings, name, low, message, value, limit, events))
    if vmaf:
        limit = settings.number("vmaf")
        if log.vmaf is None:
            checks.append(error("vmaf", "libvmaf printed no score"))
        else:
            checks.append(
                judged(
                    settings,
                    "vmaf",
                    log.vmaf < limit,
                    f"VMAF {log.vmaf:.1f}, lowest allowed {limit:g}",
                    log.vmaf,
                    limit,
                )
            )
    return checks


def flash_rules(settings: Settings) -> FlashRules:
    return FlashRules(
        change_cdm2=settings.number("flashLuminanceCdm2"),
        area=settings.number("flashAreaRatio"),
        per_second=settings.number("flashesPerSecond"),
    )


def flash_checks(settings: Settings, found: FlashFindings) -> list[Check]:
    """Photosensitive flashing and red flashing (BT.1702): the most flashes in any second,
    and the seconds with too many."""
    limit = settings.number("flashesPerSecond")
    checks = []
    for name, what, most, over in (
        ("flashes", "flashes", found.most, found.over),
        ("redFlashes", "red flashes", found.red_most, found.red_over),
    ):
        events = [TimeRange(start=start, end=end) for start, end in over]
        message = (
            f"{most} {what} in one second, more than {limit:g}, {where(events)}"
            if events
            else f"at most {most} {what} in any second (limit {limit:g})"
        )
        checks.append(judged(settings, name, bool(events), message, most, limit, events))
    return checks
