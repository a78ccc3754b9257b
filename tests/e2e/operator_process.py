"""The operator as a local process with a given identity: how the kwok-based e2e and chart
tiers run it (on kwok nodes its pod runs nothing; tests/node runs it in its pod)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playout.api.channel import REPORT_HEARTBEAT_ENV
from tests.conftest import ROOT
from tests.e2e.kubectl import eventually
from tests.streaming import free_port

# The streamers' heartbeat here: a test that waits for a missed report then waits seconds,
# not the production five minutes.
HEARTBEAT_SECONDS = 10


@contextmanager
def healthy_process(
    command: list[str], *, env: dict[str, str], log_path: Path, health_url: str, what: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` (from the repository's root, its output to `log_path`) until the block
    ends, once `health_url` answers 200; stopped after, and the tail of its log shown."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode}:\n{log_path.read_text()[-5000:]}"
            )
        try:
            with urllib.request.urlopen(health_url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        eventually(healthy, timeout=60, what=f"{what}'s liveness endpoint")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        sys.stderr.write(f"\n--- {what} log (tail) ---\n{log_path.read_text()[-4000:]}\n")


@contextmanager
def operator_process(
    kubeconfig: Path,
    args: list[str],
    env: dict[str, str],
    workdir: Path,
    *,
    log_level: str = "debug",
) -> Iterator[dict[str, Any]]:
    """`playout operator ARGS` until the block ends, healthy before it starts; its liveness
    and metrics endpoints on free loopback ports; `env` over HEARTBEAT_SECONDS."""
    health_port, metrics_port = free_port(), free_port()
    log_path = workdir / "operator.log"
    command = [
        sys.executable, "-m", "playout.cli", "--log-level", log_level, "operator", *args,
        "--liveness", f"http://127.0.0.1:{health_port}/healthz",
        "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics_port),
    ]  # fmt: skip
    environment = {
        **os.environ,
        REPORT_HEARTBEAT_ENV: str(HEARTBEAT_SECONDS),
        **env,
        "KUBECONFIG": str(kubeconfig),
    }
    with healthy_process(
        command,
        env=environment,
        log_path=log_path,
        health_url=f"http://127.0.0.1:{health_port}/healthz",
        what="the operator",
    ) as process:
        yield {
            "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
            "log": log_path,
            "process": process,
        }
