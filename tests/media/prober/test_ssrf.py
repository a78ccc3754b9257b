"""The prober's guard against server-side request forgery, with real ffmpeg and real HTTP
servers on loopback: nothing leaves the machine.

Loopback is itself a refused range, so a test that needs a first hop to be allowed and a
later one refused serves the first from 127.0.0.2 and gives the relay the guard's own rule
with that one address let through; the later hop, at 127.0.0.1, meets the rule as is."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, Verdict
from playout.media.metadata import metadata_command
from playout.media.process import run_tool
from playout.prober import guard
from playout.prober.relay import Relay
from tests.media.prober.conftest import check, ffmpeg, run

pytestmark = pytest.mark.bad_input

FIRST_HOP = "127.0.0.2"


@dataclass
class Server:
    """An HTTP server on loopback: files from `root`, and answers set per path."""

    base: str
    root: Path
    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(server.root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            server.requests.append(self.path)
            if self.path in server.answers:
                status, headers, body = server.answers[self.path]
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers: serve(host, tls=None) -> Server; all stop at the end of the test."""
    running: list[http.server.ThreadingHTTPServer] = []

    def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Server:
        root = tmp_path / f"www-{len(running)}"
        root.mkdir()
        server = Server("", root)
        httpd = http.server.ThreadingHTTPServer((host, 0), _handler(server))
        if tls is not None:
            httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        server.base = f"{scheme}://{host}:{httpd.server_address[1]}"
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        running.append(httpd)
        return server

    yield start
    for httpd in running:
        httpd.shutdown()
        httpd.server_close()


class Listener:
    """A port on 127.0.0.1 that counts the connections made to it."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._running = True
        self._thread = threading.Thread(target=self._count, daemon=True)
        self._thread.start()

    def _count(self) -> None:
        while self._running:
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    counting = Listener()
    yield counting
    counting.close()


def first_hop_only(address: guard.IPAddress) -> str | None:
    """The guard's default rule, with the test's first server let through."""
    if address == ip_address(FIRST_HOP):
        return None
    return guard.address_refusal(address, allow_private=False)


def relayed_ffprobe(url: str) -> tuple[bool, list[str]]:
    """ffprobe on `url` through a relay with `first_hop_only`: (read it, refusals)."""

    async def go() -> tuple[bool, list[str]]:
        async with Relay(refuse=first_hop_only) as relay:
            result = await run_tool(
                metadata_command("ffprobe", relay.local(url)), 60, env=relay.environment()
            )
            return result.ok, relay.refusals

    return asyncio.run(go())


def redirect(server: Server, path: str, to: str) -> None:
    server.answers[path] = (302, {"Location": to}, b"")


def playlist(*segments: str) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2",
             "#EXT-X-PLAYLIST-TYPE:VOD"]  # fmt: skip
    for segment in segments:
        lines += ["#EXTINF:2.0,", segment]
    return ("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n").encode()


def readable_error(report: object) -> str:
    readable = check(report, "readable")  # type: ignore[arg-type]
    assert readable.status == CheckStatus.ERROR, readable
    return readable.message


# --- the source itself ------------------------------------------------------------------


def test_a_loopback_url_is_refused_before_any_connection(listener: Listener) -> None:
    report = run(f"http://127.0.0.1:{listener.port}/clip.mkv")
    assert report.verdict == Verdict.FAIL
    message = readable_error(report)
    assert message.startswith("spec.source.url: refused to open http://127.0.0.1:")
    assert "127.0.0.1 is a loopback address" in message
    assert "spec.allowPrivateAddresses" in message
    assert listener.connections == 0


@pytest.mark.parametrize(
    "host", ["localhost", "2130706433", "0x7f.0.0.1", "127.1", "[::ffff:7f00:1]"]
)
def test_a_host_is_judged_by_the_addresses_it_resolves_to(listener: Listener, host: str) -> None:
    """Names and odd spellings of 127.0.0.1 alike: what is judged is what would be dialled."""
    message = readable_error(run(f"http://{host}:{listener.port}/clip.mkv", "quick"))
    assert "is a loopback address" in message
    assert listener.connections == 0


def test_allow_private_addresses_opts_out(clean: Path, serve: Callable[..., Server]) -> None:
    server = serve()
    shutil.copy(clean, server.root / "clip.mkv")
    report = run(f"{server.base}/clip.mkv", "quick", allow_private_addresses=True)
    assert report.verdict == Verdict.PASS, [(c.name, c.message) for c in report.checks]
    assert server.requests  # read through the relay


def test_the_cli_refuses_and_opts_out(clean: Path, serve: Callable[..., Server]) -> None:
    server = serve()
    shutil.copy(clean, server.root / "clip.mkv")
    command = [sys.executable, "-m", "playout.cli", "probe", "--json", "--profile", "quick"]
    refused = subprocess.run(
        [*command, f"{server.base}/clip.mkv"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 1
    assert "--allow-private-addresses" in json.loads(refused.stdout)["checks"][0]["message"]
    assert server.requests == []
    allowed = subprocess.run(
        [*command, "--allow-private-addresses", f"{server.base}/clip.mkv"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


# --- redirects --------------------------------------------------------------------------


def test_a_redirect_to_loopback_is_refused_before_any_connection(
    serve: Callable[..., Server], listener: Listener
) -> None:
    first = serve(FIRST_HOP)
    redirect(first, "/clip.mkv", f"http://127.0.0.1:{listener.port}/clip.mkv")
    read, refusals = relayed_ffprobe(f"{first.base}/clip.mkv")
    assert not read
    assert first.requests == ["/clip.mkv"]
    assert len(refusals) == 1 and "127.0.0.1 is a loopback address" in refusals[0]
    assert listener.connections == 0


def test_a_redirect_to_the_metadata_address_is_refused_even_when_private_is_allowed(
    serve: Callable[..., Server],
) -> None:
    server = serve()
    redirect(server, "/clip.mkv", "http://169.254.169.254/latest/meta-data/iam/")
    report = run(f"{server.base}/clip.mkv", "quick", allow_private_addresses=True)
    message = readable_error(report)
    assert "refused to open http://169.254.169.254/latest/meta-data/iam/" in message
    assert "a cloud metadata address: a probe never connects there" in message
    assert "allowPrivateAddresses" not in message  # no opt-out reaches it


def test_a_redirect_to_a_local_file_is_refused(serve: Callable[..., Server]) -> None:
    server = serve()
    redirect(server, "/clip.mkv", "file:///etc/passwd")
    report = run(f"{server.base}/clip.mkv", "quick", allow_private_addresses=True)
    assert "file:///etc/passwd: only http and https URLs are probed" in readable_error(report)


def test_every_hop_is_checked(clean: Path, serve: Callable[..., Server]) -> None:
    server = serve()
    shutil.copy(clean, server.root / "clip.mkv")
    redirect(server, "/one", "/two")
    redirect(server, "/two", f"{server.base}/clip.mkv")
    report = run(f"{server.base}/one", "quick", allow_private_addresses=True)
    assert report.verdict == Verdict.PASS, [(c.name, c.message) for c in report.checks]
    assert server.requests[:3] == ["/one", "/two", "/clip.mkv"]


# --- playlists --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def segment(clean: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("segment") / "seg.ts"
    ffmpeg("-i", str(clean), "-t", "2", "-c", "copy", str(path))
    return path.read_bytes()


def test_a_playlist_naming_a_loopback_segment_is_refused(
    serve: Callable[..., Server], listener: Listener, segment: bytes
) -> None:
    first = serve(FIRST_HOP)
    (first.root / "good.ts").write_bytes(segment)
    body = playlist("good.ts", f"http://127.0.0.1:{listener.port}/secret.ts")
    first.answers["/index.m3u8"] = (200, {"Content-Type": "application/vnd.apple.mpegurl"}, body)
    read, refusals = relayed_ffprobe(f"{first.base}/index.m3u8")
    assert not read
    assert refusals and "it names http://127.0.0.1:" in refusals[0]
    assert first.requests == ["/index.m3u8"]  # not even the good segment was fetched
    assert listener.connections == 0


def test_a_playlist_naming_the_metadata_address_is_refused(
    serve: Callable[..., Server], segment: bytes
) -> None:
    server = serve()
    (server.root / "good.ts").write_bytes(segment)
    body = playlist("good.ts", "http://169.254.169.254/latest/meta-data/")
    server.answers["/index.m3u8"] = (200, {}, body)
    report = run(f"{server.base}/index.m3u8", "quick", allow_private_addresses=True)
    assert report.verdict == Verdict.FAIL
    message = readable_error(report)
    assert "refused the playlist" in message and "169.254.169.254" in message


@pytest.mark.parametrize("form", ["file://{}", "concat:{}|{}", "subfile:,,start,0,end,0,,:{}"])
def test_local_files_are_not_segments(
    serve: Callable[..., Server], segment: bytes, tmp_path: Path, form: str
) -> None:
    # A media name, so that only the protocol whitelist stops it; a FIFO, which would hold
    # whatever opened it until the timeout.
    secret = tmp_path / "secret.ts"
    os.mkfifo(secret)
    server = serve()
    (server.root / "good.ts").write_bytes(segment)
    server.answers["/index.m3u8"] = (200, {}, playlist("good.ts", form.format(secret, secret)))
    report = run(f"{server.base}/index.m3u8", "quick", allow_private_addresses=True)
    assert report.verdict == Verdict.FAIL
    sequence = check(report, "hlsSequence")
    assert sequence.status == CheckStatus.FAIL and "is not allowed here" in sequence.message
    assert all(c.name != "timeout" for c in report.checks), "the file was opened"


def test_an_unrecognised_playlist_still_cannot_reach_around_the_relay(
    serve: Callable[..., Server],
    listener: Listener,
    segment: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body the relay does not take for a playlist is passed on as it is: if ffmpeg reads
    it as one anyway, the URLs in it still come to the relay, its proxy, even when the
    environment says to go direct."""
    monkeypatch.setenv("no_proxy", "*")
    first = serve(FIRST_HOP)
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"  # an empty ID3v2 tag: ffmpeg skips it
    body = id3 + playlist(f"http://127.0.0.1:{listener.port}/secret.ts")
    first.answers["/index.m3u8"] = (200, {}, body)
    read, refusals = relayed_ffprobe(f"{first.base}/index.m3u8")
    assert not read
    assert refusals and f"refused to open http://127.0.0.1:{listener.port}/secret.ts" in refusals[0]
    assert listener.connections == 0


# --- TLS --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name `localhost` only: (certificate, key)."""
    assert shutil.which("openssl"), "openssl not found: install it (apt-get install openssl)"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https(certificate: tuple[Path, Path], serve: Callable[..., Server], clean: Path) -> Server:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = serve("127.0.0.1", tls=context)
    shutil.copy(clean, server.root / "clip.mkv")
    return server


def test_tls_is_verified_against_the_host_name(
    https: Server, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = https.base.rsplit(":", 1)[1]
    untrusted = run(f"https://localhost:{port}/clip.mkv", "quick", allow_private_addresses=True)
    assert "certificate verify failed" in readable_error(untrusted)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now the issuer is trusted
    report = run(f"https://localhost:{port}/clip.mkv", "quick", allow_private_addresses=True)
    assert report.verdict == Verdict.PASS, [(c.name, c.message) for c in report.checks]
    # The same server by its address: the certificate does not name it.
    wrong = run(f"https://127.0.0.1:{port}/clip.mkv", "quick", allow_private_addresses=True)
    assert "certificate verify failed" in readable_error(wrong)
    assert "127.0.0.1" in readable_error(wrong)
