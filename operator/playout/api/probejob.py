"""The ProbeJob resource: media quality checks with pass/fail verdicts."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from playout.api.common import (
    CONTROL_CHARACTERS,
    ChannelName,
    Conditions,
    MediaPath,
    MediaVolume,
    Pattern,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    TimeZone,
    cel,
)
from playout.api.meta import ObjectMeta, Resource
from playout.api.thresholds import (
    THRESHOLD_NAMES,
    THRESHOLDS,
    Threshold,
    explain_thresholds,
    out_of_range,
    unknown_message,
    unknown_names,
)
from playout.media.channels import CHANNEL_LAYOUTS
from playout.media.folders import MEDIA_NAME_PATTERN, is_media_name

# The probe Job is named "<probejob>-<generation>" and a CronJob name is capped at 52.
PROBEJOB_NAME_MAX = 40

_SOURCE_KINDS = ("url", "volume", "channelRef")
_RECURSIVE_ALONE = "`recursive` goes with a folder `path` on a `volume`: remove it, or set both"
_PARALLELISM_ALONE = (
    "parallelism applies to a folder source (`volume` with a folder `path`): remove it"
)
# A library probe's pods: enough for a node's cores, few enough that one ProbeJob cannot
# occupy a cluster.
PARALLELISM_MAX = 32
DEFAULT_PARALLELISM = 2

# --- cron schedules ---------------------------------------------------------------------

# The five fields of the cron dialect CronJobs read (robfig/cron): each a list of `*` or
# a value or range, with an optional step; `?` in the day fields; names for months and days.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_VALUES = (
    r"[0-5]?[0-9]",
    r"[01]?[0-9]|2[0-3]",
    r"0?[1-9]|[12][0-9]|3[01]",
    r"0?[1-9]|1[0-2]|(?i:" + "|".join(_MONTHS) + ")",
    r"[0-6]|(?i:" + "|".join(_DAYS) + ")",
)
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _cron_field(values: str, *, any_day: bool) -> str:
    item = rf"(\*|({values})(-({values}))?)(/[1-9][0-9]*)?"
    return rf"{item}(,{item})*" + (r"|\?" if any_day else "")


CRON_TZ = Pattern(
    r"^[ \t]*(CRON_)?TZ=",
    "set the time zone in spec.timeZone, not in the schedule (remove the TZ= prefix)",
    refused=True,
)
CRON = Pattern(
    r"@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[ \t]*"
    + r"[ \t]+".join(
        f"({_cron_field(values, any_day=index in (2, 4))})"
        for index, values in enumerate(_CRON_VALUES)
    )
    + r"[ \t]*",
    "must be a cron schedule: minute (0-59), hour (0-23), day of month (1-31), month "
    '(1-12 or jan-dec) and day of week (0-6 or sun-sat), e.g. "*/30 * * * *", or '
    "@hourly, @daily, @weekly, @monthly, @yearly",
)


def _cron_number(text: str) -> int:
    lowered = text.lower()
    for names in (_MONTHS, _DAYS):
        if lowered in names:
            return names.index(lowered) + (names is _MONTHS)
    return int(text)


def _ranges_run_upwards(schedule: str) -> str:
    """What the pattern cannot say: a range's start is not after its end (30-10)."""
    if schedule.startswith("@"):
        return schedule
    for name, field in zip(_CRON_NAMES, schedule.split(), strict=True):
        for item in field.split(","):
            low, _, high = item.partition("/")[0].partition("-")
            if high and _cron_number(low) > _cron_number(high):
                raise ValueError(
                    f"the {name} range {low}-{high} runs backwards: write it from low to high"
                )
    return schedule


CronSchedule = Annotated[
    str,
    Field(min_length=1, max_length=128),
    CRON_TZ,
    CRON,
    AfterValidator(_ranges_run_upwards),
]

# --- URLs -------------------------------------------------------------------------------

URL_TEXT = Pattern(
    rf" |{CONTROL_CHARACTERS}",
    "must not contain spaces or control characters (percent-encode them: %20)",
    refused=True,
)
_URL_MESSAGE = "must be an http:// or https:// URL with a host"


def _check_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as error:  # an unclosed [IPv6 address, a port that is not a number
        raise ValueError(f"{_URL_MESSAGE} ({error})") from error
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(_URL_MESSAGE)
    return value


Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "isURL(self) && url(self).getScheme() in ['http', 'https'] && "
                    "url(self).getHostname() != ''",
                    _URL_MESSAGE,
                )
            ]
        },
    ),
    URL_TEXT,
    AfterValidator(_check_url),
]


def _known_thresholds(value: dict[str, float]) -> dict[str, float]:
    unknown = unknown_names(list(value))
    if unknown:
        raise ValueError(unknown_message(unknown))
    wrong = out_of_range(value)
    if wrong:
        raise ValueError("; ".join(wrong))
    return value


def _range_rule(threshold: Threshold) -> dict[str, str]:
    low, high = threshold.range
    value = f"self['{threshold.name}']"
    bounds = f"{value} >= {float(low)!r}"
    if high is not None:
        bounds += f" && {value} <= {float(high)!r}"
    return cel(f"!('{threshold.name}' in self) || ({bounds})", threshold.range_message)


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
                ),
                *(_range_rule(threshold) for threshold in THRESHOLDS),
            ]
        },
    ),
    AfterValidator(_known_thresholds),
]
"""Per-check threshold overrides, by name; shared by ProbeJob and a Channel's checks."""


_LAYOUT_MESSAGE = (
    'must be a channel layout as ffprobe prints channel_layout (quote numbers: "5.1"), '
    f"one of {', '.join(CHANNEL_LAYOUTS)}"
)


def _known_layout(value: str) -> str:
    if value not in CHANNEL_LAYOUTS:
        raise ValueError(f"{value!r} {_LAYOUT_MESSAGE}")
    return value


ChannelLayout = Annotated[
    str,
    Field(
        max_length=32,
        json_schema_extra={
            "x-kubernetes-validations": [cel(f"self in {list(CHANNEL_LAYOUTS)}", _LAYOUT_MESSAGE)]
        },
    ),
    AfterValidator(_known_layout),
]


class ProbeRequirements(SpecModel):
    """What the media must have beyond the profile's thresholds: a distributor's delivery
    rules. Each one found missing fails the check named (warns in the `quick` and
    `standard` profiles for `channelLayout`)."""

    audio_layouts: Annotated[list[ChannelLayout], Field(max_length=16)] = []
    """The channel layouts every audio track must have one of, e.g. [stereo, "5.1"]; a
    5.1(side) track meets "5.1". Empty: any layout, as long as it is declared (check
    `channelLayout`)."""
    captions: bool = False
    """CEA-608/708 closed captions must be carried in the video (check `captions`; US
    distributors require them). Found by the decode pass, so not in the `quick` profile."""

    @property
    def any(self) -> bool:
        return bool(self.audio_layouts) or self.captions


class ChannelReference(SpecModel):
    """A Channel in the same namespace."""

    name: ChannelName
    """Name of the Channel."""


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
                cel(
                    "!has(self.recursive) || !self.recursive || has(self.path)",
                    _RECURSIVE_ALONE,
                    ".recursive",
                ),
            ]
        }
    )

    url: Url | None = None
    """An http(s) URL of a media file or an HLS playlist."""
    volume: MediaVolume | None = None
    """A volume holding the file, mounted read-only at /media."""
    path: MediaPath | None = None
    """The file or folder to check, relative to the root of `volume`. A path whose name
    ends in a media extension (.mkv, .mp4, .ts...) is a file; any other is a folder, whose
    media files are each checked (a library probe: see `parallelism`)."""
    recursive: bool = False
    """With a folder `path`: also check the files in its subfolders (hidden ones are left
    out)."""
    channel_ref: ChannelReference | None = None
    """A Channel in the same namespace: its live stream is checked."""

    @property
    def is_folder(self) -> bool:
        """A library probe: every media file under `path`."""
        return self.path is not None and (self.recursive or not is_media_name(self.path))

    @model_validator(mode="after")
    def _one_source(self) -> ProbeSource:
        given = [self.url is not None, self.volume is not None, self.channel_ref is not None]
        if sum(given) != 1:
            raise ValueError("set exactly one of url, volume or channelRef")
        if (self.volume is None) != (self.path is None):
            raise ValueError("`path` goes with `volume`: set both or neither")
        if self.recursive and self.path is None:
            raise ValueError(_RECURSIVE_ALONE)
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        if self.url is not None and not _has_valid_port(self.url):
            raise ValueError("url must have no port or one from 1 to 65535")
        return self


def _has_valid_port(url: str) -> bool:
    """The port the prober's NetworkPolicy opens; admission's isURL() takes any digits."""
    try:
        return urlsplit(url).port != 0
    except ValueError:
        return False


_TIME_ZONE_ALONE = "timeZone goes with schedule: set a schedule, or remove timeZone"


class ProbeProfile(StrEnum):
    QUICK = "quick"
    STANDARD = "standard"
    BROADCAST = "broadcast"


class ProbeJobSpec(SpecModel):
    """Desired state of a ProbeJob."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.timeZone) || has(self.schedule)",
                    _TIME_ZONE_ALONE,
                    ".timeZone",
                ),
                # A folder, as `ProbeSource.is_folder` tells one.
                cel(
                    "!has(self.parallelism) || has(self.source.path) && ("
                    "has(self.source.recursive) && self.source.recursive"
                    f" || !self.source.path.matches({json.dumps(MEDIA_NAME_PATTERN)}))",
                    _PARALLELISM_ALONE,
                    ".parallelism",
                ),
            ]
        }
    )

    source: ProbeSource
    """What to check."""
    profile: ProbeProfile = ProbeProfile.STANDARD
    """`quick`: metadata and GOP only; `standard`: also content checks in one decode pass;
    `broadcast`: standard with EBU R128 loudness limits."""
    thresholds: Thresholds = {}
    require: ProbeRequirements | None = None
    """Delivery rules the media must meet: channel layouts, closed captions."""
    schedule: CronSchedule | None = None
    """Cron schedule (e.g. "*/30 * * * *"): probe periodically with a CronJob instead of
    once."""
    time_zone: TimeZone | None = None
    """IANA time zone the `schedule` is read in (e.g. Europe/Berlin); daylight saving
    changes are followed. Default: the time zone of the cluster's controller manager,
    usually UTC."""
    timeout_seconds: int = Field(default=600, ge=10, le=86400)
    """Wall-clock limit of one probe run; the run fails when it is exceeded. For a folder
    it applies to each file: a file that takes longer gets an error check and the next one
    is probed."""
    parallelism: int | None = Field(default=None, ge=1, le=PARALLELISM_MAX)
    """How many pods probe a folder at once (default 2), as an Indexed Job whose pods each
    take one shard of the files; each pod gets `resources`. Only for a folder source."""
    resources: ResourceRequirements | None = None
    """Resources of the prober container; defaults depend on `profile`."""
    allow_private_addresses: bool = False
    """Let a `source.url` (and every redirect and playlist entry it leads to) reach
    private, loopback and link-local addresses, such as a media server inside the cluster
    or the company network. Off by default: a probe connects to public addresses only, so
    a ProbeJob cannot read the cluster's own services. Cloud metadata addresses are
    refused even with it; a `channelRef` source needs no opt-in."""

    @model_validator(mode="after")
    def _time_zone_goes_with_schedule(self) -> ProbeJobSpec:
        if self.time_zone is not None and self.schedule is None:
            raise ValueError(_TIME_ZONE_ALONE)
        if self.parallelism is not None and not self.source.is_folder:
            raise ValueError(_PARALLELISM_ALONE)
        return self

    @property
    def shards(self) -> int:
        """How many pods share the work: one for anything but a folder."""
        if not self.source.is_folder:
            return 1
        return self.parallelism or DEFAULT_PARALLELISM


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
    """Where it begins."""
    end: float = Field(ge=0)
    """Where it ends."""


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
    """How many keyframes the stream has."""
    average_seconds: float | None = None
    """The average time from one keyframe to the next."""
    min_seconds: float | None = None
    """The shortest time from one keyframe to the next."""
    max_seconds: float | None = None
    """The longest GOP, counting the last one, which runs to the end of the stream."""


class VideoSummary(StatusModel):
    """The main video stream."""

    codec: str | None = None
    """The codec, as ffprobe names it (h264, hevc, mpeg2video...)."""
    profile: str | None = None
    """The codec's profile (High, Main 10...)."""
    level: str | None = None
    """The codec's level (4.1...)."""
    width: int | None = None
    """Width of the picture in pixels."""
    height: int | None = None
    """Height of the picture in pixels."""
    sample_aspect_ratio: str | None = None
    """The shape of a pixel (1:1 for square pixels)."""
    display_aspect_ratio: str | None = None
    """The shape of the picture as shown (16:9...)."""
    frame_rate: float | None = None
    """Frames per second: the stream's average rate, else its base rate."""
    frame_rate_mode: Literal["constant", "variable"] | None = None
    """constant when nearly every frame lasts as long as the most common frame duration,
    from the packets' times; variable otherwise."""
    pixel_format: str | None = None
    """The pixel format, as ffmpeg names it (yuv420p, yuv420p10le...)."""
    bit_depth: int | None = None
    """Bits per sample."""
    chroma_subsampling: str | None = None
    """How colour is sampled against brightness (4:2:0, 4:2:2, 4:4:4...)."""
    field_order: str | None = None
    """progressive, or for interlaced video the field order as ffprobe says it (tt, bb,
    tb, bt)."""
    color_primaries: str | None = None
    """The colour primaries (bt709, bt2020...)."""
    color_transfer: str | None = None
    """The transfer characteristics (bt709, smpte2084 for PQ, arib-std-b67 for HLG...)."""
    color_matrix: str | None = None
    """The matrix from RGB to YUV (bt709, bt2020nc...)."""
    color_range: str | None = None
    """tv (limited range) or pc (full range)."""
    hdr: str | None = None
    """HDR10, HLG or PQ when the stream is HDR; side data found is listed in `sideData`."""
    side_data: list[str] = []
    """The kinds of side data the stream carries (mastering display metadata, Dolby Vision
    configuration...); for PQ video also its first frame's, where MPEG-TS and x265 put the
    mastering display and content light level metadata."""
    bit_rate: int | None = None
    """The stream's bitrate as the container declares it, in bits per second."""
    gop: GopSummary | None = None


class AudioSummary(StatusModel):
    """The main audio stream."""

    codec: str | None = None
    """The codec, as ffprobe names it (aac, ac3, mp2...)."""
    profile: str | None = None
    """The codec's profile (LC, HE-AAC...)."""
    sample_rate: int | None = None
    """Samples per second."""
    sample_format: str | None = None
    """The sample format, as ffmpeg names it (fltp, s16...)."""
    channels: int | None = None
    """How many channels."""
    channel_layout: str | None = None
    """Which channels (mono, stereo, 5.1...)."""
    bit_rate: int | None = None
    """The stream's bitrate as the container declares it, in bits per second."""
    language: str | None = None
    """The stream's language tag (eng, deu...), when it has one."""


class StreamSummary(StatusModel):
    """One stream of the container."""

    index: int
    """Its index in the container."""
    type: str
    """video, audio, subtitle, data or attachment."""
    codec: str | None = None
    """The codec, as ffprobe names it."""
    language: str | None = None
    """Its language tag, when it has one."""
    dispositions: list[str] = []
    """The disposition flags it has set (default, forced, attached_pic...)."""


class BitrateSummary(StatusModel):
    """Bitrate over fixed windows of the whole file, from the packets."""

    window_seconds: float
    """The length of one window."""
    average: int
    """The average over the windows, in bits per second."""
    peak: int
    """The highest window, in bits per second."""
    stddev: int
    """The standard deviation over the windows, in bits per second."""


class Summary(StatusModel):
    """What the media is."""

    container: str | None = None
    """The container format, as ffprobe names it (mov,mp4,m4a,3gp,3g2,mj2, matroska,webm,
    mpegts, hls...)."""
    duration_seconds: float | None = None
    """The duration the container declares; none for a live source."""
    size_bytes: int | None = None
    """The size of the source in bytes, when known."""
    bit_rate: int | None = None
    """The overall bitrate the container declares, in bits per second."""
    probe_score: int | None = None
    """How sure ffprobe is of the container format, up to 100 (certain)."""
    live: bool | None = None
    """The source has no known end (a live stream): only its first `liveSeconds` were read."""
    bitrate_windows: BitrateSummary | None = None
    video: VideoSummary | None = None
    audio: AudioSummary | None = None
    streams: list[StreamSummary] = []
    """Every stream of the container, in its order."""


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


class LoudnessCurve(StatusModel):
    """Loudness over time, what the report's graph draws: one point a step (a tenth of a
    second, more for long media), as ebur128 measured it. Null where there is nothing to
    measure (digital silence, or before the meter's first window: 400 ms for momentary,
    3 s for short-term)."""

    seconds: list[float] = []
    """The time of each point."""
    momentary: list[float | None] = []
    """Momentary loudness (400 ms window), LUFS."""
    short_term: list[float | None] = []
    """Short-term loudness (3 s window), LUFS."""
    true_peak: list[float | None] = []
    """The highest true peak so far, dBTP (the meter keeps a running maximum, so the curve
    rises where the peaks are)."""


class Thumbnail(StatusModel):
    """A small picture of the video at one time."""

    seconds: float = Field(ge=0)
    """Where in the media it was taken."""
    jpeg: str
    """The picture, a base64-encoded JPEG."""


class Pictures(StatusModel):
    """What the decode pass saw, for people: the loudness graph and pictures at the events
    and across the media. In the report ConfigMap and the HTML report, never in status."""

    loudness: LoudnessCurve | None = None
    """None without audio."""
    thumbnails: list[Thumbnail] = []
    """In time order: one at the start of each event (the first ones, if there are many)
    and a few spread evenly over the media."""
    thumbnail_seconds: float | None = None
    """How far apart the pictures the decode pass took were: an event's picture is at most
    this far from its start."""


class DetailedReport(ProbeReport):
    """A probe report with the pictures of its decode pass: what a single source's report
    ConfigMap holds and what the HTML report draws."""

    pictures: Pictures | None = None
    """None when the probe was not asked for pictures, or the source has no decode pass."""


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
# A library probe's status lists this many of its worst files; the report has them all.
WORST_FILES = 20


class LibraryFile(StatusModel):
    """One file of a library probe."""

    path: str
    """The file, relative to the probed folder."""
    status: CheckStatus
    """fail if a check failed, else error if one could not run, else warn or pass."""
    problems: list[str] = []
    """The checks that did not pass."""
    size_bytes: int | None = None
    """The file's size when it was probed."""
    modified: float | None = None
    """The file's modification time when it was probed (seconds since 1970): with
    `sizeBytes`, what tells a later run the file is unchanged."""
    reused: bool = False
    """The result of an earlier run, carried over because the file did not change."""
    report: ProbeReport | None = None
    """The file's whole report (in the report ConfigMap, not in the status)."""


class FileCounts(StatusModel):
    """How many files of a library probe ended how."""

    total: int = 0
    """Every file probed or carried over."""
    passed: int = Field(default=0, alias="pass")
    """Files that passed every check."""
    warned: int = Field(default=0, alias="warn")
    """Files whose worst check warned."""
    failed: int = Field(default=0, alias="fail")
    """Files with a failed check."""
    errors: int = Field(default=0, alias="error")
    """Files with a check that could not run (none failed)."""
    reused: int = 0
    """Files whose earlier result was carried over (unchanged since it was probed)."""


class LibraryReport(StatusModel):
    """Every file of a library probe (or of one shard of it): what `playout probe FOLDER
    --json` prints, and what the report ConfigMap holds."""

    source: str
    """The folder, as the prober saw it."""
    profile: ProbeProfile
    """The profile the files were checked with."""
    thresholds: dict[str, float] = {}
    """The threshold overrides they were checked with."""
    require: ProbeRequirements | None = None
    """The delivery rules they were checked with."""
    shard: int = Field(default=0, ge=0)
    """Which shard of the files this is."""
    shards: int = Field(default=1, ge=1)
    """How many shards the files were dealt into."""
    verdict: Verdict | None = None
    """The worst of the files (an error counts as fail)."""
    counts: FileCounts = FileCounts()
    files: list[LibraryFile] = []
    """Every file, in natural order."""
    notes: list[str] = []
    """What the report leaves out and why."""
    elapsed_seconds: float | None = None
    """How long the probe took."""


class LibraryShard(StatusModel):
    """What one pod of a library probe found: the counts and worst files of its shard, as
    its termination message; every file's whole report is in `configMap`."""

    shard: int = Field(ge=0)
    """Which shard (the pod's completion index)."""
    shards: int = Field(ge=1)
    """How many shards the files were dealt into."""
    counts: FileCounts
    worst: list[LibraryFile] = []
    """The shard's worst files, worst first, without their reports."""
    config_map: str | None = None
    """The ConfigMap holding every file's report, when it could be written."""
    notes: list[str] = []
    """What the shard's report leaves out and why."""


class LibraryStatus(StatusModel):
    """A library probe in brief: the counts, the worst files and where the reports are."""

    counts: FileCounts
    worst: Annotated[list[LibraryFile], Field(max_length=WORST_FILES)] = []
    """The worst files, worst first: failed, then errors, then warned, most problems first."""
    reports: list[str] = []
    """The ConfigMaps holding every file's report, one per shard (`<name>-report`, then
    `<name>-report-1`...): `kubectl get configmap <name>-report -o
    jsonpath='{.binaryData.report\\.json\\.gz}' | base64 -d | gunzip` prints one."""
    shards_reported: int = 0
    """How many shards have reported (the rest are still running, or left no report)."""
    shards: int = 1
    """How many shards the files were dealt into."""


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
    library: LibraryStatus | None = None
    """For a folder source: how its files fared (`verdict` is the worst of them)."""


class ProbeJob(Resource):
    """A media quality check."""

    kind: Literal["ProbeJob"] = "ProbeJob"
    metadata: ObjectMeta
    spec: ProbeJobSpec
    status: ProbeJobStatus = ProbeJobStatus()
