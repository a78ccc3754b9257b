"""The checked-in CRDs are what the models generate, and a valid structural schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from playout.api.crd import KINDS, crd, crd_files
from tests.conftest import ROOT

# kubectl's client-side apply keeps the whole object in an annotation of this size.
LAST_APPLIED_LIMIT = 262_144


def test_checked_in_crds_match_the_models() -> None:
    for name, text in crd_files().items():
        path = ROOT / "crds" / name
        assert path.exists(), f"crds/{name} is missing: run `make crds`"
        assert path.read_text() == text, f"crds/{name} is stale: run `make crds` and commit"


def nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}[*]")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind: Any) -> None:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in nodes(schema):
        assert "$ref" not in node, path
        assert "x-kubernetes-preserve-unknown-fields" not in node, path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string"), f"{path}: anyOf outside int-or-string"
        else:
            assert "type" in node, f"{path} has no type"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_user_field_is_explained(kind: Any) -> None:
    """`kubectl explain` shows a description for every field of the CRD."""
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in nodes(schema):
        if path.endswith("[*]") or path.endswith("[]"):
            continue  # map values and list items are described by their parent
        if path == ".metadata":
            continue  # the API server's own (it refuses a description of ours)
        assert node.get("description"), f"{kind.kind} {path or 'the root'} has no description"


def test_crd_names_and_columns() -> None:
    channel, probejob = (crd(kind) for kind in KINDS)
    assert channel["metadata"]["name"] == "channels.playout.dev"
    assert channel["spec"]["names"]["shortNames"] == ["ch"]
    assert channel["spec"]["names"]["categories"] == ["playout"]
    version = channel["spec"]["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == ["Phase", "Now Playing", "Ready", "Age", "Next", "At", "URL", "Message"]
    assert columns["URL"]["priority"] == 1 and columns["Message"]["priority"] == 1
    pj_columns = [c["name"] for c in probejob["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert pj_columns == ["Phase", "Verdict", "Profile", "Age"]
    assert probejob["spec"]["names"]["shortNames"] == ["pj"]


def test_conditions_are_a_map_keyed_by_type() -> None:
    for kind in KINDS:
        schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        conditions = schema["properties"]["status"]["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_crds_fit_client_side_apply() -> None:
    for text in crd_files().values():
        assert len(text.encode()) < LAST_APPLIED_LIMIT // 2


def test_object_defaults_are_left_to_the_api_server() -> None:
    """Nested defaults are written once, on the leaves; objects default to {}."""
    schema = crd(KINDS[0])["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    output = schema["properties"]["spec"]["properties"]["output"]
    assert output["default"] == {}
    assert output["properties"]["segmentSeconds"]["default"] == 2
    status = schema["properties"]["status"]
    assert all("default" not in node for _, node in nodes(status))


def test_rendered_yaml_has_no_anchors() -> None:
    for text in crd_files().values():
        assert "&id" not in text and "*id" not in text
        yaml.safe_load(text)
