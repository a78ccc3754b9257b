"""The ProbeJob resource: media quality checks with pass/fail verdicts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

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

# The probe Job is named "<probejob>-<generation>" and a CronJob name is capped at 52.
PROBEJOB_NAME_MAX = 40

_SOURCE_KINDS = ("url", "volume", "channelRef")
_CRON = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|(TZ=\S+\s+)?\S+\s+\S+\s+\S+\s+\S+\s+\S+)$"
)


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
    thresholds: Annotated[dict[str, float], Field(max_length=64)] = {}
    """Per-check threshold overrides, by check name (e.g. {blackSeconds: 1})."""
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


class VideoSummary(StatusModel):
    """The main video stream."""

    codec: str | None = None
    profile: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    pixel_format: str | None = None


class AudioSummary(StatusModel):
    """The main audio stream."""

    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    channel_layout: str | None = None


class Summary(StatusModel):
    """What the media is."""

    container: str | None = None
    duration_seconds: float | None = None
    bit_rate: int | None = None
    video: VideoSummary | None = None
    audio: AudioSummary | None = None


class ProbeJobStatus(StatusModel):
    """Observed state of a ProbeJob."""

    observed_generation: int | None = Field(default=None, ge=0)
    """The `metadata.generation` the operator last acted on."""
    phase: ProbeJobPhase | None = None
    """Pending, Running, Succeeded (the probe ran; see `verdict`) or Failed (it could not)."""
    conditions: Conditions = []
    """Ready, Reconciling, Stalled and Complete."""
    verdict: Verdict | None = None
    """pass, warn or fail: the worst status of the checks."""
    summary: Summary | None = None
    """What the media is."""
    checks: list[Check] = []
    """Every check that ran."""
    last_run_at: datetime | None = None
    """When the latest probe run finished."""


class ProbeJob(Resource):
    """A media quality check."""

    kind: Literal["ProbeJob"] = "ProbeJob"
    metadata: ObjectMeta
    spec: ProbeJobSpec
    status: ProbeJobStatus = ProbeJobStatus()
