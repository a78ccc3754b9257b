"""What plays next: the lineup as a pure state machine.

Programs take turns, one item each (`itemsPerTurn` to play several), and the lineup loops.
Each program keeps a cursor (item, position, index into its play order, shuffle seed): that
is `status.progress`, and it is all a restart needs to carry on from the same frame.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Literal

from playout.api.channel import ChannelSpec, Program, ProgramProgress
from playout.media.folders import natural_key, natural_sorted


def title_of(path: str) -> str:
    """A title from a file name: "shows/Cheers/Cheers S01E01.mkv" -> "Cheers S01E01"."""
    return PurePosixPath(path).stem.replace("_", " ").replace(".", " ").strip() or path


def play_order(listing: Sequence[str], order: str, seed: int | None) -> list[str]:
    """A program's items in the order they play."""
    return list(_play_order(tuple(listing), order, seed))


@lru_cache(maxsize=256)
def _play_order(listing: tuple[str, ...], order: str, seed: int | None) -> tuple[str, ...]:
    # Planning days ahead asks for the same order once per item: sort a big folder once.
    ordered = natural_sorted(listing)
    if order == "shuffle":
        random.Random(seed).shuffle(ordered)  # noqa: S311 (not for security)
    return tuple(ordered)


EntryKind = Literal["item", "bumper", "up-next", "slate", "filler"]


@dataclass(frozen=True)
class Entry:
    """One thing to put on air."""

    kind: EntryKind
    title: str
    program: str = ""
    path: str | None = None
    """Media path relative to the media root (None for generated cards)."""
    start: float = 0.0
    """Seconds into the file to start at (resume)."""
    index: int = 0
    """Position of `path` in its program's play order."""


@dataclass
class LineupState:
    """Where the lineup stands: the part of the channel state the schedule owns."""

    progress: dict[str, ProgramProgress] = field(default_factory=dict)
    current: str | None = None
    """Key of the program on air (or next up, between items)."""
    played_in_turn: int = 0
    bumper_index: int = 0


def _program(spec: ChannelSpec, key: str | None) -> Program:
    for program in spec.programs:
        if program.key == key:
            return program
    return spec.programs[0]


def next_program(spec: ChannelSpec, key: str) -> Program:
    keys = [program.key for program in spec.programs]
    index = keys.index(key) if key in keys else -1
    return spec.programs[(index + 1) % len(keys)]


def current_entry(
    spec: ChannelSpec, state: LineupState, listings: Mapping[str, Sequence[str]]
) -> Entry | None:
    """The item the lineup is at, resuming mid-item where the cursor says so. Programs with
    nothing playable are passed over; None when no program has anything."""
    program = _program(spec, state.current)
    for _ in spec.programs:
        entry = program_entry(
            program, state.progress.get(program.key), listings.get(program.key, ())
        )
        if entry is not None:
            return entry
        program = next_program(spec, program.key)
    return None


def program_entry(
    program: Program, cursor: ProgramProgress | None, listing: Sequence[str]
) -> Entry | None:
    """The item `program` is at by its cursor (None when its listing is empty)."""
    if not listing:
        return None
    seed = cursor.seed if cursor and cursor.seed is not None else _initial_seed(program)
    order = play_order(listing, program.order, seed)
    if cursor is None:
        return Entry("item", title_of(order[0]), program.key, order[0], 0.0, 0)
    if cursor.item in order:
        index = order.index(cursor.item)
        start = cursor.position_seconds if program.resume else 0.0
        return Entry("item", title_of(cursor.item), program.key, cursor.item, start, index)
    # The file is gone: fall forward to the item that took its place in the order.
    index = min(cursor.index or 0, len(order) - 1)
    if program.order == "sequential":
        later = [i for i, path in enumerate(order) if natural_key(path) > natural_key(cursor.item)]
        index = later[0] if later else 0
    return Entry("item", title_of(order[index]), program.key, order[index], 0.0, index)


def _initial_seed(program: Program) -> int:
    # Stable for a given program, so two fresh starts agree; recorded in progress anyway.
    return zlib.crc32(program.key.encode())


def advance(
    spec: ChannelSpec, state: LineupState, finished: Entry, listings: Mapping[str, Sequence[str]]
) -> LineupState:
    """The state after `finished` played to its end: its program's cursor moves to the next
    item, and the turn passes on when the program has had its items."""
    program = _program(spec, finished.program)
    listing = listings.get(program.key, ())
    cursor = state.progress.get(program.key)
    seed = cursor.seed if cursor and cursor.seed is not None else _initial_seed(program)
    order = play_order(listing, program.order, seed) if listing else []
    index = finished.index + 1
    if index >= len(order):
        index = 0
        if program.order == "shuffle":
            seed = (seed * 1103515245 + 12345) % (2**31)  # a new order for the next round
            order = play_order(listing, program.order, seed)
    progress = dict(state.progress)
    if order:
        progress[program.key] = ProgramProgress(
            item=order[index],
            position_seconds=0.0,
            index=index,
            seed=seed if program.order == "shuffle" else None,
        )
    played = state.played_in_turn + 1
    if played >= program.items_per_turn:
        return replace(
            state, progress=progress, current=next_program(spec, program.key).key, played_in_turn=0
        )
    return replace(state, progress=progress, current=program.key, played_in_turn=played)


def at_position(state: LineupState, entry: Entry, position: float, seed: int | None) -> LineupState:
    """The state with the cursor of `entry`'s program at `position` seconds into it."""
    progress = dict(state.progress)
    progress[entry.program] = ProgramProgress(
        item=entry.path or "", position_seconds=round(position, 3), index=entry.index, seed=seed
    )
    return replace(state, progress=progress, current=entry.program)


def interstitials(
    spec: ChannelSpec, state: LineupState, upcoming: Entry | None, bumpers: Sequence[str]
) -> tuple[list[Entry], LineupState]:
    """What plays between two items: a bumper in rotation, then the "Up next" card."""
    entries: list[Entry] = []
    if spec.bumpers is None:
        return entries, state
    if bumpers:
        ordered = natural_sorted(bumpers)
        path = ordered[state.bumper_index % len(ordered)]
        entries.append(Entry("bumper", title_of(path), path=path))
        state = replace(state, bumper_index=(state.bumper_index + 1) % len(ordered))
    if spec.bumpers.up_next and upcoming is not None:
        entries.append(Entry("up-next", f"Up next: {upcoming.title}"))
    return entries, state


def slate() -> Entry:
    """Dead-air fallback: nothing in the lineup is playable."""
    return Entry("slate", "We'll be right back")
