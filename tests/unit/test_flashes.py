"""Flash counting (BT.1702) on frames of 8 x 8 RGB cells: pure."""

from __future__ import annotations

from playout.prober.flashes import FRAME_BYTES, GRID, FlashRules, find_flashes

RATE = 30.0


def frames(pattern: list[tuple[int, int, int]], *, cells: int = GRID * GRID) -> bytes:
    """One frame per colour: the first `cells` cells that colour, the rest black."""
    out = bytearray()
    for colour in pattern:
        frame = bytes(colour) * cells + bytes(3) * (GRID * GRID - cells)
        assert len(frame) == FRAME_BYTES
        out += frame
    return bytes(out)


WHITE, BLACK, RED, GREY = (255, 255, 255), (0, 0, 0), (255, 0, 0), (128, 128, 128)


def alternating(first: tuple[int, int, int], second: tuple[int, int, int], hz: float) -> list:
    """4 s of `first` and `second` in turn, `hz` times a second each, after 1 s of `second`."""
    half = round(RATE / hz / 2)
    pattern = [second] * 30
    while len(pattern) < 150:
        pattern += [first] * half + [second] * half
    return pattern


def test_five_flashes_a_second_are_counted_with_their_seconds() -> None:
    found = find_flashes(frames(alternating(WHITE, BLACK, 5)), RATE, FlashRules())
    assert found.most == 5 and found.red_most == 0
    assert found.over and found.over[0][0] >= 1.0


def test_three_a_second_are_allowed() -> None:
    found = find_flashes(frames(alternating(WHITE, BLACK, 3)), RATE, FlashRules())
    assert found.most <= 3 and not found.over


def test_a_flash_over_less_than_a_quarter_of_the_screen_does_not_count() -> None:
    small = frames(alternating(WHITE, BLACK, 5), cells=GRID * GRID // 4 - 1)
    assert find_flashes(small, RATE, FlashRules()).most == 0
    quarter = frames(alternating(WHITE, BLACK, 5), cells=GRID * GRID // 4)
    assert find_flashes(quarter, RATE, FlashRules()).most == 5


def test_changes_between_bright_pictures_are_not_flashes() -> None:
    # Full white and a light grey (above 160 cd/m² on the reference display): no flash.
    light = (235, 235, 235)
    assert find_flashes(frames(alternating(WHITE, light, 5)), RATE, FlashRules()).most == 0
    # Mid grey is dark enough for its change to white to count.
    assert find_flashes(frames(alternating(WHITE, GREY, 5)), RATE, FlashRules()).most == 5


def test_red_flashes() -> None:
    found = find_flashes(frames(alternating(RED, BLACK, 5)), RATE, FlashRules())
    assert found.red_most == 5 and found.red_over


def test_a_stricter_threshold_sees_fewer() -> None:
    pattern = frames(alternating(WHITE, BLACK, 5))
    assert not find_flashes(pattern, RATE, FlashRules(per_second=6)).over
    assert find_flashes(b"", RATE, FlashRules()).most == 0
