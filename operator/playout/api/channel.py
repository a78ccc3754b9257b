"""The Channel resource: a lineup played back to back, forever, as one live HLS stream."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from playout.api.common import (
    PRINTABLE,
    SUBDOMAIN,
    AtLeast,
    Conditions,
    MediaPath,
    MediaVolume,
    Pattern,
    PersistentVolumeClaimSource,
    Quantity,
    ResourceRequirements,
    SpecModel,
    StatusModel,
    TimeZone,
    cel,
)
from playout.api.meta import ObjectMeta, Resource
from playout.api.probejob import Thresholds
from playout.media import languages


def _repeated(keys: list[str]) -> list[str]:
    """The keys that appear more than once, sorted."""
    return sorted({key for key in keys if keys.count(key) > 1})


# What names a program: its `name`, or its path, which may hold any printable character.
ProgramKey = Annotated[str, Field(min_length=1, max_length=1024), PRINTABLE]


class Program(SpecModel):
    """One entry of the lineup: a file, or a folder of files, under the media root."""

    name: Annotated[str, Field(min_length=1, max_length=63), PRINTABLE] | None = None
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


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86400
WEEK_SECONDS = 7 * DAY_SECONDS

CLOCK_TIME = Pattern(
    r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?",
    "must be a time of day: HH:MM or HH:MM:SS, 00:00 to 23:59",
)
ClockTime = Annotated[str, Field(min_length=5, max_length=8), CLOCK_TIME]


def _no_repeated_days(days: list[Weekday]) -> list[Weekday]:
    repeated = _repeated(list(days))
    if repeated:
        raise ValueError(f"{repeated} listed more than once: list each day once")
    return days


class Slot(SpecModel):
    """A fixed time at which a program goes on air; it runs until the next slot starts."""

    start: ClockTime
    """Local time of day (in `schedule.timezone`) the slot starts, e.g. "20:00"."""
    days: Annotated[
        list[Weekday],
        Field(max_length=7, json_schema_extra={"x-kubernetes-list-type": "set"}),
        AfterValidator(_no_repeated_days),
    ] = []
    """Days the slot airs (mon..sun), each once; empty: every day."""
    program: ProgramKey
    """Key of the program that airs (`programs[].name`, or its `path`)."""
    fill: Literal["filler", "slate", "cut"] = "filler"
    """What happens when the next item would run past the next slot: `filler` does not start
    it and pads the time up to the boundary with filler clips (then a shortened clip or a
    slate), `slate` pads with the slate card, `cut` plays it and cuts it at the boundary."""

    @property
    def second_of_day(self) -> int:
        hour, minute, *second = (int(part) for part in self.start.split(":"))
        return hour * 3600 + minute * 60 + sum(second)


def _slot_second(variable: str) -> str:
    """A slot's start as HH:MM:SS in CEL, so that 20:00 and 20:00:00 compare equal."""
    return f"(size({variable}.start) == 5 ? {variable}.start + ':00' : {variable}.start)"


def _every_day(variable: str) -> str:
    """True in CEL when a slot airs every day."""
    return f"(!has({variable}.days) || size({variable}.days) == 0)"


class Schedule(SpecModel):
    """The clock: when programs air, and how far ahead the guide is published."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.slots) || self.slots.all(s, self.slots.exists_one(t, "
                    f"{_slot_second('t')} == {_slot_second('s')} && "
                    f"({_every_day('s')} || {_every_day('t')} || s.days.exists(d, d in t.days))))",
                    "two slots start at the same time on one day: give each its own time or days",
                    ".slots",
                )
            ]
        }
    )

    timezone: TimeZone = "UTC"
    """IANA time zone the slot times are in (e.g. Europe/Berlin); daylight saving changes
    are followed."""
    guide_days: int = Field(default=3, ge=1, le=14)
    """Days ahead the timeline is planned and the guide (`/xmltv.xml`) published."""
    slots: Annotated[list[Slot], Field(max_length=168)] = []
    """Fixed-time slots (at most 168: one an hour for a week; the API server bounds the cost
    of checking each slot's program). Without slots the lineup plays back to back, and the
    guide is exact all the same."""

    def week(self) -> list[tuple[int, Slot, Weekday]]:
        """Every slot's airings in one week, in order, as (second of the week, slot, day):
        the clock of the local week, without daylight saving changes."""
        airings = [
            (WEEKDAYS.index(day) * DAY_SECONDS + slot.second_of_day, slot, day)
            for slot in self.slots
            for day in slot.days or WEEKDAYS
        ]
        return sorted(airings, key=lambda airing: airing[0])

    def lengths(self) -> list[tuple[int, Slot, Weekday]]:
        """How long each airing of the week lasts, up to the next slot's start, as
        (seconds, slot, day)."""
        week = self.week()
        ends = [start for start, _, _ in week[1:]] + [
            start + WEEK_SECONDS for start, _, _ in week[:1]
        ]
        return [
            (end - start, slot, day) for (start, slot, day), end in zip(week, ends, strict=True)
        ]

    @model_validator(mode="after")
    def _distinct_slot_times(self) -> Schedule:
        for seconds, slot, day in self.lengths():
            if seconds == 0:
                raise ValueError(
                    f"two slots start at {slot.start} on {day}: give each its own time or days"
                )
        return self


class Filler(SpecModel):
    """Clips that pad the time up to a slot boundary and fill ad breaks."""

    path: MediaPath
    """Folder (or file) of filler clips, relative to the media root."""


class Midroll(SpecModel):
    """Mid-roll ad breaks in one program's items, marked for SCTE-35 ad insertion."""

    program: ProgramKey
    """Key of the program whose items get breaks (`programs[].name`, or its `path`)."""
    every_minutes: float = Field(ge=2, le=240)
    """Minutes of the item between two breaks. No break falls in an item's first or last
    minute."""
    seconds: int = Field(default=120, ge=5, le=900)
    """Length of each break, filled with filler clips (or the slate) and marked as an ad
    avail (`EXT-X-DATERANGE` with `SCTE35-OUT`/`SCTE35-IN`, `EXT-X-CUE-OUT`/`EXT-X-CUE-IN`)."""


CHANNEL_NUMBER = Pattern(
    r"[0-9][0-9.-]*", "must be a channel number: digits, '.' and '-' (101, 4.1)"
)


class GuideInfo(SpecModel):
    """How the channel appears in IPTV guides (XMLTV, M3U)."""

    number: Annotated[str, Field(min_length=1, max_length=16), CHANNEL_NUMBER] | None = None
    """Channel number, e.g. "101" or "4.1"."""
    icon: MediaPath | None = None
    """Channel logo on the media volume (PNG or JPEG), served at `/guide/icon`."""
    group: Annotated[str, Field(min_length=1, max_length=64), PRINTABLE] | None = None
    """Group the channel is listed under (M3U `group-title`)."""


class Loudness(SpecModel):
    """EBU R128 loudness normalisation of every encoded item (transcode mode, and the items
    copy mode cannot copy). Each item's loudness is measured ahead of its airing, once per
    version of its file, and it airs at the one linear gain that brings it to the target,
    behind a limiter where its peaks would pass the true-peak ceiling; an item that airs
    before its measurement is done goes through ffmpeg's loudnorm instead."""

    enabled: bool = True
    """Normalise every item to the same loudness, so viewers do not reach for the remote at
    each boundary."""
    integrated_lufs: float = Field(default=-23.0, ge=-70, le=-5)
    """Target integrated loudness (EBU R128: -23; many streaming services use -16)."""
    true_peak_dbtp: float = Field(default=-1.0, ge=-9, le=0)
    """Maximum true peak."""
    range_lu: float = Field(default=7.0, ge=1, le=50)
    """Target loudness range, for items that go through loudnorm; measured items keep
    their own dynamics (EBU R128's linear normalisation)."""


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


def _check_language(code: str) -> str:
    if not languages.is_known(code):
        raise ValueError(
            f"{code!r} is not an ISO 639 language code (use a 639-1 or 639-2 code: de, deu, ger)"
        )
    return code


def _no_repeats(field: str, codes: list[str]) -> None:
    same = [code for i, code in enumerate(codes) if any(
        languages.same(code, earlier) for earlier in codes[:i]
    )]  # fmt: skip
    if same:
        raise ValueError(
            f"{field}: {same} repeat a language listed before "
            "(ISO 639-1 and 639-2 codes of one language are the same: de, deu, ger)"
        )


LANGUAGE_CODE = Pattern(r"[a-z]{2,3}", "must be an ISO 639 language code in lowercase (de, deu)")
LanguageCode = Annotated[
    str, Field(min_length=2, max_length=3), LANGUAGE_CODE, AfterValidator(_check_language)
]


class AudioOutput(SpecModel):
    """The audio every item is normalised to in transcode mode."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                cel(
                    "!has(self.alternates) || !self.alternates || "
                    "(has(self.languages) && size(self.languages) > 0)",
                    "audio.alternates: list the languages to offer in `audio.languages` "
                    "(e.g. [de, en])",
                    ".alternates",
                ),
            ]
        }
    )

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
    languages: Annotated[list[LanguageCode], Field(max_length=8)] = []
    """Preferred audio languages, in order, as ISO 639-1 or 639-2 codes (`de`, `deu` and
    `ger` are the same language): each item plays its first track in the first of them it
    has, else its default track. Empty: every item's default (or first) audio track."""
    alternates: bool = False
    """Also offer every language of `languages` as an alternate audio rendition
    (EXT-X-MEDIA TYPE=AUDIO with its LANGUAGE and NAME), each playing that language's track
    where an item has one and the item's main track where it has not."""

    @property
    def alternate_languages(self) -> list[str]:
        """The languages offered as alternate audio renditions."""
        return list(self.languages) if self.alternates else []

    @model_validator(mode="after")
    def _alternates_need_languages(self) -> AudioOutput:
        _no_repeats("audio.languages", self.languages)
        if self.alternates and not self.languages:
            raise ValueError(
                "audio.alternates: list the languages to offer in `audio.languages` (e.g. [de, en])"
            )
        return self


class Subtitles(SpecModel):
    """Subtitles offered as WebVTT renditions players can turn on."""

    languages: Annotated[list[LanguageCode], Field(min_length=1, max_length=8)]
    """The languages to offer, in order (ISO 639-1 or 639-2 codes). Each item's cues come
    from its text subtitle track in that language (SubRip, ASS, mov_text, WebVTT) or from a
    sidecar file beside it (`Episode.de.srt`, `Episode.ger.vtt`; `Episode.srt` counts as
    the first language)."""
    burn_in: bool = False
    """Draw the first language's subtitles into the picture instead of offering them as
    renditions, for players that show none. Items that have to be burned are encoded, in
    copy mode too. Bitmap subtitles (PGS, DVB, DVD) can only be burned in."""

    @model_validator(mode="after")
    def _distinct_languages(self) -> Subtitles:
        _no_repeats("subtitles.languages", self.languages)
        return self


class Logo(SpecModel):
    """A channel logo (a "bug") drawn over the picture."""

    path: MediaPath
    """The image (PNG with transparency, or JPEG), relative to the media root."""
    corner: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-right"
    """Where it sits."""
    height_percent: float = Field(default=10, ge=1, le=50)
    """Its height, as a share of the picture's (its width follows its shape)."""
    margin_percent: float = Field(default=4, ge=0, le=25)
    """Its distance from the picture's edges, as a share of the picture's height."""
    opacity: float = Field(default=0.8, ge=0.05, le=1)
    """0 is invisible, 1 opaque."""
    over_interstitials: bool = True
    """Also over bumpers, filler and the generated cards; false: over the programs'
    items only."""


RENDITIONS_MAX = 8


RENDITION_NAME = Pattern(
    r"[a-z0-9]([a-z0-9-]*[a-z0-9])?",
    "must be lowercase letters, digits and '-', starting and ending with a letter or digit "
    "(720p, hd)",
)


class Rendition(SpecModel):
    """One rung of the adaptive bit rate ladder: a picture height and a bit rate. Every
    rendition is made by the same ffmpeg from one decode, with keyframes on the same
    frames, so all of them have the same segments."""

    name: Annotated[str, Field(min_length=1, max_length=16), RENDITION_NAME] | None = None
    """The rendition's path: its media playlist is /live/NAME/index.m3u8. Default: the
    height and "p" (720p)."""
    height: int = Field(ge=16, le=4320, multiple_of=2)
    """Frame height in pixels; the width keeps `video`'s shape (rounded to even)."""
    bitrate_kbps: int = Field(ge=100, le=100000)
    """Target video bit rate."""

    @property
    def key(self) -> str:
        return self.name or f"{self.height}p"


# A browser sends its Origin header as scheme://host[:port], the host in lowercase: an
# origin written any other way would never match one.
ORIGIN = Pattern(
    rf"\*|https?://(\[[0-9a-f:.]+\]|{SUBDOMAIN})(:[0-9]{{1,5}})?",
    "must be a web origin as browsers send it, scheme://host[:port] in lowercase with no "
    "path or trailing '/' (https://tv.example.com), or *",
)


class Output(SpecModel):
    """How the stream is made and packaged."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                # In three parts, none building a string: CEL's cost estimate takes a built
                # string (string(height) + 'p') to be as long as a whole request.
                cel(
                    "!has(self.renditions) || self.renditions.all(r, self.renditions.exists_one("
                    "q, has(q.name) == has(r.name) && "
                    "(has(r.name) ? q.name == r.name : q.height == r.height)))",
                    "rendition names must be unique (set `name` where two share a height)",
                    ".renditions",
                ),
                cel(
                    "!has(self.renditions) || self.renditions.all(r, !has(r.name) || "
                    "!r.name.matches('^[0-9]+p$') || self.renditions.all(q, has(q.name) || "
                    "int(r.name.replace('p', '')) != q.height))",
                    "rendition names must be unique: a name like 480p is also the default name "
                    "of a rendition 480 high without one",
                    ".renditions",
                ),
            ]
        }
    )

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
    allowed_origins: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512), ORIGIN]], Field(max_length=32)
    ] = []
    """Web origins (e.g. https://tv.example.com) whose pages may play the stream (CORS).
    Empty: only the channel's own player page can; "*" allows any."""
    logo: Logo | None = None
    """A logo drawn over the picture (transcode mode, and items copy mode encodes)."""
    subtitles: Subtitles | None = None
    """Subtitle renditions (EXT-X-MEDIA TYPE=SUBTITLES)."""
    renditions: Annotated[list[Rendition], Field(max_length=RENDITIONS_MAX)] = []
    """An adaptive bit rate ladder, best first (e.g. 720p at 3000, 480p at 1400, 360p at
    800): /live/index.m3u8 becomes a multivariant playlist with one media playlist per
    rendition. Each rendition's height and bit rate take the place of `video`'s; its other
    settings apply to all. In copy mode the source passes through as the first rendition
    and the others are encoded from it. Empty: one rendition, from `video`."""

    @property
    def subtitle_renditions(self) -> list[str]:
        """The languages offered as subtitle renditions (none when they are burned in)."""
        if self.subtitles is None or self.subtitles.burn_in:
            return []
        return list(self.subtitles.languages)

    @model_validator(mode="after")
    def _unique_rendition_names(self) -> Output:
        duplicates = _repeated([rendition.key for rendition in self.renditions])
        if duplicates:
            raise ValueError(
                f"output.renditions: the names {duplicates} repeat "
                "(set `name` where two renditions share a height)"
            )
        return self


# Room for a window of segments of every rendition and the engine's state, with margin.
DISK_MINIMUM = "64Mi"


DiskSize = Annotated[
    Quantity,
    AtLeast(DISK_MINIMUM, f"must be at least {DISK_MINIMUM} (the segments and the engine's state)"),
]


class Storage(SpecModel):
    """Where segments and engine state are written."""

    size_limit: DiskSize = "1Gi"
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
                ),
                cel(
                    "!has(self.schedule) || !has(self.schedule.slots) || self.schedule.slots.all("
                    f"s, self.programs.exists(p, {_program_key('p')} == s.program))",
                    "every slot's program must be the `name` or `path` of one of `programs`",
                    ".schedule.slots",
                ),
                cel(
                    "!has(self.breaks) || self.breaks.all("
                    f"b, self.programs.exists(p, {_program_key('p')} == b.program))",
                    "every break's program must be the `name` or `path` of one of `programs`",
                    ".breaks",
                ),
                cel(
                    "!has(self.breaks) || self.breaks.all("
                    "b, self.breaks.exists_one(c, c.program == b.program))",
                    "a program has one `breaks` entry at most: merge the two",
                    ".breaks",
                ),
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
    schedule: Schedule = Schedule()
    """The clock: fixed-time slots, the time zone and the guide's horizon."""
    filler: Filler | None = None
    """Clips that pad to slot boundaries and fill ad breaks (bumpers are used when absent,
    then the slate)."""
    breaks: Annotated[list[Midroll], Field(max_length=100)] = []
    """Mid-roll ad breaks, per program."""
    guide: GuideInfo = GuideInfo()
    """Channel number, logo and group for IPTV guides."""

    @model_validator(mode="after")
    def _unique_program_keys(self) -> ChannelSpec:
        duplicates = _repeated([program.key for program in self.programs])
        if duplicates:
            raise ValueError(
                f"programs: program names must be unique, {duplicates} repeat "
                "(set `name` where two programs share a path)"
            )
        return self

    @model_validator(mode="after")
    def _one_break_rule_per_program(self) -> ChannelSpec:
        repeated = _repeated([rule.program for rule in self.breaks])
        if repeated:
            raise ValueError(
                f"breaks: a program has one `breaks` entry at most: merge the two ({repeated})"
            )
        return self

    @model_validator(mode="after")
    def _breaks_fit_their_slots(self) -> ChannelSpec:
        lengths = self.schedule.lengths()
        for index, rule in enumerate(self.breaks):
            for seconds, slot, day in lengths:
                if slot.program == rule.program and rule.seconds >= seconds:
                    raise ValueError(
                        f"breaks[{index}].seconds: a break of {rule.seconds} s does not fit in "
                        f"the {seconds} s slot of {rule.program!r} at {slot.start} on {day}: "
                        "make the break shorter than every slot of its program"
                    )
        return self

    @model_validator(mode="after")
    def _known_program_keys(self) -> ChannelSpec:
        keys = {program.key for program in self.programs}
        named = [(f"schedule.slots[{i}]", s.program) for i, s in enumerate(self.schedule.slots)]
        named += [(f"breaks[{i}]", b.program) for i, b in enumerate(self.breaks)]
        for where, key in named:
            if key not in keys:
                raise ValueError(
                    f"{where}.program: no program is called {key!r} "
                    f"(the programs are {sorted(keys)}: use a `name` or `path` of one)"
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


# Besides every item change (and once more as it shuts down), the engine reports its status
# at least this often. A stream that stops shows first in its pod's readiness, which the
# operator reads from the Deployment at no write; an old `stream.lastSegmentAt` is the
# backstop for an engine that cannot report. 1000 channels at 300 s are 3.3 writes a second.
REPORT_HEARTBEAT_SECONDS = 300.0
# The operator reads it from its own environment (the chart's `reportHeartbeatSeconds`) and
# hands it to every streamer in the same variable.
REPORT_HEARTBEAT_ENV = "PLAYOUT_REPORT_HEARTBEAT_SECONDS"


def report_heartbeat_seconds(environ: Mapping[str, str]) -> float:
    """The heartbeat `environ` sets, else the default."""
    text = environ.get(REPORT_HEARTBEAT_ENV)
    if text is None:
        return REPORT_HEARTBEAT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"{REPORT_HEARTBEAT_ENV}={text!r}: set it to a number of seconds above 0 "
            f"(the default is {REPORT_HEARTBEAT_SECONDS:g})"
        )
    return seconds


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
    disk_full_since: datetime | None = None
    """Since when the engine's volume has had no room for the next segment: the stream
    waits, and goes on by itself once there is room (make `spec.storage` larger, or free
    the volume)."""


class SkippedItem(StatusModel):
    """An item the engine passed over."""

    item: str
    """Path of the item, relative to the media root."""
    reason: str
    """missing, unreadable, undecodable, rejected (it failed `spec.probe`), or requested
    (ended early by `kubectl playout skip`: the `playout.dev/skip` annotation)."""
    message: str = ""
    """What went wrong, for humans."""
    at: datetime
    """When it was skipped; a file that failed is tried again later."""


class ScheduledEntry(StatusModel):
    """One entry of the timeline."""

    title: str
    """Human title."""
    start: datetime
    """Wall-clock time it goes on air."""
    kind: str = "item"
    """item, filler, bumper, up-next, slate or break."""
    program: str = ""
    """Key of its program (empty for interstitials)."""


class ScheduleStatus(StatusModel):
    """The planned timeline, as far as the guide reaches."""

    horizon: datetime | None = None
    """Where the published timeline (and guide) ends."""
    next: Annotated[list[ScheduledEntry], Field(max_length=10)] = []
    """The next programmes, with their start times."""
    drift_seconds: float | None = None
    """How far the latest entry went on air from its scheduled start (aired - scheduled);
    `OnSchedule` turns False beyond one segment."""
    checked_at: datetime | None = None
    """When the drift was last measured."""


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
    schedule: ScheduleStatus | None = None
    """What is next and when, and whether the channel keeps to its timeline."""


class Channel(Resource):
    """A 24/7 linear TV channel."""

    kind: Literal["Channel"] = "Channel"
    metadata: ObjectMeta
    spec: ChannelSpec
    status: ChannelStatus = ChannelStatus()
