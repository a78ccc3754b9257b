"""What survives a restart: the lineup cursors and the playlist counters.

Locally it is a JSON file in the state directory, written atomically after every published
segment. In a cluster the same facts also go to the Channel status (see `report.py`), which
is all a pod that lost its disk has to resume from."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from playout.api.channel import ChannelStatus, ProgramProgress
from playout.api.common import explain
from playout.atomic import write_atomically
from playout.media.hls import LivePlaylist, Segment
from playout.streamer.schedule import LineupState
from playout.streamer.timeline import Cursor, Planned

STATE_FILE = "state.json"
UNREADABLE_SUFFIX = ".unreadable"
TIMELINE_FILE = "timeline.json"

log = logging.getLogger(__name__)


class SavedState(BaseModel):
    """The state file's schema."""

    epoch: int = 0
    """Runs so far; part of every segment URI, so URIs are never reused across runs."""
    progress: dict[str, ProgramProgress] = Field(default_factory=dict)
    current: str | None = None
    played_in_turn: int = 0
    bumper_index: int = 0
    media_sequence: int = 0
    discontinuity_sequence: int = 0
    window: list[Segment] = Field(default_factory=list)
    removed: list[Segment] = Field(default_factory=list)
    saved_at: datetime | None = None
    clock_epoch: datetime | None = None
    """The channel's time origin: segment timestamps count from it."""


class SavedTimeline(BaseModel):
    """The planned timeline as published: it does not move when the engine restarts or the
    media changes. Written when it is extended, not after every segment."""

    entries: list[Planned]
    cursor: Cursor
    """Where planning stands at the end of `entries`."""
    plan_key: str = ""
    """`timeline.plan_key` of the spec it was planned from: a timeline planned from another
    schedule is planned again."""


def parse_timeline(document: bytes) -> SavedTimeline | None:
    try:
        return SavedTimeline.model_validate_json(document)
    except (ValidationError, ValueError) as error:
        # Planned again from the channel's epoch: the same timeline, as long as the media
        # did not change.
        log.warning(f"Ignoring an unreadable timeline: {error}")
        return None


def load_timeline(state_dir: Path) -> SavedTimeline | None:
    try:
        return parse_timeline((state_dir / TIMELINE_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except OSError as error:
        log.warning(f"Could not read {TIMELINE_FILE}: {error}")
        return None


def save_timeline(state_dir: Path, document: bytes) -> None:
    write_atomically(state_dir / TIMELINE_FILE, document)


def load(state_dir: Path) -> SavedState | None:
    """The state to resume from, or None. Writes are atomic, so a torn file of ours cannot
    happen; a file that cannot be read or parsed all the same (a disk fault, a hand edit,
    another version's schema) is set aside as `state.json.unreadable` for a person to look
    at, and the engine resumes as a pod that lost its disk does: from the Channel status,
    or afresh without one. Crashing on it would only crash again on every restart."""
    path = state_dir / STATE_FILE
    try:
        return SavedState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError) as error:
        aside = path.with_name(STATE_FILE + UNREADABLE_SUFFIX)
        try:
            path.replace(aside)
        except OSError as rename_error:
            log.warning(f"Could not set {path} aside: {rename_error}")
        reason = explain(error) if isinstance(error, ValidationError) else str(error)
        log.warning(f"{path} is unreadable ({reason}); set aside as {aside.name}, not resumed from")
        return None


def save(state_dir: Path, state: SavedState) -> None:
    write_atomically(state_dir / STATE_FILE, state.model_dump_json(indent=1))


def snapshot(
    epoch: int,
    lineup: LineupState,
    playlist: LivePlaylist,
    now: datetime,
    *,
    clock_epoch: datetime | None = None,
) -> SavedState:
    return SavedState(
        clock_epoch=clock_epoch,
        epoch=epoch,
        progress=lineup.progress,
        current=lineup.current,
        played_in_turn=lineup.played_in_turn,
        bumper_index=lineup.bumper_index,
        media_sequence=playlist.media_sequence,
        discontinuity_sequence=playlist.discontinuity_sequence,
        window=list(playlist.segments),
        removed=list(playlist.removed),
        saved_at=now,
    )


def restore_playlist(saved: SavedState, target_duration: int, window: int) -> LivePlaylist:
    """The playlist as it was, so players that held it carry on; a target duration that
    changed with the spec starts a fresh window after the old sequence numbers."""
    playlist = LivePlaylist(
        target_duration=target_duration,
        window=window,
        media_sequence=saved.media_sequence,
        discontinuity_sequence=saved.discontinuity_sequence,
    )
    fits = all(round(s.duration) <= target_duration for s in saved.window)
    if fits:
        playlist.segments = saved.window[-window:]
        playlist.removed = list(saved.removed)
        if playlist.segments:
            playlist.media_sequence = playlist.segments[0].sequence
    elif saved.window:
        playlist.removed = list(saved.removed)
        playlist.segments = list(saved.window)
        playlist.restart_at(saved.window[-1].sequence + 1)
    return playlist


def from_status(status: ChannelStatus, segment_seconds: int, now: datetime) -> SavedState:
    """A pod that lost its disk resumes from what it last reported. Segments published
    after that report are unknown, so the counters jump past every number they could have
    reached: they must never go back."""
    stream = status.stream
    reported = (stream.last_segment_at if stream else None) or now
    unreported = max(now - reported, timedelta(0)).total_seconds()
    # The engine reports at least every 30 s; a window is at most 100 segments.
    skip = 100 + math.ceil((unreported + 60) / max(segment_seconds, 1))
    media_sequence = (stream.media_sequence or 0) + skip if stream else 0
    discontinuity = (stream.discontinuity_sequence or 0) + skip if stream else 0
    return SavedState(
        epoch=int(now.timestamp()),
        progress=status.progress,
        current=status.now_playing.program if status.now_playing else None,
        media_sequence=media_sequence,
        discontinuity_sequence=discontinuity,
        saved_at=now,
    )
