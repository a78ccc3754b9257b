"""Where an item's subtitles come from (its own text tracks, or sidecar files beside it),
and their cues, read once per version of the file."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from playout.media import ffmpeg, languages, webvtt
from playout.media.metadata import MediaInfo
from playout.media.process import run_tool

log = logging.getLogger(__name__)

SIDECAR_SUFFIXES = (".srt", ".vtt")
# Reading a whole file's subtitles demuxes it to the end: bounded, as every ffmpeg run is.
READ_SECONDS = 120.0


def subtitle_name(language: str) -> str:
    """A subtitle rendition's path under /live (rendition names cannot hold "_")."""
    return f"subs_{language}"


def subtitle_uri(segment_uri: str) -> str:
    """The WebVTT file of a media segment: its name, .vtt for .ts."""
    return segment_uri.removesuffix(".ts") + ".vtt"


@dataclass(frozen=True)
class SubtitleSource:
    path: Path
    stream: int | None
    """The track's absolute index in `path`; None for a sidecar file."""


def sources_for(
    path: Path, info: MediaInfo, wanted: list[str], siblings: list[str], *, bitmap: bool = False
) -> list[SubtitleSource | None]:
    """For each wanted language, in order: the item's first text track in it (or bitmap
    track, with `bitmap`: to burn in), else a sidecar (`<stem>.<code>.srt` or `.vtt`, any
    ISO 639 code of the language; a bare `<stem>.srt` counts as the first language), else
    None. `siblings`: the names of the files beside the item."""
    usable = ffmpeg.TEXT_SUBTITLES | (ffmpeg.BITMAP_SUBTITLES if bitmap else frozenset())
    tracks = [
        stream
        for stream in info.summary.streams
        if stream.type == "subtitle" and stream.codec in usable
    ]
    sidecars: dict[str | None, Path] = {}
    for name in sorted(siblings):
        stem, _, suffix = name.rpartition(".")
        if f".{suffix.lower()}" not in SIDECAR_SUFFIXES:
            continue
        if stem == path.stem:
            sidecars.setdefault(None, path.with_name(name))
        elif stem.startswith(f"{path.stem}."):
            code = languages.canonical(stem.removeprefix(f"{path.stem}."))
            if code is not None:
                sidecars.setdefault(code, path.with_name(name))
    found: list[SubtitleSource | None] = []
    for position, code in enumerate(wanted):
        track = next((t for t in tracks if languages.same(t.language, code)), None)
        sidecar = sidecars.get(languages.canonical(code))
        sidecar = sidecar or (sidecars.get(None) if position == 0 else None)
        if track is not None:
            found.append(SubtitleSource(path, track.index))
        elif sidecar is not None:
            found.append(SubtitleSource(sidecar, None))
        else:
            found.append(None)
    return found


async def burn_in_source(path: Path, info: MediaInfo, language: str) -> ffmpeg.BurnIn | None:
    """What to draw into an item's picture: its text track in `language` (counted among
    its subtitle tracks, as libass counts), or a sidecar; None where it has neither."""
    siblings = await asyncio.to_thread(_names_beside, path)
    (source,) = sources_for(path, info, [language], siblings, bitmap=True)
    if source is None:
        return None
    if source.stream is None:
        return ffmpeg.BurnIn(source.path, None)
    tracks = [s for s in info.summary.streams if s.type == "subtitle"]
    (track,) = [t for t in tracks if t.index == source.stream]
    bitmap = source.stream if track.codec in ffmpeg.BITMAP_SUBTITLES else None
    return ffmpeg.BurnIn(path, tracks.index(track), bitmap_stream=bitmap)


class SubtitleCues:
    """Cues per (source, version), read with ffmpeg as WebVTT."""

    def __init__(self, ffmpeg_path: str) -> None:
        self.ffmpeg = ffmpeg_path
        self._cache: dict[tuple[str, int | None, float, int], list[webvtt.Cue]] = {}

    async def cues_for(
        self, path: Path, info: MediaInfo, wanted: list[str]
    ) -> list[list[webvtt.Cue]]:
        """The cues of each wanted language for the item at `path` (empty where it has
        none, or they cannot be read: subtitles must never take a channel off air)."""
        siblings = await asyncio.to_thread(_names_beside, path)
        result = []
        for source in sources_for(path, info, wanted, siblings):
            result.append(await self._read(source) if source is not None else [])
        return result

    async def _read(self, source: SubtitleSource) -> list[webvtt.Cue]:
        try:
            stat = await asyncio.to_thread(source.path.stat)
        except OSError:
            return []
        key = (str(source.path), source.stream, stat.st_mtime, stat.st_size)
        if key not in self._cache:
            self._cache[key] = await self._extract(source)
        return self._cache[key]

    async def _extract(self, source: SubtitleSource) -> list[webvtt.Cue]:
        command = ffmpeg.subtitle_command(self.ffmpeg, source.path, source.stream)
        result = await run_tool(command, READ_SECONDS)
        if result.timed_out or result.returncode != 0 or result.truncated:
            why = "took too long" if result.timed_out else (result.stderr.strip() or "failed")
            log.warning(f"Could not read the subtitles of {source.path}: {why.splitlines()[-1]}")
            return []
        return webvtt.parse(result.stdout.decode(errors="replace"))


def _names_beside(path: Path) -> list[str]:
    try:
        return [entry.name for entry in path.parent.iterdir()]
    except OSError:
        return []
