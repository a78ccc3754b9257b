"""The streamer's HTTP side: the live playlist and segments, health, metrics, status, a
web player, an M3U entry and XMLTV guide for IPTV clients (from the timeline), and the
as-run log."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from aiohttp import web
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


async def playlist(request: web.Request) -> web.StreamResponse:
    """/live/index.m3u8: the multivariant playlist of a channel with renditions, else the
    media playlist; /live/NAME/index.m3u8: a rendition's media playlist. The renditions'
    media playlists are one and the same: their segments share names, each in its folder."""
    engine = request.app[ENGINE]
    if not engine.playlist.segments:
        raise web.HTTPServiceUnavailable(
            text="the stream is starting", headers={"Retry-After": "1"}
        )
    multivariant = engine.multivariant() if "rendition" not in request.match_info else None
    subtitles = _subtitles(request)
    if multivariant is None and subtitles is None:
        _rendition(request)
    text = multivariant or engine.playlist.render(uri=subtitle_uri if subtitles else None)
    response = web.Response(
        text=text,
        content_type=PLAYLIST_TYPE,
        headers={"Cache-Control": "no-cache, no-store"},
    )
    return _cors(request, response)


async def segment(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    engine = request.app[ENGINE]
    subtitles = _subtitles(request)
    if subtitles is not None:
        if not SUBTITLE_NAME.match(name):
            raise web.HTTPNotFound()
        path, kind = engine.subtitle_dir(subtitles) / name, "text/vtt; charset=utf-8"
    else:
        if not SEGMENT_NAME.match(name):
            raise web.HTTPNotFound()
        path, kind = engine.rendition_dir(_rendition(request)) / name, "video/mp2t"
    if not path.is_file():
        raise web.HTTPNotFound()
    response = web.FileResponse(
        path, headers={"Content-Type": kind, "Cache-Control": "max-age=3600, immutable"}
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
