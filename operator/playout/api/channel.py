"""The Channel resource: a lineup played back to back, forever, as one live HLS stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from playout.api.common import (
    Conditions,
    MediaPath,
    MediaVolume,
    PersistentVolumeClaimSource,
    Quantity,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    cel,
)
from playout.api.meta import ObjectMeta, Resource
from playout.api.probejob import Thresholds

# Children are named after the Channel with suffixes of up to 6 characters ("-sweep"), and
# the CronJob name limit is 52; a Service name must also be a DNS label.
CHANNEL_NAME_MAX = 46


class Program(SpecModel):
    """One entry of the lineup: a file, or a folder of files, under the media root."""

    name: str | None = Field(default=None, min_length=1, max_length=63)
    """Key of this program in `status.progress`; defaults to `path`. Renaming a program
    starts its resume cursor afresh."""
    path: MediaPath
    """File or folder, relative to the media root. A folder plays its media files in
    natural episode order (S01E02 before S01E10)."""
    order: Literal["sequential", "shuffle"] = "sequential"
    """`sequential` plays a folder in natural order; `shuffle` in a random order whose seed
    is recorded in `status.progress`, so a restart keeps the same order."""
    resume: bool = True
    """Remember where this program stopped, to the segment, across restarts."""
    items_per_turn: int = Field(default=1, ge=1, le=100)
    """Items this program plays before the next program's turn (1: programs alternate
    item by item)."""

    @property
    def key(self) -> str:
        return self.name or self.path


def _program_key(variable: str) -> str:
    return f"(has({variable}.name) ? {variable}.name : {variable}.path)"


class Bumpers(SpecModel):
    """Short interstitials played between items."""

    path: MediaPath | None = None
    """Folder of bumper clips, relative to the media root; one plays between two items, in
    rotation."""
    up_next: bool = False
    """Also show a generated "Up next: <title>" card between items."""
    up_next_seconds: int = Field(default=4, ge=1, le=30)
    """How long the "Up next" card stays on screen."""


class Loudness(SpecModel):
    """EBU R128 loudness normalisation (ffmpeg loudnorm), applied in transcode mode."""

    enabled: bool = True
    """Normalise every item to the same loudness, so viewers do not reach for the remote at
    each boundary."""
    integrated_lufs: float = Field(default=-23.0, ge=-70, le=-5)
    """Target integrated loudness (EBU R128: -23; many streaming services use -16)."""
    true_peak_dbtp: float = Field(default=-1.0, ge=-9, le=0)
    """Maximum true peak."""
    range_lu: float = Field(default=7.0, ge=1, le=50)
    """Target loudness range."""


class VideoOutput(SpecModel):
    """The video every item is normalised to in transcode mode."""

    codec: Literal["h264"] = "h264"
    """Video codec of the stream (H.264 plays everywhere HLS does)."""
    width: int = Field(default=1280, ge=16, le=7680, multiple_of=2)
    """Frame width in pixels; sources of another shape are scaled and padded."""
    height: int = Field(default=720, ge=16, le=4320, multiple_of=2)
    """Frame height in pixels."""
    frame_rate: float = Field(default=30, gt=0, le=120)
    """Frames per second (e.g. 25, 29.97, 30, 50, 60)."""
    bitrate_kbps: int = Field(default=3000, ge=100, le=100000)
    """Target video bit rate."""
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    """x264 speed preset: slower presets need more CPU for the same quality."""


class AudioOutput(SpecModel):
    """The audio every item is normalised to in transcode mode."""

    codec: Literal["aac"] = "aac"
    """Audio codec of the stream."""
    bitrate_kbps: int = Field(default=128, ge=32, le=512)
    """Target audio bit rate."""
    sample_rate: Literal[44100, 48000] = 48000
    """Samples per second."""
    channels: Literal[1, 2] = 2
    """1 (mono) or 2 (stereo)."""
    loudness: Loudness = Loudness()
    """Loudness normalisation."""


class Output(SpecModel):
    """How the stream is made and packaged."""

    mode: Literal["copy", "transcode"] = "transcode"
    """`copy` repackages sources that already match each other without re-encoding (cheap);
    `transcode` normalises every item to `video` and `audio` (mixed sources)."""
    segment_seconds: int = Field(default=2, ge=1, le=10)
    """Target duration of each HLS segment."""
    window_segments: int = Field(default=10, ge=3, le=100)
    """Segments listed in the live playlist."""
    video: VideoOutput = VideoOutput()
    """Video settings for transcode mode."""
    audio: AudioOutput = AudioOutput()
    """Audio settings for transcode mode."""
    allowed_origins: Annotated[list[str], Field(max_length=32)] = []
    """Web origins (e.g. https://tv.example.com) whose pages may play the stream (CORS).
    Empty: only the channel's own player page can; "*" allows any."""


class Storage(SpecModel):
    """Where segments and engine state are written."""

    size_limit: Quantity = "1Gi"
    """Disk the channel may use. Without a claim this is the size limit of the pod's
    emptyDir; the engine keeps well inside it by deleting segments that left the window."""
    persistent_volume_claim: PersistentVolumeClaimSource | None = None
    """Keep segments and state on this claim instead of an emptyDir; a cleanup CronJob then
    sweeps segments a crash left behind."""


class MediaChecks(SpecModel):
    """Checks of every item before it airs, with the prober's quick profile (container,
    streams, keyframe interval; no decode). An item that fails is skipped, and the reason
    shows in `status.skipped`."""

    thresholds: Thresholds = {}


class ChannelSpec(SpecModel):
    """Desired state of a Channel."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    f"self.programs.all(p, self.programs.exists_one(q, {_program_key('q')} == "
                    f"{_program_key('p')}))",
                    "program names must be unique (set `name` where two programs share a path)",
                    ".programs",
                )
            ]
        }
    )

    media: MediaVolume
    """The volume holding the media, mounted read-only at /media."""
    programs: Annotated[list[Program], Field(min_length=1, max_length=100)]
    """The lineup, played in order and looped."""
    bumpers: Bumpers | None = None
    """Interstitials between items."""
    output: Output = Output()
    """Stream settings."""
    resources: ResourceRequirements | None = None
    """Resources of the streamer container; defaults depend on `output.mode`."""
    storage: Storage = Storage()
    """Disk for segments and state."""
    suspend: bool = False
    """Take the channel off air (scale to zero) without deleting it; progress is kept."""
    probe: MediaChecks | None = None
    """Check media before it airs (set `{}` for the defaults); items that fail are
    skipped."""

    @model_validator(mode="after")
    def _unique_program_keys(self) -> ChannelSpec:
        keys = [program.key for program in self.programs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(
                f"program names must be unique, {duplicates} repeat "
                "(set `name` where two programs share a path)"
            )
        return self


class ChannelPhase(StrEnum):
    PENDING = "Pending"
    STARTING = "Starting"
    LIVE = "Live"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    FAILED = "Failed"


class NowPlaying(StatusModel):
    """What is on air."""

    program: str
    """Key of the program the item belongs to (empty for bumpers and slates)."""
    item: str
    """Path of the file on air, relative to the media root."""
    title: str
    """Human title of the item."""
    started_at: datetime
    """Wall-clock time the item went on air."""
    position_seconds: float = Field(ge=0)
    """Seconds into the item."""
    duration_seconds: float | None = Field(default=None, ge=0)
    """Length of the item, where known."""


class ProgramProgress(StatusModel):
    """The resume cursor of one program."""

    item: str
    """Path of the item to resume, relative to the media root."""
    position_seconds: float = Field(ge=0)
    """Where to resume in that item, at a segment boundary."""
    index: int | None = Field(default=None, ge=0)
    """Position of `item` in the program's play order; where to carry on if the file is
    gone."""
    seed: int | None = None
    """Shuffle seed, so the order survives restarts."""


class StreamStatus(StatusModel):
    """The live HLS stream."""

    url: str | None = None
    """In-cluster URL of the live playlist."""
    media_sequence: int | None = Field(default=None, ge=0)
    """EXT-X-MEDIA-SEQUENCE of the live playlist; it never decreases."""
    discontinuity_sequence: int | None = Field(default=None, ge=0)
    """EXT-X-DISCONTINUITY-SEQUENCE of the live playlist; it never decreases."""
    last_segment_at: datetime | None = None
    """When the engine last wrote a segment; the operator derives StreamHealthy from it."""


class SkippedItem(StatusModel):
    """An item the engine passed over."""

    item: str
    """Path of the item, relative to the media root."""
    reason: str
    """missing, unreadable, undecodable, or rejected (it failed `spec.probe`)."""
    message: str = ""
    """What went wrong, for humans."""
    at: datetime
    """When it was skipped; it is tried again later."""


class ChannelStatus(StatusModel):
    """Observed state of a Channel, written by the operator (phase, conditions) and the
    streamer engine (nowPlaying, progress, stream)."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` the operator last acted on."""
    phase: ChannelPhase | None = None
    """A one-word summary: Pending, Starting, Live, Degraded, Suspended or Failed."""
    conditions: Conditions = []
    """Ready, Reconciling, Stalled and StreamHealthy."""
    now_playing: NowPlaying | None = None
    """What is on air."""
    progress: dict[str, ProgramProgress] = {}
    """Resume cursors, by program key."""
    stream: StreamStatus | None = None
    """The live stream."""
    skipped: Annotated[list[SkippedItem], Field(max_length=20)] = []
    """The latest items skipped, newest first."""


class Channel(Resource):
    """A 24/7 linear TV channel."""

    kind: Literal["Channel"] = "Channel"
    metadata: ObjectMeta
    spec: ChannelSpec
    status: ChannelStatus = ChannelStatus()
