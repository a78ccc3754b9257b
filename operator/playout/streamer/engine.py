"""The channel engine: plays the lineup through ffmpeg, one process per item, and owns
the live playlist.

Two tasks share a queue of finished segments:
- the producer asks the schedule what is next, runs ffmpeg on it and queues each segment
  as the segment muxer reports it, pausing ffmpeg (SIGSTOP) while enough is queued, so it
  works ahead at start and then keeps pace with the clock without filling the disk;
- the publisher moves each segment into the playlist when its time comes (at once for the
  first few, so players start fast; then in real time), saves the state, reports, and
  deletes segments that left the window a grace period ago.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from playout.api.channel import Channel, NowPlaying, SkippedItem
from playout.api.probejob import CheckStatus, ProbeProfile, Verdict
from playout.media import ffmpeg
from playout.media.hls import Segment, target_duration_for
from playout.media.metadata import MediaInfo, UnreadableMedia, metadata_command, parse_metadata
from playout.media.process import find_tool, kill_group, run_tool
from playout.prober.engine import ProbeRequest, probe
from playout.streamer import schedule
from playout.streamer.metrics import EngineMetrics
from playout.streamer.schedule import Entry, LineupState
from playout.streamer.state import SavedState, restore_playlist, save, snapshot, utc_now

log = logging.getLogger(__name__)

# Segments the producer may have ready before it pauses ffmpeg; also how far ahead of the
# clock the live edge runs, which is what lets a player start at once.
WORK_AHEAD = 3
# Segments kept on disk after they leave the window: a player may still be fetching them.
GRACE_SEGMENTS = 6
# A timestamp offset this large is reset at the next item (they all start a discontinuity):
# MPEG-TS timestamps wrap at 2^33 / 90 kHz, about 26.5 hours.
TS_OFFSET_RESET = 86_400.0
# Pause before the next try after a generated card failed to render.
CARD_RETRY_SECONDS = 2.0
# Wall-clock limit of the checks of one item (`spec.probe`): metadata and packets only.
CHECK_SECONDS = 60.0
# Before giving up on a file, how long to wait before trying it again (doubling).
RETRY_AFTER = 60.0
RETRY_MAX = 3600.0

Reporter = Callable[[dict[str, object], bool], Awaitable[None]]


@dataclass(frozen=True)
class Produced:
    """A finished segment waiting to be published."""

    path: Path
    duration: float
    entry: Entry
    first: bool
    aired_state: LineupState
    """The lineup state to save once this segment is on air."""
    position: float
    """Seconds into the item at the end of this segment."""


class ItemFailed(Exception):
    """An item could not be played; `reason` says why in a word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class Engine:
    def __init__(
        self,
        channel: Channel,
        media_root: Path,
        state_dir: Path,
        saved: SavedState | None,
        metrics: EngineMetrics,
        reporter: Reporter | None = None,
    ) -> None:
        self.channel = channel
        self.spec = channel.spec
        self.media_root = media_root
        self.state_dir = state_dir
        self.segments_dir = state_dir / "segments"
        self.work_dir = state_dir / "work"
        self.metrics = metrics
        self.reporter = reporter
        self.ffmpeg = find_tool("ffmpeg")
        self.ffprobe = find_tool("ffprobe")
        output = self.spec.output
        target = target_duration_for(output.segment_seconds, output.mode)
        saved = saved or SavedState()
        self.epoch = saved.epoch + 1
        self.playlist = restore_playlist(saved, target, output.window_segments)
        self.aired = LineupState(
            progress=dict(saved.progress),
            current=saved.current,
            played_in_turn=saved.played_in_turn,
            bumper_index=saved.bumper_index,
        )
        self.lineup = self.aired
        self.now_playing: NowPlaying | None = None
        self.last_published: float | None = None
        self.last_published_at: datetime | None = None
        self.started = time.monotonic()
        self._queue: asyncio.Queue[Produced] = asyncio.Queue()
        self._room = asyncio.Event()
        self._room.set()
        self._ts_offset = 0.0
        self._failures: dict[str, tuple[int, float]] = {}
        self._latest_listings: dict[str, list[str]] = {}
        self._probe_cache: dict[tuple[str, float, int], MediaInfo] = {}
        self._check_cache: dict[tuple[str, float, int], str | None] = {}
        self.skipped: deque[SkippedItem] = deque(maxlen=20)
        self._new_run = True

    # --- lifecycle ------------------------------------------------------------------

    async def run(self) -> None:
        self._prepare_dirs()
        await asyncio.gather(self._produce(), self._publish())

    def _prepare_dirs(self) -> None:
        """Sweep what a crash left: work files, and segments no playlist lists any more."""
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.work_dir.iterdir():
            leftover.unlink(missing_ok=True)
        listed = {s.uri for s in self.playlist.segments + self.playlist.removed}
        for path in self.segments_dir.iterdir():
            if path.name not in listed:
                path.unlink(missing_ok=True)

    @property
    def target_duration(self) -> int:
        return self.playlist.target_duration

    def healthy(self) -> bool:
        """A new segment within 3 target durations (the playlist is live)."""
        if self.last_published is None:
            return False
        return time.monotonic() - self.last_published < 3 * self.target_duration

    # --- producing ------------------------------------------------------------------

    def _listing(self, relative: str) -> list[str]:
        root = self.media_root / relative
        if root.is_file():
            return [relative]
        if not root.is_dir():
            return []
        found = []
        for directory, folders, files in os.walk(root):
            folders[:] = [f for f in folders if not f.startswith(".")]
            for name in files:
                if (
                    name.startswith(".")
                    or Path(name).suffix.lower() not in schedule.MEDIA_EXTENSIONS
                ):
                    continue
                found.append(str((Path(directory) / name).relative_to(self.media_root)))
        return found

    def _playable(self, paths: list[str]) -> list[str]:
        now = time.monotonic()
        return [p for p in paths if self._failures.get(p, (0, 0.0))[1] <= now]

    def _listings(self) -> dict[str, list[str]]:
        listings = {p.key: self._playable(self._listing(p.path)) for p in self.spec.programs}
        self._latest_listings = listings
        return listings

    async def _produce(self) -> None:
        pending: list[Entry] = []
        while True:
            listings = self._listings()
            if pending:
                entry = pending.pop(0)
            else:
                found = schedule.current_entry(self.spec, self.lineup, listings)
                entry = found or schedule.slate()
            before = self.lineup
            try:
                await self._play(entry)
            except ItemFailed as failure:
                self._note_failure(entry, failure)
                if entry.kind != "item":
                    # A card that cannot render (no font, say) must not spin the loop.
                    await asyncio.sleep(CARD_RETRY_SECONDS)
                    continue
            if entry.kind == "item":
                self.lineup = schedule.advance(self.spec, before, entry, listings)
                upcoming = schedule.current_entry(self.spec, self.lineup, self._listings())
                bumpers = self._playable(self._listing(self.spec.bumpers.path)) if (
                    self.spec.bumpers and self.spec.bumpers.path
                ) else []  # fmt: skip
                pending, self.lineup = schedule.interstitials(
                    self.spec, self.lineup, upcoming, bumpers
                )

    def _note_failure(self, entry: Entry, failure: ItemFailed) -> None:
        self.metrics.skips.labels(failure.reason).inc()
        if entry.path is None:
            log.error(f"Could not play the {entry.kind} card: {failure}")
            return
        self.skipped.appendleft(
            SkippedItem(item=entry.path, reason=failure.reason, message=str(failure), at=utc_now())
        )
        count, _ = self._failures.get(entry.path, (0, 0.0))
        delay = min(RETRY_AFTER * 2**count, RETRY_MAX)
        self._failures[entry.path] = (count + 1, time.monotonic() + delay)
        log.warning(f"Skipping {entry.path}: {failure}; trying it again in {delay:.0f}s")

    async def _probe(self, path: Path) -> MediaInfo:
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError as error:
            raise ItemFailed("missing", f"{path} does not exist") from error
        except PermissionError as error:
            raise ItemFailed("unreadable", str(error)) from error
        key = (str(path), stat.st_mtime, stat.st_size)
        if key not in self._probe_cache:
            result = await run_tool(metadata_command(self.ffprobe, path), 30)
            if not result.ok:
                detail = result.stderr.strip().splitlines()[-1:] or ["ffprobe failed"]
                raise ItemFailed("undecodable", detail[0])
            try:
                info = parse_metadata(result.stdout.decode())
            except UnreadableMedia as error:
                raise ItemFailed("undecodable", str(error)) from error
            if info.video_index is None:
                raise ItemFailed("undecodable", "no video stream")
            self._probe_cache[key] = info
        if self.spec.probe is not None:
            await self._check(path, key)
        return self._probe_cache[key]

    async def _check(self, path: Path, key: tuple[str, float, int]) -> None:
        """`spec.probe`: the prober's quick profile, once per version of the file."""
        if key not in self._check_cache:
            assert self.spec.probe is not None
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

    async def _play(self, entry: Entry) -> None:
        """Run ffmpeg on one entry and queue its segments; resume after a crash of ffmpeg
        from the last segment it finished."""
        output = self.spec.output
        info: MediaInfo | None = None
        if entry.path is not None:
            info = await self._probe(self.media_root / entry.path)
        if self._ts_offset > TS_OFFSET_RESET:
            self._ts_offset = 0.0
        position = entry.start
        attempts = 0
        first = True
        while True:
            run = f"r{self.epoch}-{time.monotonic_ns()}"
            segments = ffmpeg.SegmentOutput(
                self.work_dir / f"{run}-%06d.ts", output.segment_seconds, self._ts_offset
            )
            if entry.path is not None and info is not None:
                command = ffmpeg.item_command(
                    self.ffmpeg, output, self.media_root / entry.path, info, position, segments
                )
            else:
                seconds = self.spec.bumpers.up_next_seconds if self.spec.bumpers else 4
                text_file = self.work_dir / f"{run}-card.txt"
                text_file.write_text(entry.title)
                command = ffmpeg.card_command(self.ffmpeg, output, text_file, seconds, segments)
            produced, position, error = await self._run_ffmpeg(command, entry, position, first)
            first = first and produced == 0
            if error is None:
                if produced == 0:
                    raise ItemFailed("undecodable", "ffmpeg produced no segment")
                self.metrics.items.labels(entry.kind).inc()
                return
            self.metrics.ffmpeg_restarts.inc()
            attempts += 1
            if (produced == 0 and attempts >= 3) or entry.path is None:
                raise ItemFailed("undecodable", error)
            log.warning(f"ffmpeg failed on {entry.path} at {position:.1f}s ({error}); resuming")

    async def _run_ffmpeg(
        self, command: list[str], entry: Entry, position: float, first: bool
    ) -> tuple[int, float, str | None]:
        """Returns (segments produced, position reached, error or None)."""
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdout is not None and process.stderr is not None
        stderr_task = asyncio.create_task(process.stderr.read(256 * 1024))
        produced = 0
        previous_end = self._ts_offset
        started = time.monotonic()
        output = self.spec.output
        try:
            while True:
                limit = 60.0 if produced == 0 else max(20.0, 5.0 * output.segment_seconds)
                try:
                    line = await asyncio.wait_for(process.stdout.readline(), limit)
                except TimeoutError:
                    kill_group(process)
                    await process.wait()
                    return produced, position, f"no segment for {limit:.0f}s (watchdog)"
                if not line:
                    break
                parsed = ffmpeg.parse_segment_line(line.decode(errors="replace"))
                if parsed is None:
                    continue
                name, end = parsed
                duration = max(end - previous_end, 0.0)
                previous_end = end
                self._ts_offset = end
                position += duration
                produced += 1
                # Media seconds per wall second while ffmpeg ran (pauses excluded).
                self.metrics.encode_speed.set(duration / max(time.monotonic() - started, 1e-3))
                await self._queue_segment(
                    Produced(
                        path=self.work_dir / name,
                        duration=duration,
                        entry=entry,
                        first=first and produced == 1,
                        aired_state=self._aired_state(entry, position),
                        position=position,
                    ),
                    process,
                )
                started = time.monotonic()
            code = await process.wait()
        except BaseException:
            kill_group(process)
            raise
        stderr = (await stderr_task).decode(errors="replace").strip()
        if code != 0:
            return produced, position, stderr.splitlines()[-1] if stderr else f"exit code {code}"
        return produced, position, None

    def _aired_state(self, entry: Entry, position: float) -> LineupState:
        if entry.kind != "item":
            return self.lineup
        cursor = self.lineup.progress.get(entry.program)
        seed = cursor.seed if cursor else None
        return schedule.at_position(self.lineup, entry, position, seed)

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
        while True:
            produced = await self._queue.get()
            end = self.playlist.end_time
            if end is not None:
                # The live edge runs WORK_AHEAD segments ahead of the clock, no more.
                lead = timedelta(seconds=WORK_AHEAD * self.spec.output.segment_seconds)
                wait = (end - lead - utc_now()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            if self._queue.qsize() < WORK_AHEAD:
                self._room.set()
            await self._publish_one(produced)

    async def _publish_one(self, produced: Produced) -> None:
        now = utc_now()
        sequence = self.playlist.next_sequence
        uri = f"seg-{self.epoch}-{sequence}.ts"
        end = self.playlist.end_time
        program_date_time = max(end, now) if end and self._new_run else (end or now)
        produced.path.replace(self.segments_dir / uri)
        self.playlist.append(
            Segment(
                sequence=sequence,
                uri=uri,
                duration=round(produced.duration, 6),
                program_date_time=program_date_time,
                discontinuity=produced.first or self._new_run,
                title=produced.entry.title,
            )
        )
        self._new_run = False
        for gone in self.playlist.collect(keep=GRACE_SEGMENTS):
            (self.segments_dir / gone.uri).unlink(missing_ok=True)
        self.last_published = time.monotonic()
        self.last_published_at = now
        self.metrics.segments.inc()
        self.metrics.media_sequence.set(self.playlist.media_sequence)
        item_changed = produced.first
        if item_changed or self.now_playing is None:
            entry = produced.entry
            duration = None
            if entry.path is not None:
                info = self._probe_cache_for(entry.path)
                duration = info.duration_seconds if info else None
            self.now_playing = NowPlaying(
                program=entry.program,
                item=entry.path or "",
                title=entry.title,
                started_at=program_date_time,
                position_seconds=produced.position - produced.duration,
                duration_seconds=duration,
            )
            log.info(f"On air: {entry.title} ({entry.kind})")
        self.now_playing = self.now_playing.model_copy(
            update={"position_seconds": round(produced.position, 3)}
        )
        self.aired = produced.aired_state
        save(self.state_dir, snapshot(self.epoch, self.aired, self.playlist, now))
        (self.state_dir / "index.m3u8.tmp").write_text(self.playlist.render())
        (self.state_dir / "index.m3u8.tmp").replace(self.state_dir / "index.m3u8")
        if self.reporter is not None:
            await self.reporter(self.status(), item_changed)

    async def duration_of(self, relative: str) -> float | None:
        try:
            return (await self._probe(self.media_root / relative)).duration_seconds
        except ItemFailed:
            return None

    def _probe_cache_for(self, relative: str) -> MediaInfo | None:
        wanted = str(self.media_root / relative)
        return next((info for key, info in self._probe_cache.items() if key[0] == wanted), None)

    # --- views ----------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """nowPlaying, progress and stream, in the Channel status' shape."""
        stream: dict[str, object] = {
            "mediaSequence": self.playlist.media_sequence,
            "discontinuitySequence": self.playlist.discontinuity_sequence,
        }
        if self.last_published_at is not None:
            stream["lastSegmentAt"] = _rfc3339(self.last_published_at)
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
        }

    def up_next(self, count: int) -> list[Entry]:
        """The next items of the lineup after the one on air (for the guide). From the
        producer's latest listing: the player polls this, and must not walk the disk."""
        listings = self._latest_listings
        state = self.aired
        upcoming: list[Entry] = []
        current = schedule.current_entry(self.spec, state, listings)
        while current is not None and len(upcoming) < count:
            state = schedule.advance(self.spec, state, current, listings)
            current = schedule.current_entry(self.spec, state, listings)
            if current is not None:
                upcoming.append(replace(current, start=0.0))
        return upcoming


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
