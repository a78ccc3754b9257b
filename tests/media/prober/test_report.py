"""The report's pictures through real ffmpeg: the loudness curve and the pictures come from
the one decode pass, show what the checks found, and change none of the measurements."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from playout.api.probejob import DetailedReport, Thumbnail
from playout.prober.pictures import events_of, picture_for
from tests.media.prober.conftest import check, run


def brightness(picture: Thumbnail) -> float:
    """The mean luma of a picture, decoded by ffmpeg."""
    gray = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "jpeg_pipe", "-i", "pipe:0",
         "-vf", "format=gray", "-f", "rawvideo", "pipe:1"],
        input=base64.b64decode(picture.jpeg),
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout  # fmt: skip
    assert len(gray) == 160 * 120  # 160 wide at the 4:3 picture's aspect
    return sum(gray) / len(gray)


def test_pictures_show_the_events_and_change_no_measurement(defects: Path) -> None:
    plain = run(defects)
    report = run(defects, pictures=True)
    assert isinstance(report, DetailedReport) and report.pictures is not None
    measured = [(c.name, c.status, c.value, c.events) for c in plain.checks]
    assert [(c.name, c.status, c.value, c.events) for c in report.checks] == measured
    pictures = report.pictures
    # A picture a second of the 16 s clip; kept: the events' and eight across it.
    assert pictures.thumbnail_seconds == 1.0
    taken = [thumbnail.seconds for thumbnail in pictures.thumbnails]
    assert taken == sorted(taken) and taken[0] == 0.0 and taken[-1] >= 15.0
    black = check(report, "black").events[0]  # 5-7 s
    at_black = pictures.thumbnails[picture_for(black, taken) or 0]
    assert 5.0 <= at_black.seconds <= 7.0
    assert brightness(at_black) < 20 < brightness(pictures.thumbnails[0])
    # Every event has a picture within the step of its start.
    for _, event in events_of(report.checks):
        number = picture_for(event, taken)
        assert number is not None and abs(taken[number] - event.start) <= 1.0


def test_the_loudness_curve_agrees_with_the_checks(defects: Path) -> None:
    report = run(defects, pictures=True)
    assert isinstance(report, DetailedReport) and report.pictures is not None
    curve = report.pictures.loudness
    assert curve is not None
    assert len(curve.seconds) == len(curve.momentary) == len(curve.short_term)
    assert 15.5 <= curve.seconds[-1] <= 16.0 and len(curve.seconds) >= 150  # every 100 ms
    by_time = dict(zip(curve.seconds, curve.short_term, strict=True))
    # The calm tone is at -23 LUFS; the silence (10-12 s) measures nothing.
    assert abs((by_time[8.0] or 0) + 23) < 0.5
    silent = [m for t, m in zip(curve.seconds, curve.momentary, strict=True) if 10.5 <= t <= 11.9]
    assert silent and all(value is None for value in silent)
    # The true peak curve ends at the peak the truePeak check measured.
    assert abs((curve.true_peak[-1] or 0) - (check(report, "truePeak").value or 0)) < 0.1


def test_audio_only_has_a_curve_and_no_pictures(clips: Path) -> None:
    from tests.media.prober.conftest import CALM, TONE, ffmpeg

    tone = clips / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", TONE.format(amplitude=CALM), "-t", "4", "-c:a", "aac", str(tone))
    report = run(tone, pictures=True)
    assert isinstance(report, DetailedReport) and report.pictures is not None
    assert report.pictures.loudness is not None and report.pictures.loudness.seconds
    assert report.pictures.thumbnails == [] and report.pictures.thumbnail_seconds is None
