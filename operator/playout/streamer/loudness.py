"""The engine's loudness meter: measures the audio tracks of the items about to air, one file
at a time and below the live encode's priority, and keeps each track's measurement and
level per version of its file in the state directory, so that a restart measures nothing
it already knows. What a level is, and how it airs, is `playout.media.loudness`'s."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from playout.api.channel import Loudness
from playout.atomic import write_atomically
from playout.media.folders import Version, version_of
from playout.media.loudness import Level, Measured, corrected, level_filter, level_for
from playout.media.loudness import measure_command as command
from playout.media.process import run_tool
from playout.prober.content import parse_log

log = logging.getLogger(__name__)

CACHE_FILE = "loudness.json"
# Measurements ahead of air yield to the encode that is on air.
AHEAD_NICE = 10
# A measurement is given up when it runs slower than this (x real time), at least
# MEASURE_MIN_SECONDS: audio alone decodes at a few hundred times real time.
MEASURE_SPEED_FLOOR = 5.0
MEASURE_MIN_SECONDS = 60.0

TracksOf = Callable[[str], Awaitable[tuple[list[int], float] | None]]
"""A file's tracks to measure (none for a file that airs as it is) and its length in
seconds; None for a file that cannot play."""


@dataclass(frozen=True)
class Track:
    """What the meter knows of one audio track of one version of a file."""

    measured: Measured
    level: Level
    target: tuple[float, float]
    """The integrated loudness and true peak `level` was worked out for."""


def target_of(loudness: Loudness) -> tuple[float, float]:
    return (loudness.integrated_lufs, loudness.true_peak_dbtp)


def measured_from(text: str) -> Measured | None:
    """The meter's summary in ffmpeg's log, or None where it printed none."""
    findings = parse_log(text)
    if findings.integrated_lufs is None:
        return None
    return Measured(findings.integrated_lufs, findings.true_peak_db, findings.loudness_range_lu)


class LoudnessMeter:
    def __init__(
        self,
        *,
        ffmpeg: str,
        media_root: Path,
        state_dir: Path,
        target: Loudness,
        tracks_of: TracksOf,
        background_after: asyncio.Event | None = None,
    ) -> None:
        """`background_after`: measuring ahead waits for it (the first segments out)."""
        self.ffmpeg = ffmpeg
        self.media_root = media_root
        self.target = target
        self.tracks_of = tracks_of
        self.cache_path = state_dir / CACHE_FILE
        self._known: dict[str, tuple[Version, dict[int, Track]]] = self._load_cache()
        self._running: dict[str, asyncio.Task[dict[int, Level]]] = {}
        self._failed: dict[str, Version] = {}
        self._ahead: deque[str] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._background_after = background_after

    # --- what the engine asks -----------------------------------------------------------

    async def levels(
        self, relative: str, tracks: list[int], length: float, *, wait: float
    ) -> dict[int, Level]:
        """The levels of a file's `tracks` (`length` seconds long), for it is about to air:
        known, or measured now for up to `wait` seconds (a longer measurement goes on, for
        the item's next run). Without all of them, none: the item airs through loudnorm."""
        version = await asyncio.to_thread(version_of, self.media_root / relative)
        if version is None or self._failed.get(relative) == version:
            return {}
        levels = self._levels(relative, version, tracks)
        if levels is not None:
            return levels
        task = self._running.get(relative) or self._start(relative, version, tracks, length, nice=0)
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(asyncio.shield(task), wait)
        return {}

    def ahead(self, relatives: Iterable[str]) -> None:
        """Measure these files (the items airing next) in the background, in order."""
        for relative in relatives:
            if relative not in self._ahead:
                self._ahead.append(relative)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        self._wake.set()

    async def close(self) -> None:
        tasks = [task for task in [self._worker, *self._running.values()] if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- measuring ----------------------------------------------------------------------

    def _levels(
        self, relative: str, version: Version, tracks: list[int]
    ) -> dict[int, Level] | None:
        """The levels of every one of `tracks` for this target, or None if one is missing."""
        known = self._known.get(relative)
        if known is None or known[0] != version:
            return None
        found = {}
        for track in tracks:
            entry = known[1].get(track)
            if entry is None or entry.target != target_of(self.target):
                return None
            found[track] = entry.level
        return found

    def _start(
        self, relative: str, version: Version, tracks: list[int], length: float, *, nice: int
    ) -> asyncio.Task[dict[int, Level]]:
        limit = max(MEASURE_MIN_SECONDS, length / MEASURE_SPEED_FLOOR)
        task = asyncio.create_task(self._measure(relative, version, tracks, limit, nice=nice))
        self._running[relative] = task
        task.add_done_callback(lambda _: self._running.pop(relative, None))
        return task

    async def _work(self) -> None:
        if self._background_after is not None:
            await self._background_after.wait()
        while True:
            if not self._ahead:
                self._wake.clear()
                await self._wake.wait()
                continue
            relative = self._ahead.popleft()
            heard = await self.tracks_of(relative)
            version = await asyncio.to_thread(version_of, self.media_root / relative)
            if heard is None:
                continue  # the item will say what is wrong with it when its time comes
            tracks, length = heard
            if (
                not tracks
                or version is None
                or self._failed.get(relative) == version
                or self._levels(relative, version, tracks) is not None
            ):
                continue
            task = self._running.get(relative) or self._start(
                relative, version, tracks, length, nice=AHEAD_NICE
            )
            await asyncio.wait([task])

    async def _measure(
        self, relative: str, version: Version, tracks: list[int], limit: float, *, nice: int
    ) -> dict[int, Level]:
        known = self._known.get(relative)
        before = known[1] if known is not None and known[0] == version else {}
        found: dict[int, Track] = {}
        for track in tracks:
            measured = before[track].measured if track in before else None
            try:
                found[track] = await self._track(relative, track, measured, limit, nice)
            except (_Unmeasurable, OSError) as problem:
                log.warning(
                    f"Could not measure the loudness of {relative}: {problem}; "
                    "it airs through loudnorm"
                )
                self._failed[relative] = version
                return {}
        self._known[relative] = (version, {**before, **found})
        self._save_cache()
        for track, entry in found.items():
            log.info(
                f"Loudness of {relative} (track {track}): "
                f"{entry.measured.integrated_lufs:.1f} LUFS, gain {entry.level.gain_db:+.1f} dB"
                + (", limited" if entry.level.limited else "")
            )
        return {track: entry.level for track, entry in found.items()}

    async def _track(
        self, relative: str, track: int, measured: Measured | None, limit: float, nice: int
    ) -> Track:
        """A track's level: its loudness measured (unless known from an earlier target),
        and measured again through the limiter where one is needed."""
        if measured is None:
            measured = await self._run(relative, track, None, limit, nice)
        level = level_for(measured, self.target)
        if level.limited:
            through = level_filter(level, self.target)
            level = corrected(
                level, await self._run(relative, track, through, limit, nice), self.target
            )
        return Track(measured, level, target_of(self.target))

    async def _run(
        self, relative: str, track: int, through: str | None, limit: float, nice: int
    ) -> Measured:
        result = await run_tool(
            command(self.ffmpeg, self.media_root / relative, track, through=through),
            limit,
            output_limit=0,
            nice=nice,
        )
        measured = measured_from(result.stderr) if result.ok else None
        if measured is None:
            last = result.stderr.strip().splitlines()[-1:] or ["no summary"]
            raise _Unmeasurable("timed out" if result.timed_out else last[0])
        return measured

    # --- the cache ----------------------------------------------------------------------

    def _load_cache(self) -> dict[str, tuple[Version, dict[int, Track]]]:
        try:
            raw = json.loads(self.cache_path.read_text())
            return {
                path: (
                    Version(entry["size"], entry["mtime"]),
                    {
                        int(track): Track(
                            Measured(**value["measured"]),
                            Level(**value["level"]),
                            (value["target"][0], value["target"][1]),
                        )
                        for track, value in entry["tracks"].items()
                    },
                )
                for path, entry in raw.items()
            }
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return {}

    def _save_cache(self) -> None:
        document = {
            path: {
                "size": version.size,
                "mtime": version.mtime,
                "tracks": {
                    str(track): {
                        "measured": asdict(entry.measured),
                        "level": asdict(entry.level),
                        "target": list(entry.target),
                    }
                    for track, entry in tracks.items()
                },
            }
            for path, (version, tracks) in self._known.items()
        }
        try:
            write_atomically(self.cache_path, json.dumps(document))
        except OSError as error:
            log.warning(f"Could not save the loudness cache: {error}")


class _Unmeasurable(Exception):
    pass
