"""hls.js in Debian's headless Chromium plays the live stream across item boundaries:
no stall, and the picture keeps pace with the wall clock."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from playout.streamer.server import hls_js_path
from tests.streaming import channel_document, make_clip

# Flags for a sandboxed machine with no network: no first-run, no background traffic.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Chromium is needed: make browser-deps"
    assert hls_js_path().is_file(), "hls.js is needed: make player-assets"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def test_hls_js_plays_a_minute_across_transitions(
    tmp_path: Path, streamer_for: Any, browser: Browser
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

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(streamer.url + "/")
    page.wait_for_function(
        "() => document.querySelector('video').currentTime > 0.5", timeout=20_000
    )
    page.evaluate(
        """() => {
            window.fatal = [];
            window.playoutHls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) window.fatal.push(d.details); });
        }"""
    )
    samples = []
    titles = set()
    start_wall = time.monotonic()
    start_media = page.evaluate("() => document.querySelector('video').currentTime")
    while time.monotonic() - start_wall < 62:
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
    assert page.evaluate("() => window.fatal") == []
    assert errors == []
    # The page follows the schedule: several items went by.
    assert len(titles - {"…"}) >= 4, titles
