"""The prober's one link to Kubernetes: its report as the container's termination message.

The kubelet copies the file into the pod's status; the operator reads it from there through
the API, so the prober needs no service account token and the operator never connects to a
pod. Kubernetes keeps 4096 bytes, so the report is trimmed to fit (`report.fit`)."""

from __future__ import annotations

from pathlib import Path

from playout.api.probejob import ProbeReport
from playout.prober.report import fit


def write_termination_message(report: ProbeReport, path: Path) -> None:
    path.write_text(fit(report), encoding="utf-8")
