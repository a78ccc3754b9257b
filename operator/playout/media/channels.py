"""Audio channel layouts as ffmpeg names them (`ffmpeg -layouts`), with how many channels
each has: what a stream's declared `channel_layout` must agree with, and the names a
ProbeJob may require. Pure data."""

from __future__ import annotations

import re

# ffmpeg 5.1's standard layouts, and the immersive ones later versions add.
CHANNEL_LAYOUTS: dict[str, int] = {
    "mono": 1, "stereo": 2, "downmix": 2, "binaural": 2,
    "2.1": 3, "3.0": 3, "3.0(back)": 3,
    "4.0": 4, "quad": 4, "quad(side)": 4, "3.1": 4,
    "5.0": 5, "5.0(side)": 5, "4.1": 5,
    "5.1": 6, "5.1(side)": 6, "6.0": 6, "6.0(front)": 6, "hexagonal": 6, "3.1.2": 6,
    "6.1": 7, "6.1(back)": 7, "6.1(front)": 7, "7.0": 7, "7.0(front)": 7,
    "7.1": 8, "7.1(wide)": 8, "7.1(wide-side)": 8, "7.1(top)": 8, "octagonal": 8,
    "cube": 8, "5.1.2": 8,
    "5.1.4": 10, "7.1.2": 10,
    "7.1.4": 12, "7.2.3": 12,
    "9.1.4": 14,
    "hexadecagonal": 16, "9.1.6": 16,
    "22.2": 24,
}  # fmt: skip

# What ffprobe prints for a stream whose channels have no declared meaning: "unknown"
# (ffmpeg 5.1) or "6 channels" (later versions).
_UNDECLARED = re.compile(r"unknown|\d+ channels")
# A custom layout: channel names joined with + (FL+FR+LFE).
_CUSTOM = re.compile(r"[A-Z][A-Z0-9]*(\+[A-Z][A-Z0-9]*)*")


def declared(layout: str | None) -> bool:
    """Whether ffprobe's `channel_layout` says which channel is which."""
    return bool(layout) and not _UNDECLARED.fullmatch(layout or "")


def layout_channels(layout: str) -> int | None:
    """How many channels a layout has; None for one this table does not know."""
    if layout in CHANNEL_LAYOUTS:
        return CHANNEL_LAYOUTS[layout]
    if _CUSTOM.fullmatch(layout):
        return layout.count("+") + 1
    return None


def satisfies(layout: str, required: str) -> bool:
    """A stream's layout meets a required one when it is that layout or one of its
    variants: 5.1(side) (the surrounds at the sides, as AC-3 and E-AC-3 say 5.1) meets
    "5.1"; "5.1(side)" asks for that variant only."""
    return layout == required or layout.startswith(f"{required}(")
