"""The control plane restarted under a channel on air (`hack/cluster.py restart`): the
engine never stops, the operator handles a change once the API serves again, and the
engine's reports resume. Run with -s for the figures."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import pytest

from playout.clock import parse_rfc3339
from playout.media.hls import ParsedPlaylist, parse_playlist, reload_violations
from tests.conftest import ROOT
from tests.e2e.engine import NAME, Engine, channel_status, small_channel
from tests.e2e.kubectl import Kubectl, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


def restart(component: str, *options: str) -> None:
    """Returns once the component serves again (after etcd, once the apiserver does)."""
    subprocess.run(
        [sys.executable, str(ROOT / "hack" / "cluster.py"), "restart", component, *options],
        check=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture
def fresh_controllers() -> Iterator[None]:
    """The scheduler and the controller manager started again after the test: their
    informers lived through the outage, and once left a Pod of a later test unscheduled
    for minutes (its claim's binding never requeued it). Those tests are not about them."""
    yield
    for component in ("kube-scheduler", "kube-controller-manager"):
        restart(component)


class PlaylistWatch:
    """A player on the engine's first rendition, reloading once a second in a thread:
    every reload it could not make and every RFC 8216 rule broken between two reloads."""

    def __init__(self, engine: Engine) -> None:
        base = f"http://127.0.0.1:{engine.port}/live/"
        variant = next(
            line for line in self._get(base + "index.m3u8").splitlines() if not line.startswith("#")
        )
        self.url = base + variant
        self.failures: list[str] = []
        self.problems: list[str] = []
        self.edges: list[tuple[float, int]] = []
        """(wall-clock time, the live edge's sequence number) of each reload."""
        self._last: ParsedPlaylist | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    @staticmethod
    def _get(url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def _follow(self) -> None:
        while not self._done.wait(1):
            try:
                current = parse_playlist(self._get(self.url))
            except (OSError, ValueError) as error:
                self.failures.append(f"{datetime.now(UTC):%H:%M:%S}: {error}")
                continue
            if not current.segments:
                self.failures.append(f"{datetime.now(UTC):%H:%M:%S}: an empty playlist")
                continue
            if self._last is not None:
                self.problems += reload_violations(self._last, current)
            self._last = current
            self.edges.append((time.time(), current.segments[-1].sequence))

    def published_between(self, start: float, end: float) -> int:
        """Segments the live edge grew by between two wall-clock times."""
        during = [sequence for at, sequence in self.edges if start <= at <= end]
        return max(during) - min(during) if during else 0

    def longest_stall(self) -> float:
        """The longest the live edge stood still between two reloads that saw it grow."""
        grew = [at for (_, before), (at, sequence) in itertools.pairwise(self.edges)
                if sequence > before]  # fmt: skip
        return max((b - a for a, b in itertools.pairwise(grew)), default=0.0)

    def __enter__(self) -> PlaylistWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join(timeout=30)


def reported_since(kubectl: Kubectl, moment: float) -> bool:
    """Whether the status holds a report the engine made after `moment`."""
    last = (channel_status(kubectl).get("stream") or {}).get("lastSegmentAt")
    return last is not None and parse_rfc3339(last).timestamp() > moment


def observed(kubectl: Kubectl) -> bool:
    body = kubectl.get("channel", NAME) or {}
    return bool(body.get("status", {}).get("observedGeneration") == body["metadata"]["generation"])


@pytest.mark.parametrize(
    ("component", "options"),
    [("kube-apiserver", ()), ("etcd", ("--kill",))],
    ids=["apiserver-restarted", "etcd-killed"],
)
@pytest.mark.usefixtures("fresh_controllers")
def test_a_channel_on_air_rides_out_a_control_plane_restart(
    kubectl: Kubectl, engine: Engine, tmp_path: Path, component: str, options: tuple[str, ...]
) -> None:
    kubectl.apply(small_channel())
    engine.start(tmp_path / "state")
    kubectl("wait", "--for=condition=Ready", f"channel/{NAME}", "--timeout=90s")
    with PlaylistWatch(engine) as player:
        stopped = time.time()
        restart(component, *options)
        serving = time.time()
        # A change that reaches the Deployment but not the engine's config: the operator
        # must handle it, and the engine runs on.
        change = {"spec": {"resources": {"requests": {"cpu": "150m", "memory": "128Mi"}}}}
        kubectl("patch", "channel", NAME, "--type=merge", "-p", json.dumps(change))
        eventually(lambda: observed(kubectl), timeout=120, what="the change observed")
        eventually(
            lambda: (
                (kubectl.get("deployment", NAME) or {})["spec"]["template"]["spec"]["containers"][
                    0
                ]["resources"]["requests"]["cpu"]
                == "150m"
            ),
            timeout=60,
            what="the change applied",
        )
        handled = time.time()
        eventually(lambda: reported_since(kubectl, serving), timeout=120, what="a new report")
        reported = time.time()
        kubectl("wait", "--for=condition=Ready", f"channel/{NAME}", "--timeout=90s")
    assert engine.process is not None and engine.process.poll() is None, "the engine stopped"
    assert player.failures == [], player.failures
    assert player.problems == [], player.problems
    # The engine published all along, the outage included: the live edge never stood
    # still for as long as a player's three target durations (2 s segments).
    assert player.longest_stall() < 6, player.edges
    print(
        f"\n{component} {'killed' if options else 'restarted'}: the API served again "
        f"{serving - stopped:.1f}s after the stop; the change was handled "
        f"{handled - serving:.1f}s and a report arrived {reported - serving:.1f}s after it "
        f"served; the stream published {player.published_between(stopped, serving)} segments "
        "during the outage"
    )
