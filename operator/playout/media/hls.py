"""The live HLS playlist, owned by playout rather than by ffmpeg (RFC 8216).

ffmpeg only cuts segments; this model decides what the live playlist says. That is how the
rules hold across item boundaries and restarts, where ffmpeg's own playlist would reset:
- EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE never decrease;
- EXT-X-TARGETDURATION is fixed when the playlist is made and never changes;
- EXT-X-PROGRAM-DATE-TIME never moves back;
- a segment URI is never reused (URIs carry the sequence number and a per-run epoch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import pairwise


@dataclass(frozen=True)
class Segment:
    """One published media segment."""

    sequence: int
    uri: str
    duration: float
    program_date_time: datetime
    discontinuity: bool = False
    """The segment starts a new item (or a new run): timestamps or format may change."""
    title: str = ""


class PlaylistRuleError(ValueError):
    """A segment would break an RFC 8216 rule; the caller has a bug."""


@dataclass
class LivePlaylist:
    """A sliding window of segments with the counters that must never go back."""

    target_duration: int
    window: int
    media_sequence: int = 0
    """Sequence number of the first segment in the window."""
    discontinuity_sequence: int = 0
    """Discontinuities that have slid out of the window."""
    segments: list[Segment] = field(default_factory=list)
    removed: list[Segment] = field(default_factory=list)
    """Segments that left the window and have not been collected yet (see `collect`)."""

    @property
    def next_sequence(self) -> int:
        return self.segments[-1].sequence + 1 if self.segments else self.media_sequence

    @property
    def end_time(self) -> datetime | None:
        """Wall-clock time at which the last segment ends."""
        if not self.segments:
            return None
        last = self.segments[-1]
        return last.program_date_time + timedelta(seconds=last.duration)

    def append(self, segment: Segment) -> None:
        if segment.sequence != self.next_sequence:
            raise PlaylistRuleError(
                f"segment {segment.sequence} does not follow {self.next_sequence - 1}"
            )
        if round(segment.duration) > self.target_duration:
            raise PlaylistRuleError(
                f"segment of {segment.duration:.3f}s exceeds TARGETDURATION {self.target_duration}"
            )
        end = self.end_time
        if end is not None and segment.program_date_time < end - timedelta(milliseconds=1):
            raise PlaylistRuleError("PROGRAM-DATE-TIME would move back")
        if any(s.uri == segment.uri for s in self.segments):
            raise PlaylistRuleError(f"URI {segment.uri} is already in the playlist")
        self.segments.append(segment)
        while len(self.segments) > self.window:
            gone = self.segments.pop(0)
            self.removed.append(gone)
            self.media_sequence = self.segments[0].sequence
            # A discontinuity tag belongs to the segment after it; when the segment that
            # carried one leaves, the count of discontinuities before the window grows.
            if self.segments[0].discontinuity:
                self.discontinuity_sequence += 1

    def collect(self, keep: int) -> list[Segment]:
        """Segments that left the window more than `keep` segments ago: safe to delete,
        since no player can still hold a playlist listing them."""
        cut = max(len(self.removed) - keep, 0)
        expired, self.removed = self.removed[:cut], self.removed[cut:]
        return expired

    def render(self) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
        ]
        for index, segment in enumerate(self.segments):
            if segment.discontinuity and index > 0:
                lines.append("#EXT-X-DISCONTINUITY")
            # On every segment: a time derived from rounded EXTINF durations would drift
            # from the one stated once the window slides and the tag moves.
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_rfc3339(segment.program_date_time)}")
            title = segment.title.replace(",", " ").replace("\n", " ")
            lines.append(f"#EXTINF:{segment.duration:.3f},{title}")
            lines.append(segment.uri)
        return "\n".join(lines) + "\n"


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def target_duration_for(segment_seconds: int, mode: str) -> int:
    """In transcode mode keyframes are forced on every boundary, so segments are exact. In
    copy mode cuts can only fall on the source's keyframes: the target leaves room for
    sources whose keyframe interval is up to twice the segment length."""
    return segment_seconds if mode == "transcode" else math.ceil(segment_seconds * 2)


# --- reading playlists back (for checkers, the prober and tests) --------------------------


@dataclass(frozen=True)
class ParsedSegment:
    sequence: int
    uri: str
    duration: float
    discontinuity: bool
    program_date_time: datetime | None
    discontinuity_sequence: int
    """The discontinuity sequence number this segment belongs to."""


@dataclass(frozen=True)
class ParsedPlaylist:
    target_duration: int | None
    media_sequence: int
    discontinuity_sequence: int
    segments: tuple[ParsedSegment, ...]
    ended: bool
    version: int | None


def parse_playlist(text: str) -> ParsedPlaylist:
    """Parse a media playlist (the tags playout writes and those ffmpeg writes)."""
    if not text.startswith("#EXTM3U"):
        raise ValueError("not an HLS playlist: the first line must be #EXTM3U")
    target: int | None = None
    version: int | None = None
    media_sequence = 0
    discontinuity_sequence = 0
    segments: list[ParsedSegment] = []
    duration: float | None = None
    discontinuity = False
    pdt: datetime | None = None
    ended = False
    current_dseq: int | None = None
    for raw in text.splitlines()[1:]:
        line = raw.strip()
        if not line:
            continue
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-TARGETDURATION":
            target = int(value)
        elif tag == "#EXT-X-VERSION":
            version = int(value)
        elif tag == "#EXT-X-MEDIA-SEQUENCE":
            media_sequence = int(value)
        elif tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
            discontinuity_sequence = int(value)
        elif tag == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            pdt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#"):
            if duration is None:
                raise ValueError(f"segment {line} has no #EXTINF")
            if current_dseq is None:
                current_dseq = discontinuity_sequence
            if discontinuity:  # a tag counts even before the first segment (RFC 8216 6.2.2)
                current_dseq += 1
            segments.append(
                ParsedSegment(
                    sequence=media_sequence + len(segments),
                    uri=line,
                    duration=duration,
                    discontinuity=discontinuity,
                    program_date_time=pdt,
                    discontinuity_sequence=current_dseq,
                )
            )
            if pdt is not None:
                pdt = pdt + timedelta(seconds=duration)
            duration, discontinuity = None, False
    return ParsedPlaylist(
        target, media_sequence, discontinuity_sequence, tuple(segments), ended, version
    )


def shifted(segments: Iterable[Segment], offset: int) -> list[Segment]:
    """The same segments renumbered by `offset` (restoring a window after a restart)."""
    return [replace(segment, sequence=segment.sequence + offset) for segment in segments]


def reload_violations(before: ParsedPlaylist, after: ParsedPlaylist) -> list[str]:
    """RFC 8216 rules between two reloads of one live playlist (section 6.2.1 and 6.3.4):
    what a player relies on to follow a stream across reloads."""
    problems = []
    if after.target_duration != before.target_duration:
        problems.append(
            f"EXT-X-TARGETDURATION changed from {before.target_duration} to {after.target_duration}"
        )
    if after.media_sequence < before.media_sequence:
        problems.append(
            f"EXT-X-MEDIA-SEQUENCE went back from {before.media_sequence} to {after.media_sequence}"
        )
    if after.discontinuity_sequence < before.discontinuity_sequence:
        problems.append(
            "EXT-X-DISCONTINUITY-SEQUENCE went back from "
            f"{before.discontinuity_sequence} to {after.discontinuity_sequence}"
        )
    earlier = {segment.sequence: segment for segment in before.segments}
    uris = {segment.uri: segment.sequence for segment in before.segments}
    for segment in after.segments:
        seen = earlier.get(segment.sequence)
        if seen is not None:
            if seen.uri != segment.uri:
                problems.append(
                    f"segment {segment.sequence} changed URI: {seen.uri} -> {segment.uri}"
                )
            if seen.discontinuity_sequence != segment.discontinuity_sequence:
                problems.append(f"segment {segment.sequence} changed discontinuity sequence")
            if _moved(seen.program_date_time, segment.program_date_time):
                problems.append(f"segment {segment.sequence} changed PROGRAM-DATE-TIME")
        elif segment.uri in uris:
            problems.append(f"URI {segment.uri} reused for segment {segment.sequence}")
    return problems


def _moved(before: datetime | None, after: datetime | None) -> bool:
    """Whether a segment's time changed between reloads, beyond the rounding of a time
    derived from EXTINF durations (3 decimals) in playlists that state it sparsely."""
    if before is None or after is None:
        return before is not after
    return abs((after - before).total_seconds()) > 0.01


def playlist_violations(playlist: ParsedPlaylist) -> list[str]:
    """Rules that hold within one live playlist."""
    problems = []
    target = playlist.target_duration
    if target is None:
        problems.append("no EXT-X-TARGETDURATION")
    for segment in playlist.segments:
        if target is not None and round(segment.duration) > target:
            problems.append(
                f"segment {segment.sequence} lasts {segment.duration:.3f}s, over target {target}"
            )
    times = [s.program_date_time for s in playlist.segments if s.program_date_time is not None]
    if any(later < earlier for earlier, later in pairwise(times)):
        problems.append("EXT-X-PROGRAM-DATE-TIME moves back")
    return problems
