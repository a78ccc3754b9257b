"""The streamer's /live serving: playlists rendered once per change, segments opened once
and sent from the event loop, with the headers, ranges and refusals players rely on."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from playout.api.channel import Channel
from playout.media.hls import Segment
from playout.streamer.engine import GRACE_SEGMENTS, Engine
from playout.streamer.metrics import EngineMetrics
from playout.streamer.server import make_app
from playout.streamer.subtitles import subtitle_name, subtitle_uri
from tests.samples import channel_document

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ORIGIN = "https://tv.example.com"


def make_engine(tmp_path: Path, **output: Any) -> Engine:
    document = channel_document("news", [{"path": "shows"}])
    document["spec"]["output"].update(allowedOrigins=[ORIGIN], **output)
    channel = Channel.model_validate(document)
    # The server never runs a tool; the engine only wants to know where they are.
    os.environ.setdefault("PLAYOUT_FFMPEG", "ffmpeg")
    os.environ.setdefault("PLAYOUT_FFPROBE", "ffprobe")
    engine = Engine(channel, tmp_path / "media", tmp_path / "state", None, EngineMetrics())
    for folder in [engine.rendition_dir(r) for r in range(len(engine.renditions))] + [
        engine.subtitle_dir(code) for code in engine.subtitle_languages
    ]:
        folder.mkdir(parents=True, exist_ok=True)
    return engine


def publish(engine: Engine, count: int = 1) -> list[str]:
    """What the engine's publisher does: the files in place, then the playlist entry, then
    the expired segments collected and deleted."""
    names = []
    for _ in range(count):
        sequence = engine.playlist.next_sequence
        name = f"seg-1-{sequence}.ts"
        for rendition in range(len(engine.renditions)):
            (engine.rendition_dir(rendition) / name).write_bytes(bytes([sequence % 256]) * 1000)
        for code in engine.subtitle_languages:
            (engine.subtitle_dir(code) / subtitle_uri(name)).write_text("WEBVTT\n\n")
        engine.playlist.append(
            Segment(sequence, name, 2.0, NOW + timedelta(seconds=2 * sequence), title="News")
        )
        for gone in engine.playlist.collect(keep=GRACE_SEGMENTS):
            for rendition in range(len(engine.renditions)):
                (engine.rendition_dir(rendition) / gone.uri).unlink()
        names.append(name)
    return names


@pytest.fixture
async def engine(tmp_path: Path) -> Engine:
    return make_engine(tmp_path)


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_app(engine), host="127.0.0.1")) as client:
        yield client


def open_paths() -> set[Path]:
    """The files this process holds open."""
    paths = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            paths.add(fd.readlink())
        except OSError:
            continue
    return paths


async def test_a_stream_that_has_not_started_says_so(client: TestClient[Any, Any]) -> None:
    response = await client.get("/live/index.m3u8")
    assert response.status == 503 and response.headers["Retry-After"] == "1"


async def test_the_playlist_is_rendered_once_per_change(
    engine: Engine, client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(engine, 3)
    renders = 0
    render = engine.playlist.render

    def counted(**kwargs: Any) -> str:
        nonlocal renders
        renders += 1
        return render(**kwargs)

    monkeypatch.setattr(engine.playlist, "render", counted)
    bodies = [await (await client.get("/live/index.m3u8")).text() for _ in range(5)]
    assert renders == 1 and bodies == [render()] * 5
    (name,) = publish(engine)
    response = await client.get("/live/index.m3u8")
    assert renders == 2 and (await response.text()).endswith(f"{name}\n")
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.headers["Cache-Control"] == "no-cache, no-store"


async def test_a_segment_is_sent_whole_with_headers_that_let_caches_keep_it(
    engine: Engine, client: TestClient[Any, Any]
) -> None:
    (name,) = publish(engine)
    path = engine.rendition_dir(0) / name
    response = await client.get(f"/live/{name}", headers={"Origin": ORIGIN})
    assert response.status == 200 and await response.read() == path.read_bytes()
    assert response.headers["Content-Type"] == "video/mp2t"
    assert response.headers["Cache-Control"] == "max-age=3600, immutable"
    assert response.headers["Content-Length"] == "1000"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Last-Modified" in response.headers
    stranger = await client.get(f"/live/{name}", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers

    head = await client.head(f"/live/{name}")
    assert head.status == 200 and head.headers["Content-Length"] == "1000"
    assert await head.read() == b""

    etag = response.headers["ETag"]
    again = await client.get(f"/live/{name}", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    other = await client.get(f"/live/{name}", headers={"If-None-Match": '"other"'})
    assert other.status == 200


@pytest.mark.parametrize(
    ("asked", "start", "stop"),
    [("bytes=10-19", 10, 20), ("bytes=990-", 990, 1000), ("bytes=-5", 995, 1000)],
)
async def test_a_range_gets_those_bytes(
    engine: Engine, client: TestClient[Any, Any], asked: str, start: int, stop: int
) -> None:
    publish(engine, 2)
    name = engine.playlist.segments[1].uri
    response = await client.get(f"/live/{name}", headers={"Range": asked})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/1000"
    assert await response.read() == (engine.rendition_dir(0) / name).read_bytes()[start:stop]


@pytest.mark.parametrize("asked", ["bytes=1000-", "bytes=5-2", "lines=1-2"])
async def test_a_range_the_segment_cannot_satisfy_is_refused(
    engine: Engine, client: TestClient[Any, Any], asked: str
) -> None:
    (name,) = publish(engine)
    response = await client.get(f"/live/{name}", headers={"Range": asked})
    assert response.status == 416 and response.headers["Content-Range"] == "bytes */1000"


@pytest.mark.parametrize(
    "path",
    [
        "/live/seg-1-7.ts",  # on disk, not listed
        "/live/seg-1-x.ts",
        "/live/state.json",
        "/live/..%2Fstate.json",
        "/live/%2E%2E/state.json",
        "/live/segments/seg-1-0.ts",
        "/live/seg-1-0.ts%00",
        "/live/seg-1-0.ts/..%2F..%2Fstate.json",
        "/live/480p/seg-1-0.ts",
    ],
)
async def test_names_the_playlist_does_not_list_are_not_found(
    engine: Engine, client: TestClient[Any, Any], path: str
) -> None:
    publish(engine)
    (engine.segments_dir / "seg-1-7.ts").write_bytes(b"not yet")
    (engine.state_dir / "state.json").write_text("{}")
    response = await client.get(URL(path, encoded=True))
    assert response.status == 404


async def test_a_segment_larger_than_the_socket_takes_at_once_arrives_whole(
    engine: Engine, client: TestClient[Any, Any]
) -> None:
    (name,) = publish(engine)
    path = engine.rendition_dir(0) / name
    path.write_bytes(os.urandom(16 << 20))
    assert await (await client.get(f"/live/{name}")).read() == path.read_bytes()
    tail = await client.get(f"/live/{name}", headers={"Range": "bytes=1000-"})
    assert await tail.read() == path.read_bytes()[1000:]


async def test_segments_go_out_from_the_event_loop_and_stay_open_while_listed(
    engine: Engine, client: TestClient[Any, Any]
) -> None:
    (first,) = publish(engine)
    path = engine.rendition_dir(0) / first

    class NoThreads(ThreadPoolExecutor):
        def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            raise AssertionError(f"{fn} went to a thread")

    asyncio.get_running_loop().set_default_executor(NoThreads())
    for _ in range(3):
        response = await client.get(f"/live/{first}")
        assert response.status == 200 and len(await response.read()) == 1000
    assert path in open_paths()
    # Out of the window and past the grace: deleted by the engine, closed by the server.
    publish(engine, engine.playlist.window + GRACE_SEGMENTS + 1)
    assert not path.exists()
    assert (await client.get("/live/index.m3u8")).status == 200
    assert path not in open_paths()
    assert (await client.get(f"/live/{first}")).status == 404


async def test_renditions_and_subtitles_are_served_from_their_folders(tmp_path: Path) -> None:
    engine = make_engine(
        tmp_path,
        renditions=[{"height": 240, "bitrateKbps": 400}, {"height": 144, "bitrateKbps": 200}],
        subtitles={"languages": ["de"]},
    )
    (name,) = publish(engine)
    async with TestClient(TestServer(make_app(engine), host="127.0.0.1")) as client:
        multivariant = await (await client.get("/live/index.m3u8")).text()
        assert multivariant == engine.multivariant()
        for rendition in engine.renditions:
            media = await client.get(f"/live/{rendition}/index.m3u8")
            assert (await media.text()).endswith(f"\n{name}\n")
            assert (await client.get(f"/live/{rendition}/{name}")).status == 200
        subs = subtitle_name("de")
        listing = await (await client.get(f"/live/{subs}/index.m3u8")).text()
        assert listing.endswith(f"\n{subtitle_uri(name)}\n")
        cues = await client.get(f"/live/{subs}/{subtitle_uri(name)}")
        assert cues.status == 200 and cues.headers["Content-Type"] == "text/vtt; charset=utf-8"
        assert (await client.get(f"/live/{subs}/{name}")).status == 404
        assert (await client.get("/live/720p/index.m3u8")).status == 404
