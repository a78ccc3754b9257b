"""Shared fixtures: the repository's own files, loaded as users write them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from playout.controller.status.observed import DeploymentState, JobState

# The engine as a fixture (`streamer_for`), for the media and browser tiers; the tally of
# faults and bad inputs at the end of a run.
pytest_plugins = ["tests.streaming", "tests.tally"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load_example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


def as_stored(document: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    """A manifest as the API server hands it back: namespaced, with uid and generation."""
    stored = {**document, "metadata": {**document["metadata"]}}
    stored["metadata"].setdefault("namespace", "tv")
    stored["metadata"].setdefault("uid", "0b5c6a7e-0000-4000-8000-000000000001")
    stored["metadata"].setdefault("generation", generation)
    return stored


def tool(name: str) -> str:
    """A binary hack/tools.sh builds (kubectl, helm, ...), or else the one on PATH."""
    built = ROOT / ".tools" / "bin" / name
    if built.exists():
        return str(built)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run `make tools`")
    return found


def rolled_out(**overrides: Any) -> DeploymentState:
    """A streamer Deployment whose one replica is updated and available, with overrides."""
    fields: dict[str, Any] = {
        "replicas": 1,
        "available_replicas": 1,
        "progress_deadline_exceeded": False,
        "message": "",
        "rollout_complete": True,
        "unavailable_since": None,
    }
    return DeploymentState(**{**fields, **overrides})


def probe_job(**overrides: Any) -> JobState:
    """A probe Job that has neither started nor finished, with overrides."""
    fields: dict[str, Any] = {
        "name": "cheers-s01e01-1",
        "created": "2026-11-21T12:00:00Z",
        "active": 0,
        "complete": False,
        "failed": False,
        "reason": "",
        "message": "",
    }
    return JobState(**{**fields, **overrides})


@pytest.fixture
def channel_body() -> dict[str, Any]:
    return as_stored(load_example("channel.yaml"))


@pytest.fixture
def probejob_body() -> dict[str, Any]:
    return as_stored(load_example("probejob.yaml"))
