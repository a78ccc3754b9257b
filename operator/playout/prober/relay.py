"""The loopback relay every remote probe goes through: ffmpeg, ffprobe and the playlist
reader never connect to a source themselves.

They are handed local URLs (`Relay.local`) and run with the relay as their `http_proxy`, so
whatever URL reaches them anyway comes here too. For every request the relay applies
`playout.prober.guard`: the URL's scheme and form, then every address its host resolves
to, before any connection; it then connects to those checked addresses only (a second
DNS answer cannot point it elsewhere) and speaks TLS itself, verified against the URL's
host name. Redirects are handed back as local URLs, so each hop is checked when it is
followed. HLS playlists are rewritten so that every URI in them is a local URL, and every
address they name is checked before the playlist is served: a playlist that points a
segment at a refused address is refused as a whole.

ffmpeg therefore only ever speaks plain HTTP to 127.0.0.1 (its protocol whitelist for URLs
has no TLS), and a refusal is kept in `refusals` for the report to say."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from http import HTTPStatus
from ipaddress import ip_address
from types import TracebackType
from urllib.parse import urljoin, urlsplit

from playout.prober import guard
from playout.prober.guard import IPAddress, Refused, Target

log = logging.getLogger("playout.prober.relay")

HEAD_LIMIT = 64 * 1024
PLAYLIST_LIMIT = 1024 * 1024
CONNECT_SECONDS = 30
CHUNK = 256 * 1024
REQUEST_HEADERS = ("range", "if-range", "user-agent", "accept")
RESPONSE_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges",
                    "last-modified", "etag")  # fmt: skip
# Proxy settings of the environment would send ffmpeg around the relay; `no_proxy` too.
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


class UpstreamError(Exception):
    """The source could not be reached or answered in a way that cannot be relayed."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(answer[4][0]) for answer in answers))


class Relay:
    """A loopback HTTP server for one probe run; `async with` starts and stops it."""

    def __init__(self, *, refuse: Callable[[IPAddress], str | None]) -> None:
        self._refuse = refuse
        self._token = secrets.token_urlsafe(16)
        self._tls = ssl.create_default_context()
        self._server: asyncio.Server | None = None
        self._base = ""
        self._answering: set[asyncio.Task[None]] = set()
        self.refusals: list[str] = []
        """What was refused, as the report says it, in order."""
        self.failures: list[str] = []
        """Sources that could not be reached, and why (what ffmpeg only sees as a 502)."""

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT)
        port = self._server.sockets[0].getsockname()[1]
        self._base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._answering:
            task.cancel()
        await asyncio.gather(*self._answering, return_exceptions=True)
        await self._server.wait_closed()

    def local(self, url: str) -> str:
        """The URL ffmpeg is given for `url`; `Refused` when no probe may open it."""
        target = guard.target(url)
        return f"{self._base}/{self._token}/{target.scheme}/{target.authority}{target.request_path}"

    def environment(self) -> dict[str, str]:
        """The environment of ffmpeg and ffprobe: the relay as their only proxy."""
        kept = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES}
        return {**kept, "http_proxy": self._base}

    async def admit(self, url: str) -> tuple[Target, list[IPAddress]]:
        """Where `url` leads and the addresses it may be reached at: every address its host
        resolves to is checked, and one refused address refuses the URL."""
        target = guard.target(url)
        if target.address is not None:
            addresses = [target.address]
        else:
            try:
                addresses = await resolve(target.host, target.port)
            except OSError as problem:
                raise UpstreamError(f"{url}: {target.host} does not resolve ({problem})") from None
        for address in addresses:
            reason = self._refuse(address)
            if reason:
                raise Refused(reason)
        return target, addresses

    async def refusal(self, url: str) -> str | None:
        """Why a probe of `url` may not start (checked before anything connects), or None."""
        try:
            await self.admit(url)
        except Refused as refused:
            return guard.refusal_message(url, str(refused))
        except UpstreamError:
            return None  # the probe says it, as for any source that cannot be read
        return None

    # --- serving ------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._answering.add(task)
        try:
            await self._answer(reader, writer)
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError):
            pass  # the client went away or spoke no HTTP: nothing to answer
        finally:
            self._answering.discard(task)
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line, headers = _head(await reader.readuntil(b"\r\n\r\n"))
        method, path, _ = request_line.split(" ", 2)
        if method not in ("GET", "HEAD"):
            await _reply(writer, 405, "only GET and HEAD are relayed")
            return
        url = self._remote(path)
        if url is None:
            await _reply(writer, 404, "not a URL of this relay")
            return
        try:
            target, addresses = await self.admit(url)
            upstream = await self._connect(target, addresses)
        except Refused as refused:
            await self._refused(writer, guard.refusal_message(url, str(refused)))
            return
        except UpstreamError as problem:
            await self._failed(writer, str(problem))
            return
        up_reader, up_writer = upstream
        try:
            await self._relay(method, target, headers, up_reader, up_writer, writer)
        except (UpstreamError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            await self._failed(writer, f"{url}: {error or type(error).__name__}")
        finally:
            up_writer.close()

    def _remote(self, path: str) -> str | None:
        """The source URL a request is for. ffmpeg asks a proxy with the whole URL; one that
        is not a local URL is a source like any other, guarded the same way."""
        if not path.startswith("/"):
            parts = urlsplit(path)
            if f"{parts.scheme}://{parts.netloc}" != self._base:
                return path
            path = path[len(self._base) :]
        prefix = f"/{self._token}/"
        if not path.startswith(prefix):
            return None
        scheme, _, rest = path[len(prefix) :].partition("/")
        authority, _, tail = rest.partition("/")
        return f"{scheme}://{authority}/{tail}"

    async def _connect(
        self, target: Target, addresses: list[IPAddress]
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to one of the checked addresses, never to a name."""
        secure = target.scheme == "https"
        problems = []
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(
                        str(address),
                        target.port,
                        ssl=self._tls if secure else None,
                        server_hostname=target.host if secure else None,
                        limit=HEAD_LIMIT,
                    ),
                    CONNECT_SECONDS,
                )
            except OSError as problem:  # refused, unreachable, timed out, TLS not verified
                problems.append(f"{address}: {problem or type(problem).__name__}")
        raise UpstreamError(f"{target.url}: could not connect ({'; '.join(problems)})")

    async def _relay(
        self,
        method: str,
        target: Target,
        asked: Mapping[str, str],
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
        writer: asyncio.StreamWriter,
    ) -> None:
        lines = [
            f"{method} {target.request_path} HTTP/1.1",
            f"Host: {target.authority}",
            "Accept-Encoding: identity",
            "Connection: close",
            *(f"{name}: {asked[name]}" for name in REQUEST_HEADERS if name in asked),
        ]
        up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await up_writer.drain()
        status_line, headers = _head(await up_reader.readuntil(b"\r\n\r\n"))
        try:
            code_text = status_line.split(" ", 2)[1]
            code = int(code_text)
        except (IndexError, ValueError):
            raise UpstreamError(f"not an HTTP response: {status_line[:80]!r}") from None
        if 300 <= code < 400 and "location" in headers:
            hop = urljoin(target.url, headers["location"])
            try:
                location = self.local(hop)
            except Refused as refused:
                await self._refused(writer, guard.refusal_message(hop, str(refused)))
                return
            await _reply(writer, code, "", {"Location": location})
            return
        empty = method == "HEAD" or code in (204, 304)
        body = _nothing() if empty else _body(up_reader, headers)
        first = b""
        async for chunk in body:
            first += chunk
            if len(first) >= 64:
                break
        # ffmpeg asks for `Range: bytes=0-` and may get a 206 for a playlist too.
        if code in (200, 206) and guard.is_playlist_start(first):
            await self._playlist(target, first, body, writer)
            return
        decoded = "transfer-encoding" in headers or "content-encoding" in headers
        kept = {
            name: headers[name]
            for name in RESPONSE_HEADERS
            if name in headers and not (decoded and name == "content-length")
        }
        await _start(writer, code, kept)
        writer.write(first)
        try:
            async for chunk in body:
                writer.write(chunk)
                await writer.drain()
        except (UpstreamError, asyncio.IncompleteReadError, ValueError, zlib.error) as problem:
            # Too late for a status: the client sees the body end early.
            self.failures.append(f"{target.url}: {problem}")
        await writer.drain()

    async def _playlist(
        self, target: Target, first: bytes, body: AsyncIterator[bytes], writer: asyncio.StreamWriter
    ) -> None:
        """A playlist, served with local URLs only, once every address it names passes."""
        data = bytearray(first)
        async for chunk in body:
            data += chunk
            if len(data) > PLAYLIST_LIMIT:
                raise UpstreamError(f"a playlist over {PLAYLIST_LIMIT // 1024} KiB")
        try:
            text, uris = guard.rewrite_playlist(
                data.decode("utf-8", errors="replace"), base=target.url, local=self.local
            )
        except Refused as refused:
            message = f"{guard.FIELD}: refused the playlist {target.url}: {refused}"
            await self._refused(writer, message)
            return
        checked: set[tuple[str, int]] = set()
        for uri in uris:
            named = guard.target(uri)
            if (named.host, named.port) in checked:
                continue
            try:
                await self.admit(uri)
            except Refused as refused:
                message = f"{guard.FIELD}: refused the playlist {target.url}: it names {uri}: "
                await self._refused(writer, message + str(refused))
                return
            except UpstreamError:
                pass  # a name that does not resolve fails its own fetch, not the playlist
            checked.add((named.host, named.port))
        await _reply(writer, 200, text, {"Content-Type": "application/vnd.apple.mpegurl"})

    async def _refused(self, writer: asyncio.StreamWriter, message: str) -> None:
        log.warning("%s", message)
        self.refusals.append(message)
        await _reply(writer, 403, message)

    async def _failed(self, writer: asyncio.StreamWriter, message: str) -> None:
        log.info("%s", message)
        self.failures.append(message)
        with contextlib.suppress(OSError):
            await _reply(writer, 502, message)


def _head(data: bytes) -> tuple[str, dict[str, str]]:
    """The first line of a request or response head, and its headers by lowercase name."""
    first, *lines = data.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon and value.isprintable():
            headers[name.strip().lower()] = value.strip()
    return first, headers


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an empty async generator


async def _body(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
    """A response body as sent, undone of chunked transfer and of compression."""
    inflate = (
        zlib.decompressobj(wbits=47)  # gzip or zlib, by its header
        if headers.get("content-encoding", "identity").lower() not in ("identity", "")
        else None
    )
    async for chunk in _framed(reader, headers):
        yield inflate.decompress(chunk) if inflate else chunk
    if inflate:
        yield inflate.flush()


async def _framed(reader: asyncio.StreamReader, headers: Mapping[str, str]) -> AsyncIterator[bytes]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            yield await reader.readexactly(size)
            await reader.readexactly(2)
        return
    length = headers.get("content-length")
    left = int(length) if length and length.isdigit() else None
    while left is None or left > 0:
        chunk = await reader.read(CHUNK if left is None else min(CHUNK, left))
        if not chunk:
            if left:
                raise UpstreamError(f"the body ended {left} bytes short")
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


async def _start(writer: asyncio.StreamWriter, code: int, headers: Mapping[str, str]) -> None:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Status"
    lines = [f"HTTP/1.1 {code} {phrase}", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _reply(
    writer: asyncio.StreamWriter, code: int, text: str, headers: Mapping[str, str] | None = None
) -> None:
    body = text.encode()
    kept = {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}
    await _start(writer, code, {**kept, "Content-Length": str(len(body))})
    writer.write(body)
    await writer.drain()
