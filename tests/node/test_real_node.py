"""Pods that really run: the streamer pod serves a live stream a player can follow, its
container survives a kill, and the prober pod's verdict reaches the ProbeJob."""

from __future__ import annotations

import base64
import gzip
import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from playout.media.hls import parse_playlist, reload_violations
from tests.e2e.kubectl import Kubectl, eventually
from tests.media.prober.conftest import DEFECTS_AUDIO, DEFECTS_VIDEO
from tests.media.prober.conftest import make_clip as make_probe_clip
from tests.node.conftest import REAL_NODE, Installed
from tests.streaming import channel_document, follow_live_playlist, make_clip

pytestmark = pytest.mark.e2e

SMALL = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}


@pytest.fixture(scope="module")
def media(installed: Installed) -> Path:
    root = installed.media
    for episode, seconds in ((1, 7), (2, 7), (3, 7)):
        make_clip(root / f"shows/Cheers/Cheers S01E0{episode}.mkv", seconds, tone=300 + episode)
    make_clip(root / "shows/Long/Long S01E01.mkv", 60)
    make_clip(root / "bumpers/ident.mp4", 2, source="smptehdbars", tone=1000)
    # The prober tier's clips: clean at -23 LUFS, and black 5-7 s, silence 10-12 s,
    # a picture frozen 12-15 s.
    (root / "checks").mkdir()
    make_probe_clip(root / "checks/clean.mkv", 10)
    make_probe_clip(
        root / "checks/defects.mkv", 16, video_filter=DEFECTS_VIDEO, audio_filter=DEFECTS_AUDIO
    )
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the pods run as a non-root user
    return root


@contextmanager
def port_forward(kubectl: Kubectl, resource: str, port: int) -> Iterator[str]:
    """`kubectl port-forward` to a free local port: the way users reach a pod, through the
    API server and the kubelet, on any cluster."""
    process = subprocess.Popen(
        [kubectl.binary, "--kubeconfig", str(kubectl.kubeconfig), "-n", kubectl.namespace,
         "port-forward", "--address", "127.0.0.1", resource, f":{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) ->", first)
        assert match, f"kubectl port-forward {resource}: {first}{process.stdout.read()}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def streamer_pod(kubectl: Kubectl, channel: str) -> dict[str, Any]:
    (pod,) = kubectl.items("pods", "-l", f"playout.dev/channel={channel}")
    return pod


def channel_status(kubectl: Kubectl, name: str) -> dict[str, Any]:
    return dict((kubectl.get("channel", name) or {}).get("status", {}))


def go_live(installed: Installed, document: dict[str, Any]) -> dict[str, Any]:
    """Apply a Channel, wait for Ready, and return its pod (checked to be on the real node)."""
    name = document["metadata"]["name"]
    installed.tv.apply(document)
    installed.tv("wait", "--for=condition=Ready", f"channel/{name}", "--timeout=180s")
    pod = streamer_pod(installed.tv, name)
    if installed.target.local:
        assert pod["spec"]["nodeName"] == REAL_NODE
    return pod


def test_the_channel_is_live_from_its_pod(installed: Installed, media: Path) -> None:
    tv = installed.tv
    document = channel_document(
        "live", [{"path": "shows/Cheers"}], bumpers={"path": "bumpers"}, resources=SMALL
    )
    go_live(installed, document)
    with port_forward(tv, "service/live", 80) as url:
        seen = follow_live_playlist(lambda: fetch(f"{url}/live/index.m3u8"), 30, 2)
    assert seen.problems == []
    assert seen.transitions >= 3, "fewer than 3 item changes in 30 s of 7 s items"

    # The status follows what is on air.
    on_air: set[str] = set()

    def three_items() -> bool:
        now = channel_status(tv, "live").get("nowPlaying") or {}
        on_air.add(now.get("item", ""))
        return len(on_air - {""}) >= 3

    eventually(three_items, timeout=40, interval=1, what="nowPlaying to move on")
    status = channel_status(tv, "live")
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert status["phase"] == "Live" and conditions["Ready"] == "True"
    assert status["stream"]["mediaSequence"] > 0

    # A probe of the channel reaches it the way pods do: its Service's name, through
    # cluster DNS and the Service's address.
    live = probe(installed, "live-probe", {"channelRef": {"name": "live"}}, profile="quick")
    hls = {check["name"]: check for check in live["checks"] if check["name"].startswith("hls")}
    assert set(hls) >= {"hlsSegments", "hlsKeyframes", "hlsSequence"}, live["checks"]
    assert all(check["status"] == "pass" for check in hls.values()), hls


def test_a_killed_streamer_resumes_from_its_saved_cursor(installed: Installed, media: Path) -> None:
    tv = installed.tv
    document = channel_document("resume", [{"path": "shows/Long"}], resources=SMALL)
    pod = go_live(installed, document)
    with port_forward(tv, f"pod/{pod['metadata']['name']}", 8080) as url:
        eventually(
            lambda: json.loads(fetch(f"{url}/status"))["nowPlaying"]["positionSeconds"] >= 12,
            timeout=60,
            what="12 s into the item",
        )
        before_playlist = parse_playlist(fetch(f"{url}/live/index.m3u8"))
        before = json.loads(fetch(f"{url}/status"))

    (container,) = pod["status"]["containerStatuses"]
    container_id = container["containerID"].removeprefix("containerd://")
    subprocess.run(
        [*installed.target.ctr, "tasks", "kill", "--signal", "SIGKILL", container_id],
        check=True,
        capture_output=True,
    )

    def restarted() -> dict[str, Any] | None:
        current = streamer_pod(tv, "resume")
        (status,) = current["status"]["containerStatuses"]
        return current if status["restartCount"] >= 1 and status["ready"] else None

    restarted_pod = eventually(restarted, timeout=90, what="the kubelet to restart the container")
    assert restarted_pod["metadata"]["uid"] == pod["metadata"]["uid"]  # same pod, same disk

    with port_forward(tv, f"pod/{pod['metadata']['name']}", 8080) as url:
        resumed = eventually(
            lambda: json.loads(fetch(f"{url}/status"))["nowPlaying"], what="the item on air"
        )
        after_playlist = parse_playlist(fetch(f"{url}/live/index.m3u8"))
    cursor = before["progress"]["shows/Long"]
    assert resumed["item"] == cursor["item"] == "shows/Long/Long S01E01.mkv"
    assert resumed["positionSeconds"] >= cursor["positionSeconds"] >= 10
    # A player following across the restart sees counters that only grow.
    assert reload_violations(before_playlist, after_playlist) == []
    tv("wait", "--for=condition=Ready", "channel/resume", "--timeout=60s")


def on_file(path: str) -> dict[str, Any]:
    return {"volume": {"persistentVolumeClaim": {"claimName": "media"}}, "path": path}


def probe(
    installed: Installed,
    name: str,
    source: dict[str, Any],
    profile: str = "broadcast",
    **spec: Any,
) -> dict[str, Any]:
    """Apply a ProbeJob, wait for its run to finish, and return its status (its pods checked
    to have run on the real node)."""
    tv = installed.tv
    tv.apply(
        {
            "apiVersion": "playout.dev/v1alpha1",
            "kind": "ProbeJob",
            "metadata": {"name": name},
            "spec": {"source": source, "profile": profile, "timeoutSeconds": 120, **spec},
        }
    )
    tv("wait", "--for=jsonpath={.status.phase}=Succeeded", f"probejob/{name}", "--timeout=240s")
    if installed.target.local:
        pods = tv.items("pods", "-l", f"job-name={name}-1")
        assert pods and all(pod["spec"]["nodeName"] == REAL_NODE for pod in pods)
    return dict((tv.get("probejob", name) or {})["status"])


def report_in(installed: Installed, config_map: str) -> dict[str, Any]:
    """The whole report a prober pod wrote into its report ConfigMap."""
    found = installed.tv.get("configmap", config_map)
    assert found is not None and "binaryData" in found, f"no report in {config_map}"
    document: dict[str, Any] = json.loads(
        gzip.decompress(base64.b64decode(found["binaryData"]["report.json.gz"]))
    )
    return document


def test_the_prober_pods_verdict_reaches_the_status(installed: Installed, media: Path) -> None:
    clean = probe(installed, "clean", on_file("checks/clean.mkv"))
    assert clean["verdict"] == "pass", clean["checks"]
    loudness = next(check for check in clean["checks"] if check["name"] == "loudness")
    assert loudness["value"] == pytest.approx(-23, abs=0.5)
    assert clean["summary"]["video"]["width"] == 320

    defects = probe(installed, "defects", on_file("checks/defects.mkv"))
    assert defects["verdict"] == "fail"
    failed = {check["name"]: check for check in defects["checks"] if check["status"] == "fail"}
    assert {"black", "silence", "freeze"} <= set(failed), defects["checks"]
    assert failed["black"]["events"][0]["start"] == pytest.approx(5, abs=0.25)
    # The whole report is in the ProbeJob's ConfigMap too, written by the pod itself.
    whole = report_in(installed, "defects-report")
    assert [(c["name"], c["status"]) for c in whole["checks"]] == [
        (c["name"], c["status"]) for c in defects["checks"]
    ]
    assert whole["summary"]["video"]["width"] == 320
    # With the pictures of the pod's decode pass, for the HTML report.
    pictures = whole["pictures"]
    assert pictures["loudness"]["seconds"] and pictures["thumbnailSeconds"] == 1.0
    taken = [thumbnail["seconds"] for thumbnail in pictures["thumbnails"]]
    assert any(5 <= seconds <= 7 for seconds in taken), taken  # the black event's


def test_a_folder_is_probed_by_shards_whose_reports_arrive(
    installed: Installed, media: Path
) -> None:
    status = probe(installed, "checks", on_file("checks"), parallelism=2)
    library = status["library"]
    assert status["verdict"] == "fail"
    assert library["counts"]["total"] == 2 and library["counts"]["pass"] == 1
    assert library["counts"]["fail"] == 1 and library["shardsReported"] == 2
    assert [(w["path"], w["status"]) for w in library["worst"]] == [("defects.mkv", "fail")]
    assert library["reports"] == ["checks-report", "checks-report-1"]
    # Dealt in natural order: clean.mkv to shard 0, defects.mkv to shard 1.
    for name, path in zip(library["reports"], ["clean.mkv", "defects.mkv"], strict=True):
        report = report_in(installed, name)
        assert [item["path"] for item in report["files"]] == [path]
        assert report["files"][0]["report"]["checks"], report
