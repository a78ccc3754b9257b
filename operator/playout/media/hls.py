"""The live HLS playlist, owned by playout rather than by ffmpeg (RFC 8216).

ffmpeg only cuts segments; this model decides what the live playlist says. That is how the
rules hold across item boundaries and restarts, where ffmpeg's own playlist would reset:
- EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE never decrease;
- EXT-X-TARGETDURATION is fixed when the playlist is made and never changes;
- EXT-X-PROGRAM-DATE-TIME never moves back;
- a segment URI is never reused (URIs carry the sequence number and a per-run epoch).

Ad breaks are marked twice, for the two kinds of readers: EXT-X-DATERANGE with SCTE35-OUT and
SCTE35-IN (RFC 8216 section 4.3.2.7.1), which players and the SSAI services read, and the
EXT-X-CUE-OUT / EXT-X-CUE-OUT-CONT / EXT-X-CUE-IN tags that most SSAI services (AWS
MediaTailor, Google DAI, Broadpeak) read instead. A break's date range stays in the playlist
while any segment of the break does (draft-pantos-hls-rfc8216bis section 6.2.1), so a player
that joins mid-break still finds it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from playout.clock import parse_rfc3339, rfc3339
from playout.media import scte35

_ATTRIBUTE = re.compile(r'([A-Za-z0-9-]+)=("[^"]*"|[^",]*)')
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class AdBreak:
    """An ad break (an avail) as the playlist marks it for ad insertion."""

    id: str
    """The date range ID: unique to the break and stable across restarts (derived from the
    schedule, e.g. "break-1733090400")."""
    event_id: int
    """SCTE-35 splice_event_id (32 bits), unique to the break."""
    start: datetime
    """The splice time: the PROGRAM-DATE-TIME of the break's first segment, as RFC 8216
    wants the START-DATE of an SCTE35-OUT date range."""
    duration: float
    """Planned seconds: what an SSAI service fills with ads."""
    pts_seconds: float
    """MPEG-TS presentation time of the break's first segment (the splice point)."""

    def __post_init__(self) -> None:
        if not self.id or any(char in self.id for char in '"\r\n'):
            raise ValueError(f"a break ID must be a non-empty quoted-string: {self.id!r}")
        # Encoding checks the numbers' ranges: a bad break fails where it is made, not when
        # a player asks for the playlist.
        self.scte35_out()

    def scte35_out(self) -> str:
        return scte35.hls_hex(
            scte35.splice_insert(
                splice_event_id=self.event_id,
                out_of_network=True,
                pts_seconds=self.pts_seconds,
                duration_seconds=self.duration,
            )
        )

    def scte35_in(self, *, actual: float) -> str:
        """The return, `actual` seconds after the splice out (timestamps run on through a
        break: every item's output continues the previous one's)."""
        return scte35.hls_hex(
            scte35.splice_insert(
                splice_event_id=self.event_id,
                out_of_network=False,
                pts_seconds=self.pts_seconds + actual,
            )
        )


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
    cue_out: AdBreak | None = None
    """This segment is the first of the break."""
    ad_break: AdBreak | None = None
    """The break this segment plays in, on the break's segments after its first."""
    break_elapsed: float | None = None
    """Seconds into `ad_break` at this segment's start (set together with it)."""
    cue_in: AdBreak | None = None
    """This segment is the first after the break: the return to the programme."""


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
        self._check_break(segment)
        self.segments.append(segment)
        while len(self.segments) > self.window:
            gone = self.segments.pop(0)
            self.removed.append(gone)
            self.media_sequence = self.segments[0].sequence
            # A discontinuity tag belongs to the segment after it; when the segment that
            # carried one leaves, the count of discontinuities before the window grows.
            if self.segments[0].discontinuity:
                self.discontinuity_sequence += 1

    def _check_break(self, segment: Segment) -> None:
        """The break fields describe one contiguous break that the renderer can mark."""
        if (segment.ad_break is None) != (segment.break_elapsed is None):
            raise PlaylistRuleError("ad_break and break_elapsed are set together")
        previous = self.segments[-1] if self.segments else None
        continues = previous is None or segment.ad_break in (previous.cue_out, previous.ad_break)
        if segment.ad_break is not None and not continues:
            raise PlaylistRuleError(f"segment {segment.sequence} is in a break it did not start")
        if segment.cue_in is not None and segment.program_date_time < segment.cue_in.start:
            raise PlaylistRuleError(f"break {segment.cue_in.id} ends before it starts")
        started = segment.cue_out
        if started is None:
            return
        if segment.ad_break is not None:
            raise PlaylistRuleError("a break's first segment has cue_out, its later ones ad_break")
        if abs(started.start - segment.program_date_time) >= _MILLISECOND:
            raise PlaylistRuleError(
                f"break {started.id} must start at its first segment's PROGRAM-DATE-TIME"
            )
        if any(started.id in _break_ids(s) for s in self.segments):
            raise PlaylistRuleError(f"break ID {started.id} is already in the playlist")

    def restart_at(self, sequence: int) -> None:
        """Start a fresh window at `sequence` (after an outage, or when the target duration
        changed): the old segments leave the window, and the discontinuity count grows past
        every tag they carried, plus the one the new window starts with."""
        if sequence < self.next_sequence:
            raise PlaylistRuleError(f"sequence {sequence} would go back")
        self.discontinuity_sequence += sum(s.discontinuity for s in self.segments[1:])
        if self.segments:
            self.discontinuity_sequence += 1
        self.removed += self.segments
        self.segments = []
        self.media_sequence = sequence

    def collect(self, keep: int) -> list[Segment]:
        """Segments that left the window more than `keep` segments ago: safe to delete,
        since no player can still hold a playlist listing them."""
        cut = max(len(self.removed) - keep, 0)
        expired, self.removed = self.removed[:cut], self.removed[cut:]
        return expired

    def render(self, *, uri: Callable[[str], str] | None = None) -> str:
        """The playlist; `uri` names each segment's file in another rendition (a
        subtitle rendition's WebVTT files)."""
        lines = [
            "#EXTM3U",
            # EXT-X-DATERANGE needs no higher version (RFC 8216 section 7); CUE tags are
            # not in the protocol at all.
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
        ]
        first = self.segments[0] if self.segments else None
        if first is not None and first.ad_break is not None:
            # The break's first segment has slid out; its date range must stay while any
            # segment of the break is listed.
            lines.append(_daterange_out(first.ad_break))
        for index, segment in enumerate(self.segments):
            if segment.discontinuity and index > 0:
                lines.append("#EXT-X-DISCONTINUITY")
            # On every segment: a time derived from rounded EXTINF durations would drift
            # from the one stated once the window slides and the tag moves.
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_date_time(segment.program_date_time)}")
            lines += _break_markers(segment)
            title = segment.title.replace(",", " ").replace("\n", " ")
            lines.append(f"#EXTINF:{segment.duration:.3f},{title}")
            lines.append(uri(segment.uri) if uri is not None else segment.uri)
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Variant:
    """One rendition as the multivariant playlist lists it (RFC 8216 section 4.3.4.2)."""

    uri: str
    bandwidth: int
    """Peak segment bit rate in bits per second, as measured."""
    average_bandwidth: int
    width: int
    height: int
    frame_rate: float
    codecs: tuple[str, ...]
    """RFC 6381 codec strings, e.g. ("avc1.64001f", "mp4a.40.2"); empty when not yet known
    (the attribute is then left out rather than guessed)."""


def bandwidth(segments: Iterable[tuple[int, float]]) -> tuple[int, int]:
    """(peak, average) bit rate of segments given as (bytes, seconds): RFC 8216's BANDWIDTH
    is the largest segment bit rate, AVERAGE-BANDWIDTH the whole's."""
    rates, total_bits, total_seconds = [], 0, 0.0
    for size, seconds in segments:
        if seconds > 0:
            rates.append(size * 8 / seconds)
            total_bits += size * 8
            total_seconds += seconds
    if not rates:
        return 0, 0
    return math.ceil(max(rates)), math.ceil(total_bits / total_seconds)


@dataclass(frozen=True)
class AudioRendition:
    """An alternate audio rendition (EXT-X-MEDIA TYPE=AUDIO, RFC 8216 section 4.3.4.1)."""

    uri: str
    language: str
    """RFC 5646, e.g. "de"."""
    name: str
    """What a player's menu shows, e.g. "German"."""
    default: bool = False


@dataclass(frozen=True)
class SubtitleRendition:
    """A WebVTT subtitle rendition (EXT-X-MEDIA TYPE=SUBTITLES)."""

    uri: str
    language: str
    name: str


AUDIO_GROUP = "audio"
SUBTITLE_GROUP = "subs"


def _quoted(text: str) -> str:
    """A quoted-string attribute value: no double quote, CR or LF may appear in it."""
    return '"' + text.replace('"', "'").replace("\r", " ").replace("\n", " ") + '"'


def render_multivariant(
    variants: Iterable[Variant],
    audio: Iterable[AudioRendition] = (),
    subtitles: Iterable[SubtitleRendition] = (),
    *,
    independent: bool = True,
) -> str:
    """The playlist a player opens first: every rendition with what it needs to choose.
    Every segment starts with a keyframe (forced on boundaries, or cut on the source's).
    `independent`: every segment decodes without the one before (EXT-X-INDEPENDENT-SEGMENTS),
    which an encoder forcing closed GOPs can promise and a copy of an open-GOP source
    cannot. Alternate audio renditions form one group that every variant names; the
    variants keep their own sound, the one a player without alternate audio plays."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    if independent:
        lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    tracks = list(audio)
    for track in tracks:
        default = "YES" if track.default else "NO"
        lines.append(
            f"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID={_quoted(AUDIO_GROUP)},"
            f"LANGUAGE={_quoted(track.language)},NAME={_quoted(track.name)},"
            f"DEFAULT={default},AUTOSELECT=YES,URI={_quoted(track.uri)}"
        )
    captions = list(subtitles)
    for caption in captions:
        # Off until a viewer turns them on; AUTOSELECT lets a player match its language.
        lines.append(
            f"#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID={_quoted(SUBTITLE_GROUP)},"
            f"LANGUAGE={_quoted(caption.language)},NAME={_quoted(caption.name)},"
            f"DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI={_quoted(caption.uri)}"
        )
    for variant in variants:
        attributes = [
            f"BANDWIDTH={variant.bandwidth}",
            f"AVERAGE-BANDWIDTH={variant.average_bandwidth}",
            f"RESOLUTION={variant.width}x{variant.height}",
            f"FRAME-RATE={variant.frame_rate:.3f}",
        ]
        if variant.codecs:
            attributes.append(f'CODECS="{",".join(variant.codecs)}"')
        if tracks:
            attributes.append(f"AUDIO={_quoted(AUDIO_GROUP)}")
        if captions:
            attributes.append(f"SUBTITLES={_quoted(SUBTITLE_GROUP)}")
        lines.append(f"#EXT-X-STREAM-INF:{','.join(attributes)}")
        lines.append(variant.uri)
    return "\n".join(lines) + "\n"


def _date_time(moment: datetime) -> str:
    """A time as the playlist's tags write it: to the millisecond."""
    return rfc3339(moment, timespec="milliseconds")


def _to_millisecond(moment: datetime) -> datetime:
    """The time as `_date_time` writes it (truncated), so written durations add up exactly."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _break_ids(segment: Segment) -> set[str]:
    return {b.id for b in (segment.cue_out, segment.ad_break, segment.cue_in) if b is not None}


def _break_markers(segment: Segment) -> list[str]:
    """The tags a segment carries for the break it starts, continues or ends."""
    lines = []
    if segment.cue_in is not None:
        lines += [_daterange_in(segment.cue_in, segment.program_date_time), "#EXT-X-CUE-IN"]
    if segment.cue_out is not None:
        # DURATION= is the form Google DAI documents first; MediaTailor reads it too.
        lines += [
            _daterange_out(segment.cue_out),
            f"#EXT-X-CUE-OUT:DURATION={segment.cue_out.duration:.3f}",
        ]
    if segment.ad_break is not None and segment.break_elapsed is not None:
        lines.append(
            f"#EXT-X-CUE-OUT-CONT:ElapsedTime={segment.break_elapsed:.3f},"
            f"Duration={segment.ad_break.duration:.3f}"
        )
    return lines


def _daterange_out(ad_break: AdBreak) -> str:
    """The start of the break. Its end is not known yet: PLANNED-DURATION, never DURATION
    (RFC 8216 section 4.3.2.7.1)."""
    return (
        f'#EXT-X-DATERANGE:ID="{ad_break.id}",START-DATE="{_date_time(ad_break.start)}",'
        f"PLANNED-DURATION={ad_break.duration:.3f},SCTE35-OUT={ad_break.scte35_out()}"
    )


def _daterange_in(ad_break: AdBreak, end: datetime) -> str:
    """The actual end of the break, under the same ID; attributes both tags carry have the
    same values, as RFC 8216 requires."""
    actual = (_to_millisecond(end) - _to_millisecond(ad_break.start)).total_seconds()
    return (
        f'#EXT-X-DATERANGE:ID="{ad_break.id}",START-DATE="{_date_time(ad_break.start)}",'
        f'END-DATE="{_date_time(end)}",DURATION={actual:.3f},'
        f"SCTE35-IN={ad_break.scte35_in(actual=actual)}"
    )


def target_duration_for(segment_seconds: int, mode: str) -> int:
    """In transcode mode keyframes are forced on every boundary, so segments are exact. In
    copy mode cuts can only fall on the source's keyframes: the target leaves room for
    sources whose keyframe interval is up to twice the segment length."""
    return segment_seconds if mode == "transcode" else math.ceil(segment_seconds * 2)


# --- reading playlists back (for checkers, the prober and tests) --------------------------


@dataclass(frozen=True)
class DateRange:
    """An EXT-X-DATERANGE tag as read back: its attributes as written, quotes removed. The
    typed views are None where an attribute is missing or illegal (clients ignore those)."""

    attributes: Mapping[str, str] = field(hash=False)

    @property
    def id(self) -> str:
        return self.attributes["ID"]

    @property
    def start_date(self) -> datetime | None:
        return _date(self.attributes.get("START-DATE"))

    @property
    def end_date(self) -> datetime | None:
        return _date(self.attributes.get("END-DATE"))

    @property
    def duration(self) -> float | None:
        return _number(self.attributes.get("DURATION"))

    @property
    def planned_duration(self) -> float | None:
        return _number(self.attributes.get("PLANNED-DURATION"))

    @property
    def scte35_out(self) -> str | None:
        return self.attributes.get("SCTE35-OUT")

    @property
    def scte35_in(self) -> str | None:
        return self.attributes.get("SCTE35-IN")

    @property
    def end(self) -> datetime | None:
        """Where the range ends as far as its tags tell: END-DATE, else START-DATE plus
        DURATION or, while the actual end is unknown, plus PLANNED-DURATION."""
        start = self.start_date
        length = self.duration if self.duration is not None else self.planned_duration
        if self.end_date is not None or start is None or length is None:
            return self.end_date
        return start + timedelta(seconds=length)


@dataclass(frozen=True)
class ParsedSegment:
    sequence: int
    uri: str
    duration: float
    discontinuity: bool
    program_date_time: datetime | None
    discontinuity_sequence: int
    """The discontinuity sequence number this segment belongs to."""
    cue_out: bool = False
    """An EXT-X-CUE-OUT precedes the segment: an ad break starts here."""
    cue_in: bool = False
    """An EXT-X-CUE-IN precedes the segment: it is the first after the break."""
    break_duration: float | None = None
    """The break's duration from EXT-X-CUE-OUT or EXT-X-CUE-OUT-CONT."""
    break_elapsed: float | None = None
    """EXT-X-CUE-OUT-CONT's elapsed seconds: the segment is inside a break."""
    dateranges: tuple[DateRange, ...] = ()
    """The EXT-X-DATERANGE tags written before the segment (after the previous one)."""


@dataclass(frozen=True)
class ParsedPlaylist:
    target_duration: int | None
    media_sequence: int
    discontinuity_sequence: int
    segments: tuple[ParsedSegment, ...]
    ended: bool
    version: int | None
    dateranges: tuple[DateRange, ...] = ()
    """Every EXT-X-DATERANGE tag, in order (also those after the last segment)."""


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
    dateranges: list[DateRange] = []
    marks = _Marks()
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
            pdt = parse_rfc3339(value)
        elif tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif tag == "#EXT-X-DATERANGE":
            attributes = _attributes(value)
            if "ID" in attributes:  # the one required attribute; illegal tags are ignored
                dateranges.append(DateRange(attributes))
                marks.dateranges.append(dateranges[-1])
        elif tag == "#EXT-X-CUE-OUT":
            marks.cue_out = True
            cue = _cue_attributes(value)
            marks.break_duration = _number(cue.get("DURATION") if cue else value)
        elif tag == "#EXT-X-CUE-OUT-CONT":
            cue = _cue_attributes(value)
            # ElapsedTime=8.308,Duration=30[,SCTE35=...] or the older 8.308/30.
            elapsed, _, total = value.partition("/")
            marks.break_elapsed = _number(cue.get("ELAPSEDTIME") if cue else elapsed)
            marks.break_duration = _number(cue.get("DURATION") if cue else total)
        elif tag == "#EXT-X-CUE-IN":
            marks.cue_in = True
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
                    cue_out=marks.cue_out,
                    cue_in=marks.cue_in,
                    break_duration=marks.break_duration,
                    break_elapsed=marks.break_elapsed,
                    dateranges=tuple(marks.dateranges),
                )
            )
            if pdt is not None:
                pdt = pdt + timedelta(seconds=duration)
            duration, discontinuity, marks = None, False, _Marks()
    return ParsedPlaylist(
        target,
        media_sequence,
        discontinuity_sequence,
        tuple(segments),
        ended,
        version,
        tuple(dateranges),
    )


@dataclass
class _Marks:
    """Break tags read since the last segment: they belong to the next one."""

    cue_out: bool = False
    cue_in: bool = False
    break_duration: float | None = None
    break_elapsed: float | None = None
    dateranges: list[DateRange] = field(default_factory=list)


def _attributes(text: str) -> dict[str, str]:
    """An attribute-list (RFC 8216 section 4.2), quoted-string values unquoted."""
    return {
        name: value.removeprefix('"').removesuffix('"') for name, value in _ATTRIBUTE.findall(text)
    }


def _cue_attributes(text: str) -> dict[str, str]:
    """CUE tags' attributes, whose names servers spell in any case."""
    return {name.upper(): value for name, value in _attributes(text).items()}


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _date(text: str | None) -> datetime | None:
    try:
        return parse_rfc3339(text) if text else None
    except ValueError:
        return None


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
            if _cues(seen) != _cues(segment):
                problems.append(f"segment {segment.sequence} changed its ad break tags")
        elif segment.uri in uris:
            problems.append(f"URI {segment.uri} reused for segment {segment.sequence}")
    return problems + _daterange_reload_violations(before, after)


def _cues(segment: ParsedSegment) -> tuple[bool, bool, float | None, float | None]:
    """A segment's CUE tags. Not its date ranges: those move to the top of the playlist
    when the segment they came with slides out."""
    return segment.cue_out, segment.cue_in, segment.break_duration, segment.break_elapsed


def _daterange_reload_violations(before: ParsedPlaylist, after: ParsedPlaylist) -> list[str]:
    """A date range keeps its attributes from reload to reload, and stays while a segment it
    applies to is listed (draft-pantos-hls-rfc8216bis section 6.2.1)."""
    problems = []
    earlier, later = _by_id(before.dateranges), _by_id(after.dateranges)
    for range_id, seen in earlier.items():
        now = later.get(range_id)
        if now is not None:
            problems += [
                f"EXT-X-DATERANGE {range_id} changed {name}"
                for name in sorted(seen.attributes.keys() & now.attributes.keys())
                if seen.attributes[name] != now.attributes[name]
            ]
        elif any(_overlaps(segment, seen) for segment in after.segments):
            problems.append(
                f"EXT-X-DATERANGE {range_id} was removed while segments it covers are listed"
            )
    return problems


def _by_id(dateranges: Iterable[DateRange]) -> dict[str, DateRange]:
    """The tags of each ID merged into one range: they describe one Date Range together."""
    merged: dict[str, dict[str, str]] = {}
    for daterange in dateranges:
        attributes = merged.setdefault(daterange.id, {})
        for name, value in daterange.attributes.items():
            attributes.setdefault(name, value)
    return {range_id: DateRange(attributes) for range_id, attributes in merged.items()}


def _overlaps(segment: ParsedSegment, daterange: DateRange) -> bool:
    """Whether the segment plays within the range; a range with no known end is judged by
    none (only its start would be known)."""
    start, end, at = daterange.start_date, daterange.end, segment.program_date_time
    if start is None or end is None or at is None:
        return False
    segment_end = at + timedelta(seconds=segment.duration)
    return at < end - _MILLISECOND and segment_end > start + _MILLISECOND


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
    if playlist.dateranges and not times:
        problems.append("EXT-X-DATERANGE without EXT-X-PROGRAM-DATE-TIME")
    return problems + _daterange_violations(playlist.dateranges)


def _daterange_violations(dateranges: tuple[DateRange, ...]) -> list[str]:
    """RFC 8216 section 4.3.2.7: tags with one ID agree on every attribute both carry, and
    END-DATE is START-DATE plus DURATION where a range states all three."""
    problems = []
    first: dict[tuple[str, str], str] = {}
    for daterange in dateranges:
        for name, value in daterange.attributes.items():
            if first.setdefault((daterange.id, name), value) != value:
                problems.append(f"EXT-X-DATERANGE {daterange.id} has two values for {name}")
    for range_id, merged in _by_id(dateranges).items():
        start, end, length = merged.start_date, merged.end_date, merged.duration
        if start is None or end is None or length is None:
            continue
        if abs(start + timedelta(seconds=length) - end) >= _MILLISECOND:
            problems.append(f"EXT-X-DATERANGE {range_id}: END-DATE is not START-DATE + DURATION")
    return problems
