"""The report's pictures from what the decode pass left: the loudness curve from ebur128's
blocks, and which of the pictures it took to keep (one at each event, a few across the
media). Pure."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

from playout.api.probejob import Check, LoudnessCurve, TimeRange
from playout.prober.content import Frame

# Below this ebur128 measured nothing (it says -120.7 LUFS for digital silence).
NOTHING_MEASURED_LUFS = -100.0
EVENT_PICTURES = 40
"""Pictures of events kept, the earliest first: a report of a file with hundreds of events
stays small, and the strip shows where the rest are."""
SPREAD_PICTURES = 8


def loudness_curve(blocks: Iterable[Frame]) -> LoudnessCurve:
    seconds: list[float] = []
    momentary: list[float | None] = []
    short_term: list[float | None] = []
    true_peak: list[float | None] = []
    for block in blocks:
        seconds.append(round(block.time, 3))
        momentary.append(_lufs(block.number("lavfi.r128.M")))
        short_term.append(_lufs(block.number("lavfi.r128.S")))
        true_peak.append(_dbtp(block.number("lavfi.r128.true_peak")))
    return LoudnessCurve(
        seconds=seconds, momentary=momentary, short_term=short_term, true_peak=true_peak
    )


def _lufs(value: float | None) -> float | None:
    return round(value, 2) if value is not None and value > NOTHING_MEASURED_LUFS else None


def _dbtp(linear: float | None) -> float | None:
    """ebur128's metadata gives the true peak as a linear sample value."""
    return round(20 * math.log10(linear), 2) if linear else None


def picture_for(event: TimeRange, taken: Sequence[float]) -> int | None:
    """Which of the pictures (taken at `taken` seconds, in order) shows `event`: the first
    taken at or after its start if that is before its end, else the nearest to its start.
    The HTML report finds an event's picture with the same rule."""
    if not taken:
        return None
    after = bisect.bisect_left(taken, event.start)
    if after < len(taken) and taken[after] <= event.end:
        return after
    before = max(after - 1, 0)
    if after >= len(taken):
        return before
    return after if taken[after] - event.start < event.start - taken[before] else before


def events_of(checks: Iterable[Check]) -> list[tuple[str, TimeRange]]:
    """Every check's events, earliest first."""
    found = [(check.name, event) for check in checks for event in check.events]
    return sorted(found, key=lambda item: (item[1].start, item[0]))


def pictures_to_keep(checks: Sequence[Check], taken: Sequence[float]) -> list[int]:
    """The pictures the report keeps, in time order: the first EVENT_PICTURES events' and
    SPREAD_PICTURES spread evenly from the first picture to the last."""
    if not taken:
        return []
    kept: set[int] = set()
    for _, event in events_of(checks):
        if len(kept) >= EVENT_PICTURES:
            break
        number = picture_for(event, taken)
        if number is not None:
            kept.add(number)
    spread = min(SPREAD_PICTURES, len(taken))
    last = len(taken) - 1
    kept |= {round(i * last / max(spread - 1, 1)) for i in range(spread)}
    return sorted(kept)
