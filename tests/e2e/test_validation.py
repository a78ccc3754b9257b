"""The API server itself rejects bad specs (schema and CEL rules from the models), with a
message that names the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import load_example
from tests.e2e.kubectl import Kubectl

pytestmark = pytest.mark.e2e

CHANNEL = load_example("channel.yaml")
PROBEJOB = load_example("probejob.yaml")


def edited(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
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


CASES = [
    (
        "absolute path",
        edited(CHANNEL, "spec.programs", [{"path": "/etc/shows"}]),
        "spec.programs[0].path",
        "must be relative",
    ),
    (
        "escaping path",
        edited(CHANNEL, "spec.programs", [{"path": "shows/../../etc"}]),
        "spec.programs[0].path",
        "must stay inside the media root",
    ),
    (
        "empty lineup",
        edited(CHANNEL, "spec.programs", []),
        "spec.programs",
        "should have at least 1 items",
    ),
    (
        "duplicate programs",
        edited(CHANNEL, "spec.programs", [{"path": "a"}, {"path": "a"}]),
        "spec.programs",
        "program names must be unique",
    ),
    (
        "two media sources",
        edited(
            CHANNEL,
            "spec.media",
            {"persistentVolumeClaim": {"claimName": "m"}, "image": {"reference": "media:1"}},
        ),
        "spec.media",
        "set exactly one of",
    ),
    ("no media source", edited(CHANNEL, "spec.media", {}), "spec.media", "set exactly one of"),
    (
        "zero-second segments",
        edited(CHANNEL, "spec.output.segmentSeconds", 0),
        "spec.output.segmentSeconds",
        "greater than or equal to 1",
    ),
    (
        "renditions sharing a name",
        edited(
            CHANNEL,
            "spec.output.renditions",
            [
                {"height": 480, "bitrateKbps": 1400},
                {"name": "480p", "height": 360, "bitrateKbps": 800},
            ],
        ),
        "spec.output.renditions",
        "rendition names must be unique",
    ),
    (
        "alternate audio without languages",
        edited(CHANNEL, "spec.output.audio.alternates", True),
        "spec.output.audio.alternates",
        "list the languages to offer",
    ),
    (
        "odd width",
        edited(CHANNEL, "spec.output.video.width", 1279),
        "spec.output.video.width",
        "multiple of 2",
    ),
    (
        "unknown mode",
        edited(CHANNEL, "spec.output.mode", "passthrough"),
        "spec.output.mode",
        "Unsupported value",
    ),
    (
        "limit below request",
        edited(
            CHANNEL, "spec.resources", {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}
        ),
        "spec.resources",
        "every limit must be at least its request",
    ),
    (
        "not a quantity",
        edited(CHANNEL, "spec.resources", {"requests": {"cpu": "lots"}}),
        "spec.resources.requests.cpu",
        "should match",
    ),
    ("unknown field", edited(CHANNEL, "spec.bogus", 1), "spec.bogus", "unknown field"),
    (
        "name too long",
        edited(CHANNEL, "metadata.name", "c" * 47),
        "metadata.name",
        "may not be more than 46 bytes",
    ),
    (
        "name not a DNS label",
        edited(CHANNEL, "metadata.name", "Classics.TV"),
        "metadata.name",
        "should match",
    ),
    ("suspend not a boolean", edited(CHANNEL, "spec.suspend", "maybe"), "spec.suspend", "boolean"),
    (
        "two probe sources",
        edited(PROBEJOB, "spec.source.url", "https://example.com/a.mp4"),
        "spec.source",
        "set exactly one of url, volume or channelRef",
    ),
    (
        "file URL",
        edited(PROBEJOB, "spec.source", {"url": "file:///etc/passwd"}),
        "spec.source.url",
        "must be an http:// or https:// URL",
    ),
    (
        "volume without path",
        edited(PROBEJOB, "spec.source", {"volume": {"persistentVolumeClaim": {"claimName": "m"}}}),
        "spec.source.path",
        "`path` goes with `volume`",
    ),
    (
        "bad schedule",
        edited(PROBEJOB, "spec.schedule", "every hour"),
        "spec.schedule",
        "should match",
    ),
    (
        "unknown profile",
        edited(PROBEJOB, "spec.profile", "thorough"),
        "spec.profile",
        "Unsupported value",
    ),
]


@pytest.mark.parametrize(("case", "document", "field", "message"), CASES, ids=[c[0] for c in CASES])
def test_rejected_with_the_field_named(
    kubectl: Kubectl, case: str, document: dict[str, Any], field: str, message: str
) -> None:
    result = kubectl.try_apply(document)
    assert result.returncode != 0, f"{case}: accepted"
    assert field in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


def test_examples_are_accepted_as_written(kubectl: Kubectl) -> None:
    for example in ("channel.yaml", "probejob.yaml", "probejob-scheduled.yaml"):
        kubectl.apply(load_example(example), "--dry-run=server")
