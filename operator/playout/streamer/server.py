"""The streamer's HTTP side: the live playlist and segments, health, metrics, status, a
web player, an M3U entry and XMLTV guide for IPTV clients (from the timeline), and the
as-run log."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from io import FileIO
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from prometheus_client import generate_latest

from playout.clock import rfc3339, utc_now
from playout.streamer import guide
from playout.streamer.engine import Engine
from playout.streamer.subtitles import subtitle_name, subtitle_uri
from playout.streamer.timeline import Programme

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_NAME = re.compile(r"^seg-\d+-\d+\.ts$")
SUBTITLE_NAME = re.compile(r"^seg-\d+-\d+\.vtt$")
STATIC = Path(__file__).parent / "static"
# The player's guide: hours ahead it may ask for.
GUIDE_HOURS_MAX = 48
GUIDE_LIMIT_MAX = 2000
ASRUN_LIMIT_MAX = 10_000
ICON_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)


def hls_js_path() -> Path:
    """hls.js for the player page: installed by `make player-assets` or the image build."""
    return Path(os.environ.get("PLAYOUT_HLSJS", STATIC / "hls.min.js"))


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    allowed = request.app[ENGINE].spec.output.allowed_origins
    origin = request.headers.get("Origin")
    if origin and ("*" in allowed or origin in allowed):
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
        response.headers["Vary"] = "Origin"
    return response


def _rendition(request: web.Request) -> int:
    """The rendition a path names (/live/NAME/...); 0, the only one, where it names none."""
    engine = request.app[ENGINE]
    name = request.match_info.get("rendition")
    if name not in engine.renditions:
        raise web.HTTPNotFound()
    return engine.renditions.index(name)


def _subtitles(request: web.Request) -> str | None:
    """The subtitle language a path names (/live/subs_de/...), if it names one."""
    name = request.match_info.get("rendition")
    languages = request.app[ENGINE].subtitle_languages
    return next((code for code in languages if subtitle_name(code) == name), None)


class SharedSegment:
    """A segment file opened once and sent to every player that asks for it, with
    sendfile from the event loop: no thread hop, no copy through Python."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("rb", buffering=0)
        stat = os.fstat(self.file.fileno())
        self.size = stat.st_size
        self.etag = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
        self.last_modified = stat.st_mtime
        self._sending = 0
        self._retired = False

    def retire(self) -> None:
        """The segment is no longer listed: close it once its last send is done (closing
        it under a send could hand its descriptor number to another file)."""
        self._retired = True
        self._close_if_done()

    async def send(self, request: web.BaseRequest, *, start: int, count: int) -> None:
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("the player went away")
        self._sending += 1
        try:
            sent = _sent_at_once(transport, self.file, start=start, count=count)
            if sent < count:
                loop = asyncio.get_running_loop()
                await loop.sendfile(transport, self.file, start + sent, count - sent)
        finally:
            self._sending -= 1
            self._close_if_done()

    def _close_if_done(self) -> None:
        if self._retired and not self._sending:
            self.file.close()


def _sent_at_once(transport: asyncio.Transport, file: FileIO, *, start: int, count: int) -> int:
    """What one sendfile call puts in the socket's buffer, usually the whole segment; the
    event loop's sendfile (which pauses reading and waits for the socket, several loop
    turns) only sends what is left."""
    sock = transport.get_extra_info("socket")
    if sock is None or transport.is_closing() or transport.get_write_buffer_size():
        return 0  # gone, or bytes still queued before the segment's: the loop's turn
    try:
        return os.sendfile(sock.fileno(), file.fileno(), start, count)
    except (BlockingIOError, InterruptedError):
        return 0


class LiveFiles:
    """What /live serves, kept from one playlist change to the next: each playlist
    rendered once, and each listed segment opened once. A change is seen in the
    playlist's counters, which move on every append and every fresh window, and never
    come back to an earlier value (RFC 8216's rules the playlist enforces)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._seen: tuple[int, int, int] | None = None
        self._playlists: dict[str, bytes | None] = {}
        self._servable: set[str] = set()
        self._open: dict[Path, SharedSegment] = {}

    def _refresh(self) -> None:
        playlist = self._engine.playlist
        counters = (
            playlist.media_sequence,
            playlist.next_sequence,
            playlist.discontinuity_sequence,
        )
        if counters == self._seen:
            return
        self._seen = counters
        self._playlists = {}
        # What left the window stays servable until the engine deletes it.
        listed = {s.uri for s in playlist.segments + playlist.removed}
        self._servable = listed | {subtitle_uri(uri) for uri in listed}
        for path in [path for path in self._open if path.name not in self._servable]:
            self._open.pop(path).retire()

    def playlist(self, kind: str) -> bytes | None:
        """`multivariant` (None for a channel without renditions), `media` (every
        rendition's: they list the same names) or `subtitles` (every language's)."""
        self._refresh()
        if kind not in self._playlists:
            engine = self._engine
            if kind == "multivariant":
                text = engine.multivariant()
            else:
                text = engine.playlist.render(uri=subtitle_uri if kind == "subtitles" else None)
            self._playlists[kind] = None if text is None else text.encode()
        return self._playlists[kind]

    def segment(self, folder: Path, name: str) -> SharedSegment | None:
        """The listed segment `name` in `folder`, or None for a name the playlist does not
        list (which also refuses any path outside the folder)."""
        self._refresh()
        if name not in self._servable:
            return None
        path = folder / name
        shared = self._open.get(path)
        if shared is None:
            try:
                shared = self._open[path] = SharedSegment(path)
            except FileNotFoundError:
                return None
        return shared

    def close(self) -> None:
        for shared in self._open.values():
            shared.retire()
        self._open = {}


LIVE: web.AppKey[LiveFiles] = web.AppKey("live", LiveFiles)


async def playlist(request: web.Request) -> web.StreamResponse:
    """/live/index.m3u8: the multivariant playlist of a channel with renditions, else the
    media playlist; /live/NAME/index.m3u8: a rendition's media playlist. The renditions'
    media playlists are one and the same: their segments share names, each in its folder."""
    engine = request.app[ENGINE]
    if not engine.playlist.segments:
        raise web.HTTPServiceUnavailable(
            text="the stream is starting", headers={"Retry-After": "1"}
        )
    live = request.app[LIVE]
    body = live.playlist("multivariant") if "rendition" not in request.match_info else None
    if body is None:
        subtitles = _subtitles(request) is not None
        if not subtitles:
            _rendition(request)
        body = live.playlist("subtitles" if subtitles else "media")
    response = web.Response(
        body=body,
        content_type=PLAYLIST_TYPE,
        headers={"Cache-Control": "no-cache, no-store"},
    )
    return _cors(request, response)


def _byte_range(request: web.Request, size: int) -> tuple[int, int] | None:
    """(start, count) of the one byte range a Range header asks for, None without one;
    HTTP 416 for a range the segment cannot satisfy (RFC 9110 section 14)."""
    if hdrs.RANGE not in request.headers:
        return None
    unsatisfiable = web.HTTPRequestRangeNotSatisfiable(
        headers={hdrs.CONTENT_RANGE: f"bytes */{size}"}
    )
    try:
        asked = request.http_range
    except ValueError as error:
        raise unsatisfiable from error
    start, stop = asked.start, asked.stop
    if start is None:
        return None
    if start < 0:  # the last -start bytes
        start = max(size + start, 0)
    stop = size if stop is None else min(stop, size)
    if start >= size or stop <= start:
        raise unsatisfiable
    return start, stop - start


class SegmentResponse(web.StreamResponse):
    """The headers, then `part` (start, count) of the segment; aiohttp sends it when the
    handler returns, as it does a FileResponse, so a player that went away mid-send ends
    the request quietly."""

    def __init__(self, shared: SharedSegment, *, headers: dict[str, str]) -> None:
        super().__init__(headers=headers)
        self.shared = shared
        self.part = (0, shared.size)

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        writer = await super().prepare(request)
        start, count = self.part
        if request.method != hdrs.METH_HEAD and self.status in (200, 206) and count:
            await self.shared.send(request, start=start, count=count)
            await super().write_eof()
        return writer


def _not_modified(request: web.Request, shared: SharedSegment) -> bool:
    """The player's copy is this one (RFC 9110 section 13.1: If-None-Match, else
    If-Modified-Since)."""
    tags = request.if_none_match
    if tags is not None:
        return any(tag.value in (shared.etag, "*") for tag in tags)
    since = request.if_modified_since
    return since is not None and shared.last_modified <= since.timestamp()


async def segment(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    engine = request.app[ENGINE]
    subtitles = _subtitles(request)
    if subtitles is not None:
        if not SUBTITLE_NAME.match(name):
            raise web.HTTPNotFound()
        folder, kind = engine.subtitle_dir(subtitles), "text/vtt; charset=utf-8"
    else:
        if not SEGMENT_NAME.match(name):
            raise web.HTTPNotFound()
        folder, kind = engine.rendition_dir(_rendition(request)), "video/mp2t"
    shared = request.app[LIVE].segment(folder, name)
    if shared is None:
        raise web.HTTPNotFound()
    response = SegmentResponse(
        shared,
        headers={
            hdrs.CONTENT_TYPE: kind,
            hdrs.CACHE_CONTROL: "max-age=3600, immutable",
            hdrs.ACCEPT_RANGES: "bytes",
        },
    )
    response.etag = shared.etag
    response.last_modified = shared.last_modified
    _cors(request, response)
    if _not_modified(request, shared):
        response.set_status(304)
        return response
    if (asked := _byte_range(request, shared.size)) is not None:
        start, count = asked
        response.set_status(206)
        response.headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{start + count - 1}/{shared.size}"
        response.part = asked
    response.content_length = response.part[1]
    return response


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    if engine.healthy():
        return web.Response(text="ok\n")
    return web.Response(status=503, text="no new segment for 3 target durations\n")


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[ENGINE].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


async def status(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    document = engine.status()
    document["upNext"] = [
        {
            "program": p.program,
            "item": p.path,
            "title": p.title,
            "start": rfc3339(p.start, timespec="seconds"),
        }
        for p in engine.up_next(3)
    ]
    return web.json_response(document, headers={"Cache-Control": "no-cache"})


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _guide_channel(request: web.Request) -> guide.GuideChannel:
    engine = request.app[ENGINE]
    info = engine.spec.guide
    name = engine.channel.metadata.name
    icon = f"{_base_url(request)}/guide/icon" if info.icon else None
    return guide.GuideChannel(
        id=name, display_name=name, number=info.number, icon=icon, group=info.group
    )


def _guide_programme(programme: Programme) -> guide.GuideProgramme:
    episode = guide.episode_of(programme.path or programme.title)
    category = None if programme.kind == "item" else "Interstitial"
    return guide.GuideProgramme(
        title=programme.title,
        start=programme.start,
        stop=programme.stop,
        episode=episode,
        category=category,
    )


async def m3u(request: web.Request) -> web.Response:
    base = _base_url(request)
    text = guide.render_m3u(
        _guide_channel(request),
        stream_url=f"{base}/live/index.m3u8",
        guide_url=f"{base}/xmltv.xml",
    )
    return web.Response(text=text, content_type="audio/x-mpegurl")


async def xmltv(request: web.Request) -> web.Response:
    """The guide for `schedule.guideDays`, from the published timeline."""
    engine = request.app[ENGINE]
    hours = engine.spec.schedule.guide_days * 24
    await engine.guide_planned()
    programmes = [_guide_programme(p) for p in engine.upcoming(hours=hours)]
    text = guide.render_xmltv(_guide_channel(request), programmes)
    return web.Response(text=text, content_type="application/xml", charset="utf-8")


def _bounded(request: web.Request, name: str, default: int, most: int) -> int:
    try:
        value = int(request.query.get(name, default))
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number") from error
    return max(1, min(value, most))


async def guide_json(request: web.Request) -> web.Response:
    """The next hours for the player page."""
    engine = request.app[ENGINE]
    hours = _bounded(request, "hours", 6, GUIDE_HOURS_MAX)
    limit = _bounded(request, "limit", GUIDE_LIMIT_MAX, GUIDE_LIMIT_MAX)
    await engine.guide_planned()
    now = utc_now()
    programmes = engine.upcoming(hours=hours)[:limit]
    on_break = next(
        ((start, stop) for p in programmes[:1] for start, stop in p.breaks if start <= now < stop),
        None,
    )
    channel = _guide_channel(request)
    document = {
        "channel": {
            "id": channel.id,
            "name": channel.display_name,
            "number": channel.number,
            "icon": channel.icon,
        },
        "now": rfc3339(now, timespec="seconds"),
        "programmes": [
            {
                "title": p.title,
                "start": rfc3339(p.start, timespec="seconds"),
                "stop": rfc3339(p.stop, timespec="seconds"),
                "episode": (
                    episode.onscreen if (episode := guide.episode_of(p.path or p.title)) else None
                ),
                "kind": p.kind,
            }
            for p in programmes
        ],
        "break": {
            "start": rfc3339(on_break[0], timespec="seconds"),
            "stop": rfc3339(on_break[1], timespec="seconds"),
        }
        if on_break
        else None,
    }
    return web.json_response(document, headers={"Cache-Control": "no-cache"})


async def asrun(request: web.Request) -> web.Response:
    """The as-run log, newest last, as JSON lines."""
    limit = _bounded(request, "limit", 500, ASRUN_LIMIT_MAX)
    records = request.app[ENGINE].asrun.tail(limit)
    text = "".join(json.dumps(record) + "\n" for record in records)
    return web.Response(
        text=text, content_type="application/x-ndjson", headers={"Cache-Control": "no-cache"}
    )


async def icon(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    relative = engine.spec.guide.icon
    if relative is None:
        raise web.HTTPNotFound()
    path = engine.media_root / relative
    kind = ICON_TYPES.get(path.suffix.lower())
    if kind is None or not path.is_file():
        raise web.HTTPNotFound(text="the channel icon must be a PNG or JPEG file")
    return web.FileResponse(path, headers={"Content-Type": kind, "Cache-Control": "max-age=300"})


async def hls_js(request: web.Request) -> web.StreamResponse:
    path = hls_js_path()
    if not path.is_file():
        raise web.HTTPNotFound(text="hls.js is not installed (make player-assets)")
    return web.FileResponse(path, headers={"Content-Type": "text/javascript"})


async def player(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    page = (STATIC / "player.html").read_text()
    page = page.replace("{{name}}", html.escape(engine.channel.metadata.name))
    page = page.replace("{{hlsjs}}", json.dumps(hls_js_path().is_file()))
    return web.Response(text=page, content_type="text/html")


def make_app(engine: Engine) -> web.Application:
    app = web.Application()
    app[ENGINE] = engine
    app[LIVE] = live = LiveFiles(engine)

    async def close_segments(app: web.Application) -> None:
        live.close()

    app.on_cleanup.append(close_segments)
    app.router.add_get("/live/index.m3u8", playlist)
    app.router.add_get("/live/{name}", segment)
    app.router.add_get("/live/{rendition}/index.m3u8", playlist)
    app.router.add_get("/live/{rendition}/{name}", segment)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/status", status)
    app.router.add_get("/channel.m3u", m3u)
    app.router.add_get("/xmltv.xml", xmltv)
    app.router.add_get("/guide.json", guide_json)
    app.router.add_get("/guide/icon", icon)
    app.router.add_get("/asrun", asrun)
    app.router.add_get("/static/hls.min.js", hls_js)
    app.router.add_get("/", player)
    return app
