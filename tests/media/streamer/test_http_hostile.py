"""The streamer's HTTP surface against clients that mean harm or are just broken: paths
that climb out, odd methods, huge headers, a thousand slow clients. Each is refused or
served, the engine never falls over, and the stream keeps its pace meanwhile."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import pytest

from tests.streaming import StartStreamer, Streamer, channel_document, make_clip

pytestmark = pytest.mark.bad_input

SLOW_CLIENTS = 1000


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    make_clip(root / "shows/A S01E01.mkv", 20)
    return root


def raw(streamer: Streamer, request: bytes, *, timeout: float = 10) -> tuple[int, bytes]:
    """Send `request` as it is; the status code and the body of the answer."""
    with socket.create_connection(("127.0.0.1", streamer.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_paths_that_climb_out_are_not_found(media: Path, streamer_for: StartStreamer) -> None:
    streamer = streamer_for(channel_document("climb", [{"path": "shows"}]), media)
    streamer.wait_for_playlist(2)
    for path in (
        "/live/%2e%2e/state.json",
        "/live/%2e%2e%2fstate.json",
        "/live/%252e%252e%252fstate.json",
        "/live/..%5cstate.json",
        "/live/....//state.json",
        "//etc/passwd",
        "/live//etc/passwd",
        "/live/index.m3u8%00.ts",
        "/live/%00",
        "/static/../../state.json",
        "/live/" + "a" * 4000 + ".ts",
    ):
        code, body = raw(streamer, get(path))
        assert code in (400, 404), (path, code)
        assert b"mediaSequence" not in body and b"root:" not in body, path
    assert streamer.get("/healthz") == b"ok\n"


def test_odd_methods_and_huge_requests_are_refused(
    media: Path, streamer_for: StartStreamer
) -> None:
    streamer = streamer_for(channel_document("odd", [{"path": "shows"}]), media)
    streamer.wait_for_playlist(2)
    for method in ("PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "FOO"):
        request = get("/live/index.m3u8").replace(b"GET", method.encode(), 1)
        code, _ = raw(streamer, request)
        assert code in (400, 404, 405, 501), (method, code)
    # A 64 KiB header, 500 headers, a 100 KiB query string, a body nobody asked for.
    code, _ = raw(streamer, get("/live/index.m3u8", "X-Big: " + "x" * 65536))
    assert code in (400, 431), code
    code, _ = raw(streamer, get("/live/index.m3u8", *(f"X-{i}: {i}" for i in range(500))))
    assert code in (200, 400, 431), code
    code, _ = raw(streamer, get("/live/index.m3u8?" + "q=1&" * 25_000))
    assert code in (200, 400, 414), code
    post = b"POST /live/index.m3u8 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nxx"
    with socket.create_connection(("127.0.0.1", streamer.port), timeout=10) as sock:
        sock.sendall(post)
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(64)  # a refusal, or the server hangs up on the short body
        assert answer == b"" or answer.split(b" ")[1] in (b"400", b"404", b"405", b"413")
    assert streamer.get("/healthz") == b"ok\n"
    assert streamer.process is not None and streamer.process.poll() is None


def test_a_thousand_slow_clients_do_not_stop_the_stream(
    media: Path, streamer_for: StartStreamer
) -> None:
    """Slowloris: each client sends part of a request and then a byte now and then. The
    engine serves the players that behave, and the live edge keeps moving."""
    streamer = streamer_for(channel_document("slow", [{"path": "shows"}]), media)
    streamer.wait_for_playlist(2)
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", streamer.port), timeout=10)
            sock.sendall(b"GET /live/index.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(sock)
        first = streamer.status()["stream"]["mediaSequence"]
        deadline = time.monotonic() + 16
        while time.monotonic() < deadline:
            for sock in slow:
                # The server may hang up on a slow client: that is allowed.
                with contextlib.suppress(OSError):
                    sock.sendall(b"X: y\r\n")
            assert b"#EXTM3U" in streamer.get("/live/index.m3u8")
            time.sleep(2)
        # Segments of 2 s went on being published while the slow clients held on.
        assert streamer.status()["stream"]["mediaSequence"] >= first + 4
    finally:
        for sock in slow:
            sock.close()
    assert streamer.process is not None and streamer.process.poll() is None
    assert "Traceback" not in streamer.log_text()
