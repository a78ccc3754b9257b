"""Faults the operator and the engine survive, on the real control plane: the operator
killed in the middle of a burst, children taken over by hand or by another field manager,
a Channel deleted under its running engine, a state file the engine cannot read."""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from playout.api.channel import Channel
from playout.api.probejob import ProbeJob
from playout.controller.builders.channel import build_channel
from playout.controller.builders.common import MANAGED_BY, MANAGER
from playout.controller.builders.probejob import build_probejob
from playout.controller.config import OperatorConfig
from playout.controller.handlers import CHANNEL_CHILDREN, PROBEJOB_CHILDREN
from playout.streamer.state import STATE_FILE
from tests.conftest import load_example
from tests.e2e.conftest import OPERATOR_ENV, operator_kubeconfig
from tests.e2e.engine import NAME, Engine, channel_status, small_channel
from tests.e2e.kubectl import Kubectl, eventually, media_namespace
from tests.e2e.operator_process import operator_process

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

CHANNELS, PROBEJOBS, BATCHES = 100, 50, 10
# Every kind the operator makes, by kubectl name (`deployments.apps`): the operator's own
# lists of the children it watches, so a new child kind is counted here too.
CHILD_KINDS = sorted(
    {
        f"{plural}.{api_version.rpartition('/')[0]}" if "/" in api_version else plural
        for api_version, plural in CHANNEL_CHILDREN + PROBEJOB_CHILDREN
    }
)


# --- the operator killed mid-burst ------------------------------------------------------


@pytest.fixture
def burst_namespace(admin: Kubectl) -> Iterator[Kubectl]:
    """A namespace outside `e2e-*`, so that only this test's own operator, which it kills
    and starts again, reconciles in it."""
    with media_namespace(admin, "faults") as namespaced:
        yield namespaced


def burst() -> list[list[dict[str, Any]]]:
    """CHANNELS Channels and PROBEJOBS ProbeJobs, in BATCHES batches of both."""
    channels, probejobs = [], []
    for index in range(CHANNELS):
        channel = copy.deepcopy(load_example("channel.yaml"))
        channel["metadata"]["name"] = f"ch-{index:03}"
        channel["spec"]["resources"] = {"requests": {"cpu": "10m", "memory": "64Mi"}}
        channels.append(channel)
    for index in range(PROBEJOBS):
        probejob = copy.deepcopy(load_example("probejob.yaml"))
        probejob["metadata"]["name"] = f"pj-{index:03}"
        probejobs.append(probejob)
    per_channels, per_probejobs = CHANNELS // BATCHES, PROBEJOBS // BATCHES
    return [
        channels[n * per_channels : (n + 1) * per_channels]
        + probejobs[n * per_probejobs : (n + 1) * per_probejobs]
        for n in range(BATCHES)
    ]


class JobWatch:
    """Every Job the API server announces in a namespace, by name: a Job deleted and made
    again for the same generation would run its probe twice, and shows as a second uid."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.process = subprocess.Popen(
            [kubectl.binary, "--kubeconfig", str(kubectl.kubeconfig), "-n", kubectl.namespace,
             "get", "jobs", "--watch", "-o",
             'jsonpath={.metadata.name} {.metadata.uid}{"\\n"}'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip

    def uids(self) -> dict[str, set[str]]:
        self.process.terminate()
        output, _ = self.process.communicate(timeout=30)
        seen: dict[str, set[str]] = {}
        for line in output.splitlines():
            name, _, uid = line.partition(" ")
            if uid:
                seen.setdefault(name, set()).add(uid)
        return seen


def children(kubectl: Kubectl) -> dict[tuple[str, str], dict[str, Any]]:
    """Everything the operator made in the namespace, by (kind, name)."""
    kinds = ",".join(CHILD_KINDS)
    found = kubectl.items(kinds, "-l", f"{MANAGED_BY}={MANAGER}")
    return {(item["kind"], item["metadata"]["name"]): item for item in found}


def wanted(owners: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """What the builders say the owners need, (kind, name) -> the owner's uid."""
    config = OperatorConfig.from_env(OPERATOR_ENV)
    expected = {}
    for owner in owners:
        if owner["kind"] == "Channel":
            manifests = build_channel(Channel.model_validate(owner), config)
        else:
            manifests = build_probejob(ProbeJob.model_validate(owner), config)
        for manifest in manifests:
            expected[manifest["kind"], manifest["metadata"]["name"]] = owner["metadata"]["uid"]
    return expected


def unconverged(kubectl: Kubectl) -> list[str]:
    """Why the namespace has not converged yet (nothing: it has)."""
    owners = kubectl.items("channels") + kubectl.items("probejobs")
    problems = [
        f"{owner['kind']}/{owner['metadata']['name']}: status not caught up"
        for owner in owners
        if (owner.get("status") or {}).get("observedGeneration") != owner["metadata"]["generation"]
        # kwok runs no prober: a finished run without a report is Failed.
        or (owner["kind"] == "ProbeJob" and owner["status"].get("phase") != "Failed")
    ]
    if len(owners) != CHANNELS + PROBEJOBS:
        problems.append(f"{len(owners)} owners, not {CHANNELS + PROBEJOBS}")
    expected = wanted(owners)
    made = children(kubectl)
    problems += [f"{kind}/{name} missing" for kind, name in expected.keys() - made.keys()]
    return problems


def replica_set_owners(kubectl: Kubectl) -> Counter[str]:
    """ReplicaSets per Deployment."""
    return Counter(
        reference["name"]
        for replica_set in kubectl.items("replicasets")
        for reference in replica_set["metadata"]["ownerReferences"]
    )


def test_the_operator_killed_mid_burst_converges_without_duplicates_or_orphans(
    admin: Kubectl, burst_namespace: Kubectl, tmp_path: Path
) -> None:
    kubectl = burst_namespace
    config = operator_kubeconfig(admin, tmp_path / "kubeconfig")
    args = ["--namespace", kubectl.namespace]
    batches = burst()
    jobs = JobWatch(kubectl)
    with operator_process(config, args, OPERATOR_ENV, tmp_path) as first:
        started = time.monotonic()
        for batch in batches[: BATCHES // 2]:
            kubectl.apply(yaml.safe_dump_all(batch))
        # Killed while it works through the first half: some children made, not all.
        eventually(
            lambda: len(kubectl.items("deployments")) >= 5, timeout=120, what="some Deployments"
        )
        first["process"].kill()
        killed_with = Counter(kind for kind, _ in children(kubectl))
    for batch in batches[BATCHES // 2 :]:
        kubectl.apply(yaml.safe_dump_all(batch))
    (tmp_path / "second").mkdir()
    with operator_process(config, args, OPERATOR_ENV, tmp_path / "second"):
        restarted = time.monotonic()
        try:
            eventually(lambda: not unconverged(kubectl), timeout=300, interval=3)
        except AssertionError:
            raise AssertionError(f"not converged: {unconverged(kubectl)[:20]}") from None
        converged = time.monotonic()
    owners = {
        owner["metadata"]["uid"]: owner
        for owner in kubectl.items("channels") + kubectl.items("probejobs")
    }
    expected = wanted(list(owners.values()))
    made = children(kubectl)
    # No duplicate and no orphan: exactly what the builders want, each owned once by its own.
    assert sorted(made) == sorted(expected)
    for key, child in made.items():
        (reference,) = child["metadata"]["ownerReferences"]
        assert reference["uid"] == expected[key] and reference["controller"] is True, key
    # The restart rolled no streamer: one ReplicaSet per Deployment.
    replica_sets = eventually(
        lambda: (owners := replica_set_owners(kubectl)) and len(owners) == CHANNELS and owners,
        what="a ReplicaSet for every Deployment",
    )
    assert set(replica_sets.values()) == {1}, replica_sets
    # One run per ProbeJob generation: one Job, never deleted and made again.
    job_uids = jobs.uids()
    assert sorted(job_uids) == sorted(f"pj-{index:03}-1" for index in range(PROBEJOBS))
    assert all(len(uids) == 1 for uids in job_uids.values()), job_uids
    print(
        f"\n{CHANNELS} Channels and {PROBEJOBS} ProbeJobs; operator SIGKILLed "
        f"{restarted - started:.1f}s into the burst with {dict(killed_with)} made; "
        f"converged {converged - restarted:.1f}s after its restart: "
        f"{len(made)} children, none duplicate or orphaned"
    )


# --- drift --------------------------------------------------------------------------------


def test_a_removed_owner_reference_is_put_back(kubectl: Kubectl) -> None:
    kubectl.apply(small_channel())
    owner = eventually(lambda: kubectl.get("channel", NAME), what="the channel")
    for kind, name in (("deployment", NAME), ("configmap", f"{NAME}-config")):
        eventually(lambda kind=kind, name=name: kubectl.get(kind, name), what=f"{kind}/{name}")
        remove = [{"op": "remove", "path": "/metadata/ownerReferences"}]
        kubectl("patch", kind, name, "--type=json", "-p", json.dumps(remove))
        restored = eventually(
            lambda kind=kind, name=name: (kubectl.get(kind, name) or {})["metadata"].get(
                "ownerReferences"
            ),
            what=f"the owner reference of {kind}/{name} back",
        )
        assert [(r["uid"], r["controller"]) for r in restored] == [(owner["metadata"]["uid"], True)]


def owners_of(kubectl: Kubectl, kind: str, name: str, path: str) -> set[str]:
    """The field managers that own `path` of a child (a managedFields key, like
    "f:spec/f:replicas")."""
    child = json.loads(kubectl("get", kind, name, "-o", "json", "--show-managed-fields"))
    owning = set()
    for entry in child["metadata"].get("managedFields", []):
        fields = entry.get("fieldsV1", {})
        for key in path.split("/"):
            fields = fields.get(key) if isinstance(fields, dict) else None
        if fields is not None:
            owning.add(entry["manager"])
    return owning


def test_another_managers_forced_apply_is_taken_back(kubectl: Kubectl) -> None:
    kubectl.apply(small_channel())
    eventually(lambda: kubectl.get("deployment", NAME), what="the deployment")
    config = eventually(lambda: kubectl.get("configmap", f"{NAME}-config"), what="the config")
    takeover = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME},
         "spec": {"replicas": 3}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{NAME}-config"},
         "data": {"channel.yaml": "taken over"}},
    ]  # fmt: skip
    kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=intruder", "-f", "-",
        input=yaml.safe_dump_all(takeover),
    )  # fmt: skip
    eventually(
        lambda: (kubectl.get("deployment", NAME) or {})["spec"]["replicas"] == 1,
        what="replicas taken back",
    )
    eventually(
        lambda: (
            (kubectl.get("configmap", f"{NAME}-config") or {})["data"]["channel.yaml"]
            == config["data"]["channel.yaml"]
        ),
        what="the engine config taken back",
    )
    # Taken back means owned again: the intruder's forced claim on each field is gone.
    assert owners_of(kubectl, "deployment", NAME, "f:spec/f:replicas") == {"playout-operator"}
    assert owners_of(kubectl, "configmap", f"{NAME}-config", "f:data/f:channel.yaml") == {
        "playout-operator"
    }


# --- the engine's faults ------------------------------------------------------------------


def test_a_channel_deleted_under_its_engine(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    """The Deployment goes with the Channel; the engine, which the kubelet would now stop,
    meanwhile fails its reports softly (a warning each, no traceback, no crash) and exits 0
    on SIGTERM."""
    kubectl.apply(small_channel())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", f"channel/{NAME}", "--timeout=90s")
    deleted_at = len(engine.log_text())
    kubectl("delete", "channel", NAME, "--wait=true", "--timeout=60s")
    eventually(lambda: kubectl.get("deployment", NAME) is None, what="the Deployment collected")
    eventually(
        lambda: "report failed" in engine.log_text()[deleted_at:],
        timeout=120,
        what="a report that failed",
    )
    assert engine.process is not None and engine.process.poll() is None
    assert engine.stop() == 0
    log = engine.log_text()
    assert "Traceback" not in log, log[-3000:]


def test_a_torn_state_file_is_set_aside_and_the_status_resumed_from(
    kubectl: Kubectl, engine: Engine, tmp_path: Path
) -> None:
    kubectl.apply(small_channel())
    state = tmp_path / "state"
    engine.start(state)
    kubectl("wait", "--for=condition=Ready", f"channel/{NAME}", "--timeout=90s")
    engine.kill()
    before = channel_status(kubectl)
    saved = (state / STATE_FILE).read_bytes()
    (state / STATE_FILE).write_bytes(saved[: len(saved) // 2])  # torn: a write cut short
    engine.start(state)
    after = eventually(
        lambda: (
            (s := channel_status(kubectl))
            and s["stream"]["mediaSequence"] > before["stream"]["mediaSequence"]
            and s
        ),
        timeout=90,
        what="reports of the engine started on the torn file",
    )
    assert (state / f"{STATE_FILE}.unreadable").read_bytes() == saved[: len(saved) // 2]
    assert "Resuming from the Channel status" in engine.log_text()
    assert after["stream"]["discontinuitySequence"] > before["stream"]["discontinuitySequence"]
