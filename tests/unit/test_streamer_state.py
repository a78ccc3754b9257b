"""What a restart resumes from: the counters never go back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from playout.api.channel import ChannelStatus
from playout.media.hls import LivePlaylist, Segment
from playout.streamer.schedule import LineupState
from playout.streamer.state import (
    STATE_FILE,
    from_status,
    load,
    restore_playlist,
    save,
    snapshot,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def playlist_with(count: int, target: int = 2) -> LivePlaylist:
    playlist = LivePlaylist(target_duration=target, window=4)
    for n in range(count):
        playlist.append(
            Segment(
                n, f"seg-1-{n}.ts", 2.0, NOW + timedelta(seconds=2 * n), discontinuity=n % 3 == 0
            )
        )
    return playlist


def test_the_state_file_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    playlist = playlist_with(9)
    save(tmp_path, snapshot(3, LineupState(current="movies"), playlist, NOW))
    saved = load(tmp_path)
    assert saved is not None and saved.epoch == 3 and saved.current == "movies"
    restored = restore_playlist(saved, 2, 4)
    assert restored.render() == playlist.render()
    assert [s.uri for s in restored.removed] == [s.uri for s in playlist.removed]


@pytest.mark.parametrize(
    "content",
    [
        b'{"epoch": 3, "progress": {"shows": {"item": "shows/a.mkv", "positi',  # torn
        b"",  # created, never written
        b"\x00" * 512,  # blocks a disk fault zeroed
        b'{"epoch": "three"}',  # well-formed, another schema
        b"\xff\xfe not utf-8",
    ],
    ids=["torn", "empty", "zeroed", "schema", "encoding"],
)
def test_an_unreadable_state_file_is_set_aside_not_resumed_from(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / STATE_FILE).write_bytes(content)
    assert load(tmp_path) is None
    assert not (tmp_path / STATE_FILE).exists()
    assert (tmp_path / f"{STATE_FILE}.unreadable").read_bytes() == content
    # The next run saves and resumes as usual; an older set-aside file is replaced.
    save(tmp_path, snapshot(4, LineupState(), playlist_with(3), NOW))
    saved = load(tmp_path)
    assert saved is not None and saved.epoch == 4


def test_an_unreadable_state_directory_entry_is_set_aside_too(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).mkdir()  # read as a file, it fails with an OSError
    assert load(tmp_path) is None
    assert (tmp_path / f"{STATE_FILE}.unreadable").is_dir()


def test_no_state_file_is_a_fresh_start(tmp_path: Path) -> None:
    assert load(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_a_target_too_short_for_the_old_window_starts_a_fresh_one_after_it() -> None:
    playlist = playlist_with(9)
    saved = snapshot(3, LineupState(), playlist, NOW)
    restored = restore_playlist(saved, 1, 4)
    assert restored.segments == []
    assert restored.next_sequence == 9
    assert restored.discontinuity_sequence > playlist.discontinuity_sequence


def test_resuming_from_the_status_jumps_past_unreported_numbers() -> None:
    status = ChannelStatus.model_validate(
        {
            "progress": {"shows": {"item": "shows/a.mkv", "positionSeconds": 100.0}},
            "nowPlaying": {
                "program": "shows",
                "item": "shows/a.mkv",
                "title": "a",
                "startedAt": NOW.isoformat(),
                "positionSeconds": 100.0,
            },
            "stream": {
                "mediaSequence": 500,
                "discontinuitySequence": 7,
                "lastSegmentAt": NOW.isoformat(),
            },
        }
    )
    later = NOW + timedelta(minutes=5)
    saved = from_status(status, 2, later)
    # In 5 minutes at most 150 segments were published unreported, plus a window of 100.
    assert saved.media_sequence >= 500 + 100 + 150
    assert saved.discontinuity_sequence > 7
    assert saved.current == "shows" and saved.progress["shows"].position_seconds == 100.0
    assert saved.epoch == int(later.timestamp())
