"""Photosensitive flashing, by the rule ITU-R BT.1702 and Ofcom apply: a flash is a pair of
opposing changes in luminance of at least 20 cd/m² where the darker picture is below
160 cd/m², over at least a quarter of the screen at once; more than 3 flashes in any
one second is a problem. A red flash is the same with saturated red: a pair of opposing
changes of at least 20 in (R - G - B) x 320 where one side is red (R/(R+G+B) >= 0.8). Pure:
bytes of frames in, flashes out.

The decode pass hands over every frame scaled down to GRID x GRID cells (area averages) as
RGB; each cell is tracked on its own, as the display a viewer sees (200 cd/m² at full
white, BT.1886's 2.4 gamma), and a transition of the screen is one that cells covering the
area threshold make on the same frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

GRID = 8
CELL_BYTES = 3
FRAME_BYTES = GRID * GRID * CELL_BYTES
DISPLAY_CDM2 = 200.0
DARKER_BELOW_CDM2 = 160.0
RED_SCALE = 320.0
RED_SATURATION = 0.8
WINDOW_SECONDS = 1.0

_LINEAR: list[float] = [float((code / 255) ** 2.4) for code in range(256)]


@dataclass(frozen=True)
class FlashRules:
    change_cdm2: float = 20.0
    area: float = 0.25
    per_second: float = 3.0


@dataclass
class FlashFindings:
    """Each kind's most flashes in any one-second window, and the windows over the limit
    as (start, end) seconds, joined where they overlap."""

    most: int = 0
    over: list[tuple[float, float]] = field(default_factory=list)
    red_most: int = 0
    red_over: list[tuple[float, float]] = field(default_factory=list)


class _Cell:
    """One cell's series: its last extreme, and the direction of its last transition."""

    __slots__ = ("direction", "extreme")

    def __init__(self, value: float) -> None:
        self.extreme = value
        self.direction = 0

    def step(self, value: float, change: float, counts: bool) -> int:
        """The transition (+1 up, -1 down) `value` completes, or 0. `counts`: whether the
        darker side qualifies."""
        if (self.direction > 0 and value > self.extreme) or (
            self.direction < 0 and value < self.extreme
        ):
            self.extreme = value  # further the same way: the extreme moves on
            return 0
        if abs(value - self.extreme) >= change and counts:
            self.direction = 1 if value > self.extreme else -1
            self.extreme = value
            return self.direction
        return 0


def _luminance(r: int, g: int, b: int) -> float:
    linear = 0.2126 * _LINEAR[r] + 0.7152 * _LINEAR[g] + 0.0722 * _LINEAR[b]
    return linear * DISPLAY_CDM2


def _red(r: int, g: int, b: int) -> tuple[float, bool]:
    lr, lg, lb = _LINEAR[r], _LINEAR[g], _LINEAR[b]
    total = lr + lg + lb
    return max(0.0, lr - lg - lb) * RED_SCALE, total > 0 and lr / total >= RED_SATURATION


def screen_transitions(frames: bytes, rules: FlashRules) -> tuple[list[int], list[int]]:
    """The frames on which the screen makes a general and a red transition."""
    count = len(frames) // FRAME_BYTES
    cells = GRID * GRID
    needed = max(1, round(rules.area * cells))
    general: list[_Cell] = []
    red: list[_Cell] = []
    red_before: list[bool] = []
    found: tuple[list[int], list[int]] = ([], [])
    for index in range(count):
        frame = frames[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]
        moves = ([0, 0], [0, 0])  # per kind: cells going up, cells going down
        for cell in range(cells):
            r, g, b = frame[cell * 3], frame[cell * 3 + 1], frame[cell * 3 + 2]
            light = _luminance(r, g, b)
            level, saturated = _red(r, g, b)
            if index == 0:
                general.append(_Cell(light))
                red.append(_Cell(level))
                red_before.append(saturated)
                continue
            darker = min(light, general[cell].extreme)
            step = general[cell].step(light, rules.change_cdm2, darker < DARKER_BELOW_CDM2)
            if step:
                moves[0][step < 0] += 1
            step = red[cell].step(level, rules.change_cdm2, saturated or red_before[cell])
            red_before[cell] = saturated
            if step:
                moves[1][step < 0] += 1
        for kind in (0, 1):
            if max(moves[kind]) >= needed:
                found[kind].append(index)
    return found


def _windows(
    transitions: Sequence[int], rate: float, start: float, limit: float
) -> tuple[int, list[tuple[float, float]]]:
    """The most flashes (pairs of transitions) in any one-second window, and the windows
    with more than `limit`."""
    most = 0
    over: list[tuple[float, float]] = []
    span = round(WINDOW_SECONDS * rate)
    first = 0
    for last, frame in enumerate(transitions):
        while transitions[first] <= frame - span:
            first += 1
        flashes = (last - first + 1) // 2
        most = max(most, flashes)
        if flashes > limit:
            window = (
                round(start + transitions[first] / rate, 3),
                round(start + (frame + 1) / rate, 3),
            )
            if over and window[0] <= over[-1][1]:
                over[-1] = (over[-1][0], window[1])
            else:
                over.append(window)
    return most, over


def find_flashes(
    frames: bytes, rate: float, rules: FlashRules, start: float = 0.0
) -> FlashFindings:
    """Flashes in `frames` (GRID x GRID RGB, `rate` frames a second, the first at `start`)."""
    general, red = screen_transitions(frames, rules)
    most, over = _windows(general, rate, start, rules.per_second)
    red_most, red_over = _windows(red, rate, start, rules.per_second)
    return FlashFindings(most, over, red_most, red_over)
