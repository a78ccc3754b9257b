"""HLS checks (RFC 8216): segment durations against TARGETDURATION, segments that start on a
keyframe, measured bitrate against BANDWIDTH, and the sequence rules a player relies on
across reloads. Pure: parsing, sampling and judging; `engine` fetches.

Media playlists are read with `playout.media.hls`, the model the streamer writes with."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from playout.api.probejob import Check, TimeRange
from playout.media.hls import ParsedPlaylist, parse_playlist, playlist_violations, reload_violations
from playout.media.process import is_remote
from playout.media.source import input_args
from playout.prober.catalogue import Settings
from playout.prober.checks import error, judged, where

# Segments probed per variant: the first, the last and evenly spread between.
SEGMENT_SAMPLES = 6
MAX_VARIANTS = 4

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int | None
    average_bandwidth: int | None
    resolution: str | None


def is_master(text: str) -> bool:
    return "#EXT-X-STREAM-INF" in text


def attributes(text: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(text)}


def parse_master(text: str, base: str) -> list[Variant]:
    """The variant streams of a master playlist, with URIs resolved against `base`."""
    variants: list[Variant] = []
    pending: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = attributes(line.partition(":")[2])
        elif line and not line.startswith("#") and pending is not None:
            variants.append(
                Variant(
                    uri=resolve(base, line),
                    bandwidth=_int(pending.get("BANDWIDTH")),
                    average_bandwidth=_int(pending.get("AVERAGE-BANDWIDTH")),
                    resolution=pending.get("RESOLUTION"),
                )
            )
            pending = None
    return variants


def resolve(base: str, uri: str) -> str:
    """A URI from a playlist, against the playlist's own URL or path."""
    if is_remote(base):
        return urljoin(base, uri)
    return posixpath.normpath(str(Path(base).parent / uri))


def foreign_uri(base: str, uri: str) -> bool:
    """A remote playlist may only point at http(s) (or relative URIs); a local one only at
    files."""
    scheme = urlsplit(uri).scheme
    if is_remote(base):
        return scheme not in ("", "http", "https")
    return scheme not in ("", "file")


def sample_indexes(count: int, samples: int = SEGMENT_SAMPLES) -> list[int]:
    if count <= samples:
        return list(range(count))
    step = (count - 1) / (samples - 1)
    return sorted({round(i * step) for i in range(samples)})


def segment_ranges(playlist: ParsedPlaylist) -> list[TimeRange]:
    """Where each segment lies, in seconds from the start of the playlist."""
    ranges, time = [], 0.0
    for segment in playlist.segments:
        ranges.append(TimeRange(start=round(time, 3), end=round(time + segment.duration, 3)))
        time += segment.duration
    return ranges


@dataclass(frozen=True)
class SegmentProbe:
    """What ffprobe found at the start of one segment."""

    index: int
    size: int | None
    keyframe_first: bool | None
    """Whether the first video packet is a keyframe; None when there is no video."""


@dataclass(frozen=True)
class Rendition:
    """One media playlist as probed: its text parsed, a later reload (live), segments."""

    uri: str
    playlist: ParsedPlaylist
    reload: ParsedPlaylist | None
    probes: list[SegmentProbe]
    variant: Variant | None = None


def parse(text: str) -> ParsedPlaylist:
    return parse_playlist(text.lstrip("\ufeff"))


def segment_check(settings: Settings, renditions: Sequence[Rendition]) -> Check:
    problems: list[str] = []
    events: list[TimeRange] = []
    longest = 0.0
    target = None
    for rendition in renditions:
        playlist = rendition.playlist
        target = playlist.target_duration
        ranges = segment_ranges(playlist)
        for segment, span in zip(playlist.segments, ranges, strict=True):
            longest = max(longest, segment.duration)
            if target is not None and round(segment.duration) > target:
                events.append(span)
        problems += [
            f"{_name(rendition)}: {p}"
            for p in playlist_violations(playlist)
            if "PROGRAM-DATE-TIME" not in p
        ]
    message = "; ".join(problems[:3]) if problems else "every segment within TARGETDURATION"
    if events:
        message += f" {where(events)}"
    return judged(settings, "hlsSegments", bool(problems), message, longest, target, events)


def keyframe_check(settings: Settings, renditions: Sequence[Rendition]) -> Check | None:
    probed = [
        (rendition, probe)
        for rendition in renditions
        for probe in rendition.probes
        if probe.keyframe_first is not None
    ]
    if not probed:
        return None
    late = [(r, p) for r, p in probed if not p.keyframe_first]
    events = [segment_ranges(r.playlist)[p.index] for r, p in late]
    message = (
        f"{len(late)} of {len(probed)} sampled segments do not start with a keyframe"
        if late
        else f"all {len(probed)} sampled segments start with a keyframe"
    )
    if late:
        message += f" {where(events)}: players cannot start or switch there cleanly"
    return judged(settings, "hlsKeyframes", bool(late), message, len(late), 0, events)


def bandwidth_check(settings: Settings, renditions: Sequence[Rendition]) -> Check | None:
    tolerance = settings.number("hlsBandwidthTolerance")
    findings: list[str] = []
    worst = 0.0
    problem = False
    for rendition in renditions:
        declared = rendition.variant.bandwidth if rendition.variant else None
        rates = [
            probe.size * 8 / rendition.playlist.segments[probe.index].duration
            for probe in rendition.probes
            if probe.size and rendition.playlist.segments[probe.index].duration > 0
        ]
        if not declared or not rates:
            continue
        peak = max(rates)
        ratio = peak / declared
        worst = max(worst, ratio)
        over = ratio > 1 + tolerance
        problem |= over
        findings.append(
            f"{_name(rendition)}: peak {peak / 1e6:.2f} Mb/s against BANDWIDTH "
            f"{declared / 1e6:.2f} Mb/s" + (" (over)" if over else "")
        )
        average = rendition.variant.average_bandwidth if rendition.variant else None
        if average:
            mean = sum(rates) / len(rates)
            if mean > average * (1 + tolerance):
                problem = True
                findings.append(
                    f"{_name(rendition)}: average {mean / 1e6:.2f} Mb/s over AVERAGE-BANDWIDTH "
                    f"{average / 1e6:.2f} Mb/s"
                )
    if not findings:
        return None
    return judged(
        settings, "hlsBandwidth", problem, "; ".join(findings), worst, round(1 + tolerance, 3)
    )


def sequence_check(settings: Settings, renditions: Sequence[Rendition]) -> Check:
    problems: list[str] = []
    for rendition in renditions:
        playlist = rendition.playlist
        uris = [segment.uri for segment in playlist.segments]
        if len(set(uris)) != len(uris):
            problems.append(f"{_name(rendition)}: a segment URI appears twice")
        foreign = [uri for uri in uris if foreign_uri(rendition.uri, uri)]
        if foreign:
            problems.append(f"{_name(rendition)}: segment URI {foreign[0]} is not allowed here")
        if rendition.reload is not None:
            problems += [
                f"{_name(rendition)}: {p}" for p in reload_violations(playlist, rendition.reload)
            ]
    live = any(not r.playlist.ended for r in renditions)
    fine = "sequence numbers hold across a reload" if live else "a complete (ENDLIST) playlist"
    return judged(
        settings, "hlsSequence", bool(problems), "; ".join(problems[:3]) or fine, len(problems), 0
    )


def hls_checks(settings: Settings, renditions: Sequence[Rendition]) -> list[Check]:
    if not renditions:
        return [error("hlsSegments", "no media playlist could be read")]
    checks = [
        segment_check(settings, renditions),
        keyframe_check(settings, renditions),
        bandwidth_check(settings, renditions),
        sequence_check(settings, renditions),
    ]
    return [check for check in checks if check is not None]


def _name(rendition: Rendition) -> str:
    return rendition.uri.rsplit("/", 1)[-1] or rendition.uri


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def segment_command(ffprobe: str, uri: str) -> list[str]:
    """The size of a segment and the flags of its first video packet."""
    return [
        ffprobe, "-hide_banner", "-v", "error", "-select_streams", "v:0",
        "-read_intervals", "%+#1", "-show_entries", "packet=flags:format=size",
        "-of", "json", *input_args(uri),
    ]  # fmt: skip


def parse_segment_probe(index: int, text: str) -> SegmentProbe:
    try:
        document = json.loads(text or "{}")
    except json.JSONDecodeError:
        document = {}
    packets = document.get("packets") or []
    size = str((document.get("format") or {}).get("size"))
    return SegmentProbe(
        index=index,
        size=int(size) if size.isdigit() else None,
        keyframe_first=str(packets[0].get("flags", "")).startswith("K") if packets else None,
    )
