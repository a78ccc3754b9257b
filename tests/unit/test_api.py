"""The models validate what users write, with messages that name the field and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from playout.api import Channel, ProbeJob
from playout.api.channel import Output
from playout.api.common import explain, quantity_value
from tests.conftest import EXAMPLES, as_stored, load_example


def channel(**spec: Any) -> dict[str, Any]:
    base = {"media": {"persistentVolumeClaim": {"claimName": "media"}}, "programs": [{"path": "a"}]}
    return {"metadata": {"name": "c"}, "spec": {**base, **spec}}


def error_of(model: type[Channel] | type[ProbeJob], document: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(document)
    return explain(caught.value)


@pytest.mark.parametrize("path", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
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
            "spec.output.renditions[0].name: String should match pattern",
        ),
        ({"resources": {"requests": {"cpu": "lots"}}}, "is not a Kubernetes quantity"),
        ({"bumpers": {"path": "/bumpers"}}, "spec.bumpers.path: must be relative"),
        ({"suspend": "maybe"}, "spec.suspend: Input should be a valid boolean"),
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
    ],
)
def test_invalid_probe_sources_name_the_field(source: dict[str, Any], expected: str) -> None:
    assert expected in error_of(ProbeJob, probe(**source))


@pytest.mark.parametrize(
    "schedule", ["*/30 * * * *", "@hourly", "0 3 * * 1-5", "TZ=Europe/Paris 0 6 * * *"]
)
def test_cron_schedules_are_accepted(schedule: str) -> None:
    document = probe(url="https://example.com/a.mp4")
    document["spec"]["schedule"] = schedule
    ProbeJob.model_validate(document)


@pytest.mark.parametrize("schedule", ["every hour", "* * *", "@often"])
def test_malformed_schedules_are_rejected(schedule: str) -> None:
    document = probe(url="https://example.com/a.mp4")
    document["spec"]["schedule"] = schedule
    assert "spec.schedule" in error_of(ProbeJob, document)


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
