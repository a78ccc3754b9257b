"""The Argo CD health checks (gitops/argocd/<group>/<Kind>/health.lua), run by a real Lua
5.1 interpreter as Argo CD runs them: their own health_test.yaml cases, in Argo CD's
format, and every state our status code produces (tests/gitops/scenarios.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51
import pytest
import yaml

from playout.api import Channel, ProbeJob
from playout.api.common import GROUP
from playout.api.crd import KINDS
from tests.conftest import ROOT
from tests.gitops.scenarios import CHANNELS, PROBEJOBS, Scenario

HEALTH = ROOT / "gitops" / "argocd" / GROUP
MODELS = {"Channel": Channel, "ProbeJob": ProbeJob}


def assess(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """Run `<Kind>/health.lua` with `obj` as Argo CD does: a global `obj`, a table back."""
    lua = lua51.LuaRuntime()
    # Argo CD hands the script the object as JSON decodes it: timestamps are strings.
    plain = json.loads(json.dumps(obj, default=str))
    lua.globals().obj = lua.table_from(plain, recursive=True)
    hs = lua.execute((HEALTH / kind / "health.lua").read_text())
    return {"status": hs["status"], "message": hs["message"]}


def health_tests() -> list[Any]:
    params = []
    for kind_dir in sorted(HEALTH.iterdir()):
        cases = yaml.safe_load((kind_dir / "health_test.yaml").read_text())["tests"]
        for case in cases:
            params.append(
                pytest.param(kind_dir.name, case, id=f"{kind_dir.name}-{case['inputPath']}")
            )
    return params


@pytest.mark.parametrize(("kind", "case"), health_tests())
def test_health_test_yaml(kind: str, case: dict[str, Any]) -> None:
    obj = yaml.safe_load((HEALTH / kind / case["inputPath"]).read_text())
    assert assess(kind, obj) == case["healthStatus"]


def test_one_health_check_per_kind() -> None:
    assert {path.name for path in HEALTH.iterdir()} == {kind.kind for kind in KINDS}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("Channel", {"Healthy", "Progressing", "Degraded", "Suspended"}),
        # A ProbeJob cannot be suspended: its schedule is a CronJob's, without `suspend`.
        ("ProbeJob", {"Healthy", "Progressing", "Degraded"}),
    ],
)
def test_health_tests_cover_every_status(kind: str, expected: set[str]) -> None:
    cases = yaml.safe_load((HEALTH / kind / "health_test.yaml").read_text())["tests"]
    assert {case["healthStatus"]["status"] for case in cases} == expected
    used = {case["inputPath"] for case in cases}
    assert used == {f"testdata/{path.name}" for path in (HEALTH / kind / "testdata").iterdir()}


@pytest.mark.parametrize(
    "path",
    sorted(HEALTH.glob("*/testdata/*.yaml")),
    ids=lambda p: f"{p.parent.parent.name}-{p.name}",
)
def test_testdata_are_objects_the_api_accepts(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    MODELS[document["kind"]].model_validate(document)


@pytest.mark.parametrize(
    "scenario", [*CHANNELS, *PROBEJOBS], ids=lambda s: f"{s.body['kind']}-{s.name}"
)
def test_every_state_the_operator_writes(scenario: Scenario) -> None:
    assert assess(scenario.body["kind"], scenario.body)["status"] == scenario.argocd
