"""The real engine reporting into the real API server (see `tests/e2e/engine.py`)."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.engine import Engine, small_channel
from tests.e2e.engine import channel_status as status
from tests.e2e.kubectl import Kubectl, eventually

pytestmark = pytest.mark.e2e


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


@pytest.mark.fault
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
