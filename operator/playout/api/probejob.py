"""The ProbeJob resource: media quality checks with pass/fail verdicts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from playout.api.common import (
    Conditions,
    LocalObjectReference,
    MediaPath,
    MediaVolume,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    cel,
)
from playout.api.meta import ObjectMeta, Resource
from playout.api.thresholds import (
    THRESHOLD_NAMES,
    explain_thresholds,
    unknown_message,
    unknown_names,
)

# The probe Job is named "<probejob>-<generation>" and a CronJob name is capped at 52.
PROBEJOB_NAME_MAX = 40

_SOURCE_KINDS = ("url", "volume", "channelRef")
_CRON = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|(TZ=\S+\s+)?\S+\s+\S+\s+\S+\s+\S+\s+\S+)$"
)


def _known_thresholds(value: dict[str, float]) -> dict[str, float]:
    unknown = unknown_names(list(value))
    if unknown:
        raise ValueError(unknown_message(unknown))
    return value


Thresholds = Annotated[
    dict[str, float],
    Field(
        max_length=64,
        description=explain_thresholds(),
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    f"self.all(name, name in {list(THRESHOLD_NAMES)})",
                    "unknown threshold name (see `kubectl explain probejob.spec.thresholds`)",
                )
            ]
        },
    ),
    AfterValidator(_known_thresholds),
]
"""Per-check threshold overrides, by name; shared by ProbeJob and a Channel's checks."""


class ProbeSource(SpecModel):
    """What to check. Set exactly one of `url`, `volume` (with `path`) or `channelRef`."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    " + ".join(f"(has(self.{kind}) ? 1 : 0)" for kind in _SOURCE_KINDS) + " == 1",
                    "set exactly one of url, volume or channelRef",
                ),
                cel(
                    "has(self.volume) == has(self.path)",
                    "`path` goes with `volume`: set both or neither",
                    ".path",
                ),
            ]
        }
    )

    url: str | None = Field(
        default=None,
        max_length=2048,
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "isURL(self) && url(self).getScheme() in ['http', 'https']",
                    "must be an http:// or https:// URL",
                )
            ]
        },
    )
    """An http(s) URL of a media file or an HLS playlist."""
    volume: MediaVolume | None = None
    """A volume holding the file, mounted read-only at /media."""
    path: MediaPath | None = None
    """The file to check, relative to the root of `volume`."""
    channel_ref: LocalObjectReference | None = None
    """A Channel in the same namespace: its live stream is checked."""

    @model_validator(mode="after")
    def _one_source(self) -> ProbeSource:
        given = [self.url is not None, self.volume is not None, self.channel_ref is not None]
        if sum(given) != 1:
            raise ValueError("set exactly one of url, volume or channelRef")
        if (self.volume is None) != (self.path is None):
            raise ValueError("`path` goes with `volume`: set both or neither")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        return self


class ProbeProfile(StrEnum):
    QUICK = "quick"
    STANDARD = "standard"
    BROADCAST = "broadcast"


class ProbeJobSpec(SpecModel):
    """Desired state of a ProbeJob."""

    source: ProbeSource
    """What to check."""
    profile: ProbeProfile = ProbeProfile.STANDARD
    """`quick`: metadata and GOP only; `standard`: also content checks in one decode pass;
    `broadcast`: standard with EBU R128 loudness limits."""
    thresholds: Thresholds = {}
    schedule: str | None = Field(default=None, max_length=128, pattern=_CRON)
    """Cron schedule (e.g. "*/30 * * * *"): probe periodically with a CronJob instead of
    once."""
    timeout_seconds: int = Field(default=600, ge=10, le=86400)
    """Wall-clock limit of one probe run; the run fails when it is exceeded."""
    resources: ResourceRequirements | None = None
    """Resources of the prober container; defaults depend on `profile`."""


class ProbeJobPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"


class CheckStatus(StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class TimeRange(StatusModel):
    """Where in the media a problem is, in seconds from the start."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)


class Check(StatusModel):
    """The result of one check."""

    name: str
    """Check name, e.g. black, freeze, loudness."""
    status: CheckStatus
    """pass, warn, fail, or error when the check could not run."""
    value: float | None = None
    """What was measured."""
    threshold: float | None = None
    """The limit it was held against."""
    message: str = ""
    """What was found, for humans."""
    events: list[TimeRange] = []
    """Where the problem occurs."""
    events_total: int | None = None
    """How many events there were, when `events` lists only the first of them."""


class GopSummary(StatusModel):
    """Keyframe spacing, from the packets (no decode)."""

    keyframes: int
    average_seconds: float | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None


class VideoSummary(StatusModel):
    """The main video stream."""

    codec: str | None = None
    profile: str | None = None
    level: str | None = None
    width: int | None = None
    height: int | None = None
    sample_aspect_ratio: str | None = None
    display_aspect_ratio: str | None = None
    frame_rate: float | None = None
    frame_rate_mode: Literal["constant", "variable"] | None = None
    pixel_format: str | None = None
    bit_depth: int | None = None
    chroma_subsampling: str | None = None
    field_order: str | None = None
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_matrix: str | None = None
    color_range: str | None = None
    hdr: str | None = None
    """HDR10, HLG or PQ when the stream is HDR; side data found is listed in `sideData`."""
    side_data: list[str] = []
    bit_rate: int | None = None
    gop: GopSummary | None = None


class AudioSummary(StatusModel):
    """The main audio stream."""

    codec: str | None = None
    profile: str | None = None
    sample_rate: int | None = None
    sample_format: str | None = None
    channels: int | None = None
    channel_layout: str | None = None
    bit_rate: int | None = None
    language: str | None = None


class StreamSummary(StatusModel):
    """One stream of the container."""

    index: int
    type: str
    codec: str | None = None
    language: str | None = None
    dispositions: list[str] = []


class BitrateSummary(StatusModel):
    """Bitrate over fixed windows of the whole file, from the packets."""

    window_seconds: float
    average: int
    peak: int
    stddev: int


class Summary(StatusModel):
    """What the media is."""

    container: str | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    bit_rate: int | None = None
    probe_score: int | None = None
    live: bool | None = None
    """The source has no known end (a live stream): only its first `liveSeconds` were read."""
    bitrate_windows: BitrateSummary | None = None
    video: VideoSummary | None = None
    audio: AudioSummary | None = None
    streams: list[StreamSummary] = []


class ProbeReport(StatusModel):
    """What one probe run found: the JSON that `playout probe --json` prints."""

    verdict: Verdict | None = None
    """pass, warn or fail: the worst status of the checks (an error counts as fail)."""
    summary: Summary | None = None
    """What the media is."""
    checks: list[Check] = []
    """Every check that ran."""
    notes: list[str] = []
    """What the report leaves out and why (a measurement this ffmpeg cannot make, or
    details trimmed to fit the pod's termination message)."""
    elapsed_seconds: float | None = None
    """How long the probe took."""


class ProbeRun(StatusModel):
    """One earlier probe run, in brief."""

    job: str
    """The Job that ran it."""
    finished_at: datetime | None = None
    """When it finished."""
    verdict: Verdict | None = None
    """Its verdict."""
    problems: list[str] = []
    """Checks that did not pass."""


HISTORY_LIMIT = 10


class ProbeJobStatus(ProbeReport):
    """Observed state of a ProbeJob: the latest report, and how the operator sees it."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` the operator last acted on."""
    phase: ProbeJobPhase | None = None
    """Pending, Running, Succeeded (the probe ran; see `verdict`) or Failed (it could not)."""
    conditions: Conditions = []
    """Ready, Reconciling, Stalled and Complete."""
    last_run_at: datetime | None = None
    """When the latest probe run finished."""
    history: Annotated[list[ProbeRun], Field(max_length=HISTORY_LIMIT)] = []
    """The latest runs, oldest first (a scheduled probe keeps the last 10)."""


class ProbeJob(Resource):
    """A media quality check."""

    kind: Literal["ProbeJob"] = "ProbeJob"
    metadata: ObjectMeta
    spec: ProbeJobSpec
    status: ProbeJobStatus = ProbeJobStatus()
