"""The processes the scripts start: each in its own session with its log, recorded with its
kernel start time so that a reused PID is never taken for ours, stopped TERM then KILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from localcluster.console import log
from localcluster.layout import StateDir, read_json

TERM_SECONDS = 15
KILL_SECONDS = 5


@dataclass(frozen=True)
class Recorded:
    """pids/<name>.pid: a process as `start` recorded it (with its argv, for people)."""

    pid: int
    start_time: str | None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        return port


def kernel_start_time(pid: int) -> str | None:
    """Kernel start time of pid, or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def recorded(state_dir: StateDir, name: str) -> Recorded | None:
    document = read_json(state_dir.pids / f"{name}.pid")
    if document is None:
        return None
    return Recorded(pid=document["pid"], start_time=document["starttime"])


def running(process: Recorded | None) -> bool:
    return process is not None and kernel_start_time(process.pid) == process.start_time


def start(
    state_dir: StateDir, name: str, argv: list[str], env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`argv` in the background, its output appended to logs/<name>.log."""
    state_dir.logs.mkdir(parents=True, exist_ok=True)
    state_dir.pids.mkdir(parents=True, exist_ok=True)
    with (state_dir.logs / f"{name}.log").open("ab") as output:
        output.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        output.flush()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=state_dir.base,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    start_time = None
    for _ in range(100):  # /proc/<pid> appears as the child gets going
        start_time = kernel_start_time(process.pid)
        if start_time:
            break
        time.sleep(0.01)
    record = {"pid": process.pid, "starttime": start_time, "argv": argv}
    (state_dir.pids / f"{name}.pid").write_text(json.dumps(record) + "\n")
    return process


def _still_running(
    processes: list[tuple[str, Recorded]], seconds: float
) -> list[tuple[str, Recorded]]:
    """Those of `processes` that have not exited within `seconds`."""
    deadline = time.monotonic() + seconds
    while processes and time.monotonic() < deadline:
        processes = [(name, process) for name, process in processes if running(process)]
        time.sleep(0.1)
    return processes


def stop(state_dir: StateDir, names: list[str], *, quiet: bool = False, kill: bool = False) -> bool:
    """TERM then KILL the recorded processes, in the order given (only if the PID still
    belongs to the process we started); with `kill`, KILL at once, as a crash would end
    them. Returns True if nothing is left running."""
    first = signal.SIGKILL if kill else signal.SIGTERM
    signalled = []
    for name in names:
        process = recorded(state_dir, name)
        if process is None:
            continue
        if not running(process):
            if not quiet:
                log(f"{name}: not running (pid {process.pid})")
            continue
        signalled.append((name, process))
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, first)
        if not quiet:
            log(f"{name}: sent {first.name} to pid {process.pid}")
    left = _still_running(signalled, KILL_SECONDS if kill else TERM_SECONDS)
    for name, process in left:
        log(f"{name}: still running after {TERM_SECONDS}s, sending SIGKILL to pid {process.pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    left = _still_running(left, KILL_SECONDS)
    for name, process in left:
        log(f"{name}: pid {process.pid} did not exit")
    return not left


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(
            "    " + line for line in path.read_text(errors="replace").splitlines()[-lines:]
        )
    except OSError:
        return "    (no log)"


def wait_for(
    what: str,
    check: Callable[[], object],
    *,
    timeout: float,
    state_dir: StateDir,
    processes: Mapping[str, subprocess.Popen[bytes]],
    log_name: str,
) -> None:
    """Poll `check` until it holds; raise RuntimeError, with the log's last lines, when
    one of `processes` exits or `timeout` passes."""
    started = time.monotonic()
    while True:
        if check():
            log(f"{what}: ok ({time.monotonic() - started:.1f}s)")
            return
        for name, process in processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}; last log lines:\n"
                    f"{log_tail(state_dir.logs / f'{name}.log')}"
                )
        if time.monotonic() - started > timeout:
            raise RuntimeError(
                f"timed out after {timeout:.0f}s waiting for {what}; "
                f"last lines of {log_name}.log:\n{log_tail(state_dir.logs / f'{log_name}.log')}"
            )
        time.sleep(0.2)
