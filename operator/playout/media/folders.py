"""Media files in a folder, as both engines see them: which names are media, the natural
order episodes sort in, and the walk that lists them. A channel's programs and a library
ProbeJob read the same files the same way."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MEDIA_EXTENSIONS = (
    "mkv", "mp4", "m4v", "mov", "avi", "ts", "m2ts", "mts", "mpg", "mpeg",
    "webm", "wmv", "flv", "mxf", "ogv",
)  # fmt: skip
# A path whose last name ends in one of them (after at least one other character), in
# the syntax Python and the API server's CEL (RE2) read alike: the CRD holds it too.
MEDIA_NAME_PATTERN = rf"(?i)(^|/)[^/]+\.({'|'.join(MEDIA_EXTENSIONS)})/*$"
_MEDIA_NAME = re.compile(MEDIA_NAME_PATTERN)

_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Version:
    """What identifies one version of a file: a change of either means probe again."""

    size: int
    mtime: float


def version_of(path: Path) -> Version | None:
    """The file's version, or None if it cannot be read."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return Version(stat.st_size, stat.st_mtime)


def is_media_name(path: str) -> bool:
    """A path whose name says it is a media file (anything else is taken for a folder)."""
    return _MEDIA_NAME.search(path) is not None


def natural_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts S01E02 before S01E10 and "Season 2" before "Season 10"."""
    parts = _DIGITS.split(path.casefold())
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)


def natural_sorted(paths: Sequence[str]) -> list[str]:
    return sorted(paths, key=natural_key)


def list_media(media_root: Path, relative: str, *, recursive: bool = True) -> list[str]:
    """Media files under `relative` (a file or a folder), relative to the media root, in
    the order the walk finds them; hidden files and folders are left out, and without
    `recursive` so are subfolders."""
    root = media_root / relative
    if root.is_file():
        return [relative]
    if not root.is_dir():
        return []
    found = []
    for directory, folders, files in os.walk(root):
        folders[:] = [f for f in folders if recursive and not f.startswith(".")]
        for name in files:
            if name.startswith(".") or not is_media_name(name):
                continue
            found.append(str((Path(directory) / name).relative_to(media_root)))
    return found
