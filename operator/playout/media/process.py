"""Running ffmpeg and ffprobe safely: never through a shell, always with a wall-clock
timeout that kills the whole process group, a protocol whitelist, and bounded output.

Every ffmpeg/ffprobe invocation in playout goes through this module."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

# Local files only; `pipe` for stdin/stdout. Never concat, subfile or data: they let a
# crafted input read other files.
FILE_PROTOCOLS = ("file", "pipe")
# Remote sources: plain HTTP, for the prober reaches every URL through its loopback relay
# (`playout.prober.relay`), which does the TLS. `file` is left out so that a remote
# playlist cannot point ffmpeg at local files, TLS so that nothing bypasses the relay,
# and the `hls` protocol, an old alias that opens playlists outside the demuxer whitelist.
URL_PROTOCOLS = ("http", "tcp", "crypto")

DEFAULT_OUTPUT_LIMIT = 64 * 1024 * 1024


class MediaToolError(RuntimeError):
    """ffmpeg or ffprobe is missing, or failed in a way the caller cannot act on."""


def find_tool(name: str) -> str:
    """Path of ffmpeg or ffprobe, or an error that says how to get it."""
    override = os.environ.get(f"PLAYOUT_{name.upper()}")
    path = override or shutil.which(name)
    if not path:
        raise MediaToolError(
            f"{name} not found on PATH: install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg) "
            f"or set PLAYOUT_{name.upper()}"
        )
    return path


def file_input(path: str | Path) -> str:
    """A local path as an ffmpeg input URL. The `file:` prefix and an absolute path keep
    ffmpeg from reading `a:b.mkv` as protocol `a`, and a leading `-` as an option."""
    return "file:" + str(Path(path).absolute())


def is_remote(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def whitelist_for(source: str) -> str:
    return ",".join(URL_PROTOCOLS if is_remote(source) else FILE_PROTOCOLS)


def input_for(source: str | Path) -> str:
    """What to hand ffmpeg for a source: URLs as they are, paths as `file:` URLs."""
    text = str(source)
    return text if is_remote(text) else file_input(text)


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: bytes
    stderr: str
    timed_out: bool
    truncated: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


async def _read_bounded(stream: asyncio.StreamReader | None, limit: int) -> tuple[bytes, bool]:
    """Read everything, keep at most `limit` bytes (the rest is drained, not stored)."""
    if stream is None:
        return b"", False
    kept = bytearray()
    truncated = False
    while chunk := await stream.read(65536):
        room = limit - len(kept)
        if room > 0:
            kept += chunk[:room]
        if len(chunk) > room:
            truncated = True
    return bytes(kept), truncated


def kill_group(process: asyncio.subprocess.Process) -> None:
    """Kill the process and anything it started (ffmpeg may spawn helpers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


PR_SET_PDEATHSIG = 1


def _in_child(nice: int) -> None:
    """In the child before exec: killed when the engine that started it dies, even by
    SIGKILL (otherwise a paused, SIGSTOPped, ffmpeg outlives it, stopped, forever), and
    `nice` steps below its parent's priority."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if nice:
        os.nice(nice)


async def start_tool(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, nice: int = 0
) -> asyncio.subprocess.Process:
    """Start ffmpeg/ffprobe (args[0]) in its own process group (so a kill takes its
    children too), tied to this process's life, with its output on pipes; `env` replaces
    the environment when given; `nice` lowers its priority (work that can wait)."""
    return await asyncio.create_subprocess_exec(
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=partial(_in_child, nice) if sys.platform == "linux" else None,
    )


def _outcome_dropped(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def run_tool(
    args: Sequence[str],
    time_limit: float,
    *,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    stderr_limit: int = 1024 * 1024,
    env: Mapping[str, str] | None = None,
    nice: int = 0,
) -> ToolResult:
    """Run ffmpeg/ffprobe (args[0]) to completion, or kill it after `time_limit` seconds."""
    process = await start_tool(args, env=env, nice=nice)
    readers = asyncio.gather(
        _read_bounded(process.stdout, output_limit), _read_bounded(process.stderr, stderr_limit)
    )
    timed_out = False
    try:
        # Shielded: on timeout wait_for cancels what it waits on, and the readers must
        # live on to collect what the killed process wrote.
        (stdout, out_cut), (stderr, err_cut) = await asyncio.wait_for(
            asyncio.shield(readers), time_limit
        )
        await process.wait()
    except TimeoutError:
        timed_out = True
        kill_group(process)
        (stdout, out_cut), (stderr, err_cut) = await readers
        await process.wait()
    except BaseException:
        kill_group(process)
        # Nobody reads the readers' outcome now: cancelled with the loop (a shutdown),
        # they would report their CancelledError as an error.
        readers.add_done_callback(_outcome_dropped)
        raise
    return ToolResult(
        returncode=process.returncode if process.returncode is not None else -1,
        stdout=stdout,
        stderr=stderr.decode(errors="replace"),
        timed_out=timed_out,
        truncated=out_cut or err_cut,
    )
