"""The operator at scale, on the local cluster (hack/cluster.py: a real API server, etcd and
controllers, kwok nodes whose pods never run, so no streamer reports), against a no-op kopf
operator watching the same objects (bench/noop_operator.py), measured in the same run.

1. Burst: 100 Channels, then the rest of N (1000) and N/5 ProbeJobs created at once (8 at
   a time); the time until every one has `status.observedGeneration` equal to its
   generation (its children applied), from the first create and from the last.
2. A spec change at N: K Channels patched one after another; the latency from each patch
   to its `observedGeneration`, p50 and p99 (a watch stamps each change).
3. Memory: the operator's RSS at 0, 100 and N Channels; the no-op operator's at 0 and N.
4. Steady state: the operator's API writes over a quiet minute, per Channel: its applies
   and status patches (the API server's own `apiserver_request_total`, by verb and
   resource: nothing else applies or writes those statuses here) and the events it posted;
   the same minute with the no-op operator instead (which writes nothing: the check of
   the method).
5. Engine reports: no engine runs on kwok, so the benchmark sends each Channel the status
   report its engine sends (nowPlaying, the stream's last segment), as a heartbeat does.
   Figure: the operator's writes in answer, per report (what each heartbeat costs the API
   server beyond itself). Every report is an event the operator reconciles.

Usage: python -m bench.operator [--channels 1000] [--changes 50] [--steady-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig
from lightkube.types import PatchType

from bench.timeline import print_table
from playout.api.resources import ChannelResource, ProbeJobResource
from playout.controller.kube import FIELD_MANAGER
from tests.conftest import load_example
from tests.e2e.conftest import local_cluster, operator_kubeconfig, with_crds
from tests.e2e.kubectl import Kubectl, eventually, restricted_namespace
from tests.e2e.operator_process import healthy_process, operator_process
from tests.streaming import free_port

NAMESPACE = "bench-operator"
RUN = "python -m bench.operator"
CREATE_AT_ONCE = 8
WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE")
OPERATOR_ENV = {
    "PLAYOUT_STREAMER_IMAGE": "playout-streamer:bench",
    "PLAYOUT_PROBER_IMAGE": "playout-prober:bench",
}


def channel(index: int) -> dict[str, Any]:
    document = copy.deepcopy(load_example("channel.yaml"))
    document["metadata"] = {"name": f"channel-{index:04d}", "namespace": NAMESPACE}
    document["spec"]["resources"] = {"requests": {"cpu": "1m", "memory": "1Mi"}}
    return document


def probejob(index: int) -> dict[str, Any]:
    document = copy.deepcopy(load_example("probejob.yaml"))
    document["metadata"] = {"name": f"probe-{index:04d}", "namespace": NAMESPACE}
    return document


class Generations:
    """A watch on the namespace's Channels and ProbeJobs: when each first reached each
    observed generation, and each object's current generation."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.observed: dict[tuple[str, str, int], float] = {}
        self.generation: dict[tuple[str, str], int] = {}
        self.caught_up: dict[tuple[str, str], int] = {}
        for resource in (ChannelResource, ProbeJobResource):
            threading.Thread(target=self._watch, args=(resource,), daemon=True).start()

    def _watch(self, resource: Any) -> None:
        kind = resource.__name__
        while True:
            with contextlib.suppress(Exception):
                for _, body in self.client.watch(resource, namespace=NAMESPACE):
                    name = body.metadata.name
                    observed = (body.status or {}).get("observedGeneration")
                    with self.lock:
                        self.generation[kind, name] = body.metadata.generation
                        if observed is not None:
                            self.observed.setdefault((kind, name, observed), time.monotonic())
                            self.caught_up[kind, name] = observed
            time.sleep(0.5)

    def behind(self) -> int:
        with self.lock:
            return sum(self.caught_up.get(key) != gen for key, gen in self.generation.items())

    def count(self) -> int:
        with self.lock:
            return len(self.generation)

    def reached(self, kind: str, name: str, generation: int) -> float | None:
        with self.lock:
            return self.observed.get((kind, name, generation))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def writes_by_kind(admin: Kubectl) -> Counter[tuple[str, str]]:
    """Requests that changed something since the API server started, by verb and resource
    (with its subresource)."""
    found: Counter[tuple[str, str]] = Counter()
    for line in admin("get", "--raw", "/metrics").splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
            if labels.get("verb") in WRITE_VERBS:
                resource = "/".join(filter(None, (labels["resource"], labels.get("subresource"))))
                found[labels["verb"], resource] += int(float(line.rsplit(" ", 1)[1]))
    return found


def operator_writes(admin: Kubectl) -> int:
    """The writes only playout's operator makes here, so far: its applies, its status
    patches (and the benchmark's own reports) and the events it posted."""
    patched = sum(
        count
        for (verb, resource), count in writes_by_kind(admin).items()
        if verb == "APPLY" or resource in ("channels/status", "probejobs/status")
    )
    events: list[dict[str, Any]] = json.loads(
        admin("get", "events", "-n", NAMESPACE, "-o", "json")
    )["items"]
    posted = [e for e in events if e.get("source", {}).get("component") == FIELD_MANAGER]
    return patched + len(posted)


def wait_caught_up(watch: Generations, expected: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while watch.count() < expected or watch.behind():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{watch.behind()} of {watch.count()} never caught up")
        time.sleep(0.2)
    return time.monotonic()


def create_all(client: Client, documents: list[dict[str, Any]]) -> float:
    """Create every document, CREATE_AT_ONCE at a time; when the last create returned."""

    def create(document: dict[str, Any]) -> None:
        resource = ChannelResource if document["kind"] == "Channel" else ProbeJobResource
        client.create(resource.from_dict(document))

    with ThreadPoolExecutor(CREATE_AT_ONCE) as pool:
        list(pool.map(create, documents))
    return time.monotonic()


def quiet_writes(admin: Kubectl, seconds: float) -> int:
    """The operator's writes over `seconds`, after 20 s to let the last burst settle."""
    time.sleep(20)
    before = operator_writes(admin)
    time.sleep(seconds)
    return operator_writes(admin) - before


def noop_operator(
    kubeconfig: Path, workdir: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    health = f"http://127.0.0.1:{free_port()}/healthz"
    return healthy_process(
        [sys.executable, "-m", "bench.noop_operator", NAMESPACE, health],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        log_path=workdir / "noop.log",
        health_url=health,
        what="the no-op operator",
    )


def report_all(client: Client, names: list[str]) -> None:
    """What every Channel's engine reports, as `KubeReporter` sends it (a merge patch of
    the status), CREATE_AT_ONCE at a time."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def report(name: str) -> None:
        status = {
            "nowPlaying": {"program": "classics", "item": "shows/Cheers S01E01.mkv",
                           "title": "Cheers S01E01", "startedAt": now, "positionSeconds": 1.0},
            "stream": {"mediaSequence": 1, "discontinuitySequence": 0, "lastSegmentAt": now},
        }  # fmt: skip
        client.patch(
            ChannelResource.Status, name, {"status": status},
            namespace=NAMESPACE, patch_type=PatchType.MERGE,
        )  # fmt: skip

    with ThreadPoolExecutor(CREATE_AT_ONCE) as pool:
        list(pool.map(report, names))


def writes_in_answer(admin: Kubectl, client: Client, names: list[str], background: float) -> float:
    """The operator's writes per report, beyond the reports and its steady rate (writes a
    second), within 30 s of sending them."""
    before, started = operator_writes(admin), time.monotonic()
    report_all(client, names)
    time.sleep(30)
    total = operator_writes(admin) - before
    return (total - len(names) - background * (time.monotonic() - started)) / len(names)


def settle(pid: int, seconds: float = 10) -> float:
    time.sleep(seconds)
    return rss_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--steady-seconds", type=float, default=60)
    args = parser.parse_args()
    channels, probejobs = args.channels, args.channels // 5
    early = min(100, channels)

    # Room on the kwok nodes (110 pods each) for every streamer and prober pod: a pod left
    # unscheduled would fail its Deployment after 5 minutes, in the middle of the figures.
    admin = with_crds(local_cluster(nodes=math.ceil((channels + probejobs) / 100)))
    admin("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=300s")
    restricted_namespace(admin, NAMESPACE)
    workdir = Path(tempfile.mkdtemp(prefix="bench-operator-"))
    operator_config = operator_kubeconfig(admin, workdir / "kubeconfig")
    client = Client(KubeConfig.from_file(str(admin.kubeconfig)), field_manager="bench")
    watch = Generations(client)
    try:
        with noop_operator(admin.kubeconfig, workdir) as noop:
            noop_empty = settle(noop.pid)
        watching = ["--namespace", NAMESPACE]
        playout = operator_process(
            operator_config, watching, OPERATOR_ENV, workdir, log_level="info"
        )
        with playout as running:
            pid = running["process"].pid
            empty = settle(pid)
            create_all(client, [channel(n) for n in range(early)])
            wait_caught_up(watch, early, 300)
            at_early = settle(pid)
            rest = [channel(n) for n in range(early, channels)]
            rest += [probejob(n) for n in range(probejobs)]
            started, before = time.monotonic(), writes_by_kind(admin)
            last_create = create_all(client, rest)
            done = wait_caught_up(watch, channels + probejobs, 900)
            burst = writes_by_kind(admin) - before
            print(f"Writes while {len(rest)} objects were created and reconciled:")
            for (verb, resource), count in burst.most_common(20):
                print(f"  {verb} {resource}: {count}")
            at_full = settle(pid)
            latencies = []
            for n in range(args.changes):
                name = f"channel-{n * (channels // args.changes):04d}"
                sent = time.monotonic()
                patched = client.patch(
                    ChannelResource, name, {"spec": {"guide": {"number": str(100 + n)}}},
                    namespace=NAMESPACE, patch_type=PatchType.MERGE,
                )  # fmt: skip
                assert patched.metadata is not None and patched.metadata.generation is not None
                generation: int = patched.metadata.generation

                def caught_up(name: str = name, generation: int = generation) -> float | None:
                    return watch.reached(ChannelResource.__name__, name, generation)

                reached = eventually(caught_up, timeout=60, interval=0.02, what=name)
                latencies.append(reached - sent)
            playout_writes = quiet_writes(admin, args.steady_seconds)
            background = playout_writes / args.steady_seconds
            names = [channel(n)["metadata"]["name"] for n in range(channels)]
            heartbeat = writes_in_answer(admin, client, names, background)
        with noop_operator(admin.kubeconfig, workdir) as noop:
            noop_full = settle(noop.pid, 30)
            background_writes = quiet_writes(admin, args.steady_seconds)
    finally:
        admin("delete", "namespace", NAMESPACE, "--wait=false")

    minutes = args.steady_seconds / 60
    steady = playout_writes / channels / minutes
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    rows: list[tuple[str, str, float, str]] = [
        (
            f"{channels} Channels + {probejobs} ProbeJobs caught up: {done - started:.1f} s "
            f"({done - last_create:.1f} s after the last create)",
            f"creating them: {last_create - started:.1f} s",
            (done - started) / (last_create - started),
            f"<= 120 s: {'met' if done - started <= 120 else '**missed**'}",
        ),
        (
            f"API writes per object to converge: {burst.total() / len(rest):.1f}",
            "creating it: 1 write", burst.total() / len(rest), "—",
        ),
        (
            f"spec change at {channels}, reconcile latency p50 / p99: "
            f"{p50 * 1000:.0f} / {p99 * 1000:.0f} ms ({len(latencies)} changes)",
            "1 s",
            p99,
            f"p99 <= 1 s: {'met' if p99 <= 1 else '**missed**'}",
        ),
        (f"RSS at 0 Channels: {empty:.0f} MB", f"no-op kopf: {noop_empty:.0f} MB",
         empty / noop_empty, "—"),
        (f"RSS at {early} Channels: {at_early:.0f} MB", f"at 0: {empty:.0f} MB",
         at_early / empty, "—"),
        (f"RSS at {channels} Channels: {at_full:.0f} MB", f"no-op kopf: {noop_full:.0f} MB",
         at_full / noop_full, f"<= 150 MB: {'met' if at_full <= 150 else '**missed**'}"),
        (
            f"steady state, the operator's API writes per Channel per minute: {steady:.2f}",
            f"the no-op operator: {background_writes / channels / minutes:.2f}",
            steady,
            f"<= 1: {'met' if steady <= 1 else '**missed**'}",
        ),
        (f"operator writes per engine report (a heartbeat): {heartbeat:.2f}",
         "one report: 1 write", heartbeat, "0: " + ("met" if heartbeat < 0.05 else "**missed**")),
    ]  # fmt: skip
    print_table(rows, RUN)


if __name__ == "__main__":
    main()
