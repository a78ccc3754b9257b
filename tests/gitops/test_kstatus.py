"""kstatus compliance: what sigs.k8s.io/cli-utils' kstatus, the rules Flux and kpt apply,
computes from the status our own status code writes. The helper is the real library,
built into .tools/bin/kstatus by hack/tools.sh (hack/tools/kstatus)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.gitops.scenarios import CHANNELS, PROBEJOBS, Scenario

Compute = Callable[[dict[str, Any]], dict[str, str]]


@pytest.fixture(scope="session")
def kstatus() -> Compute:
    subprocess.run(
        ["bash", str(ROOT / "hack" / "tools.sh"), "kstatus"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )

    def compute(body: dict[str, Any]) -> dict[str, str]:
        result = subprocess.run(
            [str(ROOT / ".tools" / "bin" / "kstatus")],
            input=json.dumps([body]),
            capture_output=True,
            text=True,
            check=True,
        )
        (computed,) = json.loads(result.stdout)
        return dict(computed)

    return compute


def cases() -> list[Any]:
    params = []
    for scenario in [*CHANNELS, *PROBEJOBS]:
        params.append(pytest.param(scenario, id=f"{scenario.body['kind']}-{scenario.name}"))
    return params


@pytest.mark.parametrize("scenario", cases())
def test_kstatus_reads_our_status(kstatus: Compute, scenario: Scenario) -> None:
    computed = kstatus(scenario.body)
    assert computed["status"] == scenario.kstatus, computed["message"]


def test_generation_not_yet_observed_is_in_progress(kstatus: Compute) -> None:
    (scenario,) = [s for s in CHANNELS if s.name == "new-generation"]
    assert kstatus(scenario.body)["message"] == (
        "Channel generation is 3, but latest observed generation is 2"
    )


def test_deleting_is_terminating(kstatus: Compute) -> None:
    (scenario,) = [s for s in CHANNELS if s.name == "live"]
    body = {**scenario.body, "metadata": {**scenario.body["metadata"]}}
    body["metadata"]["deletionTimestamp"] = "2026-11-21T12:00:00Z"
    assert kstatus(body)["status"] == "Terminating"
