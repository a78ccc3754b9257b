"""docs/gitops.md works as written: its manifests parse, the files it installs exist, and
its Flux healthCheckExprs give every state our status code writes the intended kstatus.

Flux evaluates the expressions with cel-go (fluxcd/pkg runtime/cel, StatusEvaluator);
`flux_status` follows that evaluator's order, with cel-python as the CEL interpreter."""

from __future__ import annotations

import re
from typing import Any

import celpy
import pytest
import yaml

from tests.conftest import ROOT
from tests.gitops.scenarios import CHANNELS, PROBEJOBS, Scenario

DOC = ROOT / "docs" / "gitops.md"
# With no status at all, kstatus says Current; these expressions wait for the operator.
FLUX_DIFFERS = {("Channel", "no-status"): "InProgress"}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def manifests() -> list[dict[str, Any]]:
    return [doc for block in blocks("yaml") for doc in yaml.safe_load_all(block) if doc]


def test_manifests_parse_and_name_their_kinds() -> None:
    kinds = {doc.get("kind") for doc in manifests()}
    assert {"Application", "GitRepository", "HelmRelease", "Kustomization"} <= kinds


def test_the_health_checks_it_installs_exist() -> None:
    text = "\n".join(blocks("sh") + blocks("yaml"))
    paths = re.findall(r"=(gitops/argocd/\S+\.lua)", text)
    assert len(paths) == 4
    assert all((ROOT / path).is_file() for path in paths)


def health_check_exprs() -> dict[str, dict[str, str]]:
    (kustomization,) = [doc for doc in manifests() if "healthCheckExprs" in doc.get("spec", {})]
    return {check["kind"]: check for check in kustomization["spec"]["healthCheckExprs"]}


def flux_status(check: dict[str, str], obj: dict[str, Any]) -> str:
    """fluxcd/pkg runtime/cel StatusEvaluator.Evaluate: a generation not yet observed is
    InProgress; then the first true of inProgress, failed, current; else InProgress."""
    observed = obj.get("status", {}).get("observedGeneration")
    if observed is not None and observed != obj["metadata"].get("generation"):
        return "InProgress"
    environment = celpy.Environment()
    activation = {key: celpy.json_to_cel(value) for key, value in obj.items()}
    for field, result in (
        ("inProgress", "InProgress"),
        ("failed", "Failed"),
        ("current", "Current"),
    ):
        if field in check:
            program = environment.program(environment.compile(check[field]))
            if bool(program.evaluate(activation)):
                return result
    return "InProgress"


@pytest.mark.parametrize(
    "scenario", [*CHANNELS, *PROBEJOBS], ids=lambda s: f"{s.body['kind']}-{s.name}"
)
def test_flux_health_check_exprs(scenario: Scenario) -> None:
    kind = scenario.body["kind"]
    expected = FLUX_DIFFERS.get((kind, scenario.name), scenario.kstatus)
    assert flux_status(health_check_exprs()[kind], scenario.body) == expected
