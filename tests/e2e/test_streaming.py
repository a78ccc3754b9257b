"""The real engine reporting into the real API server. A kwok pod runs nothing, so the
engine runs here as a process with what the pod would have: the ConfigMap the operator
rendered, and the token of the ServiceAccount the operator made for it."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, load_example
from tests.e2e.kubectl import Kubectl, eventually, service_account_kubeconfig
from tests.streaming import free_port, make_clip

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
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


class Engine:
    def __init__(self, kubectl: Kubectl, media: Path, workdir: Path) -> None:
        self.kubectl, self.media, self.workdir = kubectl, media, workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self.log = workdir / "engine.log"

    def start(self, state: Path, media: Path | None = None) -> None:
        """`playout run` as the pod runs it: its config, its identity, its env."""
        config = self.workdir / "channel.yaml"
        config.write_text(
            eventually(
                lambda: (
                    (self.kubectl.get("configmap", "classics-config") or {})
                    .get("data", {})
                    .get("channel.yaml")
                ),
                what="the engine config",
            )
        )
        identity = service_account_kubeconfig(
            self.kubectl, self.kubectl.namespace, "classics-streamer", self.workdir / "kubeconfig"
        )
        deployment = eventually(
            lambda: self.kubectl.get("deployment", "classics"), what="the streamer Deployment"
        )
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {
            **os.environ,
            # What the operator hands the streamer (its heartbeat among them)...
            **{entry["name"]: entry["value"] for entry in container["env"] if "value" in entry},
            # ... and what the pod would get from the downward API.
            "PLAYOUT_NAMESPACE": self.kubectl.namespace,
            "KUBECONFIG": str(identity),
        }
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "playout.cli", "run", str(config), "--media-root", str(media or self.media), "--state", str(state), "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> int:
        """SIGTERM, as the kubelet stops a pod; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def status(self) -> dict[str, Any]:
        """The engine's own /status: what it aired, reported or not."""
        url = f"http://127.0.0.1:{self.port}/status"
        with urllib.request.urlopen(url, timeout=10) as response:
            document: dict[str, Any] = json.loads(response.read())
            return document


@pytest.fixture
def engine(kubectl: Kubectl, media: Path, tmp_path: Path) -> Iterator[Engine]:
    running = Engine(kubectl, media, tmp_path)
    yield running
    running.kill()
    sys.stderr.write(
        f"\n--- engine log (tail) ---\n{running.log.read_text()[-3000:] if running.log.exists() else ''}\n"
    )


def status(kubectl: Kubectl) -> dict[str, Any]:
    return dict((kubectl.get("channel", "classics") or {}).get("status", {}))


def test_the_channel_goes_live_on_real_reports(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    kubectl.apply(small_channel())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    live = status(kubectl)
    assert live["phase"] == "Live"
    assert live["nowPlaying"]["title"] == "Cheers S01E01"
    assert live["stream"]["mediaSequence"] >= 0 and live["stream"]["lastSegmentAt"]
    row = kubectl("get", "channels").splitlines()[1].split()
    assert row[:4] == ["classics", "Live", "Cheers", "S01E01"] and row[4] == "True"


def test_a_pod_that_lost_its_disk_resumes_from_the_status(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    document = small_channel()
    kubectl.apply(document)
    engine.start(tmp_path / "first")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    time.sleep(12)
    engine.kill()
    before = status(kubectl)
    cursor = before["progress"]["shows/Cheers"]
    assert cursor["item"] == "shows/Cheers/Cheers S01E01.mkv" and cursor["positionSeconds"] > 0
    engine.start(tmp_path / "second")  # a new, empty state directory
    after = eventually(
        lambda: (
            (s := status(kubectl))
            and s["stream"]["mediaSequence"] > before["stream"]["mediaSequence"]
            and s
        ),
        timeout=60,
        what="new reports",
    )
    assert after["nowPlaying"]["item"] == cursor["item"]
    # It resumes within a segment of the reported cursor (tests/media/streamer/test_resume.py
    # holds it to that): the segment in progress when the report was made airs again.
    segment = document["spec"]["output"].get("segmentSeconds", 2)
    assert after["nowPlaying"]["positionSeconds"] >= cursor["positionSeconds"] - segment
    assert after["stream"]["discontinuitySequence"] >= before["stream"]["discontinuitySequence"]


def test_a_silent_engine_degrades_the_channel(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    document = small_channel()
    document["spec"]["output"]["segmentSeconds"] = 1
    kubectl.apply(document)
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    engine.kill()
    # The operator sees no report for the e2e heartbeat + 3 segments + slack (28 s), with no
    # event to wake it: its recheck does.
    kubectl("wait", "--for=jsonpath={.status.phase}=Degraded", "channel/classics", "--timeout=120s")
    conditions = {c["type"]: c for c in status(kubectl)["conditions"]}
    assert conditions["StreamHealthy"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "StreamStale"
    events = eventually(
        lambda: kubectl.items("events", "--field-selector", "reason=Degraded"),
        what="a Degraded event",
    )
    assert events[0]["type"] == "Warning"


def test_a_streamer_pod_that_turns_unready_degrades_the_channel_at_once(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    """The pod's readiness (/healthz) fails within seconds of the last segment; the operator
    reads it from the Deployment, long before a report would be missed (the engine here
    keeps reporting), and writes nothing while the pod stays ready."""
    kubectl.apply(small_channel())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    set_pod_ready(kubectl, ready=False)  # what the kubelet writes when /healthz fails
    kubectl("wait", "--for=jsonpath={.status.phase}=Degraded", "channel/classics", "--timeout=60s")
    conditions = {c["type"]: c for c in status(kubectl)["conditions"]}
    assert conditions["Ready"]["reason"] == "StreamStale"
    assert conditions["Ready"]["message"].startswith("The streamer has had no ready pod since ")
    assert conditions["StreamHealthy"]["status"] == "False"
    assert conditions["Stalled"]["status"] == "False"  # not before five minutes
    set_pod_ready(kubectl, ready=True)
    kubectl("wait", "--for=jsonpath={.status.phase}=Live", "channel/classics", "--timeout=60s")


def set_pod_ready(kubectl: Kubectl, *, ready: bool) -> None:
    """Set the Ready condition of the channel's (kwok) pod, as the kubelet would."""
    (pod,) = [
        p
        for p in kubectl.items("pods", "-l", "playout.dev/channel=classics")
        if not p["metadata"].get("deletionTimestamp")
    ]
    value = "True" if ready else "False"
    conditions = [{"type": kind, "status": value} for kind in ("Ready", "ContainersReady")]
    kubectl(
        "patch", "pod", pod["metadata"]["name"], "--subresource=status", "--type=strategic",
        "-p", json.dumps({"status": {"conditions": conditions}}),
    )  # fmt: skip


def test_a_stopping_engine_reports_what_it_aired_last(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    """Between heartbeats the status lags what the engine aired; as it stops it reports
    once more, so the resume cursor a new pod starts from is the latest."""
    kubectl.apply(small_channel())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    reported = status(kubectl)["stream"]["mediaSequence"]
    aired = eventually(
        lambda: (s := engine.status()["stream"]["mediaSequence"]) > reported and s,
        timeout=60,
        what="a segment aired and not yet reported",
    )
    assert engine.stop() == 0
    final = status(kubectl)
    assert final["stream"]["mediaSequence"] >= aired
    assert final["progress"]["shows/Cheers"]["positionSeconds"] > 0


def test_a_scheduled_channel_publishes_its_timeline(
    kubectl: Kubectl, engine: Engine, media: Path, tmp_path: Path
) -> None:
    """The timeline goes into the Channel's ConfigMap; a pod that lost its disk airs that
    same timeline, even though the media changed meanwhile."""
    own_media = tmp_path / "media"
    shutil.copytree(media, own_media)
    now = datetime.now(UTC)
    slots = [
        {"start": (now - timedelta(minutes=2)).strftime("%H:%M:%S"), "program": "shows/Cheers"},
        {"start": (now + timedelta(minutes=20)).strftime("%H:%M:%S"), "program": "movies"},
    ]
    kubectl.apply(small_channel(schedule={"timezone": "UTC", "guideDays": 1, "slots": slots}))
    engine.start(tmp_path / "first", own_media)
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    kubectl("wait", "--for=condition=OnSchedule", "channel/classics", "--timeout=60s")
    published = eventually(
        lambda: (
            (kubectl.get("configmap", "classics-timeline") or {})
            .get("binaryData", {})
            .get("timeline.json.gz")
        ),
        what="the published timeline",
    )
    planned = json.loads(gzip.decompress(base64.b64decode(published)))
    assert {e["entry"]["path"] for e in planned["entries"]} >= {
        "shows/Cheers/Cheers S01E01.mkv",
        "shows/Cheers/Cheers S01E02.mkv",
    }
    reported = status(kubectl)
    before = reported["schedule"]
    assert before["next"] and before["horizon"]
    wide = kubectl("get", "channels", "-o", "wide")
    assert before["next"][0]["title"] in wide and before["next"][0]["start"] in wide
    engine.kill()
    # Without the published timeline, a new plan would leave the vanished episode out.
    (own_media / "shows/Cheers/Cheers S01E02.mkv").unlink()
    engine.start(tmp_path / "second", own_media)
    after = eventually(
        lambda: (
            (s := status(kubectl))
            and s["stream"]["mediaSequence"] > reported["stream"]["mediaSequence"]
            and s["schedule"]
        ),
        timeout=60,
        what="reports from the new pod",
    )
    upcoming = {(e["title"], e["start"]) for e in after["next"]}
    assert upcoming & {(e["title"], e["start"]) for e in before["next"]}
    assert "Cheers S01E02" in {title for title, _ in upcoming}
