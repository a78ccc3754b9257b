"""Files that another process, or the next run, reads while they are being replaced."""

from __future__ import annotations

import os
from pathlib import Path

WORK_SUFFIX = ".tmp"
"""A file being written is `<name>.tmp` beside it: one per target, whatever a crash left is
overwritten by the next write (and the sweeper's suffixes include it)."""


def write_atomically(path: Path, data: str | bytes) -> None:
    """Readers see the old file or the new one, never half of one, and so does the next
    run after a crash of the process or of the machine: the work file is on disk before it
    is renamed, and the rename is on disk before this returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = path.with_name(path.name + WORK_SUFFIX)
    content = data.encode() if isinstance(data, str) else data
    with work.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    work.replace(path)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """A rename is an entry of the directory: it survives a power cut once the directory
    itself is synced."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
