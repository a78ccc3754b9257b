"""Removing segments a crashed engine left behind on a persistent volume.

The engine deletes segments itself once they leave the playlist window; this sweep is the
safety net for what a crash or a kill left, run by the Channel's cleanup CronJob."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from playout.atomic import WORK_SUFFIX

log = logging.getLogger(__name__)

# Playlists and state are the engine's; only media segments and half-written temp files
# are ever swept.
SWEPT_SUFFIXES = frozenset({".ts", ".m4s", ".mp4", ".aac", ".vtt", WORK_SUFFIX})


@dataclass(frozen=True)
class SweepResult:
    removed: int
    freed_bytes: int
    kept: int


def sweep(directory: Path, older_than_seconds: float, now: float | None = None) -> SweepResult:
    """Delete segment files under `directory` not modified for `older_than_seconds`."""
    cutoff = (time.time() if now is None else now) - older_than_seconds
    removed = freed = kept = 0
    if not directory.is_dir():
        log.info(f"{directory} does not exist; nothing to sweep")
        return SweepResult(0, 0, 0)
    for path in directory.rglob("*"):
        if path.suffix not in SWEPT_SUFFIXES or path.is_symlink() or not path.is_file():
            continue
        stat = path.stat()
        if stat.st_mtime >= cutoff:
            kept += 1
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # the engine removed it meanwhile
        removed += 1
        freed += stat.st_size
    log.info(f"Swept {directory}: removed {removed} files ({freed} bytes), kept {kept}")
    return SweepResult(removed, freed, kept)
