"""The report's pictures, pure: the decode pass's extra branches, the loudness curve from
ebur128's blocks, which pictures are kept, and where pictures go when a report is trimmed."""

from __future__ import annotations

import base64
import gzip
import json
import random
from dataclasses import replace
from pathlib import Path

from playout.api.probejob import (
    Check,
    CheckStatus,
    DetailedReport,
    LoudnessCurve,
    Pictures,
    ProbeReport,
    Thumbnail,
    TimeRange,
)
from playout.prober import library, pictures
from playout.prober.content import parse_frames
from playout.prober.graph import (
    LOUDNESS_POINTS,
    THUMBNAILS_TAKEN,
    ContentFiles,
    PictureSteps,
    content_command,
    picture_steps,
    thumbnail_time,
)
from playout.prober.report import fit
from tests.unit.test_prober_checks import MEDIA, STANDARD

STEPS = PictureSteps(loudness=0.1, thumbnails=1)


def graph_of(command: list[str]) -> list[str]:
    return command[command.index("-filter_complex") + 1].split(";")


def test_pictures_are_two_more_branches_of_the_one_decode(tmp_path: Path) -> None:
    files = ContentFiles.under(tmp_path)
    plain = content_command("ffmpeg", "a.mp4", MEDIA, STANDARD, files)
    drawn = content_command("ffmpeg", "a.mp4", MEDIA, STANDARD, files, pictures=STEPS)
    assert drawn.count("-i") == plain.count("-i") == 1  # no second decode
    assert "ebur128=peak=true:framelog=verbose:metadata=1" not in " ".join(plain)
    assert files.thumbnail_pattern not in plain and "[aloud]" not in " ".join(plain)
    graph = graph_of(drawn)
    assert any(chain.startswith("[vthu]fps=fps=1/1,scale=w=160") for chain in graph)
    assert any("ebur128=peak=true:framelog=verbose:metadata=1" in chain for chain in graph)
    loudness = next(chain for chain in graph if chain.startswith("[aloud]"))
    assert "aselect=" in loudness and str(files.loudness) in loudness
    # The pictures are an output of their own: numbered JPEG files from 0.
    output = drawn[drawn.index("[thumbnails]") - 1 :]
    assert output[:2] == ["-map", "[thumbnails]"] and "mjpeg" in output
    assert output[-1] == files.thumbnail_pattern and "-start_number" in output


def test_long_media_keep_as_many_points_and_pictures_as_short() -> None:
    assert picture_steps(MEDIA, STANDARD) == PictureSteps(loudness=0.1, thumbnails=1)
    film = replace(MEDIA, duration_seconds=3 * 3600.0)
    steps = picture_steps(film, STANDARD)
    assert 3 * 3600 / steps.loudness <= LOUDNESS_POINTS * 1.05
    assert 3 * 3600 / steps.thumbnails <= THUMBNAILS_TAKEN
    live = replace(MEDIA, duration_seconds=None)  # read for liveSeconds (30 s)
    assert picture_steps(live, STANDARD) == PictureSteps(loudness=0.1, thumbnails=1)


def test_a_picture_is_of_the_step_the_fps_filter_started_at() -> None:
    # A transport stream starting at 1.4 s: the fps filter's first frame is at 1 s.
    late = replace(MEDIA, start_seconds=1.4)
    assert [thumbnail_time(n, STEPS, late) for n in range(3)] == [1.0, 2.0, 3.0]
    every_five = PictureSteps(loudness=0.5, thumbnails=5)
    assert thumbnail_time(2, every_five, replace(MEDIA, start_seconds=0.0)) == 10.0


BLOCKS = """frame:0    pts:0       pts_time:0
lavfi.r128.M=-120.691
lavfi.r128.S=-120.691
lavfi.r128.true_peak=0.000
frame:5    pts:24000   pts_time:0.5
lavfi.r128.M=-21.755
lavfi.r128.S=-120.691
lavfi.r128.true_peak=0.125
frame:40   pts:192000  pts_time:4
lavfi.r128.M=-23.01
lavfi.r128.S=-22.5
lavfi.r128.true_peak=0.5
"""


def test_the_loudness_curve_from_ebur128s_blocks() -> None:
    curve = pictures.loudness_curve(parse_frames(BLOCKS.splitlines()))
    assert curve.seconds == [0.0, 0.5, 4.0]
    assert curve.momentary == [None, -21.75, -23.01]  # nothing measured yet: null
    assert curve.short_term == [None, None, -22.5]
    assert curve.true_peak == [None, -18.06, -6.02]  # linear -> dBTP


def event(start: float, end: float) -> TimeRange:
    return TimeRange(start=start, end=end)


def test_an_events_picture_is_inside_it_or_the_nearest() -> None:
    taken = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert pictures.picture_for(event(1.2, 3.5), taken) == 2  # the first inside
    assert pictures.picture_for(event(2.0, 2.2), taken) == 2
    assert pictures.picture_for(event(2.2, 2.4), taken) == 2  # none inside: nearest
    assert pictures.picture_for(event(2.7, 2.9), taken) == 3
    assert pictures.picture_for(event(9.0, 12.0), taken) == 4  # past the last
    assert pictures.picture_for(event(0.0, 0.0), []) is None


def test_pictures_kept_are_the_events_and_a_few_across() -> None:
    taken = [float(n) for n in range(100)]
    black = Check(name="black", status=CheckStatus.WARN, events=[event(10.5, 14), event(50, 52)])
    kept = pictures.pictures_to_keep([black], taken)
    assert {11, 50} <= set(kept)
    assert {0, 99} <= set(kept) and len(kept) == 2 + pictures.SPREAD_PICTURES
    assert kept == sorted(kept)
    many = Check(
        name="flashes",
        status=CheckStatus.FAIL,
        events=[event(n + 0.1, n + 0.2) for n in range(100)],
    )
    # The earliest events' pictures, not all: the report stays small.
    kept = pictures.pictures_to_keep([many], taken)
    assert len(kept) <= pictures.EVENT_PICTURES + pictures.SPREAD_PICTURES
    assert set(range(pictures.EVENT_PICTURES)) <= set(kept)


def detailed(jpeg_bytes: int) -> DetailedReport:
    # A JPEG's bytes hardly compress: random bytes stand for them.
    picture = random.Random(jpeg_bytes).randbytes(jpeg_bytes)
    thumbnail = Thumbnail(seconds=1.0, jpeg=base64.b64encode(picture).decode())
    curve = LoudnessCurve(seconds=[0.0], momentary=[-23.0], short_term=[-23.0], true_peak=[-3.0])
    return DetailedReport(
        verdict="pass",
        checks=[Check(name="black", status=CheckStatus.PASS)],
        pictures=Pictures(loudness=curve, thumbnails=[thumbnail], thumbnail_seconds=1.0),
    )


def unpacked(packed: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(gzip.decompress(base64.b64decode(packed)))
    return document


def test_the_report_configmap_keeps_the_pictures_while_they_fit() -> None:
    small = detailed(3000)
    assert library.unpack_single(library.pack_single(small)) == small
    # Pictures that would burst the ConfigMap go first, and a note says so.
    big = unpacked(library.pack_single(detailed(3000), budget=2000))
    assert "pictures" not in big
    assert any("pictures" in note for note in big["notes"])  # type: ignore[attr-defined]
    assert library.unpack_single("not a report") is None


def test_termination_messages_and_status_never_carry_pictures() -> None:
    message = json.loads(fit(detailed(100_000)))
    assert "pictures" not in message and message["checks"][0]["name"] == "black"
    assert "pictures" not in ProbeReport.model_fields
