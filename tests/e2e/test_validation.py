"""Bad input, as users write it: a corpus of invalid Channels and ProbeJobs. Each is either
rejected at admission with a message that names the field (the schema and CEL rules the
models generate), or accepted and then shown Stalled by the operator, again naming the
field (what only the models can check: whether a time zone exists, say). After the corpus
the operator still reconciles a valid Channel, and has logged no traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from playout.api import Channel, ProbeJob
from playout.api.common import explain
from tests.conftest import load_example
from tests.e2e.kubectl import Kubectl, eventually, media_namespace

pytestmark = [pytest.mark.e2e, pytest.mark.bad_input]

CHANNEL = load_example("channel.yaml")
PROBEJOB = load_example("probejob.yaml")
SCHEDULED = load_example("probejob-scheduled.yaml")


def edited(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`base` with the field at `path` (dotted, list items by index) set to `value`."""
    document = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


def without(base: dict[str, Any], path: str) -> dict[str, Any]:
    """`base` without the field at `path`."""
    document = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    del node[last]
    return document


@dataclass(frozen=True)
class Bad:
    """One bad manifest and how it must be turned away."""

    case: str
    document: dict[str, Any]
    field: str
    """The field as the API server (or the operator's Stalled message) names it."""
    message: str
    """A part of the message that says what is wrong."""
    handled: Literal["admission", "operator"] = "admission"
    """`operator`: accepted by the API server, then shown Stalled."""
    local: str | None = ""
    """The field as the models name it locally, where that differs from `field`; None: the
    models take it (metadata they do not read, or a string they read as a number)."""

    @property
    def model(self) -> type[Channel] | type[ProbeJob]:
        return Channel if self.document["kind"] == "Channel" else ProbeJob


def channel(case: str, path: str, value: Any, field: str, message: str, **how: Any) -> Bad:
    return Bad(case, edited(CHANNEL, path, value), field, message, **how)


def probejob(case: str, path: str, value: Any, field: str, message: str, **how: Any) -> Bad:
    return Bad(case, edited(PROBEJOB, path, value), field, message, **how)


def scheduled(case: str, path: str, value: Any, field: str, message: str, **how: Any) -> Bad:
    return Bad(case, edited(SCHEDULED, path, value), field, message, **how)


def ten_thousand(text: str = "x") -> str:
    return text * 10_000


CLAIM = {"persistentVolumeClaim": {"claimName": "media"}}
# What the API server answers for each kind of schema violation.
TOO_LONG = "Too long"
TOO_MANY = "Too many"
UNSUPPORTED = "Unsupported value"
NOT_A_STRING = "must be of type string"
NOT_AN_INTEGER = "must be of type integer"
NOT_A_NUMBER = "must be of type number"
CONTROL = "must not contain control characters"
DAY = "must be a time of day"
CRON = "must be a cron schedule"
OBJECT_NAME = "must be the name of a Kubernetes object"
ORIGIN = "must be a web origin as browsers send it"
IMAGE = "must be an image reference"
RESOURCE = "must name a container resource"
ZONE = "must be an IANA time zone name"
URL = "must be an http:// or https:// URL"

PROGRAMS = [
    channel("absolute path", "spec.programs.0.path", "/etc/shows", "spec.programs[0].path",
            "must be relative"),
    channel("escaping path", "spec.programs.0.path", "shows/../../etc", "spec.programs[0].path",
            "must stay inside the media root"),
    channel("parent path alone", "spec.programs.0.path", "..", "spec.programs[0].path",
            "must stay inside the media root"),
    channel("NUL in a path", "spec.programs.0.path", "shows/\x00Cheers", "spec.programs[0].path",
            CONTROL),
    channel("newline in a path", "spec.programs.0.path", "shows/Cheers\n",
            "spec.programs[0].path", CONTROL),
    channel("tab in a path", "spec.programs.0.path", "shows\tCheers", "spec.programs[0].path",
            CONTROL),
    channel("DEL in a path", "spec.programs.0.path", "shows/\x7f", "spec.programs[0].path",
            CONTROL),
    channel("C1 control in a path", "spec.programs.0.path", "shows/\x85Cheers",
            "spec.programs[0].path", CONTROL),
    channel("10,000-character path", "spec.programs.0.path", ten_thousand(),
            "spec.programs[0].path", TOO_LONG),
    channel("empty path", "spec.programs.0.path", "", "spec.programs[0].path", "at least 1 chars"),
    channel("path a number", "spec.programs.0.path", 42, "spec.programs[0].path", NOT_A_STRING),
    channel("program without a path", "spec.programs.0", {"order": "sequential"},
            "spec.programs[0].path", "Required value"),
    channel("program name with a newline", "spec.programs.1.name", "movies\nnight",
            "spec.programs[1].name", CONTROL),
    channel("program name too long", "spec.programs.1.name", "m" * 64, "spec.programs[1].name",
            TOO_LONG),
    channel("unknown order", "spec.programs.0.order", "random", "spec.programs[0].order",
            UNSUPPORTED),
    channel("zero items per turn", "spec.programs.0.itemsPerTurn", 0,
            "spec.programs[0].itemsPerTurn", "greater than or equal to 1"),
    channel("absurd items per turn", "spec.programs.0.itemsPerTurn", 1000,
            "spec.programs[0].itemsPerTurn", "less than or equal to 100"),
    channel("resume not a boolean", "spec.programs.0.resume", "often", "spec.programs[0].resume",
            "boolean"),
    channel("unknown program field", "spec.programs.0.loop", True, "spec.programs[0].loop",
            "unknown field"),
    channel("empty lineup", "spec.programs", [], "spec.programs", "should have at least 1 items"),
    channel("lineup of 101", "spec.programs",
            [{"path": f"shows/{n}"} for n in range(101)] + CHANNEL["spec"]["programs"],
            "spec.programs", TOO_MANY),
    channel("lineup not a list", "spec.programs", "shows/Cheers", "spec.programs",
            "must be of type array"),
    channel("duplicate programs", "spec.programs", CHANNEL["spec"]["programs"] + [{"path": "movies"}],
            "spec.programs", "program names must be unique", local="spec: programs"),
    channel("absolute bumpers", "spec.bumpers.path", "/bumpers", "spec.bumpers.path",
            "must be relative"),
    channel("escaping bumpers", "spec.bumpers.path", "../bumpers", "spec.bumpers.path",
            "must stay inside the media root"),
    channel("zero-second up next", "spec.bumpers.upNextSeconds", 0, "spec.bumpers.upNextSeconds",
            "greater than or equal to 1"),
    channel("control character in filler", "spec.filler.path", "filler\x1b[2J",
            "spec.filler.path", CONTROL),
    channel("escaping logo", "spec.output.logo", {"path": "logos/../../logo.png"},
            "spec.output.logo.path", "must stay inside the media root"),
    channel("absolute guide icon", "spec.guide.icon", "/logos/classics.png", "spec.guide.icon",
            "must be relative"),
]  # fmt: skip

MEDIA = [
    channel("two media sources", "spec.media",
            {**CLAIM, "image": {"reference": "media:1"}}, "spec.media", "set exactly one of"),
    channel("no media source", "spec.media", {}, "spec.media", "set exactly one of"),
    Bad("media left out", without(CHANNEL, "spec.media"), "spec.media", "Required value"),
    channel("hostPath media", "spec.media", {"hostPath": {"path": "/srv/media"}},
            "spec.media.hostPath", "unknown field"),
    channel("NFS media", "spec.media", {"nfs": {"server": "nas", "path": "/media"}},
            "spec.media.nfs", "unknown field"),
    channel("claim name with a space", "spec.media.persistentVolumeClaim.claimName",
            "Media Library", "spec.media.persistentVolumeClaim.claimName", OBJECT_NAME),
    channel("claim name with a slash", "spec.media.persistentVolumeClaim.claimName",
            "../media", "spec.media.persistentVolumeClaim.claimName", OBJECT_NAME),
    channel("empty claim name", "spec.media.persistentVolumeClaim.claimName", "",
            "spec.media.persistentVolumeClaim.claimName", "at least 1 chars"),
    channel("claim name too long", "spec.media.persistentVolumeClaim.claimName", "m" * 254,
            "spec.media.persistentVolumeClaim.claimName", TOO_LONG),
    channel("CSI driver with a space", "spec.media", {"csi": {"driver": "smb csi"}},
            "spec.media.csi.driver", "must be a CSI driver's name"),
    channel("CSI driver too long", "spec.media", {"csi": {"driver": "d" * 64}},
            "spec.media.csi.driver", TOO_LONG),
    channel("CSI secret name not an object name", "spec.media",
            {"csi": {"driver": "smb.csi.k8s.io", "nodePublishSecretRef": {"name": "Creds!"}}},
            "spec.media.csi.nodePublishSecretRef.name", OBJECT_NAME),
    channel("CSI filesystem type with a shell", "spec.media",
            {"csi": {"driver": "smb.csi.k8s.io", "fsType": "ext4; reboot"}},
            "spec.media.csi.fsType", "must be a filesystem type"),
    channel("65 CSI attributes", "spec.media",
            {"csi": {"driver": "smb.csi.k8s.io",
                     "volumeAttributes": {f"key{n}": "v" for n in range(65)}}},
            "spec.media.csi.volumeAttributes", TOO_MANY),
    channel("image repository in capitals", "spec.media", {"image": {"reference": "Media:1"}},
            "spec.media.image.reference", IMAGE),
    channel("image reference with an option", "spec.media",
            {"image": {"reference": "media:1 --privileged"}}, "spec.media.image.reference", IMAGE),
    channel("image reference with a newline", "spec.media",
            {"image": {"reference": "media:1\nmalicious:2"}}, "spec.media.image.reference", IMAGE),
    channel("image digest too short", "spec.media",
            {"image": {"reference": "media@sha256:abc"}}, "spec.media.image.reference", IMAGE),
    channel("unknown pull policy", "spec.media",
            {"image": {"reference": "media:1", "pullPolicy": "Sometimes"}},
            "spec.media.image.pullPolicy", UNSUPPORTED),
]  # fmt: skip

OUTPUT = [
    channel("zero-second segments", "spec.output.segmentSeconds", 0, "spec.output.segmentSeconds",
            "greater than or equal to 1"),
    channel("minute-long segments", "spec.output.segmentSeconds", 60,
            "spec.output.segmentSeconds", "less than or equal to 10"),
    channel("segment length a string", "spec.output.segmentSeconds", "2",
            "spec.output.segmentSeconds", NOT_AN_INTEGER, local=None),
    channel("negative segment length", "spec.output.segmentSeconds", -2,
            "spec.output.segmentSeconds", "greater than or equal to 1"),
    channel("window of two", "spec.output.windowSegments", 2, "spec.output.windowSegments",
            "greater than or equal to 3"),
    channel("window of a million", "spec.output.windowSegments", 1_000_000,
            "spec.output.windowSegments", "less than or equal to 100"),
    channel("unknown mode", "spec.output.mode", "passthrough", "spec.output.mode", UNSUPPORTED),
    channel("odd width", "spec.output.video.width", 1279, "spec.output.video.width",
            "multiple of 2"),
    channel("width beyond 8K", "spec.output.video.width", 16384, "spec.output.video.width",
            "less than or equal to 7680"),
    channel("zero height", "spec.output.video.height", 0, "spec.output.video.height",
            "greater than or equal to 16"),
    channel("zero frame rate", "spec.output.video.frameRate", 0, "spec.output.video.frameRate",
            "greater than 0"),
    channel("negative frame rate", "spec.output.video.frameRate", -30,
            "spec.output.video.frameRate", "greater than 0"),
    channel("1000 frames a second", "spec.output.video.frameRate", 1000,
            "spec.output.video.frameRate", "less than or equal to 120"),
    channel("video bit rate of 1", "spec.output.video.bitrateKbps", 1,
            "spec.output.video.bitrateKbps", "greater than or equal to 100"),
    channel("unknown preset", "spec.output.video.preset", "placebo", "spec.output.video.preset",
            UNSUPPORTED),
    channel("unknown video codec", "spec.output.video.codec", "hevc", "spec.output.video.codec",
            UNSUPPORTED),
    channel("audio bit rate of 8", "spec.output.audio.bitrateKbps", 8,
            "spec.output.audio.bitrateKbps", "greater than or equal to 32"),
    channel("unknown sample rate", "spec.output.audio.sampleRate", 22050,
            "spec.output.audio.sampleRate", UNSUPPORTED),
    channel("six audio channels", "spec.output.audio.channels", 6, "spec.output.audio.channels",
            UNSUPPORTED),
    channel("loudness target of 0", "spec.output.audio.loudness.integratedLufs", 0,
            "spec.output.audio.loudness.integratedLufs", "less than or equal to -5"),
    channel("true peak above full scale", "spec.output.audio.loudness.truePeakDbtp", 3,
            "spec.output.audio.loudness.truePeakDbtp", "less than or equal to 0"),
    channel("zero loudness range", "spec.output.audio.loudness.rangeLu", 0,
            "spec.output.audio.loudness.rangeLu", "greater than or equal to 1"),
    channel("language as a name", "spec.output.audio.languages", ["english"],
            "spec.output.audio.languages[0]", TOO_LONG),
    channel("language in capitals", "spec.output.audio.languages", ["DE"],
            "spec.output.audio.languages[0]", "must be an ISO 639 language code"),
    channel("nine audio languages", "spec.output.audio.languages",
            ["de", "en", "fr", "it", "es", "nl", "pl", "cs", "da"],
            "spec.output.audio.languages", TOO_MANY),
    channel("alternate audio without languages", "spec.output.audio.alternates", True,
            "spec.output.audio.alternates", "list the languages to offer", local="spec.output.audio"),
    channel("subtitles without languages", "spec.output.subtitles", {"languages": []},
            "spec.output.subtitles.languages", "should have at least 1 items"),
    channel("subtitles left empty", "spec.output.subtitles", {}, "spec.output.subtitles.languages",
            "Required value"),
    channel("logo in the centre", "spec.output.logo", {"path": "logo.png", "corner": "center"},
            "spec.output.logo.corner", UNSUPPORTED),
    channel("logo over most of the picture", "spec.output.logo",
            {"path": "logo.png", "heightPercent": 80}, "spec.output.logo.heightPercent",
            "less than or equal to 50"),
    channel("renditions sharing a name", "spec.output.renditions",
            [{"height": 480, "bitrateKbps": 1400}, {"name": "480p", "height": 360, "bitrateKbps": 800}],
            "spec.output.renditions", "rendition names must be unique", local="output.renditions"),
    channel("renditions sharing a height", "spec.output.renditions",
            [{"height": 480, "bitrateKbps": 1400}, {"height": 480, "bitrateKbps": 800}],
            "spec.output.renditions", "rendition names must be unique", local="output.renditions"),
    channel("nine renditions", "spec.output.renditions",
            [{"height": 144 + 72 * n, "bitrateKbps": 200 * (n + 1)} for n in range(9)],
            "spec.output.renditions", TOO_MANY),
    channel("odd rendition height", "spec.output.renditions", [{"height": 481, "bitrateKbps": 900}],
            "spec.output.renditions[0].height", "multiple of 2"),
    channel("rendition name with a slash", "spec.output.renditions",
            [{"name": "low/x", "height": 360, "bitrateKbps": 800}],
            "spec.output.renditions[0].name", "must be lowercase letters, digits and '-'"),
    channel("rendition without a bit rate", "spec.output.renditions", [{"height": 360}],
            "spec.output.renditions[0].bitrateKbps", "Required value"),
    channel("origin with a trailing slash", "spec.output.allowedOrigins",
            ["https://tv.example.com/"], "spec.output.allowedOrigins[0]", ORIGIN),
    channel("origin in capitals", "spec.output.allowedOrigins", ["https://TV.example.com"],
            "spec.output.allowedOrigins[0]", ORIGIN),
    channel("origin with a path", "spec.output.allowedOrigins", ["https://tv.example.com/player"],
            "spec.output.allowedOrigins[0]", ORIGIN),
    channel("origin with a header in it", "spec.output.allowedOrigins",
            ["https://tv.example.com\r\nSet-Cookie: a=b"], "spec.output.allowedOrigins[0]", ORIGIN),
    channel("origin without a scheme", "spec.output.allowedOrigins", ["tv.example.com"],
            "spec.output.allowedOrigins[0]", ORIGIN),
    channel("33 origins", "spec.output.allowedOrigins",
            [f"https://tv{n}.example.com" for n in range(33)], "spec.output.allowedOrigins",
            TOO_MANY),
]  # fmt: skip

RESOURCES = [
    channel("limit below request", "spec.resources",
            {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}, "spec.resources",
            "every limit must be at least its request"),
    channel("not a quantity", "spec.resources", {"requests": {"cpu": "lots"}},
            "spec.resources.requests.cpu", "should match"),
    channel("negative CPU", "spec.resources", {"requests": {"cpu": "-1"}},
            "spec.resources.requests[cpu]", "must not be negative",
            local="spec.resources.requests.cpu"),
    channel("negative memory as a number", "spec.resources", {"limits": {"memory": -5}},
            "spec.resources.limits[memory]", "must not be negative",
            local="spec.resources.limits.memory"),
    channel("unprefixed extended resource", "spec.resources", {"requests": {"gpu": 1}},
            "spec.resources.requests", RESOURCE),
    channel("resource name with a space", "spec.resources", {"limits": {"cpu ": "1"}},
            "spec.resources.limits", RESOURCE),
    channel("nine resources", "spec.resources",
            {"requests": {f"example.com/r{n}": 1 for n in range(9)}}, "spec.resources.requests",
            TOO_MANY),
    channel("resource claims", "spec.resources", {"claims": [{"name": "gpu"}]},
            "spec.resources.claims", "unknown field"),
    channel("32Mi disk", "spec.storage", {"sizeLimit": "32Mi"}, "spec.storage.sizeLimit",
            "must be at least 64Mi"),
    channel("a thousand bytes of disk", "spec.storage", {"sizeLimit": 1000},
            "spec.storage.sizeLimit", "must be at least 64Mi"),
    channel("negative disk", "spec.storage", {"sizeLimit": "-1Gi"}, "spec.storage.sizeLimit",
            "must not be negative"),
    channel("disk not a quantity", "spec.storage", {"sizeLimit": "lots"},
            "spec.storage.sizeLimit", "should match"),
    channel("state claim not an object name", "spec.storage",
            {"persistentVolumeClaim": {"claimName": "State_Claim"}},
            "spec.storage.persistentVolumeClaim.claimName", OBJECT_NAME),
]  # fmt: skip

SLOT = "spec.schedule.slots[1]"
SCHEDULE = [
    channel("slot at 25:00", "spec.schedule.slots.1.start", "25:00", f"{SLOT}.start", DAY),
    channel("slot at 8pm", "spec.schedule.slots.1.start", "8pm", f"{SLOT}.start", DAY),
    channel("slot at 20:60", "spec.schedule.slots.1.start", "20:60", f"{SLOT}.start", DAY),
    channel("slot at a number", "spec.schedule.slots.1.start", 2000, f"{SLOT}.start",
            NOT_A_STRING),
    channel("slot on a long day name", "spec.schedule.slots.1.days", ["friday"], f"{SLOT}.days[0]",
            UNSUPPORTED),
    channel("slot on one day twice", "spec.schedule.slots.1.days", ["fri", "sat", "fri"],
            f"{SLOT}.days[2]", "Duplicate value", local=f"{SLOT}.days"),
    channel("two slots at one time", "spec.schedule.slots",
            [*CHANNEL["spec"]["schedule"]["slots"], {"start": "20:00:00", "days": ["sat"],
                                                    "program": "shows/Cheers"}],
            "spec.schedule.slots", "give each its own time or days", local="spec.schedule"),
    channel("slot for no program", "spec.schedule.slots.1.program", "films", "spec.schedule.slots",
            "every slot's program must be", local="schedule.slots[1].program"),
    channel("slot program with a control character", "spec.schedule.slots.1.program",
            "movies\x00", f"{SLOT}.program", CONTROL),
    channel("unknown fill", "spec.schedule.slots.1.fill", "pad", f"{SLOT}.fill", UNSUPPORTED),
    channel("169 slots", "spec.schedule.slots",
            [{"start": f"{n % 24:02}:{n // 24:02}", "program": "movies"} for n in range(169)],
            "spec.schedule.slots", TOO_MANY),
    channel("zero guide days", "spec.schedule.guideDays", 0, "spec.schedule.guideDays",
            "greater than or equal to 1"),
    channel("a month of guide", "spec.schedule.guideDays", 31, "spec.schedule.guideDays",
            "less than or equal to 14"),
    channel("time zone with a space", "spec.schedule.timezone", "Europe/Berlin Paris",
            "spec.schedule.timezone", ZONE),
    channel("time zone with a newline", "spec.schedule.timezone", "UTC\n",
            "spec.schedule.timezone", ZONE),
    channel("time zone as a path", "spec.schedule.timezone", "../../etc/passwd",
            "spec.schedule.timezone", ZONE),
    channel("time zone too long", "spec.schedule.timezone", "Europe/" + "B" * 60,
            "spec.schedule.timezone", TOO_LONG),
    channel("break for no program", "spec.breaks.0.program", "films", "spec.breaks",
            "every break's program must be", local="breaks[0].program"),
    channel("breaks every minute", "spec.breaks.0.everyMinutes", 1, "spec.breaks[0].everyMinutes",
            "greater than or equal to 2"),
    channel("break of an hour", "spec.breaks.0.seconds", 3600, "spec.breaks[0].seconds",
            "less than or equal to 900"),
    channel("break of no time", "spec.breaks.0.seconds", 0, "spec.breaks[0].seconds",
            "greater than or equal to 5"),
    channel("two break rules for one program", "spec.breaks",
            [*CHANNEL["spec"]["breaks"], {"program": "movies", "everyMinutes": 10}], "spec.breaks",
            "a program has one `breaks` entry at most", local="breaks"),
    channel("breaks every so often", "spec.breaks.0.everyMinutes", "often",
            "spec.breaks[0].everyMinutes", NOT_A_NUMBER),
    channel("channel number in words", "spec.guide.number", "one", "spec.guide.number",
            "must be a channel number"),
    channel("guide group that starts an M3U line", "spec.guide.group", "Classics\n#EXTINF:-1,x",
            "spec.guide.group", CONTROL),
    channel("guide group too long", "spec.guide.group", "g" * 65, "spec.guide.group", TOO_LONG),
    channel("unknown media check threshold", "spec.probe", {"thresholds": {"blackSecs": 1}},
            "spec.probe.thresholds", "unknown threshold"),
    channel("media check threshold out of range", "spec.probe", {"thresholds": {"ssim": 2}},
            "spec.probe.thresholds", "ssim must be between 0 and 1"),
]  # fmt: skip

CHANNEL_OBJECT = [
    channel("name too long", "metadata.name", "c" * 47, "metadata.name",
            "may not be more than 46 bytes", local=None),
    channel("name not a DNS label", "metadata.name", "Classics.TV", "metadata.name",
            "should match", local=None),
    channel("name starting with a digit", "metadata.name", "1tv", "metadata.name", "should match",
            local=None),
    channel("unknown field", "spec.bogus", 1, "spec.bogus", "unknown field"),
    channel("suspend not a boolean", "spec.suspend", "maybe", "spec.suspend", "boolean"),
    Bad("no spec", without(CHANNEL, "spec"), "spec", "Required value"),
    channel("spec a string", "spec", "play everything", "spec", "must be of type object"),
]  # fmt: skip

SOURCE = "spec.source"
PROBEJOBS = [
    probejob("two probe sources", "spec.source.url", "https://example.com/a.mp4", SOURCE,
             "set exactly one of url, volume or channelRef"),
    probejob("no probe source", "spec.source", {}, SOURCE,
             "set exactly one of url, volume or channelRef"),
    probejob("file URL", "spec.source", {"url": "file:///etc/passwd"}, f"{SOURCE}.url", URL),
    probejob("FTP URL", "spec.source", {"url": "ftp://example.com/a.mp4"}, f"{SOURCE}.url", URL),
    probejob("concat URL", "spec.source", {"url": "concat:/etc/passwd|/etc/shadow"},
             f"{SOURCE}.url", URL),
    probejob("URL without a host", "spec.source", {"url": "https://"}, f"{SOURCE}.url",
             "with a host"),
    probejob("URL with a space", "spec.source", {"url": "https://example.com/a b.mp4"},
             f"{SOURCE}.url", "must not contain spaces"),
    probejob("URL with a header in it", "spec.source",
             {"url": "https://example.com/a.mp4\r\nHost: metadata"}, f"{SOURCE}.url",
             "must not contain spaces or control characters"),
    probejob("URL with a NUL", "spec.source", {"url": "https://example.com/a\x00.mp4"},
             f"{SOURCE}.url", "must not contain spaces or control characters"),
    probejob("3000-character URL", "spec.source", {"url": "https://example.com/" + "a" * 3000},
             f"{SOURCE}.url", TOO_LONG),
    probejob("volume without path", "spec.source", {"volume": CLAIM}, f"{SOURCE}.path",
             "`path` goes with `volume`", local=SOURCE),
    probejob("path without volume", "spec.source",
             {"url": "https://example.com/a.mp4", "path": "a.mp4"}, f"{SOURCE}.path",
             "`path` goes with `volume`", local=SOURCE),
    probejob("absolute probe path", "spec.source.path", "/etc/passwd", f"{SOURCE}.path",
             "must be relative"),
    probejob("escaping probe path", "spec.source.path", "shows/../../../etc/passwd",
             f"{SOURCE}.path", "must stay inside the media root"),
    probejob("NUL in a probe path", "spec.source.path", "a.mkv\x00.txt", f"{SOURCE}.path",
             CONTROL),
    probejob("probe volume of two kinds", "spec.source.volume",
             {**CLAIM, "csi": {"driver": "smb.csi.k8s.io"}}, f"{SOURCE}.volume",
             "set exactly one of"),
    probejob("probe image reference with a space", "spec.source.volume",
             {"image": {"reference": "media :1"}}, f"{SOURCE}.volume.image.reference", IMAGE),
    probejob("channelRef in capitals", "spec.source", {"channelRef": {"name": "Classics"}},
             f"{SOURCE}.channelRef.name", "must be a DNS label"),
    probejob("channelRef longer than a Channel name", "spec.source",
             {"channelRef": {"name": "c" * 47}}, f"{SOURCE}.channelRef.name", TOO_LONG),
    probejob("channelRef without a name", "spec.source", {"channelRef": {}},
             f"{SOURCE}.channelRef.name", "Required value"),
    probejob("unknown profile", "spec.profile", "thorough", "spec.profile", UNSUPPORTED),
    probejob("unknown threshold", "spec.thresholds", {"blackSecs": 2}, "spec.thresholds",
             "unknown threshold"),
    probejob("negative black run", "spec.thresholds", {"blackSeconds": -1}, "spec.thresholds",
             "blackSeconds must be between 0 and 86400"),
    probejob("black pixel threshold above 1", "spec.thresholds", {"blackPixelThreshold": 25},
             "spec.thresholds", "blackPixelThreshold must be between 0 and 1"),
    probejob("sampling every 0 s", "spec.thresholds", {"sampleSeconds": 0}, "spec.thresholds",
             "sampleSeconds must be between 0.01 and 86400"),
    probejob("silence above full scale", "spec.thresholds", {"silenceDb": 10}, "spec.thresholds",
             "silenceDb must be between -200 and 0"),
    probejob("no live stream read", "spec.thresholds", {"liveSeconds": 0}, "spec.thresholds",
             "liveSeconds must be between 1 and 86400"),
    probejob("negative decode errors", "spec.thresholds", {"decodeErrors": -3}, "spec.thresholds",
             "decodeErrors must be at least 0"),
    probejob("VMAF above 100", "spec.thresholds", {"vmaf": 150}, "spec.thresholds",
             "vmaf must be between 0 and 100"),
    probejob("threshold in words", "spec.thresholds", {"blackSeconds": "long"},
             "spec.thresholds.blackSeconds", NOT_A_NUMBER),
    probejob("five-second timeout", "spec.timeoutSeconds", 5, "spec.timeoutSeconds",
             "greater than or equal to 10"),
    probejob("week-long timeout", "spec.timeoutSeconds", 604800, "spec.timeoutSeconds",
             "less than or equal to 86400"),
    probejob("negative timeout", "spec.timeoutSeconds", -1, "spec.timeoutSeconds",
             "greater than or equal to 10"),
    probejob("negative prober memory", "spec.resources", {"limits": {"memory": "-1Gi"}},
             "spec.resources.limits[memory]", "must not be negative",
             local="spec.resources.limits.memory"),
    probejob("prober resource name", "spec.resources", {"requests": {"disk": "1Gi"}},
             "spec.resources.requests", RESOURCE),
    probejob("ProbeJob name too long", "metadata.name", "p" * 41, "metadata.name",
             "may not be more than 40 bytes", local=None),
    probejob("ProbeJob name with a dot", "metadata.name", "cheers.s01e01", "metadata.name",
             "should match", local=None),
    probejob("unknown ProbeJob field", "spec.retries", 3, "spec.retries", "unknown field"),
    probejob("time zone without a schedule", "spec.timeZone", "Europe/Berlin", "spec.timeZone",
             "timeZone goes with schedule", local="spec"),
]  # fmt: skip

CRONS = [
    scheduled("schedule in words", "spec.schedule", "every hour", "spec.schedule", CRON),
    scheduled("schedule of three fields", "spec.schedule", "* * *", "spec.schedule", CRON),
    scheduled("schedule with seconds", "spec.schedule", "0 */30 * * * *", "spec.schedule", CRON),
    scheduled("minute 60", "spec.schedule", "60 * * * *", "spec.schedule", CRON),
    scheduled("hour 24", "spec.schedule", "0 24 * * *", "spec.schedule", CRON),
    scheduled("day of month 0", "spec.schedule", "0 6 0 * *", "spec.schedule", CRON),
    scheduled("month 13", "spec.schedule", "0 6 1 13 *", "spec.schedule", CRON),
    scheduled("day of week 7", "spec.schedule", "0 6 * * 7", "spec.schedule", CRON),
    scheduled("step of 0", "spec.schedule", "*/0 * * * *", "spec.schedule", CRON),
    scheduled("every five minutes, Go style", "spec.schedule", "@every 5m", "spec.schedule", CRON),
    scheduled("unknown descriptor", "spec.schedule", "@often", "spec.schedule", CRON),
    scheduled("schedule with a newline", "spec.schedule", "0 6 * * *\n0 7 * * *",
              "spec.schedule", CRON),
    scheduled("schedule too long", "spec.schedule", "0 " + ",".join(["1"] * 70) + " * * *",
              "spec.schedule", TOO_LONG),
    scheduled("TZ in the schedule", "spec.schedule", "TZ=Europe/Paris 0 6 * * *",
              "spec.schedule", "set the time zone in spec.timeZone"),
    scheduled("CRON_TZ in the schedule", "spec.schedule", "CRON_TZ=UTC 0 6 * * *",
              "spec.schedule", "set the time zone in spec.timeZone"),
    scheduled("probe time zone with a space", "spec.timeZone", "Europe/Berlin Paris", "spec.timeZone",
              ZONE),
    scheduled("time zone with a control character", "spec.timeZone", "UTC\x07", "spec.timeZone",
              ZONE),
]  # fmt: skip

# Movies from 20:00 on Fridays and Saturdays, the news from 20:05: a slot of 300 s.
SHORT_SLOT = edited(
    edited(CHANNEL, "spec.programs", [*CHANNEL["spec"]["programs"], {"path": "news"}]),
    "spec.schedule.slots",
    [
        *CHANNEL["spec"]["schedule"]["slots"],
        {"start": "20:05", "days": ["fri", "sat"], "program": "news"},
    ],
)

# Accepted by the API server (it cannot know), then shown Stalled by the operator.
STALLED = [
    channel("unknown time zone", "spec.schedule.timezone", "Mars/Olympus",
            "spec.schedule.timezone", "is not an IANA time zone", handled="operator"),
    channel("the machine's own time zone", "spec.schedule.timezone", "Local",
            "spec.schedule.timezone", "the machine's own zone", handled="operator"),
    Bad("break longer than its slot", edited(SHORT_SLOT, "spec.breaks.0.seconds", 600),
        "breaks[0].seconds", "does not fit in the 300 s slot of 'movies'", handled="operator"),
    channel("unknown language", "spec.output.audio.languages", ["xx"],
            "spec.output.audio.languages[0]", "is not an ISO 639 language code",
            handled="operator"),
    channel("one language twice", "spec.output.audio.languages", ["de", "ger"],
            "audio.languages", "repeat a language listed before", handled="operator"),
    channel("one subtitle language twice", "spec.output.subtitles", {"languages": ["en", "eng"]},
            "subtitles.languages", "repeat a language listed before", handled="operator"),
    scheduled("unknown probe time zone", "spec.timeZone", "Mars/Olympus", "spec.timeZone",
              "is not an IANA time zone", handled="operator"),
    scheduled("localtime as a probe time zone", "spec.timeZone", "localtime", "spec.timeZone",
              "the machine's own zone", handled="operator"),
    # The API server's OpenAPI check compares an integer with a minimum cut to an integer.
    channel("invisible logo", "spec.output.logo", {"path": "logo.png", "opacity": 0},
            "spec.output.logo.opacity", "greater than or equal to 0.05", handled="operator"),
    scheduled("range that runs backwards", "spec.schedule", "30-10 * * * *", "spec.schedule",
              "the minute range 30-10 runs backwards", handled="operator"),
]  # fmt: skip

CORPUS = PROGRAMS + MEDIA + OUTPUT + RESOURCES + SCHEDULE + CHANNEL_OBJECT + PROBEJOBS + CRONS
CORPUS += STALLED
AT_ADMISSION = [bad for bad in CORPUS if bad.handled == "admission"]
BY_OPERATOR = [bad for bad in CORPUS if bad.handled == "operator"]
HANDLED: dict[str, bool] = {}
"""Case -> turned away as it should be, for the tally at the end."""


def case_of(bad: Bad) -> str:
    return bad.case


def test_the_corpus_is_what_it_says() -> None:
    assert len(CORPUS) >= 130
    assert len({bad.case for bad in CORPUS}) == len(CORPUS), "case names repeat"
    for bad in CORPUS:
        assert bad.document != (CHANNEL if bad.model is Channel else PROBEJOB), bad.case


@pytest.mark.parametrize("bad", [b for b in CORPUS if b.local is not None], ids=case_of)
def test_local_runs_refuse_the_same_naming_the_field(bad: Bad) -> None:
    """`playout run` and the operator read the models: they refuse what the API server does
    (and the operator-only cases), naming the same field."""
    with pytest.raises(ValidationError) as caught:
        bad.model.model_validate(bad.document)
    message = explain(caught.value)
    assert (bad.local or bad.field) in message, message
    assert bad.message in message or bad.handled == "admission", message


@pytest.fixture(scope="module")
def corpus(admin: Kubectl, operator: dict[str, Any]) -> Iterator[Kubectl]:
    """One namespace for the whole corpus."""
    with media_namespace(admin) as namespaced:
        yield namespaced


@pytest.fixture(scope="module")
def log_start(operator: dict[str, Any]) -> int:
    """Where the operator's log stood when the corpus began."""
    return Path(operator["log"]).stat().st_size


@pytest.mark.parametrize("bad", AT_ADMISSION, ids=case_of)
def test_rejected_at_admission_naming_the_field(corpus: Kubectl, log_start: int, bad: Bad) -> None:
    HANDLED[bad.case] = False
    # JSON, so that control characters reach the API server as they are written.
    result = corpus.run(
        "apply", "--dry-run=server", "-f", "-", input=json.dumps(bad.document), check=False
    )
    assert result.returncode != 0, f"{bad.case}: accepted"
    assert bad.field in result.stderr, result.stderr
    assert bad.message in result.stderr, result.stderr
    HANDLED[bad.case] = True


def stalled_with(corpus: Kubectl, bad: Bad, name: str) -> str | None:
    body = corpus.get(bad.document["kind"].lower(), name) or {}
    for condition in body.get("status", {}).get("conditions", []):
        if condition["type"] == "Stalled" and condition["status"] == "True":
            return str(condition["message"])
    return None


@pytest.mark.parametrize("bad", BY_OPERATOR, ids=case_of)
def test_accepted_then_stalled_naming_the_field(corpus: Kubectl, log_start: int, bad: Bad) -> None:
    HANDLED[bad.case] = False
    name = f"bad-{BY_OPERATOR.index(bad)}"
    corpus.apply(edited(bad.document, "metadata.name", name))
    message = eventually(
        lambda: stalled_with(corpus, bad, name), timeout=120, what=f"{bad.case}: Stalled"
    )
    assert bad.field in message, message
    assert bad.message in message, message
    HANDLED[bad.case] = True


def test_after_the_corpus_a_valid_channel_is_reconciled(
    corpus: Kubectl, operator: dict[str, Any], log_start: int, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus.apply(CHANNEL)
    eventually(lambda: corpus.get("deployment", "classics"), timeout=120, what="the deployment")
    eventually(
        lambda: (
            (corpus.get("channel", "classics") or {}).get("status", {}).get("phase") == "Starting"
        ),
        timeout=120,
        what="phase Starting",
    )
    with Path(operator["log"]).open() as log:
        log.seek(log_start)
        assert "Traceback" not in log.read(), "the operator logged a traceback"
    handled = sum(HANDLED.values())
    with capsys.disabled():
        print(f"\nbad inputs handled {handled} of {len(HANDLED)} (corpus of {len(CORPUS)})")
    assert handled == len(HANDLED)


def test_examples_are_accepted_as_written(kubectl: Kubectl) -> None:
    for example in ("channel.yaml", "probejob.yaml", "probejob-scheduled.yaml"):
        kubectl.apply(load_example(example), "--dry-run=server")
