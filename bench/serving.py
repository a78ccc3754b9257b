"""HLS serving: the streamer's /live against Debian's nginx serving the same files.

One `playout run` channel transcodes 640x360 at 1500 kb/s (the engine busy as it is on air);
nginx (one process, `sendfile on`, its defaults otherwise) serves the playlist and segments
the engine writes to its state directory, while the engine goes on. Both are measured in
the same run, one after the other:

1. Paced players: N players (1000), each on its own keep-alive connection, fetch the
   playlist every target duration and the newest segment when it is new, the way a player
   at the live edge does. Figures: requests per second, latency p50/p99, the server's CPU
   (the streamer's beyond what its engine uses while nginx serves), and segments late: a
   segment the players first saw more than 1 s after the engine was due to publish it.
2. Saturated: wrk on the playlist and on a segment; requests per second.

Usage: python -m bench.serving [--players 1000] [--seconds 60] [--wrk-seconds 10]
(`make bench-deps` installs nginx and wrk)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.streamer import start_playout
from bench.timeline import load, machine, print_table
from playout.streamer.engine import WORK_AHEAD
from tests.samples import channel_document, free_port, make_clip

HOST = "127.0.0.1"
PLAYLIST = "/live/index.m3u8"
LATE_SECONDS = 1.0
VIDEO = {"width": 640, "height": 360, "frameRate": 25, "bitrateKbps": 1500, "preset": "ultrafast"}
RUN = "python -m bench.serving"

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path {work}/client;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    server {{
        listen {host}:{port};
        location = {playlist} {{
            alias {state}/index.m3u8;
            add_header Cache-Control "no-cache, no-store";
        }}
        location /live/ {{
            alias {state}/segments/;
            add_header Cache-Control "max-age=3600, immutable";
        }}
    }}
}}
"""


# --- a keep-alive HTTP/1.1 client cheap enough for 1000 players in one process ----------


class Connection(asyncio.Protocol):
    """One player's connection: GET, then the status and body (or only its length)."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._keep = False
        self._status = 0
        self._remaining = -1
        self._body = bytearray()

    @classmethod
    async def open(cls, port: int) -> Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(cls, HOST, port)
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the server closed the connection"))

    async def get(self, path: str, *, keep_body: bool) -> tuple[int, bytes]:
        """(status, body); the body is empty unless `keep_body`, its length checked."""
        assert self._transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self._keep, self._remaining, self._body = keep_body, -1, bytearray()
        self._transport.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def data_received(self, data: bytes) -> None:
        if self._remaining < 0:
            self._buffer += data
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = bytes(self._buffer[:end]), bytes(self._buffer[end + 4 :])
            self._buffer.clear()
            self._status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            self._remaining = int(length.group(1)) if length else 0
        if self._keep:
            self._body += data
        self._remaining -= len(data)
        if self._remaining <= 0 and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((self._status, bytes(self._body)))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


# --- 1. paced players -----------------------------------------------------------------


@dataclass
class Paced:
    seconds: float
    started: float = field(default_factory=time.time)
    requests: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    first_seen: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each segment's URI: when a player first saw it listed, and when it was due."""

    def late(self, period: float) -> list[float]:
        """How late each segment was (negative: early), of those published while the
        players played (the first period's were listed before they came)."""
        after = self.started + period
        return [seen - due for seen, due in self.first_seen.values() if seen > after]


def newest(playlist: bytes) -> tuple[str, float]:
    """The last segment's URI and its PROGRAM-DATE-TIME (epoch seconds)."""
    lines = playlist.decode().rstrip("\n").rsplit("\n", 3)
    stamp = next(line for line in reversed(lines) if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"))
    moment = datetime.fromisoformat(stamp.split(":", 1)[1].replace("Z", "+00:00"))
    return lines[-1], moment.timestamp()


async def paced(port: int, *, players: int, seconds: float, period: float) -> Paced:
    lead = WORK_AHEAD * period
    opening = asyncio.Semaphore(64)

    async def connect() -> Connection:
        async with opening:
            return await Connection.open(port)

    connections = await asyncio.gather(*(connect() for _ in range(players)))
    result = Paced(seconds)
    started = time.monotonic()
    until = started + seconds

    async def timed(connection: Connection, path: str, *, keep_body: bool) -> bytes | None:
        begun = time.monotonic()
        try:
            status, body = await connection.get(path, keep_body=keep_body)
        except ConnectionError:
            status, body = 0, b""
        result.latencies.append(time.monotonic() - begun)
        result.requests += 1
        if status != 200:
            result.failures += 1
            return None
        return body

    async def player(index: int, connection: Connection) -> None:
        tick = started + period * index / players
        fetched = None
        while tick < until:
            await asyncio.sleep(max(tick - time.monotonic(), 0))
            body = await timed(connection, PLAYLIST, keep_body=True)
            if body:
                uri, program_date_time = newest(body)
                result.first_seen.setdefault(uri, (time.time(), program_date_time - lead))
                if uri != fetched:
                    await timed(connection, f"/live/{uri}", keep_body=False)
                    fetched = uri
            tick += period
            while tick < time.monotonic():  # behind: skip the ticks it missed, as players do
                tick += period

    try:
        await asyncio.gather(*(player(n, c) for n, c in enumerate(connections)))
    finally:
        for connection in connections:
            connection.close()
    return result


# --- 2. saturated (wrk) ------------------------------------------------------------------


@dataclass
class Saturated:
    rate: float
    """Requests per second."""
    cpu: float
    """The server's CPU seconds per request: less moved by the machine's load."""


def wrk(side: Side, path: str, seconds: float) -> Saturated:
    """What wrk gets from one server (one thread, 32 connections)."""
    before = cpu_seconds(side.pid)
    run = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds:.0f}s", f"http://{HOST}:{side.port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    cpu = cpu_seconds(side.pid) - before
    if "Non-2xx" in run.stdout:
        raise RuntimeError(f"wrk got errors from {path}:\n{run.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    requests = re.search(r"(\d+) requests in", run.stdout)
    if rate is None or requests is None:
        raise RuntimeError(f"wrk printed no rate:\n{run.stdout}{run.stderr}")
    return Saturated(float(rate.group(1)), cpu / int(requests.group(1)))


# --- the servers --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children: the engine's ffmpeg is apart)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks


def start_nginx(work: Path, state: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(work=work, state=state, host=HOST, port=port, playlist=PLAYLIST)
    )
    process = subprocess.Popen(["nginx", "-p", str(work), "-c", str(conf)])
    wait_for(lambda: listed(port) > 0, what="nginx to serve the playlist")
    return process, port


def listed(port: int) -> int:
    """Segments the playlist at `port` lists (0 while there is none)."""

    async def count() -> int:
        connection = await Connection.open(port)
        try:
            status, body = await connection.get(PLAYLIST, keep_body=True)
        finally:
            connection.close()
        return body.count(b"#EXTINF") if status == 200 else 0

    try:
        return asyncio.run(count())
    except OSError:
        return 0


def wait_for(check: Callable[[], bool], *, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.2)


def newest_segment(port: int) -> str:
    async def fetch() -> bytes:
        connection = await Connection.open(port)
        try:
            return (await connection.get(PLAYLIST, keep_body=True))[1]
        finally:
            connection.close()

    return f"/live/{newest(asyncio.run(fetch()))[0]}"


@dataclass
class Side:
    name: str
    port: int
    pid: int
    paced: Paced | None = None
    cores: float = 0.0
    playlist: Saturated | None = None
    segment: Saturated | None = None


def measure_paced(side: Side, *, players: int, seconds: float, period: float) -> float:
    """Runs the players against `side`; returns the server's CPU cores meanwhile."""
    before, begun = cpu_seconds(side.pid), time.monotonic()
    side.paced = asyncio.run(paced(side.port, players=players, seconds=seconds, period=period))
    return (cpu_seconds(side.pid) - before) / (time.monotonic() - begun)


def describe(side: Side, period: float) -> str:
    result = side.paced
    assert result is not None
    late = result.late(period)
    latencies = sorted(result.latencies)
    p99 = latencies[int(len(latencies) * 0.99)]
    return (
        f"  {side.name:8} {result.requests / result.seconds:7.1f} req/s, "
        f"{result.failures} failed, latency p50 {statistics.median(latencies) * 1000:.1f} ms "
        f"p99 {p99 * 1000:.1f} ms, server {side.cores:.3f} cores, "
        f"segments late {sum(x > LATE_SECONDS for x in late)} of {len(late)} "
        f"(latest {max(late, default=0):+.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60, help="paced players, per server")
    parser.add_argument("--wrk-seconds", type=float, default=10, help="each wrk run")
    args = parser.parse_args()
    needed = {"ffmpeg": "system-deps", "nginx": "bench-deps", "wrk": "bench-deps"}
    for tool, target in needed.items():
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed (make {target})")
    # Each player holds a connection, on both ends of the loopback.
    _, most = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(most, 4 * args.players + 1024), most))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_clip(work / "media/clips/clip.mp4", 30, size="640x360")
        engine, playout_port = start_playout(work / "media", work, "serving", "transcode", VIDEO)
        (work / "nginx").mkdir()
        nginx = None
        try:
            wait_for(lambda: listed(playout_port) >= WORK_AHEAD, what="the channel to start")
            nginx, nginx_port = start_nginx(work / "nginx", work / "serving-state")
            # In transcode mode the sample channel's TARGETDURATION is its segmentSeconds.
            period = float(channel_document("serving", [])["spec"]["output"]["segmentSeconds"])
            print(
                f"HLS serving on {machine()}, load {load()}: {args.players} paced players "
                f"for {args.seconds:.0f} s each, then wrk for {args.wrk_seconds:.0f} s each\n"
            )
            ours = Side("playout", playout_port, engine.pid)
            base = Side("nginx", nginx_port, nginx.pid)
            # While nginx serves, the streamer's CPU is its engine's: taken off its figure.
            engine_before, begun = cpu_seconds(engine.pid), time.monotonic()
            base.cores = measure_paced(
                base, players=args.players, seconds=args.seconds, period=period
            )
            engine_alone = (cpu_seconds(engine.pid) - engine_before) / (time.monotonic() - begun)
            ours.cores = (
                measure_paced(ours, players=args.players, seconds=args.seconds, period=period)
                - engine_alone
            )
            print(f"paced players (load {load()}):")
            print(describe(base, period))
            print(describe(ours, period))
            for side in (base, ours):
                side.playlist = wrk(side, PLAYLIST, args.wrk_seconds)
            for side in (base, ours):
                side.segment = wrk(side, newest_segment(side.port), args.wrk_seconds)
            print(f"\nsaturated, wrk -t1 -c32 (load {load()}):")
            for side in (base, ours):
                assert side.playlist is not None and side.segment is not None
                print(
                    f"  {side.name:8} playlist {side.playlist.rate:7.0f} req/s "
                    f"{side.playlist.cpu * 1e6:4.0f} us CPU each, segment "
                    f"{side.segment.rate:6.0f} req/s {side.segment.cpu * 1e6:4.0f} us CPU each"
                )
            assert base.paced is not None and ours.paced is not None
            assert ours.playlist is not None and base.playlist is not None
            assert ours.segment is not None and base.segment is not None
            print()
            print_table(
                [
                    (
                        f"{args.players} paced players: {ours.paced.requests / args.seconds:.0f}"
                        " req/s",
                        f"nginx: {base.paced.requests / args.seconds:.0f} req/s",
                        ours.paced.requests / base.paced.requests,
                        ">= 0.5x",
                    ),
                    (
                        f"{args.players} paced players, server CPU: {ours.cores:.3f} cores",
                        f"nginx: {base.cores:.3f} cores",
                        ours.cores / max(base.cores, 1e-3),
                        "(less is better)",
                    ),
                    *(
                        row
                        for what, mine, theirs in (
                            ("the playlist", ours.playlist, base.playlist),
                            ("a segment", ours.segment, base.segment),
                        )
                        for row in (
                            (
                                f"saturated, {what}: {mine.rate:.0f} req/s",
                                f"nginx: {theirs.rate:.0f} req/s",
                                mine.rate / theirs.rate,
                                ">= 0.5x",
                            ),
                            (
                                f"saturated, {what}: {mine.cpu * 1e6:.0f} us CPU a request",
                                f"nginx: {theirs.cpu * 1e6:.0f} us",
                                mine.cpu / theirs.cpu,
                                "(less is better)",
                            ),
                        )
                    ),
                ],
                RUN,
            )
        finally:
            for process in (nginx, engine):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=30)


if __name__ == "__main__":
    main()
