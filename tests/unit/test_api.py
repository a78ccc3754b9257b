"""The models validate what users write, with messages that name the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from playout.api import Channel, ProbeJob, common
from playout.api import channel as channel_api
from playout.api import probejob as probejob_api
from playout.api.channel import Output, Schedule
from playout.api.common import Pattern, explain, quantity_value
from playout.api.probejob import Thresholds
from playout.api.thresholds import THRESHOLDS
from tests.conftest import EXAMPLES, as_stored, load_example


def channel(**spec: Any) -> dict[str, Any]:
    base = {"media": {"persistentVolumeClaim": {"claimName": "media"}}, "programs": [{"path": "a"}]}
    return {"metadata": {"name": "c"}, "spec": {**base, **spec}}


def error_of(model: type[Channel] | type[ProbeJob], document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(document)
    return explain(caught.value)


# The Channels and ProbeJobs; the Role for `kubectl playout` is tested on the e2e tier.
PLAYOUT_EXAMPLES = sorted(
    p.name for p in EXAMPLES.glob("*.yaml") if "apiVersion: playout.dev/" in p.read_text()
)


@pytest.mark.parametrize("path", PLAYOUT_EXAMPLES)
def test_examples_are_valid(path: str) -> None:
    document = load_example(path)
    model = Channel if document["kind"] == "Channel" else ProbeJob
    model.model_validate(as_stored(document))


def test_defaults_fill_in_what_users_leave_out() -> None:
    parsed = Channel.model_validate(channel())
    assert parsed.spec.output.mode == "transcode"
    assert parsed.spec.output.segment_seconds == 2
    assert parsed.spec.programs[0].order == "sequential"
    assert parsed.spec.programs[0].resume is True
    assert parsed.spec.programs[0].key == "a"
    assert parsed.spec.suspend is False


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"programs": [{"path": "/abs/file.mkv"}]}, "spec.programs[0].path: must be relative"),
        ({"programs": [{"path": "shows/../../etc"}]}, "spec.programs[0].path: must stay inside"),
        ({"programs": [{"path": ".."}]}, "must stay inside the media root"),
        ({"programs": []}, "spec.programs: List should have at least 1 item"),
        ({"programs": [{"path": "a"}, {"path": "a"}]}, "program names must be unique"),
        (
            {"programs": [{"path": "a", "order": "random"}]},
            "spec.programs[0].order: Input should be 'sequential' or 'shuffle'",
        ),
        ({"media": {}}, "spec.media: set exactly one of"),
        (
            {
                "media": {
                    "image": {"reference": "media:1"},
                    "persistentVolumeClaim": {"claimName": "m"},
                }
            },
            "set exactly one of",
        ),
        (
            {"media": {"nfs": {"server": "s", "path": "/p"}}},
            "spec.media.nfs: Extra inputs are not permitted",
        ),
        (
            {"media": {"hostPath": {"path": "/srv"}}},
            "spec.media.hostPath: Extra inputs are not permitted",
        ),
        (
            {"output": {"segmentSeconds": 0}},
            "spec.output.segmentSeconds: Input should be greater than or equal to 1",
        ),
        (
            {"output": {"video": {"width": 1279}}},
            "spec.output.video.width: Input should be a multiple of 2",
        ),
        ({"output": {"mode": "passthrough"}}, "spec.output.mode"),
        (
            {"output": {"renditions": [{"height": 720, "bitrateKbps": 3000}] * 2}},
            "output.renditions: the names ['720p'] repeat (set `name`",
        ),
        (
            {"output": {"audio": {"languages": ["de", "ger"]}}},
            "audio.languages: ['ger'] repeat a language listed before",
        ),
        (
            {"output": {"audio": {"languages": ["xx"]}}},
            "spec.output.audio.languages[0]: 'xx' is not an ISO 639 language code",
        ),
        (
            {"output": {"audio": {"alternates": True}}},
            "audio.alternates: list the languages to offer",
        ),
        (
            {"output": {"renditions": [{"height": 481, "bitrateKbps": 900}]}},
            "spec.output.renditions[0].height: Input should be a multiple of 2",
        ),
        (
            {"output": {"renditions": [{"height": 360, "bitrateKbps": 800, "name": "Low/x"}]}},
            "spec.output.renditions[0].name: must be lowercase letters, digits and '-'",
        ),
        ({"resources": {"requests": {"cpu": "lots"}}}, "is not a Kubernetes quantity"),
        ({"bumpers": {"path": "/bumpers"}}, "spec.bumpers.path: must be relative"),
        ({"suspend": "maybe"}, "spec.suspend: Input should be a valid boolean"),
        (
            {"programs": [{"path": "shows/\x00Cheers"}]},
            "spec.programs[0].path: must not contain control characters",
        ),
        (
            {"programs": [{"path": "a", "name": "news\nnight"}]},
            "spec.programs[0].name: must not contain control characters",
        ),
        (
            {"media": {"persistentVolumeClaim": {"claimName": "Media Library"}}},
            "spec.media.persistentVolumeClaim.claimName: must be the name of a Kubernetes object",
        ),
        (
            {"media": {"csi": {"driver": "smb csi"}}},
            "spec.media.csi.driver: must be a CSI driver's name",
        ),
        (
            {"media": {"csi": {"driver": "smb.csi.k8s.io", "nodePublishSecretRef": {"name": "A"}}}},
            "spec.media.csi.nodePublishSecretRef.name: must be the name of a Kubernetes object",
        ),
        (
            {"media": {"image": {"reference": "Registry.example.com/Media:1"}}},
            "spec.media.image.reference: must be an image reference",
        ),
        (
            {"media": {"image": {"reference": "media:1 --privileged"}}},
            "spec.media.image.reference: must be an image reference",
        ),
        (
            {"output": {"allowedOrigins": ["https://tv.example.com/"]}},
            "spec.output.allowedOrigins[0]: must be a web origin as browsers send it",
        ),
        (
            {"output": {"allowedOrigins": ["https://TV.example.com"]}},
            "spec.output.allowedOrigins[0]: must be a web origin",
        ),
        (
            {"resources": {"requests": {"gpu": 1}}},
            "spec.resources.requests: 'gpu': must name a container resource",
        ),
        ({"resources": {"requests": {"cpu": "-1"}}}, "spec.resources.requests.cpu: must not be"),
        ({"resources": {"limits": {"memory": -5}}}, "spec.resources.limits.memory: must not be"),
        ({"storage": {"sizeLimit": "32Mi"}}, "spec.storage.sizeLimit: must be at least 64Mi"),
        ({"storage": {"sizeLimit": 1000}}, "spec.storage.sizeLimit: must be at least 64Mi"),
        (
            {"schedule": {"slots": [{"start": "25:00", "program": "a"}]}},
            "spec.schedule.slots[0].start: must be a time of day",
        ),
        (
            {"schedule": {"slots": [{"start": "06:00", "days": ["mon", "mon"], "program": "a"}]}},
            "spec.schedule.slots[0].days: ['mon'] listed more than once",
        ),
        (
            {
                "schedule": {
                    "slots": [
                        {"start": "06:00", "program": "a"},
                        {"start": "06:00:00", "days": ["sat"], "program": "a"},
                    ]
                }
            },
            "spec.schedule: two slots start at 06:00 on sat",
        ),
        ({"schedule": {"timezone": "Mars/Olympus"}}, "spec.schedule.timezone: 'Mars/Olympus' is"),
        ({"schedule": {"timezone": "localtime"}}, "is the machine's own zone"),
        (
            {"breaks": [{"program": "a", "everyMinutes": 10}, {"program": "a", "everyMinutes": 5}]},
            "breaks: a program has one `breaks` entry at most",
        ),
        (
            {
                "schedule": {
                    "slots": [
                        {"start": "06:00", "program": "a"},
                        {"start": "06:10", "program": "a"},
                    ]
                },
                "breaks": [{"program": "a", "everyMinutes": 10, "seconds": 600}],
            },
            "breaks[0].seconds: a break of 600 s does not fit in the 600 s slot of 'a' at 06:00",
        ),
        ({"guide": {"number": "one"}}, "spec.guide.number: must be a channel number"),
        ({"guide": {"group": "Kids\r\n#EXTINF"}}, "spec.guide.group: must not contain control"),
    ],
)
def test_invalid_channels_name_the_field(spec: dict[str, Any], expected: str) -> None:
    assert expected in error_of(Channel, channel(**spec))


@pytest.mark.parametrize(
    "path",
    ["shows/Cheers", "a/b/c.mkv", "..hidden", "a..b/c", "dir/..x", "Ünïcode/名前: [1] 'q'.mkv"],
)
def test_odd_but_safe_paths_are_accepted(path: str) -> None:
    Channel.model_validate(channel(programs=[{"path": path}]))


def test_what_the_rules_accept() -> None:
    """The rules refuse the wrong, not the unusual."""
    Channel.model_validate(
        channel(
            media={
                "image": {
                    "reference": "registry.example.com:5000/media/bumpers:2024@sha256:" + "a" * 64
                }
            },
            output={"allowedOrigins": ["*", "https://tv.example.com", "http://[::1]:8080"]},
            resources={"requests": {"cpu": "500m", "example.com/gpu": 1, "hugepages-2Mi": "0"}},
            storage={"sizeLimit": "64Mi"},
            guide={"number": "4.1", "group": "Kinder & Familie"},
            schedule={
                "timezone": "America/Argentina/Buenos_Aires",
                "slots": [
                    {"start": "06:00", "days": ["mon", "tue"], "program": "a"},
                    {"start": "06:00", "days": ["wed"], "program": "a"},
                    {"start": "06:10", "program": "a"},
                ],
            },
            breaks=[{"program": "a", "everyMinutes": 10, "seconds": 599}],
        )
    )
    Channel.model_validate(channel(media={"csi": {"driver": "smb.csi.k8s.io", "fsType": "ext4"}}))


def test_programs_sharing_a_path_are_told_apart_by_name() -> None:
    parsed = Channel.model_validate(
        channel(programs=[{"path": "a"}, {"path": "a", "name": "a-again", "order": "shuffle"}])
    )
    assert [p.key for p in parsed.spec.programs] == ["a", "a-again"]


def probe(**source: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"source": source}}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({}, "set exactly one of url, volume or channelRef"),
        ({"url": "https://x/y.m3u8", "channelRef": {"name": "c"}}, "set exactly one of"),
        ({"volume": {"persistentVolumeClaim": {"claimName": "m"}}}, "`path` goes with `volume`"),
        ({"url": "file:///etc/passwd"}, "must be an http:// or https:// URL"),
        ({"url": "https://x:99999/y.mp4"}, "url must have no port or one from 1 to 65535"),
        ({"url": "http://x:0/y.mp4"}, "url must have no port or one from 1 to 65535"),
        ({"url": "https://x/y", "path": "a"}, "`path` goes with `volume`"),
        (
            {"volume": {"persistentVolumeClaim": {"claimName": "m"}}, "path": "/etc/passwd"},
            "spec.source.path: must be relative",
        ),
        ({"url": "https://"}, "spec.source.url: must be an http:// or https:// URL with a host"),
        ({"url": "https://[::1/a"}, "spec.source.url: must be an http:// or https:// URL"),
        ({"url": "https://example.com/a b.mp4"}, "spec.source.url: must not contain spaces"),
        ({"url": "https://example.com/a\r\nHost: x"}, "spec.source.url: must not contain"),
        ({"channelRef": {"name": "Classics"}}, "spec.source.channelRef.name: must be a DNS label"),
        ({"channelRef": {"name": "c" * 47}}, "spec.source.channelRef.name: String should have at"),
    ],
)
def test_invalid_probe_sources_name_the_field(source: dict[str, Any], expected: str) -> None:
    assert expected in error_of(ProbeJob, probe(**source))


def scheduled(schedule: str, **spec: Any) -> dict[str, Any]:
    document = probe(url="https://example.com/a.mp4")
    document["spec"] |= {"schedule": schedule, **spec}
    return document


@pytest.mark.parametrize(
    "schedule",
    [
        "*/30 * * * *",
        "@hourly",
        "0 3 * * 1-5",
        "0 6 * * MON-FRI",
        "5,35 8-18/2 1,15 jan-jun ?",
        " 59 23 31 12 6 ",
    ],
)
def test_cron_schedules_are_accepted(schedule: str) -> None:
    ProbeJob.model_validate(scheduled(schedule))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("every hour", "spec.schedule: must be a cron schedule"),
        ("* * *", "must be a cron schedule"),
        ("@often", "must be a cron schedule"),
        ("@every 5m", "must be a cron schedule"),
        ("60 * * * *", "minute (0-59)"),
        ("0 24 * * *", "must be a cron schedule"),
        ("0 0 0 * *", "must be a cron schedule"),
        ("0 0 * 13 *", "must be a cron schedule"),
        ("0 0 * * 7", "day of week (0-6 or sun-sat)"),
        ("*/0 * * * *", "must be a cron schedule"),
        ("0 0 ? * *\n", "must be a cron schedule"),
        ("TZ=Europe/Paris 0 6 * * *", "spec.schedule: set the time zone in spec.timeZone"),
        ("CRON_TZ=UTC 0 6 * * *", "set the time zone in spec.timeZone"),
        ("30-10 * * * *", "spec.schedule: the minute range 30-10 runs backwards"),
        ("0 0 * dec-jan *", "the month range dec-jan runs backwards"),
    ],
)
def test_malformed_schedules_are_rejected(schedule: str, expected: str) -> None:
    assert expected in error_of(ProbeJob, scheduled(schedule))


def test_a_probes_time_zone_is_an_iana_zone_beside_a_schedule() -> None:
    parsed = ProbeJob.model_validate(scheduled("0 6 * * *", timeZone="America/New_York"))
    assert parsed.spec.time_zone == "America/New_York"
    assert "spec.timeZone: 'Mars/Olympus' is not an IANA time zone" in error_of(
        ProbeJob, scheduled("0 6 * * *", timeZone="Mars/Olympus")
    )
    assert "spec.timeZone: must be an IANA time zone name" in error_of(
        ProbeJob, scheduled("0 6 * * *", timeZone="Europe/Berlin\n")
    )
    assert "is the machine's own zone: name one" in error_of(
        ProbeJob, scheduled("0 6 * * *", timeZone="Local")
    )
    alone = probe(url="https://example.com/a.mp4")
    alone["spec"]["timeZone"] = "UTC"
    assert "timeZone goes with schedule" in error_of(ProbeJob, alone)


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ({"blackPixelThreshold": 1.5}, "blackPixelThreshold must be between 0 and 1"),
        ({"blackSeconds": -1}, "blackSeconds must be between 0 and 86400"),
        ({"sampleSeconds": 0}, "sampleSeconds must be between 0.01 and 86400"),
        ({"silenceDb": 6}, "silenceDb must be between -200 and 0"),
        ({"decodeErrors": -1}, "decodeErrors must be at least 0"),
        ({"vmaf": 101, "ssim": 2}, "vmaf must be between 0 and 100; ssim must be between 0 and 1"),
        ({"blackSecs": 1}, "unknown threshold blackSecs"),
    ],
)
def test_thresholds_out_of_range_name_the_threshold(
    thresholds: dict[str, float], expected: str
) -> None:
    document = probe(url="https://example.com/a.mp4")
    document["spec"]["thresholds"] = thresholds
    assert f"spec.thresholds: {expected}" in error_of(ProbeJob, document)


def test_every_threshold_default_is_in_its_range() -> None:
    for threshold in THRESHOLDS:
        for value in (threshold.standard, threshold.broadcast):
            assert value is None or threshold.holds(value), threshold.name


@pytest.mark.parametrize(
    ("quantity", "value"),
    [
        ("500m", "0.5"),
        ("2", "2"),
        (1, "1"),
        ("1Ki", "1024"),
        ("256Mi", str(256 * 2**20)),
        ("1G", "1000000000"),
        ("1e3", "1000"),
    ],
)
def test_quantities(quantity: str | int, value: str) -> None:
    assert quantity_value(quantity) == __import__("decimal").Decimal(value)


def test_status_ignores_fields_from_newer_writers() -> None:
    document = channel()
    document["status"] = {"phase": "Live", "somethingNew": 1, "conditions": []}
    assert Channel.model_validate(document).status.phase == "Live"


def test_the_readmes_output_example_is_valid() -> None:
    """The README's `spec.output` works as written."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [b.split("```")[0] for b in text.split("```yaml\n")[1:]]
    outputs = [yaml.safe_load(b)["output"] for b in blocks if b.startswith("output:")]
    assert outputs, "the README shows an output block"
    for output in outputs:
        Output.model_validate(output)


# --- the API server's rules and Python's agree ------------------------------------------
# cel-python matches with RE2, as the API server does: these compare the CRD's CEL rules
# with the models' Python checks on the same values.

PATTERNS = {
    name: value
    for module in (common, channel_api, probejob_api)
    for name, value in vars(module).items()
    if isinstance(value, Pattern)
}

SAMPLES = [
    "", "a", "media", "Media", "media-1", "-media", "media-", "a.b", "a..b", "a" * 80,
    "shows/Cheers", "shows/Cheers S01E01.mkv", "/etc", "a/../b", "..", "..a", "a/..",
    "a\n", "\na", "a\x00b", "tab\there", "del\x7f", "nel\x85", "café", "名前",
    "20:00", "20:00:59", "23:59", "24:00", "7:05", "20:60",
    "*/30 * * * *", "0 3 * * 1-5", "0 6 * * MON-FRI", "5,35 8-18/2 1,15 jan-jun ?",
    "60 * * * *", "0 0 * * 7", "*/0 * * * *", "@hourly", "@every 5m",
    "TZ=UTC 0 6 * * *", " CRON_TZ=UTC 0 6 * * *",
    "*", "https://tv.example.com", "http://[::1]:8080", "https://tv.example.com/",
    "https://TV.example.com", "https://tv.example.com:99999",
    "media:1", "Media:1", "registry.example.com:5000/media/bumpers:2024",
    "library/x@sha256:" + "a" * 64, "media:1 --privileged",
    "https://example.com/a b", "https://example.com/a%20b",
    "cpu", "memory", "gpu", "nvidia.com/gpu", "hugepages-2Mi", "hugepages-2M",
    "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Mars Olympus",
    "../etc", "de", "deu", "DE", "d", "720p", "hd", "-hd", "101", "4.1", ".1",
    "smb.csi.k8s.io", "ext4", "fuse.sshfs", "-1", "1Gi", "+1",
]  # fmt: skip


def cel_holds(rule: dict[str, str], value: Any) -> bool:
    environment = celpy.Environment()
    program = environment.program(environment.compile(rule["rule"]))
    result = program.evaluate({"self": celpy.json_to_cel(value)})
    assert isinstance(result, celpy.celtypes.BoolType), f"{rule['rule']}: {result!r}"
    return bool(result)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_pattern_reads_alike_in_the_api_server_and_in_python(name: str) -> None:
    pattern = PATTERNS[name]
    rule = pattern.rule()
    verdicts = {sample: pattern.holds(sample) for sample in SAMPLES}
    for sample, verdict in verdicts.items():
        assert cel_holds(rule, sample) == verdict, f"{name} on {sample!r}"
    assert True in verdicts.values() and False in verdicts.values(), f"{name}: samples too few"


def test_map_keys_are_held_to_their_pattern_alike() -> None:
    rule = common.RESOURCE_NAME.for_keys.rule()
    for keys in ({}, {"cpu": 1}, {"cpu": 1, "gpu": 1}, {"example.com/gpu": 1}):
        assert cel_holds(rule, keys) == common.RESOURCE_NAME.for_keys.holds(keys), keys


def validations(schema: dict[str, Any]) -> list[dict[str, str]]:
    rules: list[dict[str, str]] = schema["x-kubernetes-validations"]
    return rules


@pytest.mark.parametrize(
    "thresholds",
    [{}, {"ssim": 0.5}, {"ssim": 1.5}, {"silenceDb": -300}, {"liveSeconds": 0}, {"blur": 1e6}],
)
def test_threshold_ranges_read_alike(thresholds: dict[str, float]) -> None:
    schema = TypeAdapter(Thresholds).json_schema()
    # The API server hands CEL a `number` field as a double, whether written 0 or 0.0.
    as_doubles = {name: float(value) for name, value in thresholds.items()}
    in_cel = all(cel_holds(rule, as_doubles) for rule in validations(schema))
    try:
        TypeAdapter(Thresholds).validate_python(thresholds)
        in_python = True
    except ValidationError:
        in_python = False
    assert in_cel == in_python


@pytest.mark.parametrize(
    "slots",
    [
        [],
        [{"start": "06:00"}, {"start": "20:00", "days": ["fri"]}],
        [{"start": "06:00"}, {"start": "06:00:00", "days": ["fri"]}],
        [{"start": "06:00", "days": ["mon"]}, {"start": "06:00", "days": ["tue"]}],
        [{"start": "06:00", "days": ["mon", "fri"]}, {"start": "06:00", "days": ["fri"]}],
        [{"start": "06:00:30"}, {"start": "06:00"}],
    ],
)
def test_slot_clashes_read_alike(slots: list[dict[str, Any]]) -> None:
    document = {"slots": [{"days": [], "program": "a", **slot} for slot in slots]}
    (rule,) = validations(Schedule.model_json_schema(by_alias=True))
    try:
        Schedule.model_validate(document)
        in_python = True
    except ValidationError:
        in_python = False
    assert cel_holds(rule, document) == in_python


def folder_probe(**spec: Any) -> dict[str, Any]:
    document = probe(volume={"persistentVolumeClaim": {"claimName": "m"}}, path="shows/Cheers")
    document["spec"] |= spec
    return document


def test_a_folder_source_is_a_library_probe() -> None:
    spec = ProbeJob.model_validate(folder_probe()).spec
    assert spec.source.is_folder and spec.shards == probejob_api.DEFAULT_PARALLELISM
    assert ProbeJob.model_validate(folder_probe(parallelism=5)).spec.shards == 5
    one = probe(volume={"persistentVolumeClaim": {"claimName": "m"}}, path="shows/a.MKV")
    assert ProbeJob.model_validate(one).spec.shards == 1
    assert "spec.parallelism: Input should be less than or equal to 32" in error_of(
        ProbeJob, folder_probe(parallelism=33)
    )


@pytest.mark.parametrize(
    ("source", "spec"),
    [
        ({"path": "shows/Cheers"}, {"parallelism": 3}),
        ({"path": "shows/Cheers/"}, {"parallelism": 3}),
        ({"path": "shows/a.mkv"}, {"parallelism": 3}),
        ({"path": "shows/a.mkv", "recursive": True}, {"parallelism": 3}),
        ({"path": "shows/a.Mp4/"}, {"parallelism": 3}),
        ({"path": "shows/.mkv"}, {"parallelism": 3}),
        ({"path": "shows/a.mkv.part"}, {"parallelism": 3}),
        ({"path": "shows/a.mkv"}, {}),
    ],
)
def test_parallelism_goes_with_a_folder_alike(source: dict[str, Any], spec: dict[str, Any]) -> None:
    document = probe(volume={"persistentVolumeClaim": {"claimName": "m"}}, **source)["spec"]
    document |= spec
    document["source"].setdefault("recursive", False)  # the API server's default
    schema = probejob_api.ProbeJobSpec.model_json_schema(by_alias=True)
    in_cel = all(cel_holds(rule, document) for rule in validations(schema))
    try:
        probejob_api.ProbeJobSpec.model_validate(document)
        in_python = True
    except ValidationError as error:
        assert "parallelism applies to a folder source" in str(error)
        in_python = False
    assert in_cel == in_python


def test_recursive_goes_with_a_volume_path() -> None:
    assert "`recursive` goes with a folder `path`" in error_of(
        ProbeJob, probe(url="https://example.com/a.mp4", recursive=True)
    )
