"""The timeline: what airs when, as a pure function of the spec, the media listing and the
clock.

Planning walks forward from a cursor (the lineup state, a wall-clock time and a media
sequence number) and lays entries end to end: items (split into parts around mid-roll
breaks), the filler that fills a break, bumpers, "Up next" cards, the filler or slate that
pads to a slot boundary. Every entry has an exact start and an exact length in whole output
frames, so the start of the next entry is the end of this one, and its first segment's media
sequence number follows from the segments before it. Two engines that plan from the same
cursor with the same media make the same timeline, to the segment; that is what lets a
restarted engine rejoin it and a second pipeline run beside the first.

With `schedule.slots`, slot boundaries come from the wall clock in `schedule.timezone`: a
slot plays its program's items until the next slot starts; an item that would run past the
boundary is not started (`fill: filler` or `slate` pad the time up to it) or is cut there
(`fill: cut`). Without slots the lineup plays back to back.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from operator import attrgetter
from zoneinfo import ZoneInfo

from playout.api.channel import WEEKDAYS, ChannelSpec, Midroll, Program, Slot
from playout.media.ffmpeg import EARLIEST_TS_OFFSET, frame_rate, planned_length
from playout.streamer.schedule import (
    Entry,
    LineupState,
    advance,
    current_entry,
    interstitials,
    program_entry,
    slate,
    title_of,
)

# MPEG-TS timestamps wrap at 2^33 / 90 kHz (about 26.5 h). The stream's timestamps restart
# every 12 hours of the channel's clock, at an entry boundary (which carries a
# discontinuity), and an item longer than MAX_PART_SECONDS airs in parts (with no break
# between, each a run of ffmpeg with timestamps of its own), so that no part wraps inside:
# a part starts below EARLIEST_TS_OFFSET + TS_PERIOD and ends before 24 h and a bit.
TS_PERIOD = 43_200.0
MAX_PART_SECONDS = TS_PERIOD
# When nothing in the lineup is playable, the slate is planned only this far ahead, so that
# the guide does not promise it for days.
EMPTY_LINEUP_SECONDS = 300.0
# The reason the slate of an empty lineup gives: the engine ends it as soon as something in
# the lineup can play again, and plans from there.
NOTHING_PLAYABLE = "nothing-playable"
# A fill longer than this is a programme of its own in the guide, not folded into the one
# before it.
FOLD_SECONDS = 300.0
# No break in an item's first or last minute.
BREAK_MARGIN = 60.0
# Clips shorter than this are not used as filler (a loop of tiny clips would be all ffmpeg
# start-up).
MIN_FILLER_SECONDS = 0.5


@dataclass(frozen=True)
class MediaFile:
    """A playable file and its length (from ffprobe, cached per file version)."""

    path: str
    duration: float
    keyframes: tuple[float, ...] = ()
    """Keyframe times, where copy mode needs them to place breaks."""


@dataclass(frozen=True)
class Library:
    """What the media folders hold now: playable files by program key, filler, bumpers."""

    programs: Mapping[str, Sequence[MediaFile]]
    filler: Sequence[MediaFile] = ()
    bumpers: Sequence[MediaFile] = ()

    def listings(self) -> dict[str, list[str]]:
        return {key: [f.path for f in files] for key, files in self.programs.items()}

    def keyframes(self) -> dict[str, tuple[float, ...]]:
        return {f.path: f.keyframes for files in self.programs.values() for f in files}

    def durations(self) -> dict[str, float]:
        found = {f.path: f.duration for f in [*self.filler, *self.bumpers]}
        for files in self.programs.values():
            found.update((f.path, f.duration) for f in files)
        return found


@dataclass(frozen=True)
class Avail:
    """An ad break (SCTE-35 avail) that this entry is part of."""

    id: str
    start: datetime
    length: float
    offset: float
    """Seconds into the break at the start of this entry."""


@dataclass(frozen=True)
class Planned:
    """One entry of the timeline."""

    entry: Entry
    """What plays (its `start` is the in-point in the file)."""
    at: datetime
    """Wall-clock start."""
    length: float
    """Exact length in seconds (whole output frames)."""
    sequence: int
    """Media sequence number of its first segment."""
    part: int = 0
    """0 for an item's first part; n for the part after its n-th break."""
    avail: Avail | None = None
    """Set on the entries that fill an ad break."""
    final: bool = True
    """False for a part of an item that a break follows: the item goes on after it."""
    reason: str = ""
    """Why a substitute airs (the item it stands in for could not play), or
    NOTHING_PLAYABLE for the slate of an empty lineup."""

    @property
    def end(self) -> datetime:
        return self.at + timedelta(seconds=self.length)

    @property
    def id(self) -> str:
        """Unique in the channel's timeline, and the same for every engine."""
        return f"{self.entry.kind}-{round(self.at.timestamp() * 1000)}"

    def segments(self, segment_seconds: int) -> int:
        """Segments ffmpeg cuts it into: one per `segment_seconds`, the last one shorter."""
        return segment_count(self.length, segment_seconds)


@dataclass(frozen=True)
class Cursor:
    """Where planning stands: everything the next entry depends on."""

    lineup: LineupState
    at: datetime
    sequence: int
    filler_index: int = 0


@dataclass(frozen=True)
class Programme:
    """A guide programme: an item with its breaks and what follows it up to the next."""

    title: str
    start: datetime
    stop: datetime
    kind: str
    program: str = ""
    path: str | None = None
    breaks: tuple[tuple[datetime, datetime], ...] = field(default=())


def plan_key(spec: ChannelSpec) -> str:
    """A digest of what planning reads from the spec: the lineup, the clock, the breaks and
    the frame grid. A saved timeline with another key was planned for another schedule."""
    planned = spec.model_dump(
        mode="json",
        include={"programs", "bumpers", "schedule", "filler", "breaks"},
    )
    output = spec.output
    planned["grid"] = [output.mode, output.segment_seconds, output.video.frame_rate]
    text = json.dumps(planned, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def segment_count(length: float, segment_seconds: int) -> int:
    return max(1, math.ceil(length / segment_seconds - 1e-6))


def ts_offset(at: datetime, epoch: datetime) -> float:
    """The MPEG-TS timestamp (seconds) an entry starting at `at` begins with: the time since
    the channel's epoch, restarting every TS_PERIOD, never below EARLIEST_TS_OFFSET (the
    first frames decode a little before they show). The same for every engine."""
    return round(EARLIEST_TS_OFFSET + (at - epoch).total_seconds() % TS_PERIOD, 6)


# --- slots ------------------------------------------------------------------------------


def _clock(value: str) -> time:
    hour, minute, *second = (int(part) for part in value.split(":"))
    return time(hour, minute, second[0] if second else 0)


def slot_starts(
    slots: Sequence[Slot], timezone: str, start: datetime, end: datetime
) -> list[tuple[datetime, Slot]]:
    """Every slot occurrence from a week before `start` to a day after `end`, in UTC, in
    order. Local times that a daylight-saving change skips map forward with it (02:30 on
    the spring-forward night airs at 03:30); times it repeats air at the first of the two."""
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=8)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found: dict[datetime, Slot] = {}
    day = first
    while day <= last:
        weekday = WEEKDAYS[day.weekday()]
        for slot in slots:
            if slot.days and weekday not in slot.days:
                continue
            local = datetime.combine(day, _clock(slot.start), tzinfo=zone)
            found[local.astimezone(UTC)] = slot
        day += timedelta(days=1)
    return sorted(found.items(), key=lambda pair: pair[0])


@dataclass(frozen=True)
class _Slots:
    starts: list[datetime]
    slots: list[Slot]

    def at(self, moment: datetime) -> tuple[Slot, datetime]:
        """The slot on air at `moment` and when the next one starts."""
        index = bisect_right(self.starts, moment) - 1
        if index < 0 or index + 1 >= len(self.starts):
            raise ValueError(f"no slot covers {moment.isoformat()}")
        return self.slots[index], self.starts[index + 1]


def _slot_table(spec: ChannelSpec, start: datetime, end: datetime) -> _Slots:
    pairs = slot_starts(spec.schedule.slots, spec.schedule.timezone, start, end)
    return _Slots([when for when, _ in pairs], [slot for _, slot in pairs])


# --- planning ---------------------------------------------------------------------------


class _Planner:
    """One planning run: the spec, the library and the output's frame grid."""

    def __init__(self, spec: ChannelSpec, library: Library) -> None:
        self.spec = spec
        self.library = library
        self.listings = library.listings()
        self.durations = library.durations()
        self.keyframes = library.keyframes() if spec.output.mode == "copy" else {}
        self.bumpers = [f.path for f in library.bumpers]
        self.fillers = [f for f in library.filler if f.duration >= MIN_FILLER_SECONDS] or [
            f for f in library.bumpers if f.duration >= MIN_FILLER_SECONDS
        ]
        self.segment_seconds = spec.output.segment_seconds
        self.midrolls: dict[str, Midroll] = {rule.program: rule for rule in spec.breaks}
        self.frame = float(1 / frame_rate(spec.output))

    def length(self, seconds: float) -> float:
        return planned_length(self.spec.output, max(seconds, 0.0))

    def place(
        self,
        cursor: Cursor,
        entry: Entry,
        length: float,
        *,
        part: int = 0,
        avail: Avail | None = None,
        final: bool = True,
    ) -> Planned:
        return Planned(
            entry, cursor.at, length, cursor.sequence, part=part, avail=avail, final=final
        )

    def after(self, cursor: Cursor, planned: Planned, *, filler_index: int | None = None) -> Cursor:
        return replace(
            cursor,
            at=planned.end,
            sequence=cursor.sequence + planned.segments(self.segment_seconds),
            filler_index=cursor.filler_index if filler_index is None else filler_index,
        )

    # An item, in parts around its breaks -----------------------------------------------

    def break_points(self, entry: Entry) -> list[float]:
        """Seconds into the file where breaks go: every `everyMinutes`, never in the first
        or the last minute, only after the in-point. In copy mode each moves to the nearest
        keyframe, since a copied part can only start on one."""
        rule = self.midrolls.get(entry.program)
        duration = self.durations.get(entry.path or "", 0.0)
        if rule is None or duration <= 2 * BREAK_MARGIN:
            return []
        every = rule.every_minutes * 60
        keyframes = self.keyframes.get(entry.path or "", ())
        points: list[float] = []
        point = every
        while point <= duration - BREAK_MARGIN:
            snapped = _nearest(keyframes, point) if keyframes else point
            fits = BREAK_MARGIN <= snapped <= duration - BREAK_MARGIN
            if fits and snapped > entry.start + self.frame and snapped not in points:
                points.append(snapped)
            point += every
        return points

    def part_ends(self, entry: Entry) -> list[tuple[float, bool]]:
        """Where the item's parts end (seconds into the file), each with whether a break
        follows it: the break points, and between them cuts that keep each part within
        MAX_PART_SECONDS. The last is the end of the file."""
        duration = self.durations.get(entry.path or "", 0.0)
        keyframes = self.keyframes.get(entry.path or "", ())
        edges = [entry.start, *self.break_points(entry), duration]
        ends: list[tuple[float, bool]] = []
        for index, (start, stop) in enumerate(pairwise(edges)):
            while stop - start > MAX_PART_SECONDS:
                cut = start + MAX_PART_SECONDS
                snapped = _nearest(keyframes, cut) if keyframes else cut
                start = snapped if start + self.frame < snapped < stop - self.frame else cut
                ends.append((start, False))
            ends.append((stop, index < len(edges) - 2))
        return ends

    def item(
        self, cursor: Cursor, entry: Entry, until: datetime | None
    ) -> tuple[list[Planned], Cursor]:
        """The item from its in-point to its end (or to `until`, cutting it), in parts
        around its breaks."""
        duration = self.durations.get(entry.path or "", 0.0)
        rule = self.midrolls.get(entry.program)
        planned: list[Planned] = []
        position = entry.start
        for part, (stop, pause) in enumerate(self.part_ends(entry)):
            remaining = None if until is None else (until - cursor.at).total_seconds()
            if remaining is not None and remaining < self.frame:
                break
            length = self.length(stop - position)
            cut = remaining is not None and length > remaining
            if cut and remaining is not None:
                length = self.length(remaining)
            final = cut or stop == duration
            piece = self.place(
                cursor, replace(entry, start=round(position, 6)), length, part=part, final=final
            )
            planned.append(piece)
            cursor = self.after(cursor, piece)
            position = stop
            if final or (until is not None and cursor.at >= until):
                break
            if pause and rule is not None:
                breaks, cursor = self.fill(cursor, self.length(rule.seconds), avail=True)
                planned += breaks
        return planned, cursor

    def item_length(self, entry: Entry) -> float:
        """How long the item takes on air, its breaks included."""
        rule = self.midrolls.get(entry.program)
        total, position = 0.0, entry.start
        for stop, pause in self.part_ends(entry):
            total += self.length(stop - position)
            if pause and rule is not None:
                total += self.length(rule.seconds)
            position = stop
        return total

    # Filling time ---------------------------------------------------------------------

    def fill(
        self, cursor: Cursor, seconds: float, *, avail: bool = False, slate_only: bool = False
    ) -> tuple[list[Planned], Cursor]:
        """Exactly `seconds` of filler clips (the last one shortened), or of the slate when
        there is no filler. An ad break (`avail`) is marked on every entry of it."""
        planned: list[Planned] = []
        mark = None
        if avail:
            mark = Avail(f"break-{int(cursor.at.timestamp())}", cursor.at, seconds, offset=0.0)
        start = cursor.at
        end = start + timedelta(seconds=seconds)
        fillers = [] if slate_only else self.fillers
        while True:
            remaining = (end - cursor.at).total_seconds()
            if remaining < self.frame / 2:
                break
            if fillers:
                clip = fillers[cursor.filler_index % len(fillers)]
                length = self.length(min(clip.duration, remaining))
                entry = Entry("filler", title_of(clip.path), path=clip.path)
                next_filler: int | None = cursor.filler_index + 1
            else:
                length = self.length(remaining)
                entry = slate()
                next_filler = None
            if length <= 0:
                break
            offset = (cursor.at - start).total_seconds()
            marked = replace(mark, offset=round(offset, 6)) if mark else None
            piece = self.place(cursor, entry, length, avail=marked)
            planned.append(piece)
            cursor = self.after(cursor, piece, filler_index=next_filler)
        return planned, cursor

    # Lineup mode ------------------------------------------------------------------------

    def turn(self, cursor: Cursor) -> tuple[list[Planned], Cursor]:
        """The lineup's next item and the interstitials after it."""
        lineup = cursor.lineup
        entry = current_entry(self.spec, lineup, self.listings)
        if entry is None:
            slate, cursor = self.fill(cursor, EMPTY_LINEUP_SECONDS, slate_only=True)
            return [replace(piece, reason=NOTHING_PLAYABLE) for piece in slate], cursor
        planned, cursor = self.item(cursor, entry, None)
        lineup = advance(self.spec, lineup, entry, self.listings)
        upcoming = current_entry(self.spec, lineup, self.listings)
        extra, lineup = interstitials(self.spec, lineup, upcoming, self.bumpers)
        cursor = replace(cursor, lineup=lineup)
        for card in extra:
            piece = self.place(cursor, card, self.interstitial_length(card))
            planned.append(piece)
            cursor = self.after(cursor, piece)
        return planned, cursor

    def interstitial_length(self, entry: Entry) -> float:
        if entry.kind == "bumper":
            return self.length(self.durations.get(entry.path or "", 0.0))
        seconds = self.spec.bumpers.up_next_seconds if self.spec.bumpers else 4
        return self.length(seconds)

    # Slot mode --------------------------------------------------------------------------

    def slot(self, cursor: Cursor, slot: Slot, until: datetime) -> tuple[list[Planned], Cursor]:
        """The slot's program from `cursor.at` up to `until` (the next slot's start)."""
        program = _program(self.spec, slot.program)
        planned: list[Planned] = []
        while True:
            gap = (until - cursor.at).total_seconds()
            if gap < self.frame / 2:
                return planned, cursor
            entry = self.next_item(cursor.lineup, program)
            if entry is None:
                pad, cursor = self.fill(cursor, gap, slate_only=slot.fill == "slate")
                return planned + pad, cursor
            if self.item_length(entry) > gap + self.frame / 2:
                if slot.fill == "cut":
                    pieces, cursor = self.item(cursor, entry, until)
                    lineup = advance(self.spec, cursor.lineup, entry, self.listings)
                    return planned + pieces, replace(cursor, lineup=lineup)
                pad, cursor = self.fill(cursor, gap, slate_only=slot.fill == "slate")
                return planned + pad, cursor
            pieces, cursor = self.item(cursor, entry, None)
            planned += pieces
            lineup = advance(self.spec, cursor.lineup, entry, self.listings)
            cursor = replace(cursor, lineup=lineup)
            upcoming = self.next_item(lineup, program)
            extra, after = interstitials(self.spec, lineup, upcoming, self.bumpers)
            needed = sum(self.interstitial_length(card) for card in extra)
            needed += self.item_length(upcoming) if upcoming else 0.0
            if extra and needed <= (until - cursor.at).total_seconds():
                cursor = replace(cursor, lineup=after)
                for card in extra:
                    piece = self.place(cursor, card, self.interstitial_length(card))
                    planned.append(piece)
                    cursor = self.after(cursor, piece)

    def next_item(self, lineup: LineupState, program: Program) -> Entry | None:
        entry = program_entry(
            program, lineup.progress.get(program.key), self.listings.get(program.key, ())
        )
        # A slot starts its items from the beginning: `resume` is for the lineup mode.
        return replace(entry, start=0.0) if entry else None


def _nearest(times: Sequence[float], point: float) -> float:
    index = bisect_right(times, point)
    near = times[max(index - 1, 0) : index + 1]
    return min(near, key=lambda time: abs(time - point))


def _program(spec: ChannelSpec, key: str) -> Program:
    return next(program for program in spec.programs if program.key == key)


def plan(
    spec: ChannelSpec, library: Library, cursor: Cursor, *, until: datetime
) -> tuple[list[Planned], Cursor]:
    """Entries from `cursor` until at least `until`, and the cursor after the last one."""
    planner = _Planner(spec, library)
    planned: list[Planned] = []
    if spec.schedule.slots:
        table = _slot_table(spec, cursor.at, until)
        while cursor.at < until:
            slot, boundary = table.at(cursor.at)
            pieces, cursor = planner.slot(cursor, slot, boundary)
            planned += pieces
            if cursor.at < boundary:  # the last entry fell short of the boundary by < a frame
                cursor = replace(cursor, at=boundary)
    else:
        while cursor.at < until:
            pieces, cursor = planner.turn(cursor)
            planned += pieces
            if not planner.listings or all(not files for files in planner.listings.values()):
                break  # nothing playable: planned a few minutes of slate only
    return planned, cursor


def substitute(
    spec: ChannelSpec, library: Library, planned: Planned, *, offset: float, reason: str
) -> list[Planned]:
    """What airs instead of `planned` from `offset` seconds into it, when it cannot play:
    filler (the slate when the entry was filler itself) for exactly the rest of its time,
    keeping its break marking, so that the timeline after it does not move."""
    planner = _Planner(spec, library)
    segments = round(offset / planner.segment_seconds)
    at = planned.at + timedelta(seconds=offset)
    cursor = Cursor(
        lineup=LineupState(),
        at=at,
        sequence=planned.sequence + segments,
        filler_index=int(at.timestamp()),
    )
    pieces, _ = planner.fill(
        cursor, planned.length - offset, slate_only=planned.entry.kind in ("filler", "bumper")
    )
    if planned.avail is not None:
        pieces = [
            replace(
                piece,
                avail=replace(
                    planned.avail,
                    offset=round(planned.avail.offset + (piece.at - planned.at).total_seconds(), 6),
                ),
            )
            for piece in pieces
        ]
    return [replace(piece, reason=reason) for piece in pieces]


def cut(
    entries: Sequence[Planned],
    cursor: Cursor,
    planned: Planned,
    offset: float,
    segment_seconds: int,
) -> tuple[list[Planned], Cursor]:
    """A lineup's timeline with `planned` ended `offset` seconds in (skipped by request):
    what follows moves up by the time cut off, its sequence numbers and breaks with it, so
    the next entry starts at once. `offset` is on the segment grid (where the engine
    stopped); an entry cut before its first segment goes altogether."""
    index = entries.index(planned)
    early = timedelta(seconds=planned.length - offset)
    kept = [replace(planned, length=offset)] if offset > 1e-3 else []
    fewer = planned.segments(segment_seconds) - sum(
        entry.segments(segment_seconds) for entry in kept
    )

    def moved(entry: Planned) -> Planned:
        avail = entry.avail
        return replace(
            entry,
            at=entry.at - early,
            sequence=entry.sequence - fewer,
            avail=replace(avail, start=avail.start - early) if avail is not None else None,
        )

    after = [moved(entry) for entry in entries[index + 1 :]]
    return (
        [*entries[:index], *kept, *after],
        replace(cursor, at=cursor.at - early, sequence=cursor.sequence - fewer),
    )


def start_cursor(spec: ChannelSpec, epoch: datetime, lineup: LineupState | None = None) -> Cursor:
    """Where a channel's timeline begins: at its epoch, or for a slotted channel at the
    start of the slot the epoch falls in, so that even a new channel airs its slot as if it
    had been on air all along."""
    at = epoch
    if spec.schedule.slots:
        table = _slot_table(spec, epoch, epoch)
        at = table.starts[bisect_right(table.starts, epoch) - 1]
    return Cursor(lineup=lineup or LineupState(), at=at, sequence=0)


def on_air(entries: Sequence[Planned], moment: datetime) -> int | None:
    """Index of the entry on air at `moment`, or None when the timeline does not cover it."""
    # By key, not a list of starts: a timeline of short clips has tens of thousands.
    index = bisect_right(entries, moment, key=attrgetter("at")) - 1
    if index < 0 or entries[index].end <= moment:
        return None
    return index


def join_point(planned: Planned, moment: datetime, segment_seconds: int) -> float | None:
    """Seconds into `planned` of its first planned segment boundary at or after `moment`:
    where an engine that starts then joins the timeline, on the planned segment grid (so
    it is never behind the clock). None when no boundary of `planned` is left."""
    elapsed = max((moment - planned.at).total_seconds(), 0.0)
    index = math.ceil(elapsed / segment_seconds - 1e-6)
    if index >= planned.segments(segment_seconds):
        return None
    return float(index * segment_seconds)


# --- the guide ----------------------------------------------------------------------------


def programmes(entries: Sequence[Planned]) -> list[Programme]:
    """The guide's view: each item with its breaks, parts and the interstitials after it, up
    to the next item, so each programme stops exactly where the next starts. A stretch of
    filler or slate longer than FOLD_SECONDS (an empty slot, say) is a programme of its own."""
    found: list[Programme] = []
    for run in _runs(entries):
        first = run[0]
        entry = first.entry
        padding = _is_padding(first)
        stop = run[-1].end
        if (
            found
            and not (entry.kind == "item" and first.part == 0)
            and not (padding and (stop - first.at).total_seconds() > FOLD_SECONDS)
        ):
            last = found[-1]
            found[-1] = replace(last, stop=stop, breaks=last.breaks + _breaks(run))
            continue
        found.append(
            Programme(
                title="Filler" if entry.kind == "filler" else entry.title,
                start=first.at,
                stop=stop,
                kind=entry.kind,
                program=entry.program,
                path=entry.path,
                breaks=_breaks(run),
            )
        )
    return found


def _is_padding(planned: Planned) -> bool:
    return planned.entry.kind in ("filler", "slate") and planned.avail is None


def _runs(entries: Sequence[Planned]) -> list[list[Planned]]:
    """Consecutive padding entries grouped; every other entry alone."""
    runs: list[list[Planned]] = []
    for planned in entries:
        if runs and _is_padding(planned) and _is_padding(runs[-1][-1]):
            runs[-1].append(planned)
        else:
            runs.append([planned])
    return runs


def _breaks(run: Sequence[Planned]) -> tuple[tuple[datetime, datetime], ...]:
    return tuple(
        (p.avail.start, p.avail.start + timedelta(seconds=p.avail.length))
        for p in run
        if p.avail is not None and p.avail.offset == 0
    )
