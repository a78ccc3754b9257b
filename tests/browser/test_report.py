"""The HTML report in Debian's headless Chromium, offline: the page `playout probe --html`
writes shows its loudness graph and event strip, every picture decodes, an event's mark
leads to its picture, and a library's table sorts by a click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.media.prober.conftest import DEFECTS_AUDIO, DEFECTS_VIDEO, LOUD, make_clip

PLAYOUT = [sys.executable, "-m", "playout.cli"]


def probe_to_html(source: Path, page: Path, *args: str) -> None:
    done = subprocess.run(
        [*PLAYOUT, "probe", str(source), "--html", str(page), *args],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the verdict is fail
    assert page.is_file()


def open_offline(browser: Browser, path: Path) -> tuple[Page, list[str]]:
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request {request.url}"))
    page.goto(path.as_uri())
    return page, errors


def test_a_report_shows_its_graph_strip_and_pictures(tmp_path: Path, browser: Browser) -> None:
    clip = make_clip(
        tmp_path / "defects.mkv", 16, video_filter=DEFECTS_VIDEO, audio_filter=DEFECTS_AUDIO
    )
    report = tmp_path / "report.html"
    probe_to_html(clip, report)
    page, errors = open_offline(browser, report)
    assert page.locator("svg#loudness").is_visible()
    assert page.locator("svg#loudness polyline.short-term").count() >= 1
    assert page.locator("svg#events rect.event").count() >= 3  # black, freeze, silence
    images = page.locator("img")
    assert images.count() >= 9  # at each event and across the media
    decoded = page.evaluate(
        "() => Array.from(document.images).map(i => i.complete && i.naturalWidth === 160)"
    )
    assert decoded and all(decoded), decoded
    # The black event's mark on the strip leads to its picture.
    page.locator("svg#events a[href^='#event-black-'] rect").first.click()
    target = page.evaluate("() => location.hash")
    assert target.startswith("#event-black-")
    assert page.locator(f'figure[id="{target[1:]}"] img').is_visible()
    shot = page.screenshot(full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
    assert errors == []


def test_a_library_table_sorts_and_links_each_file(tmp_path: Path, browser: Browser) -> None:
    folder = tmp_path / "Cheers"
    folder.mkdir()
    make_clip(folder / "S01E01.mkv", 4)
    make_clip(folder / "S01E02.mkv", 4, audio_amplitude=LOUD)  # -16 LUFS: fails broadcast
    make_clip(folder / "S01E10.mkv", 4)
    report = tmp_path / "library.html"
    probe_to_html(folder, report, "--profile", "broadcast")
    page, errors = open_offline(browser, report)

    def files() -> list[str]:
        return page.locator("table#files tbody tr td:nth-child(2) a").all_inner_texts()

    assert files() == ["S01E01.mkv", "S01E02.mkv", "S01E10.mkv"]  # natural order
    page.locator("table#files th", has_text="Status").click()  # worst first
    assert files()[0] == "S01E02.mkv"
    page.locator("table#files th", has_text="File").click()
    page.locator("table#files th", has_text="File").click()  # descending
    assert files() == ["S01E10.mkv", "S01E02.mkv", "S01E01.mkv"]
    page.get_by_role("link", name="S01E02.mkv").click()
    assert page.evaluate("() => location.hash") == "#file-1"
    assert page.locator("h2#file-1").is_visible()
    assert errors == []
