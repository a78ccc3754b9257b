"""The streamer's HTTP side: the live playlist and segments, health, metrics, status, a
web player, and an M3U entry and XMLTV guide for IPTV clients."""

from __future__ import annotations

import html
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web
from prometheus_client import generate_latest

from playout.streamer.engine import Engine
from playout.streamer.state import utc_now

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_NAME = re.compile(r"^seg-\d+-\d+\.ts$")
STATIC = Path(__file__).parent / "static"
GUIDE_ITEMS = 24

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


async def playlist(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    if not engine.playlist.segments:
        raise web.HTTPServiceUnavailable(
            text="the stream is starting", headers={"Retry-After": "1"}
        )
    response = web.Response(
        text=engine.playlist.render(),
        content_type=PLAYLIST_TYPE,
        headers={"Cache-Control": "no-cache, no-store"},
    )
    return _cors(request, response)


async def segment(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not SEGMENT_NAME.match(name):
        raise web.HTTPNotFound()
    path = request.app[ENGINE].segments_dir / name
    if not path.is_file():
        raise web.HTTPNotFound()
    response = web.FileResponse(
        path, headers={"Content-Type": "video/mp2t", "Cache-Control": "max-age=3600, immutable"}
    )
    return _cors(request, response)


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
        {"program": e.program, "item": e.path, "title": e.title} for e in engine.up_next(3)
    ]
    return web.json_response(document, headers={"Cache-Control": "no-cache"})


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def m3u(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    name = engine.channel.metadata.name
    text = (
        "#EXTM3U\n"
        f'#EXTINF:-1 tvg-id="{name}" tvg-name="{name}" group-title="playout",{name}\n'
        f"{_base_url(request)}/live/index.m3u8\n"
    )
    return web.Response(text=text, content_type="audio/x-mpegurl")


def _xmltv_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S +0000")


async def xmltv(request: web.Request) -> web.Response:
    """The guide from the schedule: what is on air, then the next items, back to back."""
    engine = request.app[ENGINE]
    name = engine.channel.metadata.name
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<tv generator-info-name="playout">',
        f"  <channel id={quoteattr(name)}><display-name>{escape(name)}</display-name></channel>",
    ]
    start = utc_now()
    playing = engine.now_playing
    if playing is not None and playing.duration_seconds:
        start = playing.started_at
        end = start + timedelta(seconds=playing.duration_seconds)
        lines.append(_programme(name, playing.title, start, end))
        start = end
    for entry in engine.up_next(GUIDE_ITEMS):
        seconds = await engine.duration_of(entry.path) if entry.path else None
        if not seconds:
            break
        end = start + timedelta(seconds=seconds)
        lines.append(_programme(name, entry.title, start, end))
        start = end
    lines.append("</tv>")
    return web.Response(text="\n".join(lines) + "\n", content_type="application/xml")


def _programme(channel: str, title: str, start: datetime, end: datetime) -> str:
    return (
        f"  <programme start={quoteattr(_xmltv_time(start))} stop={quoteattr(_xmltv_time(end))} "
        f"channel={quoteattr(channel)}><title>{escape(title)}</title></programme>"
    )


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
    app.router.add_get("/live/index.m3u8", playlist)
    app.router.add_get("/live/{name}", segment)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/status", status)
    app.router.add_get("/channel.m3u", m3u)
    app.router.add_get("/xmltv.xml", xmltv)
    app.router.add_get("/static/hls.min.js", hls_js)
    app.router.add_get("/", player)
    return app
