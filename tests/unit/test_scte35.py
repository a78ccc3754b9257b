"""The SCTE-35 cues in the playlist are what a real decoder reads: checked with threefive."""

from __future__ import annotations

import pytest
import threefive
from threefive.crc import crc32

from playout.media.scte35 import hls_hex, splice_insert

# The avail in the EXT-X-DATERANGE example of the AWS Elemental Live user guide: event 999,
# 30 s, splice at PTS 0x11FB9E, unique_program_id 1, avail 1 of 1.
ELEMENTAL_OUT = "0xFC302500000000000000FFF01405000003E77FEFFE0011FB9EFE002932E00001010100004D192A59"


def decode(section: bytes) -> threefive.Cue:
    return threefive.Cue(hls_hex(section))


def test_a_published_cue_is_reproduced_byte_for_byte() -> None:
    section = splice_insert(
        splice_event_id=999,
        out_of_network=True,
        pts_seconds=0x11FB9E / 90_000,
        duration_seconds=30,
        unique_program_id=1,
        avail_num=1,
        avails_expected=1,
    )
    assert hls_hex(section) == ELEMENTAL_OUT


@pytest.mark.parametrize(
    ("event_id", "pts", "duration"),
    [(0, 0.0, 0.5), (1_733_090_400, 16.0, 120.0), (2**32 - 1, 95_443.7, 3600.0)],
)
def test_the_start_of_a_break_decodes_as_a_splice_insert_out(
    event_id: int, pts: float, duration: float
) -> None:
    section = splice_insert(
        splice_event_id=event_id, out_of_network=True, pts_seconds=pts, duration_seconds=duration
    )
    cue = decode(section)
    info, command = cue.info_section, cue.command
    assert info.table_id == "0xfc"
    assert info.section_length == len(section) - 3
    assert info.splice_command_type == 5
    assert info.descriptor_loop_length == 0 and cue.descriptors == []
    assert info.encrypted_packet is False and info.pts_adjustment == 0
    assert command.splice_event_id == event_id
    assert command.splice_event_cancel_indicator is False
    assert command.out_of_network_indicator is True
    assert command.program_splice_flag is True
    assert command.splice_immediate_flag is False
    assert command.time_specified_flag is True
    assert command.pts_time == pytest.approx(pts, abs=1 / 90_000)
    assert command.duration_flag is True
    assert command.break_auto_return is True
    assert command.break_duration == pytest.approx(duration, abs=1 / 90_000)
    # The MPEG-2 CRC of a whole section, its own CRC field included, is zero.
    assert crc32(section) == 0
    assert int(info.crc, 16) == int.from_bytes(section[-4:], "big")


def test_the_return_decodes_as_a_splice_insert_in_without_a_duration() -> None:
    section = splice_insert(splice_event_id=7, out_of_network=False, pts_seconds=24.0)
    command = decode(section).command
    assert command.splice_event_id == 7
    assert command.out_of_network_indicator is False
    assert command.duration_flag is False
    assert command.break_duration is None
    assert command.pts_time == pytest.approx(24.0)
    assert crc32(section) == 0


def test_threefive_encodes_the_same_bytes_from_what_it_decoded() -> None:
    """Every field, reserved bits included, is where the standard puts it."""
    section = splice_insert(
        splice_event_id=42,
        out_of_network=True,
        pts_seconds=1234.5,
        duration_seconds=90.0,
        unique_program_id=101,
        avail_num=2,
        avails_expected=3,
    )
    cue = decode(section)
    assert (cue.command.unique_program_id, cue.command.avail_num, cue.command.avails_expected) == (
        101,
        2,
        3,
    )
    cue.encode()
    assert cue.hex() == hls_hex(section).lower()


def test_the_splice_time_wraps_at_33_bits_as_mpeg_ts_timestamps_do() -> None:
    wrapped = splice_insert(
        splice_event_id=1, out_of_network=False, pts_seconds=2**33 / 90_000 + 10
    )
    assert decode(wrapped).command.pts_time == pytest.approx(10.0)


def test_the_hex_is_an_hls_hexadecimal_sequence() -> None:
    text = hls_hex(splice_insert(splice_event_id=1, out_of_network=False, pts_seconds=1.0))
    assert text.startswith("0xFC30")
    assert text[2:] == text[2:].upper() and int(text, 16) > 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"splice_event_id": 2**32}, "splice_event_id"),
        ({"splice_event_id": -1}, "splice_event_id"),
        ({"pts_seconds": -0.5}, "pts_seconds"),
        ({"out_of_network": False, "duration_seconds": 30.0}, "duration"),
        ({"duration_seconds": 2**33 / 90_000}, "duration_seconds"),
        ({"unique_program_id": 2**16}, "unique_program_id"),
        ({"avail_num": 256}, "avail_num"),
        ({"avails_expected": -1}, "avails_expected"),
    ],
)
def test_values_that_do_not_fit_are_refused(arguments: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"splice_event_id": 1, "out_of_network": True, "pts_seconds": 0.0}
    with pytest.raises(ValueError, match=message):
        splice_insert(**(values | arguments))  # type: ignore[arg-type]


def test_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        splice_insert(1, True, 0.0)  # type: ignore[misc]
