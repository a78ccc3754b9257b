"""Time as every playout process reads and writes it: aware UTC, RFC 3339 with a `Z`.

The precision belongs to each document: milliseconds in playlists, the as-run log and the
engine's status reports (a segment lasts a fraction of a second more or less), seconds in
the guide documents the streamer serves; `auto` keeps what a timestamp has.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Timespec = Literal["auto", "seconds", "milliseconds"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime, *, timespec: Timespec) -> str:
    """`moment` as RFC 3339, to `timespec` (as `datetime.isoformat` truncates)."""
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 time, `Z` or an offset; ValueError when it is none."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
