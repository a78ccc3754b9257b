"""Files replaced whole: a reader, or the next run after a crash, sees the old or the new."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.atomic import WORK_SUFFIX, write_atomically


def test_the_file_is_replaced_whole_and_no_work_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "deeper" / "state.json"
    write_atomically(target, "first")
    inode = target.stat().st_ino
    write_atomically(target, b"second, longer than the first")
    assert target.read_text() == "second, longer than the first"
    assert target.stat().st_ino != inode  # a new file renamed over, not rewritten in place
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_a_work_file_a_crash_left_is_overwritten_not_piled_up(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    leftover = tmp_path / f"state.json{WORK_SUFFIX}"
    leftover.write_text("half of an old write that was killed")
    write_atomically(target, "{}")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomically(target, "old")
    (tmp_path / f"state.json{WORK_SUFFIX}").mkdir()  # the work file cannot be opened
    with pytest.raises(IsADirectoryError):
        write_atomically(target, "new")
    assert target.read_text() == "old"
