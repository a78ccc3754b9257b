"""`kubectl playout` as a user runs it: the real kubectl finds the plugin on PATH, and the
plugin talks to the real API server with the user's kubeconfig. The channel's engine is
the real one (see `tests/e2e/engine.py`), and so is the prober that fills the reports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from playout.api.annotations import RESTARTED_AT, SKIP
from tests.conftest import ROOT
from tests.e2e.engine import Engine, small_channel
from tests.e2e.engine import channel_status as status
from tests.e2e.kubectl import Kubectl, eventually, service_account_kubeconfig
from tests.e2e.test_probejob import leave_termination_message, library_probe, probejob

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PATH with `kubectl-playout` on it, as `make kubectl-plugin` puts it in the tools."""
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "kubectl-playout").symlink_to(Path(sys.executable).parent / "kubectl-playout")
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture
def user(kubectl: Kubectl, tmp_path: Path, plugin_path: str) -> Kubectl:
    """A user of the namespace with only examples/kubectl-playout-role.yaml: the plugin runs
    as them."""
    kubectl.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "viewer"}})
    config = service_account_kubeconfig(
        kubectl, kubectl.namespace, "viewer", tmp_path / "user-kubeconfig"
    )
    as_user = Kubectl(config, kubectl.namespace)
    refused = run_playout(as_user, plugin_path, "status")
    assert refused.returncode != 0 and "examples/kubectl-playout-role.yaml" in refused.stderr
    kubectl("apply", "-f", str(ROOT / "examples" / "kubectl-playout-role.yaml"))
    kubectl("create", "rolebinding", "viewer", "--role=playout-user",
            f"--serviceaccount={kubectl.namespace}:viewer")  # fmt: skip
    return as_user


def run_playout(as_user: Kubectl, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl playout ARGS` with `as_user`'s kubeconfig and namespace; its output is no
    terminal, and says times in UTC."""
    command = [as_user.binary, "playout", "--kubeconfig", str(as_user.kubeconfig),
               "-n", as_user.namespace, *args]  # fmt: skip
    environment = {**os.environ, "PATH": path, "TZ": "UTC"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment)
    assert "\x1b[" not in result.stdout  # no colour when the output is not a terminal
    return result


def playout(as_user: Kubectl, path: str, *args: str) -> str:
    result = run_playout(as_user, path, *args)
    assert result.returncode == 0, f"kubectl playout {' '.join(args)}: {result.stderr}"
    return result.stdout


def channel_probe() -> dict[str, Any]:
    document = probejob()
    document["metadata"]["name"] = "classics-live"
    document["spec"]["source"] = {"channelRef": {"name": "classics"}}
    document["spec"]["profile"] = "quick"
    return document


def give_verdict(kubectl: Kubectl, probe: str, report: dict[str, Any]) -> None:
    """What the prober's pod leaves (kwok runs none): its report as termination message."""

    def finished() -> dict[str, Any] | None:
        pods = kubectl.items("pods", "-l", f"playout.dev/probejob={probe}")
        return next((p for p in pods if p["status"].get("phase") == "Succeeded"), None)

    leave_termination_message(
        kubectl, eventually(finished, timeout=120, what="a probe pod"), report
    )


def start_of(guide: str, title: str = "Cheers S01E02") -> datetime:
    """When `title` next starts in the guide's text (a time of day, UTC)."""
    line = next(line for line in guide.splitlines() if line.endswith(f"  {title}"))
    return datetime.strptime(line[2:10], "%H:%M:%S")


def host_address() -> str:
    """This machine's address on its default route (a UDP socket sends nothing to learn
    it): the API server proxies to it, never to loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        address: str = probe.getsockname()[0]
    assert not address.startswith("127."), "the asrun test needs an address besides loopback"
    return address


def test_restart_rolls_the_pipelines(kubectl: Kubectl, user: Kubectl, plugin_path: str) -> None:
    """The annotation goes onto the pod template, and no reconcile takes it back."""
    kubectl.apply(small_channel())
    eventually(lambda: kubectl.get("deployment", "classics"), what="the Deployment")
    generation = kubectl.get("channel", "classics")["metadata"]["generation"]  # type: ignore[index]
    said = playout(user, plugin_path, "restart", "classics")
    asked = said.strip().rsplit("=", 1)[1].rstrip(")")
    annotations = kubectl.get("channel", "classics")["metadata"]["annotations"]  # type: ignore[index]
    assert annotations[RESTARTED_AT] == asked

    def template_annotation() -> str | None:
        deployment = kubectl.get("deployment", "classics") or {}
        template = deployment.get("spec", {}).get("template", {}).get("metadata", {})
        return template.get("annotations", {}).get(RESTARTED_AT)

    eventually(lambda: template_annotation() == asked, what="the restart on the pod template")
    assert kubectl.get("channel", "classics")["metadata"]["generation"] == generation  # type: ignore[index]
    kubectl("rollout", "status", "deployment/classics", "--timeout=60s")
    pods = kubectl.items("pods", "-l", "playout.dev/channel=classics")
    assert [p["metadata"]["annotations"][RESTARTED_AT] for p in pods] == [asked]
    assert template_annotation() == asked


def test_status_skip_and_asrun_on_a_live_channel(
    kubectl: Kubectl, user: Kubectl, engine: Engine, tmp_path: Path, plugin_path: str
) -> None:
    # The as-run log comes through the API server's proxy to the channel's Service, whose
    # endpoint is its pod's address on port 8080: kwok's pod address is routable nowhere,
    # so the pod gets this machine's, where the engine listens as its pod would.
    engine.host, engine.port = host_address(), 8080
    kubectl.apply(small_channel())
    kubectl.apply(channel_probe())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    give_verdict(kubectl, "classics-live", {"verdict": "pass", "checks": []})
    eventually(
        lambda: (kubectl.get("probejob", "classics-live") or {}).get("status", {}).get("verdict"),
        what="the channel probe's verdict",
    )

    shown = playout(user, plugin_path, "status", "classics").splitlines()
    assert shown[0] == "classics  Live"
    rows = {line.split()[0]: line for line in shown[1:] if line.startswith("  ") and line.split()}
    assert "Cheers S01E01" in rows["on"]
    assert rows["pipelines"].split()[1:] == ["1/1", "ready"]
    assert rows["probe"].split()[1:3] == ["classics-live", "PASS"]
    assert rows["next"].split()[1:]  # a time and a title
    table = playout(user, plugin_path, "status").splitlines()
    assert table[0].split() == ["NAME", "PHASE", "ON", "AIR", "NEXT", "DRIFT", "PROBE"]
    assert table[1].split()[:4] == ["classics", "Live", "Cheers", "S01E01"]
    assert table[1].split()[-2:] == ["classics-live", "pass"]
    guide = playout(user, plugin_path, "guide", "classics", "--hours", "1")
    assert guide.startswith("> ") and "Cheers S01E01" in guide.splitlines()[0]
    before = start_of(guide)

    # Skip: the engine ends the episode on air, long before its 90 s.
    said = playout(user, plugin_path, "skip", "classics")
    asked = said.strip().rsplit("=", 1)[1].rstrip(")")
    annotations = kubectl.get("channel", "classics")["metadata"]["annotations"]  # type: ignore[index]
    assert annotations[SKIP] == asked
    eventually(
        lambda: engine.status()["nowPlaying"]["title"] != "Cheers S01E01",
        timeout=30,
        what="the next entry on air",
    )
    reported = eventually(
        lambda: [s for s in status(kubectl).get("skipped", []) if s["reason"] == "requested"],
        what="the skip in the Channel status",
    )
    assert reported[0]["item"] == "shows/Cheers/Cheers S01E01.mkv"
    # The lineup moved up: the next episode starts earlier than the guide said before.
    after = start_of(playout(user, plugin_path, "guide", "classics", "--hours", "1"))
    assert 0 < (before - after).total_seconds() % 86400 < 90

    (pod,) = kubectl.items("pods", "-l", "playout.dev/channel=classics")
    kubectl(
        "patch", "pod", pod["metadata"]["name"], "--subresource=status", "--type=merge", "-p",
        json.dumps({"status": {"podIP": engine.host, "podIPs": [{"ip": engine.host}]}}),
    )  # fmt: skip

    def asrun_log() -> str | None:
        found = run_playout(user, plugin_path, "asrun", "classics", "-o", "json")
        return found.stdout if found.returncode == 0 else None

    served = eventually(asrun_log, what="the as-run log through the service proxy")
    records = [json.loads(line) for line in served.splitlines()]
    (ended,) = [r for r in records if r.get("event") == "skipped"]
    assert ended["title"] == "Cheers S01E01"
    assert ended["reason"] == f"skipped by request ({SKIP}: {asked})"
    assert ended["end"] < ended["scheduledEnd"]
    text = playout(user, plugin_path, "asrun", "classics").splitlines()
    assert text[0].split()[1:4] == ["item", "Cheers", "S01E01"]
    assert [line for line in text if "ended early" in line] == [
        f"{ended['end'][11:19]}  ended early  Cheers S01E01 (item): {ended['reason']}"
    ]


def test_a_skip_on_a_scheduled_channel_keeps_its_times(
    kubectl: Kubectl, user: Kubectl, engine: Engine, tmp_path: Path, plugin_path: str
) -> None:
    """Time is the source of truth: the rest of the skipped episode's time is filled (no
    filler here: the slate), and what follows starts when the guide said."""
    start = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%H:%M:%S")
    slots = [{"start": start, "program": "shows/Cheers"}]
    kubectl.apply(small_channel(schedule={"timezone": "UTC", "guideDays": 1, "slots": slots}))
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", "channel/classics", "--timeout=90s")
    guide = eventually(
        lambda: (g := playout(user, plugin_path, "guide", "classics")).startswith("> ") and g,
        what="the published guide",
    )
    assert "Cheers S01E01" in guide.splitlines()[0]
    before = start_of(guide)
    said = playout(user, plugin_path, "skip", "classics")
    asked = said.strip().rsplit("=", 1)[1].rstrip(")")

    def aired() -> list[dict[str, Any]]:
        return [json.loads(line) for line in engine.get("/asrun").splitlines()]

    stand_ins = eventually(
        lambda: [r for r in aired() if r.get("reason") == "requested" and "event" not in r],
        timeout=30,
        what="the stand-in on air",
    )
    (ended,) = [r for r in aired() if r.get("event") == "skipped"]
    assert ended["title"] == "Cheers S01E01" and asked in ended["reason"]
    assert stand_ins[0]["scheduledStart"] == ended["end"]  # the rest of its time, filled
    assert start_of(playout(user, plugin_path, "guide", "classics")) == before


def test_the_report_of_a_library_probe(
    kubectl: Kubectl, user: Kubectl, media: Path, tmp_path: Path, plugin_path: str
) -> None:
    """The real prober fills the report ConfigMaps of both shards, as its pods would, with
    their identity; the plugin shows every file of both together."""
    kubectl.apply(library_probe(parallelism=2))
    reports = ["cheers-s01e01-report", "cheers-s01e01-report-1"]
    for name in reports:
        eventually(lambda name=name: kubectl.get("configmap", name), what=f"ConfigMap {name}")
    prober = service_account_kubeconfig(
        kubectl, kubectl.namespace, "cheers-s01e01-prober", tmp_path / "prober-kubeconfig"
    )
    for shard in range(2):
        subprocess.run(
            [sys.executable, "-m", "playout.cli", "probe", str(media / "shows/Cheers"),
             "--profile", "quick", "--json", "--folder", "--shards", "2", "--shard", str(shard),
             "--report-config-map", reports[0], "--report-config-map", reports[1],
             "--namespace", kubectl.namespace],
            env={**os.environ, "KUBECONFIG": str(prober)}, cwd=ROOT, check=True,
            capture_output=True, timeout=120,
        )  # fmt: skip
    text = playout(user, plugin_path, "report", "cheers-s01e01").splitlines()
    assert text[0].startswith("cheers-s01e01: ") and "(quick profile, 2 shards)" in text[0]
    assert text[1].startswith("  2 files: ")
    assert text[2].split() == ["STATUS", "FILE", "PROBLEMS"]
    paths = sorted(line[9:].split("  ")[0] for line in text[3:5])
    assert paths == ["Cheers S01E01.mkv", "Cheers S01E02.mkv"]
    whole = json.loads(playout(user, plugin_path, "report", "cheers-s01e01", "-o", "json"))
    assert whole["shards"] == 2 and whole["counts"]["total"] == 2
    assert {f["path"] for f in whole["files"]} == {"Cheers S01E01.mkv", "Cheers S01E02.mkv"}
    assert all(f["report"]["checks"] for f in whole["files"])
    page = playout(user, plugin_path, "report", "cheers-s01e01", "-o", "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 'id="file-0"' in page and 'id="file-1"' in page and "Cheers S01E02.mkv" in page
