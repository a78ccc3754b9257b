from __future__ import annotations

import os
from pathlib import Path

from playout.streamer.sweep import sweep


def touch(path: Path, age_seconds: float, now: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 10)
    os.utime(path, (now - age_seconds, now - age_seconds))


def test_only_old_segments_go(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    touch(tmp_path / "old.ts", 3600, now)
    touch(tmp_path / "sub" / "old.m4s", 3600, now)
    touch(tmp_path / "half-written.tmp", 3600, now)
    touch(tmp_path / "new.ts", 10, now)
    touch(tmp_path / "index.m3u8", 3600, now)
    touch(tmp_path / "state.json", 3600, now)
    result = sweep(tmp_path, 600, now=now)
    assert (result.removed, result.freed_bytes, result.kept) == (3, 30, 1)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "index.m3u8",
        "new.ts",
        "state.json",
    ]


def test_links_are_never_followed(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    outside = tmp_path / "outside"
    touch(outside / "precious.ts", 3600, now)
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "link.ts").symlink_to(outside / "precious.ts")
    sweep(segments, 600, now=now)
    assert (outside / "precious.ts").exists()


def test_a_missing_directory_is_fine(tmp_path: Path) -> None:
    assert sweep(tmp_path / "nope", 600).removed == 0
