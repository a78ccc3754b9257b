"""The real engine reporting into the real API server. A kwok pod runs nothing, so the
engine runs here as a process with what the pod would have: the ConfigMap the operator
rendered, the environment of the Deployment's container, and the token of the
ServiceAccount the operator made for it."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, load_example
from tests.e2e.kubectl import Kubectl, eventually, service_account_kubeconfig
from tests.streaming import free_port, make_clip

NAME = "classics"


def make_media(root: Path) -> Path:
    """Two 90 s episodes, a film and a bumper: what `small_channel` plays."""
    for episode in (1, 2):
        make_clip(root / f"shows/Cheers/Cheers S01E0{episode}.mkv", 90)
    make_clip(root / "movies/Film.mp4", 10)
    make_clip(root / "bumpers/ident.mp4", 2)
    return root


def small_channel(**spec: Any) -> dict[str, Any]:
    """The example channel, small, as a lineup (its slots would put whichever episode the
    clock says on air); `spec` replaces fields."""
    document = copy.deepcopy(load_example("channel.yaml"))
    for clocked in ("schedule", "breaks", "filler"):
        document["spec"].pop(clocked)
    document["spec"].update(spec)
    document["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    document["spec"]["output"]["video"] = {
        "width": 320,
        "height": 240,
        "frameRate": 25,
        "preset": "ultrafast",
        "bitrateKbps": 400,
    }
    # The example's ladder, small: two renditions, so every test here runs one.
    document["spec"]["output"]["renditions"] = [
        {"height": 240, "bitrateKbps": 400},
        {"height": 144, "bitrateKbps": 150},
    ]
    return document


def channel_status(kubectl: Kubectl) -> dict[str, Any]:
    return dict((kubectl.get("channel", NAME) or {}).get("status", {}))


def pod_environment(kubectl: Kubectl) -> dict[str, str]:
    """The streamer container's environment as the kubelet would set it: the Deployment's
    values, and the namespace its field reference names."""
    deployment = eventually(lambda: kubectl.get("deployment", NAME), what="the Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    environment = {}
    for variable in container.get("env", []):
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
        elif variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == (
            "metadata.namespace"
        ):
            environment[variable["name"]] = kubectl.namespace
        else:
            raise AssertionError(f"the test cannot set {variable} as the kubelet would")
    return environment


class Engine:
    def __init__(self, kubectl: Kubectl, media: Path, workdir: Path) -> None:
        self.kubectl, self.media, self.workdir = kubectl, media, workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.host = "127.0.0.1"
        self.port = free_port()
        self.log = workdir / "engine.log"

    def start(self, state: Path, media: Path | None = None) -> None:
        """`playout run` as the pod runs it: its config, its identity, its env."""
        config = self.workdir / "channel.yaml"
        config.write_text(
            eventually(
                lambda: (
                    (self.kubectl.get("configmap", f"{NAME}-config") or {})
                    .get("data", {})
                    .get("channel.yaml")
                ),
                what="the engine config",
            )
        )
        identity = service_account_kubeconfig(
            self.kubectl, self.kubectl.namespace, f"{NAME}-streamer", self.workdir / "kubeconfig"
        )
        env = {**os.environ, **pod_environment(self.kubectl), "KUBECONFIG": str(identity)}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "playout.cli", "run", str(config), "--media-root", str(media or self.media), "--state", str(state), "--host", self.host, "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip

    def stop(self, *, timeout: float = 60) -> int:
        """SIGTERM, as the kubelet stops a pod; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def get(self, path: str) -> str:
        """What the engine serves at `path` (its own, not through a Service)."""
        with urllib.request.urlopen(
            f"http://{self.host}:{self.port}{path}", timeout=10
        ) as response:
            text: str = response.read().decode()
            return text

    def status(self) -> dict[str, Any]:
        """The engine's own /status: what it aired, reported or not."""
        document: dict[str, Any] = json.loads(self.get("/status"))
        return document

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
