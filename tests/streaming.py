"""The engine as users run it, `playout run` in its own process, and the HLS checker that
follows its live playlist; the media and Channel documents it plays come from
tests/samples.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from playout.media.hls import (
    ParsedPlaylist,
    parse_playlist,
    playlist_violations,
    reload_violations,
)

# Re-exported: the tests import them from here.
from tests.samples import channel_document as channel_document
from tests.samples import free_port as free_port
from tests.samples import make_clip as make_clip

ROOT = Path(__file__).resolve().parent.parent


def streams(url: str, entries: str) -> dict[str, dict[str, Any]]:
    """ffprobe's `entries` (e.g. "width,height") of a file's or segment's streams, by type
    (video, audio): the first of each."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", f"stream=codec_type,{entries}", "-of", "json", url],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    found: dict[str, dict[str, Any]] = {}
    for stream in json.loads(result.stdout)["streams"]:
        found.setdefault(stream["codec_type"], stream)
    return found


@dataclass
class LiveFollow:
    """What a player saw reloading a live playlist about once a second."""

    reloads: int = 0
    problems: list[str] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)
    last: ParsedPlaylist | None = None

    @property
    def transitions(self) -> int:
        """Discontinuities up to the live edge: item changes and restarts."""
        assert self.last is not None
        return self.last.discontinuity_sequence + sum(s.discontinuity for s in self.last.segments)


def follow_live_playlist(
    fetch: Callable[[], str], seconds: float, segment_seconds: float
) -> LiveFollow:
    """The HLS checker: reload the playlist for `seconds` and collect every RFC 8216
    violation within and between reloads. Fails at once if a segment URI changes its
    sequence number or the live edge stops moving for three segment durations."""
    seen = LiveFollow(last=parse_playlist(fetch()))
    started = last_growth = time.monotonic()
    uris: dict[str, int] = {}
    while time.monotonic() - started < seconds:
        time.sleep(1)
        text = fetch()
        current = parse_playlist(text)
        assert seen.last is not None
        seen.problems += playlist_violations(current) + reload_violations(seen.last, current)
        for segment in current.segments:
            assert uris.setdefault(segment.uri, segment.sequence) == segment.sequence
        if current.segments[-1].sequence > seen.last.segments[-1].sequence:
            last_growth = time.monotonic()
        # A player reloads about once per target duration; the live edge must keep moving.
        assert time.monotonic() - last_growth < 3 * segment_seconds, "the playlist stopped growing"
        seen.titles |= {
            line.split(",", 1)[1] for line in text.splitlines() if line.startswith("#EXTINF")
        }
        seen.last = current
        seen.reloads += 1
    return seen


@dataclass
class Streamer:
    """`playout run` as a child process."""

    channel_file: Path
    media_root: Path
    state_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Streamer:
        self.log = self.state_dir.parent / f"{self.state_dir.name}-{time.monotonic_ns()}.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "playout.cli", "run", str(self.channel_file), "--media-root", str(self.media_root), "--state", str(self.state_dir), "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PLAYOUT_LOG_LEVEL": "debug"},
            )  # fmt: skip
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get(self, path: str, timeout: float = 5) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
            body: bytes = response.read()
            return body

    def playlist(self, path: str = "/live/index.m3u8") -> ParsedPlaylist | None:
        try:
            return parse_playlist(self.get(path).decode())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def status(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.get("/status"))
        return document

    def wait_for_playlist(
        self, segments: int = 3, timeout: float = 60, *, path: str = "/live/index.m3u8"
    ) -> ParsedPlaylist:
        """The media playlist at `path` once it lists `segments` (a rendition's, with
        renditions: /live/NAME/index.m3u8)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise AssertionError(
                    f"playout run exited with {self.process.returncode}:\n{self.log_text()}"
                )
            playlist = self.playlist(path)
            if playlist is not None and len(playlist.segments) >= segments:
                return playlist
            time.sleep(0.1)
        raise AssertionError(
            f"no playlist with {segments} segments after {timeout}s:\n{self.log_text()}"
        )

    def wait_for_status(self, check: Any, timeout: float = 60) -> dict[str, Any]:
        """Poll /status until `check(status)` holds."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                status = self.status()
                if check(status):
                    return status
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"status never matched: {status}\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text()[-4000:] if self.log else ""


class StartStreamer(Protocol):
    """The `streamer_for` fixture: starts `playout run` on a Channel document."""

    def __call__(
        self, document: dict[str, Any], media_root: Path, state_dir: Path | None = None
    ) -> Streamer: ...


@pytest.fixture
def streamer_for(tmp_path: Path) -> Iterator[StartStreamer]:
    """streamer_for(document, media_root) -> a started Streamer, stopped after the test."""
    started: list[Streamer] = []

    def start(
        document: dict[str, Any], media_root: Path, state_dir: Path | None = None
    ) -> Streamer:
        channel_file = tmp_path / f"{document['metadata']['name']}.yaml"
        channel_file.write_text(yaml.safe_dump(document))
        streamer = Streamer(channel_file, media_root, state_dir or tmp_path / "state").start()
        started.append(streamer)
        return streamer

    yield start
    for streamer in started:
        streamer.stop()
