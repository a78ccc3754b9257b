"""hls.js in Debian's headless Chromium on a three-rendition channel: it switches levels when
told to, loads each level from its own variant, and keeps playing across item boundaries
with no stall and the picture of the level in force."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from tests.browser import test_player as player
from tests.media.streamer import test_renditions as ladder
from tests.streaming import StartStreamer

# The media tier's fixture, shared: 5 s episodes of other shapes and rates than the output,
# so item boundaries come often.
shows = ladder.shows

# What the page records: hls.js's level switches, fragments and errors, the tasks that held
# its main thread, and the video element every 500 ms.
INSTRUMENT = """() => {
    const hls = window.playoutHls, video = document.querySelector('video');
    const abr = window.abr = {switched: [], frags: [], changed: [], errors: [], long: [], samples: []};
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => abr.switched.push({level: d.level, at: performance.now()}));
    hls.on(Hls.Events.FRAG_LOADED, (_, d) => abr.frags.push(
        {level: d.frag.level, url: d.frag.url, sn: d.frag.sn, cc: d.frag.cc}));
    hls.on(Hls.Events.FRAG_CHANGED, (_, d) => abr.changed.push(
        {level: d.frag.level, sn: d.frag.sn, cc: d.frag.cc, at: performance.now()}));
    hls.on(Hls.Events.ERROR, (_, d) => abr.errors.push(
        {details: d.details, fatal: d.fatal, at: performance.now(), t: video.currentTime}));
    new PerformanceObserver((list) => list.getEntries().forEach(
        (e) => abr.long.push({at: e.startTime, ms: e.duration}))).observe({type: 'longtask'});
    const sample = () => abr.samples.push({at: performance.now(), t: video.currentTime,
        height: video.videoHeight, paused: video.paused, level: hls.currentLevel});
    sample();
    setInterval(sample, 500);
    return performance.now();
}"""

VIDEO_STATE = """() => { const v = document.querySelector('video');
    return {t: v.currentTime, paused: v.paused, readyState: v.readyState,
            buffered: Array.from({length: v.buffered.length}, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
            level: window.playoutHls.currentLevel}; }"""

# Top, bottom, middle: every level asked for once, coming from above and from below; bottom
# first if hls.js's own choice was the top already (asking for the level in force is no switch).
SWITCHES = (2, 0, 1)
SWITCHES_FROM_THE_TOP = (0, 2, 1)
SECONDS_PER_LEVEL = 11.0
# The level's picture is on screen this soon after it was asked for (three segments).
SWITCH_SECONDS = 6.0


def test_hls_js_switches_levels_across_item_boundaries_without_a_stall(
    shows: Path, streamer_for: StartStreamer, browser: Browser
) -> None:
    # The window users get by default (10 segments): a player some seconds behind the live
    # edge still finds its position in a level it switches to.
    document = ladder.ladder_channel("abrplayer", "shows/A", windowSegments=10)
    streamer = streamer_for(document, shows)
    streamer.wait_for_playlist(3, path="/live/360p/index.m3u8")

    page, page_errors = player.open_player(browser, streamer.url)
    try:
        wait_for_playback(page)
        levels = page.evaluate(
            "() => window.playoutHls.levels.map((l) => ({height: l.height, url: [].concat(l.url)[0]}))"
        )  # fmt: skip
        assert sorted(level["height"] for level in levels) == [144, 240, 360], levels
        for level in levels:
            assert level["url"].endswith(f"/live/{level['height']}p/index.m3u8"), levels

        started = page.evaluate(INSTRUMENT)
        top = page.evaluate("() => window.playoutHls.currentLevel") == 2
        asked: list[tuple[int, float]] = []
        for index in SWITCHES_FROM_THE_TOP if top else SWITCHES:
            asked.append((index, page.evaluate(f"() => (window.playoutHls.currentLevel = {index}, performance.now())")))  # fmt: skip
            time.sleep(SECONDS_PER_LEVEL)
        abr: dict[str, Any] = page.evaluate("() => window.abr")
        fatal = page.evaluate("() => window.fatal")
    finally:
        page.close()

    def at(ms: float) -> str:
        return f"{(ms - started) / 1000:.1f}s"

    errors = [(e["details"], e["fatal"], at(e["at"]), round(e["t"], 2)) for e in abr["errors"]]
    held = [(at(task["at"]), round(task["ms"])) for task in abr["long"] if task["ms"] >= 500]
    # What a failure below may come from: hls.js's errors, and the page's main thread held.
    context = (
        f"hls.js errors (details, fatal, at, media time) {errors}; main thread held (at, ms) {held}"
    )
    assert fatal == []
    assert [e for e in errors if e[1]] == [], errors
    assert page_errors == []

    # Playback never stopped nor skipped: no stretch of over 2 s without the picture moving,
    # and no jump ahead of the wall clock.
    samples = abr["samples"]
    assert not any(s["paused"] for s in samples), [at(s["at"]) for s in samples if s["paused"]]
    for before, sample in pairwise(samples):
        ahead = (sample["t"] - before["t"]) - (sample["at"] - before["at"]) / 1000
        assert ahead <= 1.0, (
            f"skipped {ahead:.1f}s at {at(sample['at'])} (media time {before['t']:.2f} to "
            f"{sample['t']:.2f}); {context}"
        )
    moved = samples[0]
    for sample in samples[1:]:
        if sample["t"] > moved["t"]:
            moved = sample
        stalled = (sample["at"] - moved["at"]) / 1000
        assert stalled <= 2.0, (
            f"no progress for {stalled:.1f}s from {at(moved['at'])} (media time "
            f"{moved['t']:.2f}); {context}"
        )

    ends = [asked_at for _, asked_at in asked[1:]] + [abr["samples"][-1]["at"]]
    for (index, asked_at), until in zip(asked, ends, strict=True):
        height = levels[index]["height"]
        where = f"level {index} ({height}p), asked for at {at(asked_at)}"
        # hls.js says it switched, and loads the level's fragments from its own variant.
        switched = [at(s["at"]) for s in abr["switched"] if s["level"] == index]
        assert any(asked_at <= s["at"] < until for s in abr["switched"] if s["level"] == index), (
            where, switched,
        )  # fmt: skip
        urls = [f["url"] for f in abr["frags"] if f["level"] == index]
        assert urls, (where, abr["frags"])
        assert all(f"/live/{height}p/" in url for url in urls), (where, urls)
        # The decoded picture is the level's, soon after the switch and until the next one.
        phase = [s for s in abr["samples"] if asked_at <= s["at"] < until]
        shown = next((s for s in phase if s["height"] == height), None)
        assert shown is not None, (where, [s["height"] for s in phase])
        assert shown["at"] - asked_at <= SWITCH_SECONDS * 1000, (where, at(shown["at"]), context)
        after = [(s["height"], s["level"]) for s in phase if s["at"] >= shown["at"]]
        assert set(after) == {(height, index)}, (where, after, context)

    # It played across item boundaries: at least two discontinuities went by on screen, and
    # no item between them was left out.
    played = sorted({change["cc"] for change in abr["changed"]})
    assert len(played) >= 3, abr["changed"]
    assert played == list(range(played[0], played[-1] + 1)), abr["changed"]
    # The variants agree on them: a segment belongs to the same item at every level.
    items: dict[int, set[int]] = {}
    for frag in abr["frags"]:
        items.setdefault(frag["sn"], set()).add(frag["cc"])
    assert all(len(cc) == 1 for cc in items.values()), items


def wait_for_playback(page: Page, timeout: float = 30) -> None:
    """hls.js seeks to the live edge before it plays: wait for the picture to move."""
    first = page.evaluate(VIDEO_STATE)
    deadline = time.monotonic() + timeout
    state = first
    while time.monotonic() < deadline:
        state = page.evaluate(VIDEO_STATE)
        if not state["paused"] and state["readyState"] >= 3 and state["t"] > first["t"] + 1:
            return
        time.sleep(0.25)
    raise AssertionError(f"no playback after {timeout}s: {first} then {state}")
