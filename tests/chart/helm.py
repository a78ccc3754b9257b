"""The chart as users meet it: the real helm binary (.tools/bin, built by hack/tools.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, tool

CHART = ROOT / "charts" / "playout"


def helm(
    *args: str, kubeconfig: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [tool("helm"), *args]
    if kubeconfig is not None:
        command += ["--kubeconfig", str(kubeconfig)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
    return result


def set_flags(values: dict[str, str]) -> list[str]:
    return [flag for key, value in values.items() for flag in ("--set", f"{key}={value}")]


def template_text(
    values: dict[str, str] | None = None, *, namespace: str = "tv-ops", chart: Path = CHART
) -> str:
    return helm(
        "template", "tv", str(chart), "--namespace", namespace, *set_flags(values or {})
    ).stdout


def template(
    values: dict[str, str] | None = None, *, namespace: str = "tv-ops"
) -> list[dict[str, Any]]:
    """The rendered manifests, as documents."""
    return [doc for doc in yaml.safe_load_all(template_text(values, namespace=namespace)) if doc]


def only(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents if doc["kind"] == kind]
    return found


def of_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["kind"] == kind]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    """A container's environment; a value the kubelet fills in says where it comes from."""
    return {
        entry["name"]: entry.get(
            "value", f"(from {entry.get('valueFrom', {}).get('fieldRef', {}).get('fieldPath')})"
        )
        for entry in container["env"]
    }
