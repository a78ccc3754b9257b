"""The channel engine: airs the timeline through ffmpeg, one process per entry, and owns
the live playlist.

What airs when is the timeline's (`timeline.py`, pure); this module only carries it out.
Two tasks share a queue of finished segments:
- the producer walks the timeline from where the clock is, runs ffmpeg on each entry for
  exactly its planned length and queues each segment as the segment muxer reports it,
  pausing ffmpeg (SIGSTOP) while enough is queued, so it works ahead at start and then keeps
  pace with the clock without filling the disk;
- the publisher moves each segment into the playlist when its time comes (at once for the
  first few, so players start fast; then in real time) with the timeline's time, sequence
  number and break markers, logs what aired, saves the state, reports, and deletes
  segments that left the window a grace period ago.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import math
import os
import shutil
import signal
import time
from bisect import bisect_left
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Protocol

from playout.api.annotations import SKIP, request_time
from playout.api.channel import Channel, NowPlaying, SkippedItem
from playout.api.probejob import CheckStatus, ProbeProfile, Verdict
from playout.atomic import write_atomically
from playout.clock import rfc3339, utc_now
from playout.media import ffmpeg, languages, webvtt
from playout.media.hls import (
    AdBreak,
    AudioRendition,
    Segment,
    SubtitleRendition,
    Variant,
    bandwidth,
    render_multivariant,
    target_duration_for,
)
from playout.media.loudness import Level
from playout.media.metadata import MediaInfo
from playout.media.mpegts import codecs as codecs_in
from playout.media.process import find_tool, kill_group, start_tool
from playout.streamer import schedule, timeline
from playout.streamer.asrun import AsRunLog
from playout.streamer.library import MediaLibrary, Unplayable
from playout.streamer.loudness import LoudnessMeter
from playout.streamer.metrics import EngineMetrics
from playout.streamer.schedule import LineupState
from playout.streamer.state import (
    SavedState,
    SavedTimeline,
    load_timeline,
    parse_timeline,
    restore_playlist,
    save,
    save_timeline,
    snapshot,
)
from playout.streamer.subtitles import (
    SubtitleCues,
    burn_in_source,
    subtitle_name,
    subtitle_uri,
)
from playout.streamer.timeline import Cursor, Library, Planned

log = logging.getLogger(__name__)

# Segments the producer may have ready before it pauses ffmpeg; also how far ahead of the
# clock the live edge runs, which is what lets a player start at once.
WORK_AHEAD = 3
# An ffmpeg that gives no segment for this long is hung and is restarted from its last
# one. The first may take long (probing, seeking, an encoder's look-ahead); after it, the
# limit is WATCHDOG_SEGMENTS segment durations (at least WATCHDOG_MIN_SECONDS): the queue
# (WORK_AHEAD segments) and a player's buffer (three more, hls.js's live sync) then cover
# the restart, so viewers see no stall.
FIRST_SEGMENT_WATCHDOG = 60.0
WATCHDOG_SEGMENTS = 3
WATCHDOG_MIN_SECONDS = 6.0
# Segments kept on disk after they leave the window: a player may still be fetching them.
GRACE_SEGMENTS = 6
# The timeline is kept this far into the past (the guide's "now", the as-run check) ...
KEEP_PAST = timedelta(hours=1)
# ... extended when its end comes closer than the horizon less this ...
EXTEND_MARGIN = timedelta(hours=1)
# ... planned this far ahead before the channel goes on air (the rest right after) ...
FIRST_PLAN = timedelta(hours=1)
# ... which the guide's readers wait for, this long at most ...
GUIDE_WAIT = 10.0
# ... and the media folders listed again at most this often.
RESCAN_SECONDS = 60.0
# Pause before the next try after a generated card failed to render.
CARD_RETRY_SECONDS = 2.0
# Wall-clock limit of the checks of one item (`spec.probe`): metadata and packets only.
CHECK_SECONDS = 60.0
# Before giving up on a file, how long to wait before trying it again (doubling).
RETRY_AFTER = 60.0
RETRY_MAX = 3600.0
# While the slate stands in for media that is gone (a file, a folder, the whole volume),
# the engine looks for it again this often, and puts it back on air at the next look.
RECHECK_SECONDS = 10.0
# How ffmpeg says that the volume is full (strerror(ENOSPC)).
NO_SPACE = os.strerror(errno.ENOSPC)
# With the volume full, how often the engine looks for room again.
ROOM_POLL_SECONDS = 5.0
# Why an entry ended early by request: the reason in status.skipped, the as-run log and on
# the stand-ins that fill the rest of its time.
SKIPPED = "requested"
# What `_run_ffmpeg` says when a copied file's keyframes are too far apart for the target
# duration: the rest of it is transcoded instead.
KEYFRAMES_TOO_FAR = "keyframes further apart than the target duration"

# An item about to air waits this long for its loudness to be measured, if the meter did
# not get to it ahead of time (the first item of a new channel): less than loudnorm costs
# before its first sound (its 3-second look-ahead), which it airs through otherwise.
MEASURE_WAIT = 0.5
# The files of the entries starting this soon after the one on air are measured ahead.
MEASURE_AHEAD = timedelta(minutes=15)

# Items whose subtitle cues are kept in memory (the producer runs a few segments ahead).
CUES_KEPT = 4
# How much of a segment is read for its codecs: its first keyframe and audio frame.
CODECS_READ = 256 * 1024

Reporter = Callable[[dict[str, object], bool], Awaitable[None]]


class SkipSource(Protocol):
    """Where requests to end the entry on air come from (in a cluster: the Channel's
    `playout.dev/skip` annotation, which `kubectl playout skip` sets)."""

    def skip_requests(self) -> AsyncIterator[str]: ...


class TimelineStore(Protocol):
    """Where the published timeline is kept beyond the state volume (in a cluster: a
    ConfigMap the Channel owns), so that a replacement pod airs the same guide."""

    async def load_timeline(self) -> bytes | None: ...

    async def save_timeline(self, document: bytes) -> None: ...


@dataclass(frozen=True)
class Produced:
    """A finished segment, in every rendition, waiting to be published."""

    paths: tuple[Path, ...]
    """The segment's file in each rendition, best first."""
    duration: float
    planned: Planned
    offset: float
    """Seconds into `planned` at the start of this segment."""
    first: bool
    """The first segment of this run of ffmpeg: it starts a discontinuity."""
    last: bool
    """The last segment of `planned`."""

    @property
    def program_date_time(self) -> datetime:
        return self.planned.at + timedelta(seconds=self.offset)

    @property
    def position(self) -> float:
        """Seconds into the file at the end of this segment."""
        return self.planned.entry.start + self.offset + self.duration


def _codecs_of(segment: Path) -> list[str]:
    with segment.open("rb") as file:
        return codecs_in(file.read(CODECS_READ))


class ItemFailed(Exception):
    """An entry could not be played; `reason` says why in a word, `offset` how far into
    the entry it got."""

    def __init__(self, reason: str, detail: str, *, offset: float = 0.0) -> None:
        super().__init__(detail if detail.startswith(f"{reason}: ") else f"{reason}: {detail}")
        self.reason = reason
        self.offset = offset


class ItemSkipped(Exception):
    """The entry on air was asked to end (`request`, the annotation's value) at `offset`
    seconds into it: where the engine stopped making it."""

    def __init__(self, request: str, *, offset: float) -> None:
        super().__init__(f"skipped by request ({SKIP}: {request})")
        self.request = request
        self.offset = offset


class DiskFull(Exception):
    """The state volume has no room for the next segment or state file: nobody's item is
    at fault, and the stream waits for room."""


class Engine:
    def __init__(
        self,
        channel: Channel,
        media_root: Path,
        state_dir: Path,
        saved: SavedState | None,
        metrics: EngineMetrics,
        reporter: Reporter | None = None,
        timeline_store: TimelineStore | None = None,
        skip_source: SkipSource | None = None,
    ) -> None:
        self.channel = channel
        self.spec = channel.spec
        self.media_root = media_root
        self.state_dir = state_dir
        self.segments_dir = state_dir / "segments"
        self.work_dir = state_dir / "work"
        self.metrics = metrics
        self.reporter = reporter
        self.timeline_store = timeline_store
        self.skip_source = skip_source
        self._publishing: asyncio.Task[None] | None = None
        self.ffmpeg = find_tool("ffmpeg")
        output = self.spec.output
        self.segment_seconds = output.segment_seconds
        self._watchdog_seconds = max(WATCHDOG_MIN_SECONDS, WATCHDOG_SEGMENTS * self.segment_seconds)
        self.rungs = ffmpeg.ladder(output)
        self.alternates = ffmpeg.alternate_audio(output)
        # What each ffmpeg writes, in its order: the video rungs, then the alternate audio.
        self.renditions = [rung.name for rung in self.rungs]
        self.renditions += [alternate.name for alternate in self.alternates]
        # Subtitles are written by the engine itself, one WebVTT file per segment.
        self.subtitle_languages = output.subtitle_renditions
        self.subtitle_cues = SubtitleCues(self.ffmpeg)
        self._cues: dict[str, list[list[webvtt.Cue]]] = {}
        # Per rendition: what its segments in the window weigh (bytes, seconds), and the
        # codecs its latest run wrote, for the multivariant playlist.
        self._weights: list[dict[str, tuple[int, float]]] = [{} for _ in self.renditions]
        self._codecs: list[tuple[str, ...]] = [() for _ in self.renditions]
        self._logo_missing = False
        self._copied_picture: tuple[int, int, float] | None = None
        """Width, height and frame rate of the source copy mode passes through last."""
        target = target_duration_for(output.segment_seconds, output.mode)
        self._resumed = saved is not None and bool(saved.progress or saved.window)
        saved = saved or SavedState()
        self.epoch = saved.epoch + 1
        # The channel's time origin: segment timestamps and sequence numbers count from it,
        # so every engine of the channel agrees on them.
        self.clock_epoch = saved.clock_epoch or channel.metadata.creation_timestamp or utc_now()
        self.playlist = restore_playlist(saved, target, output.window_segments)
        self.aired = LineupState(
            progress=dict(saved.progress),
            current=saved.current,
            played_in_turn=saved.played_in_turn,
            bumper_index=saved.bumper_index,
        )
        self.library = MediaLibrary(
            media_root=media_root,
            state_dir=state_dir,
            ffprobe=find_tool("ffprobe"),
            on_unplayable=self._left_out,
        )
        self._on_air = asyncio.Event()
        """Set once the first WORK_AHEAD segments are listed: work that can wait (the rest
        of the guide, measuring loudness ahead) waits for it, not to slow the start."""
        self.loudness = (
            LoudnessMeter(
                ffmpeg=self.ffmpeg,
                media_root=media_root,
                state_dir=state_dir,
                target=output.audio.loudness,
                tracks_of=self._tracks_to_measure,
                background_after=self._on_air,
            )
            if output.audio.loudness.enabled
            else None
        )
        self.asrun = AsRunLog(state_dir)
        self.timeline: list[Planned] = []
        self.cursor: Cursor | None = None
        self._guide_planned = asyncio.Event()
        self._planning = asyncio.Lock()
        """Held while the timeline is planned: by the producer, and at the start by the
        planning of the guide beyond its first hour."""
        self.now_playing: NowPlaying | None = None
        self.last_published: float | None = None
        self.last_published_at: datetime | None = None
        self.disk_full_since: datetime | None = None
        self.drift: float | None = None
        self._queue: asyncio.Queue[Produced] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()
        self._failures: dict[str, tuple[int, float]] = {}
        self._library: Library | None = None
        self._scanned = 0.0
        self._check_cache: dict[tuple[str, float, int], str | None] = {}
        self._transcode: set[str] = set()
        """Files copy mode cannot cut into segments (keyframes too far apart)."""
        self._shift = 0
        self._break_on_air: AdBreak | None = None
        self.skipped: deque[SkippedItem] = deque(maxlen=20)
        self._new_run = True
        self._making: Planned | None = None
        """The entry the producer is making, and its ffmpeg while one runs."""
        self._ffmpeg: asyncio.subprocess.Process | None = None
        self._skip_seen: str | None = None
        """The latest skip request looked at: each is acted on once."""
        self._skip: tuple[str, Planned] | None = None
        """A skip request for the entry being made, not yet carried out."""
        self._cuts: dict[str, float] = {}
        """Entries ended early, by id: where they end, for the publisher."""

    # --- lifecycle ------------------------------------------------------------------

    async def run(self) -> None:
        self._prepare_dirs()
        try:
            await self._start_timeline()
            await asyncio.gather(
                self._produce(), self._publish(), self._plan_the_rest(), self._follow_skips()
            )
        finally:
            if self.loudness is not None:
                await self.loudness.close()

    async def _plan_the_rest(self) -> None:
        """The guide beyond the first hour, once the channel is on air."""
        await self._on_air.wait()
        # Forced: saved and published even where the first hour's plan already reaches
        # the horizon (a slot that fills the rest of the day).
        await self._extend(force=True)
        self._guide_planned.set()

    async def guide_planned(self) -> None:
        """Returns once the timeline is planned to the guide's horizon (at most a few
        seconds after the start), or after GUIDE_WAIT if planning takes longer."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._guide_planned.wait(), GUIDE_WAIT)

    # --- skipping by request ------------------------------------------------------

    async def _follow_skips(self) -> None:
        if self.skip_source is None:
            return
        async for request in self.skip_source.skip_requests():
            self.request_skip(request)

    def request_skip(self, request: str) -> None:
        """End the entry that was on air at the request's time, if the producer is still
        making it: at the last segment it finished (the few made ahead still air). A
        request seen again (a restart, a new watch) finds that entry over and does nothing."""
        if request == self._skip_seen:
            return
        self._skip_seen = request
        at = request_time(request)
        making = self._making
        if at is None:
            log.warning(f"Ignoring {SKIP}: {request!r}: not an RFC 3339 time with a zone")
            return
        if making is None or not making.at <= at < making.end or self._cut_already(making):
            log.info(f"{SKIP}: {request}: the entry on air then is over, nothing to skip")
            return
        log.info(f"{SKIP}: {request}: ending {making.entry.title} ({making.entry.kind})")
        self._skip = (request, making)
        if self._ffmpeg is not None:
            kill_group(self._ffmpeg)

    def _cut_already(self, planned: Planned) -> bool:
        return planned.id in self._cuts or planned.reason == SKIPPED

    def _skip_asked(self, planned: Planned, offset: float) -> None:
        """Raises ItemSkipped when a skip was asked for `planned`."""
        if self._skip is not None and self._skip[1] is planned:
            request, self._skip = self._skip[0], None
            raise ItemSkipped(request, offset=offset)

    async def _skipped(self, planned: Planned, skip: ItemSkipped) -> Planned:
        """A lineup's timeline moves up so the next entry starts now; a scheduled channel
        (or an entry the timeline does not hold: a stand-in) keeps its times, the rest of
        the entry's time filled as for an entry that cannot play."""
        entry = planned.entry
        self._cuts[planned.id] = skip.offset
        self.metrics.skips.labels(SKIPPED).inc()
        self.skipped.appendleft(
            SkippedItem(
                item=entry.path or entry.title, reason=SKIPPED, message=str(skip), at=utc_now()
            )
        )
        end = planned.at + timedelta(seconds=skip.offset)
        self.asrun.append(
            {
                "id": planned.id,
                "event": "skipped",
                "kind": entry.kind,
                "title": entry.title,
                "item": entry.path,
                "scheduledEnd": rfc3339(planned.end, timespec="milliseconds"),
                "end": rfc3339(end, timespec="milliseconds"),
                "reason": str(skip),
            }
        )
        if self._slotted or planned not in self.timeline:
            await self._stand_in(planned, ItemFailed(SKIPPED, str(skip), offset=skip.offset))
            return planned
        assert self.cursor is not None
        async with self._planning:
            self.timeline, self.cursor = timeline.cut(
                self.timeline, self.cursor, planned, skip.offset, self.segment_seconds
            )
            self._save_timeline()
        return replace(planned, length=skip.offset)

    def subtitle_dir(self, language: str) -> Path:
        return self.segments_dir / subtitle_name(language)

    def rendition_dir(self, rendition: int) -> Path:
        """Where a rendition's segments are: the segments folder itself for a channel's
        only rendition, else a folder named after it (served as /live/NAME/)."""
        name = self.renditions[rendition]
        return self.segments_dir if name is None else self.segments_dir / name

    def _prepare_dirs(self) -> None:
        """Sweep what a crash left: work files, and segments no playlist lists any more."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.work_dir.iterdir():
            leftover.unlink(missing_ok=True)
        listed = {s.uri for s in self.playlist.segments + self.playlist.removed}
        listed |= {subtitle_uri(uri) for uri in listed}
        folders = [self.rendition_dir(r) for r in range(len(self.renditions))]
        for folder in folders + [self.subtitle_dir(code) for code in self.subtitle_languages]:
            folder.mkdir(parents=True, exist_ok=True)
            for path in folder.iterdir():
                if path.is_file() and path.name not in listed:
                    path.unlink(missing_ok=True)
        for rendition, folder in enumerate(folders):
            for segment in self.playlist.segments:
                with contextlib.suppress(OSError):
                    size = (folder / segment.uri).stat().st_size
                    self._weights[rendition][segment.uri] = (size, segment.duration)

    @property
    def target_duration(self) -> int:
        return self.playlist.target_duration

    def healthy(self) -> bool:
        """A new segment within 3 target durations (the playlist is live)."""
        if self.last_published is None:
            return False
        return time.monotonic() - self.last_published < 3 * self.target_duration

    # --- the timeline ---------------------------------------------------------------

    @property
    def _slotted(self) -> bool:
        return bool(self.spec.schedule.slots)

    async def _scan(self, *, force: bool = False) -> Library:
        if force or self._library is None or time.monotonic() - self._scanned > RESCAN_SECONDS:
            now = time.monotonic()
            waiting = {path for path, (_, retry) in self._failures.items() if retry > now}
            self._library = await self.library.scan(self.spec, excluded=waiting)
            self._scanned = time.monotonic()
        return self._library

    async def _start_timeline(self) -> None:
        """The published timeline as it was, or planned afresh: a slotted channel (and a
        new one) from the channel's epoch, so that it is where the clock says; a lineup
        that resumes, from its cursors at the time it went off air."""
        saved = load_timeline(self.state_dir)
        if saved is None and self.timeline_store is not None:
            published = await self.timeline_store.load_timeline()
            if published is not None:
                saved = parse_timeline(published)
        if saved is not None and saved.plan_key != timeline.plan_key(self.spec):
            log.info("The schedule changed: planning the timeline again")
            saved = None
        if saved is not None and saved.entries and not self._off_air_too_long():
            self.timeline, self.cursor = saved.entries, saved.cursor
        elif self._resumed and not self._slotted:
            # A lineup that was off air longer than the window resumes where it stopped.
            self.cursor = self._resume_cursor()
        else:
            self.cursor = timeline.start_cursor(self.spec, self.clock_epoch)
        # The first hour now, to go on air; the rest of the guide while the first
        # segments are made (`run`).
        await self._extend(force=True, until=utc_now() + FIRST_PLAN)

    def _off_air_too_long(self) -> bool:
        """A lineup off air for longer than its window does not pick up its old timeline."""
        if self._slotted or not self._resumed or self.playlist.end_time is None:
            return False
        window = self.spec.output.window_segments * self.segment_seconds
        return (utc_now() - self.playlist.end_time).total_seconds() > window

    def _resume_cursor(self) -> Cursor:
        """A lineup that was off air carries on from its cursors, now (`resume`)."""
        return Cursor(
            lineup=self.aired, at=utc_now(), sequence=self.playlist.next_sequence - self._shift
        )

    async def _extend(self, *, force: bool = False, until: datetime | None = None) -> None:
        """Plan up to the guide's horizon (or `until`, unsaved: the start's first hour),
        drop what aired more than KEEP_PAST ago, and persist it when it changed."""
        async with self._planning:
            await self._extend_planned(force=force, until=until)

    async def _extend_planned(self, *, force: bool, until: datetime | None = None) -> None:
        assert self.cursor is not None
        now = utc_now()
        horizon = until or now + timedelta(days=self.spec.schedule.guide_days)
        if not force and self.cursor.at > horizon - EXTEND_MARGIN:
            return
        library = await self._scan(force=force)
        keep_from = now - KEEP_PAST
        entries = [e for e in self.timeline if e.end >= keep_from]
        cursor = self.cursor
        while cursor.at < horizon:
            # A day at a time, so that planning from an epoch long ago holds little in memory.
            day_end = min(horizon, max(cursor.at, keep_from) + timedelta(days=1))
            planned, cursor = await asyncio.to_thread(
                timeline.plan, self.spec, library, cursor, until=day_end
            )
            entries += [e for e in planned if e.end >= keep_from]
            if not planned or cursor.at < day_end:
                break  # nothing playable: a few minutes of slate, planned again soon
        self.timeline, self.cursor = entries, cursor
        if until is None:
            self._save_timeline()

    def _save_timeline(self) -> None:
        document = (
            SavedTimeline(
                entries=self.timeline, cursor=self.cursor, plan_key=timeline.plan_key(self.spec)
            )
            .model_dump_json()
            .encode()
        )
        try:
            save_timeline(self.state_dir, document)
        except OSError as error:
            log.warning(f"Could not save the timeline: {error}")
        if self.timeline_store is not None and (
            self._publishing is None or self._publishing.done()
        ):
            self._publishing = asyncio.create_task(self.timeline_store.save_timeline(document))

    def _index_at(self, moment: datetime) -> int | None:
        return timeline.on_air(self.timeline, moment)

    def _join(self) -> tuple[int, float]:
        """Where the producer starts: right after the last published segment when that is
        recent (a restart: what it missed is made at once, and players holding the window
        carry on), otherwise at the next segment boundary of the clock."""
        now = utc_now()
        end = self.playlist.end_time
        window = timedelta(seconds=self.spec.output.window_segments * self.segment_seconds)
        moment = end if end is not None and now - end <= window else now
        index = self._index_at(moment + timedelta(milliseconds=1))
        if index is None:
            return 0, 0.0
        offset = timeline.join_point(self.timeline[index], moment, self.segment_seconds)
        if offset is None:
            return index + 1, 0.0
        return index, offset

    def _next_index(self, finished: Planned) -> int:
        return bisect_left(
            self.timeline, finished.end - timedelta(milliseconds=1), key=attrgetter("at")
        )

    # --- producing ------------------------------------------------------------------

    async def _produce(self) -> None:
        if not self.timeline:
            await self._extend(force=True)
        index, offset = self._join()
        while True:
            self._measure_ahead(index)
            try:
                planned = await self._air(self.timeline[index], offset)
            except DiskFull as full:
                await self._wait_for_room(str(full))
                index, offset = self._join()
                self._new_run = True
                continue
            await self._extend()
            index, offset = self._next_index(planned), 0.0
            if index >= len(self.timeline):
                await self._extend(force=True)
                index = min(self._next_index(planned), len(self.timeline) - 1)

    async def _air(self, planned: Planned, offset: float) -> Planned:
        """Put one entry on air from `offset` seconds into it; what cannot play is
        replaced by filler for the same time. Returns the entry as it aired: the slate of
        an empty lineup ends early, and the timeline is planned again from there, as soon
        as something in the lineup can play."""
        try:
            if planned.reason == timeline.NOTHING_PLAYABLE:
                cut = await self._play(planned, offset, back=self._lineup_back)
                if cut is not None:
                    return await self._replan_after(planned, cut)
            else:
                await self._play(planned, offset)
        except ItemSkipped as skip:
            return await self._skipped(planned, skip)
        except ItemFailed as failure:
            self._note_failure(planned, failure)
            if planned.entry.kind in ("up-next", "slate"):
                # A card that cannot render (no font, say) must not spin the loop.
                await asyncio.sleep(CARD_RETRY_SECONDS)
                return planned
            await self._stand_in(planned, failure)
        return planned

    async def _stand_in(self, planned: Planned, failure: ItemFailed) -> None:
        """Filler or the slate for the rest of a failed entry's time. A file that went
        missing is looked for while the slate airs, and joined where the clock is when it
        is back (the volume came back, say), rather than after the whole of its time."""
        library = await self._scan(force=failure.reason == "missing")
        path = planned.entry.path
        for stand_in in timeline.substitute(
            self.spec, library, planned, offset=failure.offset, reason=failure.reason
        ):
            if failure.reason != "missing" or path is None or stand_in.entry.kind != "slate":
                await self._air(stand_in, 0.0)
                continue
            try:
                cut = await self._play(stand_in, 0.0, back=partial(self._file_back, path))
            except ItemFailed as slate_failure:
                self._note_failure(stand_in, slate_failure)
                await asyncio.sleep(CARD_RETRY_SECONDS)
                continue
            if cut is not None:
                log.info(f"{path} is back: joining it where the clock is")
                joined = (stand_in.at - planned.at).total_seconds() + cut
                await self._air(planned, joined)
                return

    async def _file_back(self, path: str) -> bool:
        return await asyncio.to_thread((self.media_root / path).is_file)

    async def _lineup_back(self) -> bool:
        library = await self._scan(force=True)
        return any(library.programs.values())

    async def _replan_after(self, planned: Planned, cut: float) -> Planned:
        """The slate of an empty lineup ends `cut` seconds in: everything planned from
        there (more of the slate) goes, and the lineup is planned again from that moment."""
        assert self.cursor is not None
        aired = replace(planned, length=cut)
        log.info("Media to play is back: planning the lineup again")
        async with self._planning:
            self.timeline = [e for e in self.timeline if e.at < planned.at] + [aired]
            self.cursor = replace(
                self.cursor,
                at=aired.end,
                sequence=planned.sequence + aired.segments(self.segment_seconds),
            )
            await self._extend_planned(force=True)
        return aired

    def _left_out(self, path: str, problem: Unplayable) -> None:
        """A file the library cannot play: left out of the schedule until it changes."""
        self.metrics.skips.labels(problem.reason).inc()
        self.skipped.appendleft(
            SkippedItem(item=path, reason=problem.reason, message=str(problem), at=utc_now())
        )
        log.warning(f"Leaving {path} out of the schedule: {problem}")

    def _note_failure(self, planned: Planned, failure: ItemFailed) -> None:
        entry = planned.entry
        self.metrics.skips.labels(failure.reason).inc()
        if entry.path is None:
            log.error(f"Could not play the {entry.kind} card: {failure}")
            return
        self.skipped.appendleft(
            SkippedItem(item=entry.path, reason=failure.reason, message=str(failure), at=utc_now())
        )
        if failure.reason == "missing":
            # Nothing to retry: the library lists a file again once it is back.
            log.warning(f"Skipping {entry.path}: {failure}")
            return
        count, retry = self._failures.get(entry.path, (0, 0.0))
        if retry > time.monotonic():
            return  # already waiting for its retry
        delay = min(RETRY_AFTER * 2**count, RETRY_MAX)
        self._failures[entry.path] = (count + 1, time.monotonic() + delay)
        log.warning(f"Skipping {entry.path}: {failure}; trying it again in {delay:.0f}s")

    async def _media(self, planned: Planned) -> MediaInfo:
        path = planned.entry.path
        assert path is not None
        _, retry = self._failures.get(path, (0, 0.0))
        if retry > time.monotonic():
            raise ItemFailed("skipped", f"{path} failed recently; tried again later")
        try:
            info = await self.library.info(path)
        except Unplayable as problem:
            raise ItemFailed(problem.reason, str(problem)) from problem
        if self.spec.probe is not None and planned.entry.kind == "item":
            await self._check(self.media_root / path)
        return info

    async def _check(self, path: Path) -> None:
        """`spec.probe`: the prober's quick profile, once per version of the file."""
        stat = await asyncio.to_thread(path.stat)
        key = (str(path), stat.st_mtime, stat.st_size)
        if key not in self._check_cache:
            assert self.spec.probe is not None
            # Imported here: the prober is a tenth of the start-up of a channel without
            # checks.
            from playout.prober.engine import ProbeRequest, probe

            request = ProbeRequest(
                source=str(path),
                profile=ProbeProfile.QUICK,
                thresholds=dict(self.spec.probe.thresholds),
                timeout=CHECK_SECONDS,
            )
            report = await probe(request)
            failed = [
                f"{check.name}: {check.message}" if check.message else check.name
                for check in report.checks
                if check.status in (CheckStatus.FAIL, CheckStatus.ERROR)
            ]
            self._check_cache[key] = "; ".join(failed) if report.verdict == Verdict.FAIL else None
        problem = self._check_cache[key]
        if problem is not None:
            raise ItemFailed("rejected", f"failed its checks ({problem})")

    async def _play(
        self,
        planned: Planned,
        offset: float,
        *,
        back: Callable[[], Awaitable[bool]] | None = None,
    ) -> float | None:
        """Run ffmpeg on one entry from `offset` to its planned end and queue its segments;
        after a crash of ffmpeg, carry on from the last segment it finished. With `back`,
        it plays in pieces of about RECHECK_SECONDS, asks `back` after each, and stops
        where it says yes: returns the offset it stopped at (None: played to the end)."""
        output = self.spec.output
        entry = planned.entry
        self._making = planned
        try:
            info = await self._media(planned) if entry.path is not None else None
        except ItemFailed as failure:
            raise ItemFailed(failure.reason, str(failure), offset=offset) from failure
        piece = self.segment_seconds * max(1, math.ceil(RECHECK_SECONDS / self.segment_seconds))
        attempts = 0
        first = True
        while True:
            remaining = planned.length - offset
            if remaining < 1e-3:
                return None
            if back is not None and offset > 0 and await back():
                return offset
            self._skip_asked(planned, offset)
            if back is not None:
                remaining = min(remaining, piece)
            run = f"r{self.epoch}-{time.monotonic_ns()}"
            segments = ffmpeg.SegmentOutput(
                self.work_dir / f"{run}-%06d.ts",
                output.segment_seconds,
                timeline.ts_offset(planned.at, self.clock_epoch) + offset,
                entry_offset=offset,
            )
            logo = await self._logo_for(planned)
            text_file: Path | None = None
            if entry.path is not None and info is not None:
                self._note_copied(info, copy=entry.path not in self._transcode)
                if self.subtitle_languages:
                    await self._load_cues(entry.path, info)
                burn = await self._burn_in(entry.path, info)
                copy = entry.path not in self._transcode
                command = ffmpeg.item_command(
                    self.ffmpeg,
                    output,
                    self.media_root / entry.path,
                    info,
                    entry.start + offset,
                    segments,
                    duration=remaining,
                    copy=copy,
                    logo=logo,
                    burn=burn,
                    levels=await self._levels(entry.path, info, copy=copy, burn=burn),
                )
            else:
                text_file = self.work_dir / f"{run}-card.txt"
                text_file.write_text(entry.title)
                command = ffmpeg.card_command(
                    self.ffmpeg, output, text_file, remaining, segments, logo=logo
                )
            try:
                produced, reached, error = await self._run_ffmpeg(
                    command, segments, planned, offset, first
                )
            finally:
                # A card's title is read once, as its ffmpeg starts: kept, one would pile
                # up in the work folder for every card aired.
                if text_file is not None:
                    text_file.unlink(missing_ok=True)
            if produced:
                first = False
            if error is not None or planned.length - reached > 1e-3:
                self._skip_asked(planned, reached)
            if error == KEYFRAMES_TOO_FAR and entry.path is not None:
                offset = reached
                log.warning(f"{entry.path}: {error}; transcoding it from {offset:.1f}s")
                self._transcode.add(entry.path)
                self.metrics.copy_fallbacks.inc()
                continue
            if error is None:
                if produced == 0 and offset == 0:
                    raise ItemFailed("undecodable", "ffmpeg produced no segment", offset=offset)
                if back is not None and planned.length - reached > 1e-3:
                    offset = reached
                    continue
                if planned.final:
                    self.metrics.items.labels(entry.kind).inc()
                return None
            if NO_SPACE in error:
                raise DiskFull(error)
            self.metrics.ffmpeg_restarts.inc()
            attempts = 0 if produced else attempts + 1
            offset = reached
            if entry.path is not None and not await self._file_back(entry.path):
                raise ItemFailed("missing", f"{entry.path} is gone", offset=offset)
            if attempts >= 3 or entry.path is None:
                raise ItemFailed("undecodable", error, offset=offset)
            log.warning(f"ffmpeg failed on {entry.path} at {offset:.1f}s ({error}); resuming")

    # --- loudness -------------------------------------------------------------------

    async def _levels(
        self, relative: str, info: MediaInfo, *, copy: bool, burn: ffmpeg.BurnIn | None
    ) -> dict[str, Level]:
        """The measured levels of an item's sounds, by input stream; none where it airs as
        it is, or its loudness is not known in time (it airs through loudnorm)."""
        tracks, length = self._heard(info, copy=copy, burn=burn)
        if self.loudness is None or not tracks:
            return {}
        levels = await self.loudness.levels(relative, tracks, length, wait=MEASURE_WAIT)
        return {f"0:{track}": level for track, level in levels.items()}

    async def _tracks_to_measure(self, relative: str) -> tuple[list[int], float] | None:
        try:
            info = await self.library.info(relative)
        except Unplayable:
            return None
        return self._heard(info, copy=relative not in self._transcode)

    def _heard(
        self, info: MediaInfo, *, copy: bool, burn: ffmpeg.BurnIn | None = None
    ) -> tuple[list[int], float]:
        """The tracks whose loudness an item needs, and its length: none if it airs as it is."""
        output = self.spec.output
        if ffmpeg.airs_copied(output, info, copy=copy, burn=burn):
            return [], 0.0
        return ffmpeg.tracks_heard(output, info), info.duration_seconds or 0.0

    def _measure_ahead(self, index: int) -> None:
        """Have the meter measure the files of the entry at `index` and of those after it
        up to MEASURE_AHEAD, so that each is measured before its time comes."""
        if self.loudness is None:
            return
        until = self.timeline[index].end + MEASURE_AHEAD
        files: list[str] = []
        for planned in itertools.islice(self.timeline, index, None):
            if planned.at > until and files:
                break
            if planned.entry.path is not None:
                files.append(planned.entry.path)
        self.loudness.ahead(files)

    async def _run_ffmpeg(
        self,
        command: list[str],
        segments: ffmpeg.SegmentOutput,
        planned: Planned,
        offset: float,
        first: bool,
    ) -> tuple[int, float, str | None]:
        """Returns (segments produced, offset reached, error or None). With renditions, a
        segment is produced once every rendition has finished it."""
        process = await start_tool(command)
        self._ffmpeg = process
        assert process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(process.stderr.read(256 * 1024))
        produced = 0
        base = timeline.ts_offset(planned.at, self.clock_epoch)
        previous_end = base + offset
        started = time.monotonic()
        expected = planned.segments(self.segment_seconds)
        count = len(self.renditions)
        waiting: list[deque[tuple[str, float]]] = [deque() for _ in range(count)]
        try:
            while True:
                limit = FIRST_SEGMENT_WATCHDOG if produced == 0 else self._watchdog_seconds
                try:
                    line = await asyncio.wait_for(process.stdout.readline(), limit)
                except TimeoutError:
                    kill_group(process)
                    await process.wait()
                    return produced, offset, f"no segment for {limit:.0f}s (watchdog)"
                if not line:
                    break
                parsed = ffmpeg.parse_segment_line(line.decode(errors="replace"))
                rendition = None if parsed is None else segments.rendition_of(parsed[0], count)
                if parsed is None or rendition is None:
                    continue
                waiting[rendition].append(parsed)
                if not all(waiting):
                    continue
                finished = [queue.popleft() for queue in waiting]
                end = finished[0][1]
                self._check_alignment(finished)
                duration = max(end - previous_end, 0.0)
                previous_end = end
                if round(duration) > self.target_duration:
                    # Copy mode cuts only on the source's keyframes: this segment would
                    # break the playlist's TARGETDURATION. Drop it and transcode the rest.
                    kill_group(process)
                    await process.wait()
                    for file_name, _ in finished:
                        (self.work_dir / file_name).unlink(missing_ok=True)
                    return produced, offset, KEYFRAMES_TOO_FAR
                produced += 1
                # Media seconds per wall second while ffmpeg ran (pauses excluded).
                self.metrics.encode_speed.set(duration / max(time.monotonic() - started, 1e-3))
                segment_offset = offset
                offset = round(offset + duration, 6)
                index = round(segment_offset / self.segment_seconds)
                await self._queue_segment(
                    Produced(
                        paths=tuple(self.work_dir / file_name for file_name, _ in finished),
                        duration=duration,
                        planned=planned,
                        offset=segment_offset,
                        first=first and produced == 1,
                        last=index + 1 >= expected or offset >= planned.length - 1e-3,
                    ),
                    process,
                )
                started = time.monotonic()
            code = await process.wait()
        except BaseException:
            kill_group(process)
            raise
        finally:
            self._ffmpeg = None
            # Segments some renditions finished and others did not: never published.
            for queue in waiting:
                for file_name, _ in queue:
                    (self.work_dir / file_name).unlink(missing_ok=True)
        stderr = (await stderr_task).decode(errors="replace").strip()
        if code != 0:
            lines = stderr.splitlines() or [f"exit code {code}"]
            # A full volume is rarely ffmpeg's last word ("Conversion failed!" follows).
            return produced, offset, next((x for x in lines if NO_SPACE in x), lines[-1])
        return produced, offset, None

    async def _logo_for(self, planned: Planned) -> Path | None:
        """`output.logo` for this entry, if it goes over it and the image is there: a
        missing logo must not take the channel off air, so it is left off (and said)."""
        logo = self.spec.output.logo
        if logo is None or (planned.entry.kind != "item" and not logo.over_interstitials):
            return None
        path = self.media_root / logo.path
        if await asyncio.to_thread(path.is_file):
            self._logo_missing = False
            return path
        if not self._logo_missing:
            log.warning(f"The logo {logo.path} is not in the media volume: airing without it")
            self._logo_missing = True
        return None

    def _note_copied(self, info: MediaInfo, *, copy: bool) -> None:
        video = info.summary.video
        copied = copy and self.spec.output.mode == "copy" and ffmpeg.can_copy(info)
        if copied and video and video.width and video.height and video.frame_rate:
            self._copied_picture = (video.width, video.height, video.frame_rate)
        else:
            self._copied_picture = None

    def _check_alignment(self, finished: list[tuple[str, float]]) -> None:
        """Renditions cut on the same frames end their segments at the same time; one that
        does not would make players that switch to it jump."""
        ends = [end for _, end in finished[: len(self.rungs)]]  # audio cuts on its frames
        if max(ends) - min(ends) > 0.5 / float(ffmpeg.frame_rate(self.spec.output)):
            self.metrics.misaligned.inc()
            log.warning(f"Renditions cut a segment at different times: {ends}")

    async def _queue_segment(self, produced: Produced, process: asyncio.subprocess.Process) -> None:
        await self._queue.put(produced)
        if self._queue.qsize() >= WORK_AHEAD:
            self._room.clear()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGSTOP)
            try:
                await self._room.wait()
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGCONT)

    # --- publishing -----------------------------------------------------------------

    async def _publish(self) -> None:
        lead = timedelta(seconds=WORK_AHEAD * self.segment_seconds)
        published = 0
        while True:
            produced = await self._queue.get()
            # The live edge runs WORK_AHEAD segments ahead of the clock, no more.
            wait = (produced.program_date_time - lead - utc_now()).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._queue.qsize() < WORK_AHEAD:
                self._room.set()
            await self._publish_one(produced)
            published += 1
            if published == WORK_AHEAD:
                self._on_air.set()

    def _sequence_for(self, produced: Produced) -> int:
        """The timeline's sequence number for this segment, so that engines agree; never
        one that goes back (a restart that re-planned, a substitute cut into more
        segments), and a fresh window where the timeline skips ahead (an outage)."""
        following = self.playlist.next_sequence
        if self.spec.output.mode == "copy":
            return following  # cuts fall on the source's keyframes: counts are not planned
        planned = (
            produced.planned.sequence + round(produced.offset / self.segment_seconds) + self._shift
        )
        if planned < following:
            self._shift += following - planned
            return following
        if planned > following:
            self.playlist.restart_at(planned)
        return planned

    def _marks(self, produced: Produced, program_date_time: datetime) -> dict[str, object]:
        """The ad-break fields of this segment's playlist entry. The break is made once, at
        its first segment, and starts at that segment's time (RFC 8216: START-DATE is the
        splice time); its later segments and the return carry the same one."""
        avail = produced.planned.avail
        if avail is None:
            ended, self._break_on_air = self._break_on_air, None
            return {"cue_in": ended} if ended is not None else {}
        elapsed = round(avail.offset + produced.offset, 6)
        on_air = self._break_on_air
        if on_air is not None and on_air.id == avail.id:
            return {"ad_break": on_air, "break_elapsed": elapsed}
        mark = AdBreak(
            id=avail.id,
            event_id=int(avail.start.timestamp()) & 0xFFFFFFFF,
            start=program_date_time - timedelta(seconds=elapsed),
            duration=round(avail.length, 3),
            pts_seconds=timeline.ts_offset(avail.start, self.clock_epoch),
        )
        self._break_on_air = mark
        if elapsed < 1e-3:
            return {"cue_out": mark}
        # Joined mid-break (a restart): the window has no first segment of it to mark.
        return {"ad_break": mark, "break_elapsed": elapsed}

    async def _publish_one(self, produced: Produced) -> None:
        now = utc_now()
        planned, entry = produced.planned, produced.planned.entry
        sequence = self._sequence_for(produced)
        uri = f"seg-{self.epoch}-{sequence}.ts"
        end = self.playlist.end_time
        program_date_time = produced.program_date_time
        if end is not None and program_date_time < end:
            program_date_time = end  # an entry that ran long (copy mode) delays the next
        for rendition, path in enumerate(produced.paths):
            target = self.rendition_dir(rendition) / uri
            path.replace(target)
            if produced.first or not self._codecs[rendition]:
                self._codecs[rendition] = tuple(await asyncio.to_thread(_codecs_of, target))
            self._weights[rendition][uri] = (target.stat().st_size, produced.duration)
        try:
            self._write_subtitles(produced, uri)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            self._note_disk_full(str(error))
        starts_entry = produced.first or self._new_run
        self.playlist.append(
            Segment(
                sequence=sequence,
                uri=uri,
                duration=round(produced.duration, 6),
                program_date_time=program_date_time,
                discontinuity=starts_entry,
                title=entry.title,
                **self._marks(produced, program_date_time),  # type: ignore[arg-type]
            )
        )
        self._new_run = False
        for gone in self.playlist.collect(keep=GRACE_SEGMENTS):
            for rendition in range(len(self.renditions)):
                (self.rendition_dir(rendition) / gone.uri).unlink(missing_ok=True)
            for code in self.subtitle_languages:
                (self.subtitle_dir(code) / subtitle_uri(gone.uri)).unlink(missing_ok=True)
        listed = {segment.uri for segment in self.playlist.segments}
        for weights in self._weights:
            for stale in [known for known in weights if known not in listed]:
                del weights[stale]
        self.last_published = time.monotonic()
        self.last_published_at = now
        self.metrics.segments.inc()
        self.metrics.media_sequence.set(self.playlist.media_sequence)
        if starts_entry:
            self._went_on_air(produced, program_date_time, now)
        if self.now_playing is not None:
            self.now_playing = self.now_playing.model_copy(
                update={"position_seconds": round(produced.position, 3)}
            )
        if entry.kind == "item":
            cursor = self.aired.progress.get(entry.program)
            seed = cursor.seed if cursor else None
            self.aired = schedule.at_position(self.aired, entry, produced.position, seed)
            if self._ends(produced) and planned.final and self._library is not None:
                listings = self._library.listings()
                self.aired = schedule.advance(self.spec, self.aired, entry, listings)
        try:
            save(
                self.state_dir,
                snapshot(self.epoch, self.aired, self.playlist, now, clock_epoch=self.clock_epoch),
            )
            write_atomically(self.state_dir / "index.m3u8", self.playlist.render())
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            self._note_disk_full(str(error))  # served from memory; saved with the next one
        else:
            self._note_room()
        if self.reporter is not None:
            await self.reporter(self.status(), starts_entry and entry.kind == "item")

    def _ends(self, produced: Produced) -> bool:
        """The entry's last segment: as planned, or where a skip ended it."""
        cut = self._cuts.get(produced.planned.id)
        if cut is None or produced.offset + produced.duration < cut - 1e-3:
            return produced.last
        del self._cuts[produced.planned.id]
        return True

    def _note_disk_full(self, error: str) -> None:
        if self.disk_full_since is None:
            self.disk_full_since = utc_now()
            self.metrics.disk_full.set(1)
            log.error(
                f"The state volume is full ({error}): the stream waits for room; make "
                f"spec.storage larger or free {self.state_dir}"
            )

    def _note_room(self) -> None:
        if self.disk_full_since is not None:
            log.info("The state volume has room again: the stream goes on")
            self.disk_full_since = None
            self.metrics.disk_full.set(0)

    def _room_needed(self) -> int:
        """Bytes for a few segments of every rendition: less than that, and ffmpeg would
        fail again at once."""
        output = self.spec.output
        kbps = sum(rung.bitrate_kbps for rung in self.rungs) + output.audio.bitrate_kbps
        return max(1 << 20, kbps * 125 * self.segment_seconds * (WORK_AHEAD + 1))

    async def _wait_for_room(self, error: str) -> None:
        """Until the volume has room: said in the status at once (the live edge has
        stopped), then looked at every ROOM_POLL_SECONDS."""
        self._note_disk_full(error)
        if self.reporter is not None:
            await self.reporter(self.status(), True)
        needed = self._room_needed()
        while True:
            usage = await asyncio.to_thread(shutil.disk_usage, self.work_dir)
            if usage.free >= needed:
                break
            await asyncio.sleep(ROOM_POLL_SECONDS)
        self._note_room()

    async def _burn_in(self, path: str, info: MediaInfo) -> ffmpeg.BurnIn | None:
        """`subtitles.burnIn`: the item's subtitles in the first language, to draw."""
        subtitles = self.spec.output.subtitles
        if subtitles is None or not subtitles.burn_in:
            return None
        return await burn_in_source(self.media_root / path, info, subtitles.languages[0])

    async def _load_cues(self, path: str, info: MediaInfo) -> None:
        """The item's cues, kept for the few items around the one on air (the producer
        works ahead of the publisher)."""
        cues = self._cues.pop(path, None)
        if cues is None:
            cues = await self.subtitle_cues.cues_for(
                self.media_root / path, info, self.subtitle_languages
            )
        self._cues[path] = cues
        while len(self._cues) > CUES_KEPT:
            del self._cues[next(iter(self._cues))]

    def _write_subtitles(self, produced: Produced, uri: str) -> None:
        """One WebVTT segment per subtitle language for this segment, cues or not. The
        cues are the source's own times, mapped from the entry's in-point to the MPEG-TS
        time the entry starts at, which no restart changes."""
        if not self.subtitle_languages:
            return
        planned, entry = produced.planned, produced.planned.entry
        cues = self._cues.get(entry.path or "", [])
        start = entry.start + produced.offset
        for index, code in enumerate(self.subtitle_languages):
            text = webvtt.segment(
                cues[index] if index < len(cues) else [],
                start=start,
                end=start + produced.duration,
                in_point=entry.start,
                out_point=entry.start + planned.length,
                mpegts_at_in_point=timeline.ts_offset(planned.at, self.clock_epoch),
            )
            write_atomically(self.subtitle_dir(code) / subtitle_uri(uri), text)

    def _went_on_air(self, produced: Produced, aired_at: datetime, now: datetime) -> None:
        """An entry (or the rest of one, after a restart) is on air: how far from its
        scheduled time, in the as-run log and the drift metric."""
        planned, entry = produced.planned, produced.planned.entry
        scheduled = planned.at + timedelta(seconds=produced.offset)
        # A segment published after its own time reached viewers when it was published.
        drift = (max(aired_at, now) - scheduled).total_seconds()
        self.drift = round(drift, 3)
        self.metrics.schedule_drift.set(self.drift)
        if produced.offset == 0 or self.asrun.last_id != planned.id:
            self.asrun.append(
                {
                    "id": planned.id,
                    "kind": entry.kind,
                    "title": entry.title,
                    "program": entry.program,
                    "item": entry.path,
                    "scheduledStart": rfc3339(planned.at, timespec="milliseconds"),
                    "scheduledEnd": rfc3339(planned.end, timespec="milliseconds"),
                    "start": rfc3339(
                        aired_at - timedelta(seconds=produced.offset), timespec="milliseconds"
                    ),
                    "joinedAt": produced.offset or None,
                    "publishedAt": rfc3339(now, timespec="milliseconds"),
                    "driftSeconds": self.drift,
                    "break": planned.avail.id if planned.avail else None,
                    "reason": planned.reason or None,
                }
            )
        if entry.kind == "item" and (planned.part == 0 or self.now_playing is None):
            duration = self._length_of(entry.path)
            self.now_playing = NowPlaying(
                program=entry.program,
                item=entry.path or "",
                title=entry.title,
                started_at=aired_at - timedelta(seconds=produced.offset),
                position_seconds=entry.start + produced.offset,
                duration_seconds=duration,
            )
            log.info(f"On air: {entry.title} ({entry.kind})")
        elif entry.kind != "item" and planned.avail is None:
            self.now_playing = NowPlaying(
                program=entry.program,
                item=entry.path or "",
                title=entry.title,
                started_at=aired_at,
                position_seconds=produced.offset,
                duration_seconds=round(planned.length, 3),
            )
            log.info(f"On air: {entry.title} ({entry.kind})")

    def _length_of(self, path: str | None) -> float | None:
        if path is None or self._library is None:
            return None
        return self._library.durations().get(path)

    # --- views ----------------------------------------------------------------------

    def multivariant(self) -> str | None:
        """The multivariant playlist of a channel with renditions (None without), each
        rendition's bandwidth measured from its segments in the window."""
        if self.rungs[0].name is None:
            return None
        rate = float(ffmpeg.frame_rate(self.spec.output))
        # A variant's bandwidth counts the heaviest audio rendition a player may add to it.
        extra = [
            bandwidth(self._weights[len(self.rungs) + j].values())
            for j in range(len(self.alternates))
        ]
        extra_peak = max((peak for peak, _ in extra), default=0)
        extra_average = max((average for _, average in extra), default=0)
        subtitles = [
            SubtitleRendition(
                uri=f"{subtitle_name(code)}/index.m3u8",
                language=languages.tag(code),
                name=languages.name(code),
            )
            for code in self.subtitle_languages
        ]
        audio = [
            AudioRendition(
                uri=f"{alternate.name}/index.m3u8",
                language=languages.tag(alternate.language),
                name=languages.name(alternate.language),
                default=index == 0,
            )
            for index, alternate in enumerate(self.alternates)
        ]
        variants = []
        for rendition, rung in enumerate(self.rungs):
            peak, average = bandwidth(self._weights[rendition].values())
            peak, average = peak + extra_peak, average + extra_average
            width, height, fps = rung.width, rung.height, rate
            if rendition == 0 and self._copied_picture is not None:
                width, height, fps = self._copied_picture
            variants.append(
                Variant(
                    uri=f"{rung.name}/index.m3u8",
                    bandwidth=peak,
                    average_bandwidth=average,
                    width=width,
                    height=height,
                    frame_rate=fps,
                    codecs=self._codecs[rendition],
                )
            )
        # A copied open-GOP source's leading pictures refer to the segment before.
        independent = self.spec.output.mode != "copy"
        return render_multivariant(variants, audio, subtitles, independent=independent)

    def upcoming(self, *, hours: float) -> list[timeline.Programme]:
        """The guide from now (the programme on air first) for `hours`."""
        now = utc_now()
        until = now + timedelta(hours=hours)
        first = self._index_at(now) or 0
        # From the item on air, so that its programme starts where the guide says.
        while first > 0 and not (
            self.timeline[first].entry.kind == "item" and self.timeline[first].part == 0
        ):
            first -= 1
        last = bisect_left(self.timeline, until, lo=first, key=attrgetter("at"))
        return [p for p in timeline.programmes(self.timeline[first:last]) if p.stop > now]

    def status(self) -> dict[str, object]:
        """nowPlaying, progress, stream and schedule, in the Channel status' shape."""
        stream: dict[str, object] = {
            "mediaSequence": self.playlist.media_sequence,
            "discontinuitySequence": self.playlist.discontinuity_sequence,
        }
        if self.last_published_at is not None:
            stream["lastSegmentAt"] = rfc3339(self.last_published_at, timespec="milliseconds")
        # Null once there is room again: the report is a merge patch, which keeps what it
        # leaves out, and the operator reads a stale date as a full disk.
        stream["diskFullSince"] = (
            rfc3339(self.disk_full_since, timespec="milliseconds")
            if self.disk_full_since is not None
            else None
        )
        upcoming = self.up_next(5)
        schedule_status: dict[str, object] = {
            "next": [
                {
                    "title": p.title,
                    "start": rfc3339(p.start, timespec="milliseconds"),
                    "kind": p.kind,
                    "program": p.program,
                }
                for p in upcoming
            ],
        }
        if self.timeline:
            schedule_status["horizon"] = rfc3339(self.timeline[-1].end, timespec="milliseconds")
        if self.drift is not None:
            schedule_status["driftSeconds"] = self.drift
            schedule_status["checkedAt"] = rfc3339(
                self.last_published_at or utc_now(), timespec="milliseconds"
            )
        return {
            "skipped": [item.model_dump(mode="json", by_alias=True) for item in self.skipped],
            "nowPlaying": self.now_playing.model_dump(mode="json", by_alias=True, exclude_none=True)
            if self.now_playing
            else None,
            "progress": {
                key: cursor.model_dump(mode="json", by_alias=True, exclude_none=True)
                for key, cursor in self.aired.progress.items()
            },
            "stream": stream,
            "schedule": schedule_status,
        }

    def up_next(self, count: int) -> list[timeline.Programme]:
        """The next `count` programmes after the one on air, looking no further ahead than
        it takes: an hour of a channel of short clips holds hundreds of programmes, and
        grouping a whole day of them on every status request slowed publishing."""
        now = utc_now()
        hours = 1.0
        while True:
            found = [p for p in self.upcoming(hours=hours) if p.start > now]
            if len(found) >= count or hours >= 48:
                return found[:count]
            hours *= 4
