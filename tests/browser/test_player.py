"""hls.js in Debian's headless Chromium plays the live stream across item boundaries, an ad
break and a slot boundary: no stall, and the picture keeps pace with the wall clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.streaming import StartStreamer, channel_document, make_clip


def test_hls_js_plays_a_minute_across_transitions(
    tmp_path: Path, streamer_for: StartStreamer, browser: Browser
) -> None:
    media = tmp_path / "media"
    for episode in range(1, 4):
        make_clip(
            media / f"shows/Show S01E0{episode}.mkv", 8, size="320x240", tone=300 + 100 * episode
        )
    make_clip(media / "movies/Film.mp4", 9, size="640x360", rate=30)
    make_clip(media / "bumpers/ident.mp4", 3, size="320x240", source="smptebars")
    document = channel_document(
        "browser",
        [{"path": "shows"}, {"path": "movies"}],
        bumpers={"path": "bumpers", "upNext": True, "upNextSeconds": 2},
    )
    streamer = streamer_for(document, media)
    streamer.wait_for_playlist(3)

    page, errors = open_player(browser, streamer.url)
    titles = watch(page, 62)
    assert page.evaluate("() => window.fatal") == []
    assert errors == []
    # The page follows the schedule: several items went by.
    assert len(titles - {"…"}) >= 4, titles


def test_hls_js_plays_across_a_break_and_a_slot_boundary(
    tmp_path: Path, streamer_for: StartStreamer, browser: Browser
) -> None:
    media = tmp_path / "media"
    make_clip(media / "shows/Show S01E01.mkv", 185, size="320x240", tone=300)
    make_clip(media / "news/News.mkv", 40, size="320x240", rate=30, tone=500)
    make_clip(media / "filler/promo.mp4", 4, size="320x240", source="smptebars", tone=900)
    now = datetime.now(UTC).replace(microsecond=0)
    # The show started 100 s ago: its break (at 2 minutes) airs 20 s from now, and the news
    # slot cuts it 50 s from now.
    slots = [
        {"start": (now - timedelta(seconds=100)).strftime("%H:%M:%S"), "program": "shows",
         "fill": "cut"},
        {"start": (now + timedelta(seconds=50)).strftime("%H:%M:%S"), "program": "news"},
    ]  # fmt: skip
    document = channel_document(
        "breaks",
        [{"path": "shows"}, {"path": "news"}],
        schedule={"timezone": "UTC", "guideDays": 1, "slots": slots},
        filler={"path": "filler"},
        breaks=[{"program": "shows", "everyMinutes": 2, "seconds": 12}],
    )
    streamer = streamer_for(document, media)
    playlist = streamer.wait_for_playlist(3)
    assert playlist.segments[0].program_date_time is not None
    page, errors = open_player(browser, streamer.url)
    titles = watch(page, 65)
    assert page.evaluate("() => window.fatal") == []
    assert errors == []
    assert {"Show S01E01", "News"} <= titles, titles
    asrun = streamer.get("/asrun").decode()
    assert '"break":"break-' in asrun.replace(" ", "")
    # The page's guide lists what is on and what is next.
    guide = page.locator("body").inner_text()
    assert "News" in guide


def open_player(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    page.wait_for_function(
        "() => document.querySelector('video').currentTime > 0.5", timeout=20_000
    )
    page.evaluate(
        """() => {
            window.fatal = [];
            window.playoutHls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.fatal.push(d.details); });
        }"""
    )
    return page, errors


def watch(page: Page, seconds: float) -> set[str]:
    """Sample playback once a second: never paused, no 3 s without progress, and media
    time keeping pace with the wall clock. Returns the titles the page showed."""
    samples = []
    titles = set()
    start_wall = time.monotonic()
    start_media = page.evaluate("() => document.querySelector('video').currentTime")
    while time.monotonic() - start_wall < seconds:
        time.sleep(1)
        state = page.evaluate(
            """() => { const v = document.querySelector('video');
                       return {t: v.currentTime, paused: v.paused, ended: v.ended,
                               title: document.getElementById('title').textContent}; }"""
        )
        samples.append((time.monotonic() - start_wall, state["t"] - start_media))
        titles.add(state["title"])
        assert not state["paused"] and not state["ended"]
    advanced = samples[-1][1]
    elapsed = samples[-1][0]
    # Stalls: no stretch of 3 s in which the picture did not move.
    for (t0, m0), (t1, m1) in zip(samples, samples[3:], strict=False):
        assert m1 - m0 > 1.0, f"playback stalled between {t0:.0f}s and {t1:.0f}s"
    assert advanced / elapsed > 0.95, f"{advanced:.1f}s of media in {elapsed:.1f}s of wall clock"
    return titles
