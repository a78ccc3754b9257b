"""The lineup: natural order, shuffles that survive restarts, resume and fall-forward."""

from __future__ import annotations

from typing import Any

from playout.api.channel import ChannelSpec, ProgramProgress
from playout.media.folders import natural_sorted
from playout.streamer.schedule import (
    LineupState,
    advance,
    at_position,
    current_entry,
    interstitials,
    play_order,
    title_of,
)

SHOW = [f"shows/Cheers/Cheers S01E{n:02d}.mkv" for n in (10, 2, 1, 11, 3)]
MOVIES = ["movies/b.mkv", "movies/a.mkv", "movies/c.mkv"]


def spec(**overrides: Any) -> ChannelSpec:
    fields: dict[str, Any] = {
        "media": {"persistentVolumeClaim": {"claimName": "m"}},
        "programs": [
            {"path": "shows/Cheers"},
            {"name": "movies", "path": "movies", "order": "shuffle"},
        ],
    }
    return ChannelSpec.model_validate({**fields, **overrides})


LISTINGS = {"shows/Cheers": SHOW, "movies": MOVIES}


def test_natural_order() -> None:
    assert natural_sorted(["S01E10", "S01E2", "s01e1", "Season 10/x", "Season 2/x"]) == [
        "s01e1",
        "S01E2",
        "S01E10",
        "Season 2/x",
        "Season 10/x",
    ]
    assert title_of("shows/Cheers/Cheers_S01E01.mkv") == "Cheers S01E01"


def test_programs_take_turns_and_loop() -> None:
    channel, state = spec(), LineupState()
    played = []
    for _ in range(12):
        entry = current_entry(channel, state, LISTINGS)
        assert entry is not None
        played.append(entry.path)
        state = advance(channel, state, entry, LISTINGS)
    shows = [p for p in played if p and p.startswith("shows/")]
    assert shows == natural_sorted(SHOW) + natural_sorted(SHOW)[:1]
    assert played[0::2] == shows and len(played[1::2]) == 6
    movies = played[1::2]
    assert sorted(movies[:3]) == sorted(MOVIES) and sorted(movies[3:]) == sorted(MOVIES)


def test_items_per_turn() -> None:
    channel = spec(
        programs=[{"path": "shows/Cheers", "itemsPerTurn": 2}, {"name": "movies", "path": "movies"}]
    )
    state, kinds = LineupState(), []
    for _ in range(6):
        entry = current_entry(channel, state, LISTINGS)
        assert entry is not None
        kinds.append(entry.program)
        state = advance(channel, state, entry, LISTINGS)
    assert kinds == ["shows/Cheers", "shows/Cheers", "movies"] * 2


def test_shuffle_order_is_reproducible_from_the_recorded_seed() -> None:
    assert play_order(MOVIES, "shuffle", 42) == play_order(MOVIES, "shuffle", 42)
    channel, state = spec(), LineupState(current="movies")
    entry = current_entry(channel, state, LISTINGS)
    assert entry is not None
    state = advance(channel, state, entry, LISTINGS)
    cursor = state.progress["movies"]
    assert cursor.seed is not None
    # A restart with only the recorded progress carries on with the same order.
    restarted = LineupState(progress=state.progress, current="movies")
    again = current_entry(channel, restarted, LISTINGS)
    assert again is not None and again.path == cursor.item


def test_resume_mid_item() -> None:
    channel = spec()
    state = LineupState(
        progress={"shows/Cheers": ProgramProgress(item=SHOW[1], position_seconds=754.0, index=1)},
        current="shows/Cheers",
    )
    entry = current_entry(channel, state, LISTINGS)
    assert entry is not None
    assert (entry.path, entry.start) == (SHOW[1], 754.0)
    moved = at_position(state, entry, 756.0, None)
    assert moved.progress["shows/Cheers"].position_seconds == 756.0


def test_resume_off_starts_items_from_the_top() -> None:
    channel = spec(programs=[{"path": "shows/Cheers", "resume": False}])
    state = LineupState(
        progress={"shows/Cheers": ProgramProgress(item=SHOW[1], position_seconds=754.0, index=1)}
    )
    entry = current_entry(channel, state, LISTINGS)
    assert entry is not None and entry.start == 0.0


def test_a_vanished_file_falls_forward() -> None:
    channel = spec()
    gone = "shows/Cheers/Cheers S01E04.mkv"  # between E03 and E10
    state = LineupState(
        progress={"shows/Cheers": ProgramProgress(item=gone, position_seconds=100.0, index=3)},
        current="shows/Cheers",
    )
    entry = current_entry(channel, state, LISTINGS)
    assert entry is not None
    assert (entry.path, entry.start) == ("shows/Cheers/Cheers S01E10.mkv", 0.0)


def test_empty_programs_are_passed_over_and_nothing_means_none() -> None:
    channel = spec()
    entry = current_entry(channel, LineupState(), {"shows/Cheers": [], "movies": MOVIES})
    assert entry is not None and entry.program == "movies"
    assert current_entry(channel, LineupState(), {}) is None


def test_interstitials_rotate_bumpers_and_announce_what_is_next() -> None:
    channel = spec(bumpers={"path": "bumpers", "upNext": True})
    upcoming = current_entry(channel, LineupState(), LISTINGS)
    first, state = interstitials(
        channel, LineupState(), upcoming, ["bumpers/b2.mp4", "bumpers/b1.mp4"]
    )
    second, state = interstitials(channel, state, upcoming, ["bumpers/b2.mp4", "bumpers/b1.mp4"])
    assert [e.path for e in first + second if e.kind == "bumper"] == [
        "bumpers/b1.mp4",
        "bumpers/b2.mp4",
    ]
    assert first[-1].kind == "up-next" and first[-1].title == "Up next: Cheers S01E01"
    assert interstitials(spec(), LineupState(), upcoming, ["b.mp4"])[0] == []
