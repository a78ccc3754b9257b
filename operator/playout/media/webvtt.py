"""WebVTT subtitles for HLS (RFC 8216 section 3.5): cues read from a file's text subtitles,
cut into one WebVTT segment per media segment. Pure.

Each segment holds the cues that overlap it, in the source file's own times, and an
`X-TIMESTAMP-MAP` that ties the entry's in-point to the MPEG-TS time at which the entry
starts: the same mapping for every segment of the entry, whichever run of ffmpeg made it, so
cues stay where they belong across item boundaries and restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MPEG_TS_CLOCK = 90_000
MPEG_TS_WRAP = 2**33
_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})\s+-->\s+(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3})"
)


@dataclass(frozen=True)
class Cue:
    start: float
    """Seconds into the source file."""
    end: float
    text: str


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1]) + 60 * int(parts[-2])
    return seconds + 3600 * int(parts[-3]) if len(parts) == 3 else seconds


def _stamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis / 1000:06.3f}"


def parse(text: str) -> list[Cue]:
    """The cues of a WebVTT document (ffmpeg's conversion of any text subtitle), in order;
    settings after the timing and cue identifiers are dropped, empty cues skipped."""
    cues: list[Cue] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines) if _TIMING.match(line)), None)
        if timing is None:
            continue
        match = _TIMING.match(lines[timing])
        assert match is not None
        body = "\n".join(line for line in lines[timing + 1 :] if line.strip())
        start, end = _seconds(match["start"]), _seconds(match["end"])
        if body and end > start:
            cues.append(Cue(start, end, body))
    return sorted(cues, key=lambda cue: cue.start)


def segment(
    cues: list[Cue],
    *,
    start: float,
    end: float,
    in_point: float,
    out_point: float,
    mpegts_at_in_point: float,
) -> str:
    """The WebVTT segment for the media from `start` to `end` (seconds into the source) of
    an entry that plays the source from `in_point` to `out_point`, its in-point at MPEG-TS
    time `mpegts_at_in_point` (seconds). Cues are held to the entry, so none shows over the
    next. Every segment is written, cues or not, so that the subtitle playlist lists what
    the others list."""
    ticks = round(mpegts_at_in_point * MPEG_TS_CLOCK) % MPEG_TS_WRAP
    lines = ["WEBVTT", f"X-TIMESTAMP-MAP=MPEGTS:{ticks},LOCAL:{_stamp(in_point)}", ""]
    for cue in cues:
        shown, hidden = max(cue.start, in_point), min(cue.end, out_point)
        if hidden > start and shown < end and hidden > shown:
            lines += [f"{_stamp(shown)} --> {_stamp(hidden)}", cue.text, ""]
    return "\n".join(lines) + "\n"
