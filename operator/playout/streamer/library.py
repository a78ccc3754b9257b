"""The media folders as the timeline sees them: playable files with their lengths.

Listing is a walk of the folders; a file's length comes from ffprobe once per version of
the file (path, size, modification time) and is cached in the state directory, so a
restart or a 5,000-file library does not probe again what it knows. Where the timeline
needs them (breaks in copy mode, which can only cut on keyframes) the keyframe times are
read once per version too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from playout.api.channel import ChannelSpec
from playout.atomic import write_atomically
from playout.media.folders import Version, list_media, version_of
from playout.media.metadata import (
    MediaInfo,
    UnreadableMedia,
    keyframes_command,
    metadata_command,
    parse_keyframes,
    parse_metadata,
)
from playout.media.process import run_tool
from playout.streamer.timeline import Library, MediaFile

log = logging.getLogger(__name__)

CACHE_FILE = "durations.json"
PROBE_SECONDS = 30.0
# ffprobe runs at once while a library is first read (each is mostly waiting on the disk).
PROBES_AT_ONCE = 4


@dataclass(frozen=True)
class Known:
    """What the cache holds of one version of a file."""

    version: Version
    duration: float
    keyframes: tuple[float, ...] | None = None


class Unplayable(Exception):
    """A file that cannot be played; `reason` says why in a word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class MediaLibrary:
    """Lists the folders a channel uses and knows each file's length. A file that cannot
    be played is reported once per version (`on_unplayable`) and left out until it
    changes."""

    def __init__(
        self,
        *,
        media_root: Path,
        state_dir: Path,
        ffprobe: str,
        on_unplayable: Callable[[str, Unplayable], None],
    ) -> None:
        self.media_root = media_root
        self.ffprobe = ffprobe
        self.on_unplayable = on_unplayable
        self.cache_path = state_dir / CACHE_FILE
        self._info: dict[str, tuple[Version, MediaInfo]] = {}
        self._known: dict[str, Known] = self._load_cache()
        self._unplayable: dict[str, Version] = {}

    def _load_cache(self) -> dict[str, Known]:
        try:
            raw = json.loads(self.cache_path.read_text())
            return {
                path: Known(
                    Version(v["size"], v["mtime"]),
                    float(v["duration"]),
                    tuple(v["keyframes"]) if v.get("keyframes") is not None else None,
                )
                for path, v in raw.items()
            }
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _save_cache(self) -> None:
        document = {
            path: {
                "size": known.version.size,
                "mtime": known.version.mtime,
                "duration": known.duration,
                **({"keyframes": known.keyframes} if known.keyframes is not None else {}),
            }
            for path, known in self._known.items()
        }
        try:
            write_atomically(self.cache_path, json.dumps(document))
        except OSError as error:
            log.warning(f"Could not save the media length cache: {error}")

    async def info(self, relative: str) -> MediaInfo:
        """ffprobe's view of one file (cached per version); raises `Unplayable`."""
        path = self.media_root / relative
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError as error:
            raise Unplayable("missing", f"{path} does not exist") from error
        except PermissionError as error:
            raise Unplayable("unreadable", str(error)) from error
        version = Version(stat.st_size, stat.st_mtime)
        probed = self._info.get(relative)
        if probed is not None and probed[0] == version:
            return probed[1]
        result = await run_tool(metadata_command(self.ffprobe, path), PROBE_SECONDS)
        if not result.ok:
            detail = result.stderr.strip().splitlines()[-1:] or ["ffprobe failed"]
            raise Unplayable("undecodable", detail[0])
        try:
            info = parse_metadata(result.stdout.decode())
        except UnreadableMedia as error:
            raise Unplayable("undecodable", str(error)) from error
        if info.video_index is None:
            raise Unplayable("undecodable", "no video stream")
        if not info.duration_seconds or info.duration_seconds <= 0:
            raise Unplayable("undecodable", "no duration")
        self._info[relative] = (version, info)
        known = self._known.get(relative)
        keyframes = known.keyframes if known and known.version == version else None
        self._known[relative] = Known(version, info.duration_seconds, keyframes)
        return info

    async def _keyframes(self, relative: str, version: Version) -> tuple[float, ...]:
        result = await run_tool(keyframes_command(self.ffprobe, self.media_root / relative), 120)
        keyframes = parse_keyframes(result.stdout.decode()) if result.ok else ()
        known = self._known[relative]
        if known.version == version:
            self._known[relative] = Known(version, known.duration, keyframes)
        return keyframes

    async def _files(
        self, paths: Iterable[str], excluded: set[str], *, keyframes: bool = False
    ) -> list[MediaFile]:
        """The playable ones of `paths`, with lengths (and keyframes, if asked): cached, or
        probed a few at a time."""
        paths = [p for p in paths if p not in excluded]
        versions = await asyncio.to_thread(self._versions, paths)
        gate = asyncio.Semaphore(PROBES_AT_ONCE)
        probed = False

        async def learn(path: str) -> None:
            nonlocal probed
            version = versions[path]
            known = self._known.get(path)
            async with gate:
                try:
                    if known is None or known.version != version:
                        probed = True
                        await self.info(path)
                    if keyframes and self._known[path].keyframes is None:
                        probed = True
                        await self._keyframes(path, version)
                except Unplayable as problem:
                    self._unplayable[path] = version
                    self.on_unplayable(path, problem)

        wanted = [p for p in paths if p in versions and self._unplayable.get(p) != versions[p]]
        await asyncio.gather(*(learn(path) for path in wanted))
        if probed:
            self._save_cache()
        found = []
        for path in wanted:
            known = self._known.get(path)
            if known is not None and known.version == versions[path] and known.duration > 0:
                found.append(MediaFile(path, known.duration, known.keyframes or ()))
        return found

    def _versions(self, paths: list[str]) -> dict[str, Version]:
        versions = {path: version_of(self.media_root / path) for path in paths}
        return {path: version for path, version in versions.items() if version is not None}

    async def scan(self, spec: ChannelSpec, *, excluded: set[str]) -> Library:
        """What the channel's folders hold now, less the files `excluded` (those that
        failed recently and wait for their retry)."""

        # Copy mode cuts only on keyframes: its break points are snapped to them.
        with_breaks = (
            {rule.program for rule in spec.breaks} if spec.output.mode == "copy" else set()
        )

        async def listing(relative: str | None, *, keyframes: bool = False) -> list[MediaFile]:
            if relative is None:
                return []
            paths = await asyncio.to_thread(list_media, self.media_root, relative)
            return await self._files(paths, excluded, keyframes=keyframes)

        programs = {
            program.key: await listing(program.path, keyframes=program.key in with_breaks)
            for program in spec.programs
        }
        return Library(
            programs=programs,
            filler=await listing(spec.filler.path if spec.filler else None),
            bumpers=await listing(spec.bumpers.path if spec.bumpers else None),
        )
