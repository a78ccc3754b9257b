"""Photosensitive flashing (ITU-R BT.1702, Ofcom): more than 3 flashes in a second over a
quarter of the screen fails the broadcast profile, at the seconds it happens; a slow
flash, a small one and ordinary motion do not. Found in the one decode pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus
from tests.media.prober.conftest import check, make_clip, near, run

# The whole picture black and white in turn, from 2 s to 5 s of 8.
FLASHING = "drawbox=enable='between(t,2,5)*lt(mod(t,{period}),{half})':c=white:t=fill"


@pytest.fixture(scope="module")
def flashing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    clips = tmp_path_factory.mktemp("flashes")
    return {
        # 5 flashes a second.
        "fast": make_clip(
            clips / "fast.mkv", 8, video_filter=FLASHING.format(period=0.2, half=0.1)
        ),
        # 2 flashes a second: allowed.
        "slow": make_clip(
            clips / "slow.mkv", 8, video_filter=FLASHING.format(period=0.5, half=0.25)
        ),
        # 5 a second, but over a tenth of the width only.
        "small": make_clip(
            clips / "small.mkv",
            8,
            video_filter="drawbox=enable='between(t,2,5)*lt(mod(t,0.2),0.1)':w=32:h=240:c=white:t=fill",
        ),
        # Saturated red and black in turn, 5 times a second.
        "red": make_clip(
            clips / "red.mkv",
            8,
            video_filter="drawbox=enable='between(t,2,5)*lt(mod(t,0.2),0.1)':c=red:t=fill",
        ),
    }


def test_five_flashes_a_second_fail_broadcast_at_their_time(flashing: dict[str, Path]) -> None:
    report = run(flashing["fast"], "broadcast")
    flashes = check(report, "flashes")
    assert flashes.status == CheckStatus.FAIL, flashes.message
    assert flashes.value == 5
    assert near(flashes.events, 2, 5, tolerance=0.5), flashes.events
    # The standard profile warns.
    assert check(run(flashing["fast"]), "flashes").status == CheckStatus.WARN


@pytest.mark.parametrize("name", ["slow", "small"])
def test_slow_or_small_flashing_passes(flashing: dict[str, Path], name: str) -> None:
    flashes = check(run(flashing[name], "broadcast"), "flashes")
    assert flashes.status == CheckStatus.PASS, flashes.message


def test_red_flashes_are_told_apart(flashing: dict[str, Path]) -> None:
    red = check(run(flashing["red"], "broadcast"), "redFlashes")
    assert red.status == CheckStatus.FAIL and red.value == 5, red.message
    assert near(red.events, 2, 5, tolerance=0.5)
    white = check(run(flashing["fast"], "broadcast"), "redFlashes")
    assert white.status == CheckStatus.PASS


def test_ordinary_pictures_do_not_flash(clean: Path) -> None:
    report = run(clean, "broadcast")
    assert check(report, "flashes").status == CheckStatus.PASS
    assert check(report, "redFlashes").status == CheckStatus.PASS
