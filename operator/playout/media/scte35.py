"""SCTE-35 cue messages for the ad breaks marked in the live playlist. Pure.

An SSAI service (or a player) that reads the playlist finds each break as a
splice_info_section in the EXT-X-DATERANGE tag's SCTE35-OUT / SCTE35-IN attribute
(RFC 8216 section 4.3.2.7.1): a splice_insert() (SCTE 35 2023 section 9.7.3) with the break's
event id, its splice time on the 90 kHz clock and, for the start, its duration.

No splice descriptors are written: splice_insert() carries the whole avail by itself, and the
services that read it (AWS MediaTailor and MediaPackage, Google DAI) need a
segmentation_descriptor() only with time_signal() commands.
"""

from __future__ import annotations

from collections.abc import Iterable

TICKS_PER_SECOND = 90_000
_PTS_WRAP = 1 << 33
_TABLE_ID = 0xFC
_SAP_UNSPECIFIED = 0b11
_TIER_ALL = 0xFFF
_SPLICE_INSERT = 0x05
_CRC_POLY = 0x04C11DB7


def splice_insert(
    *,
    splice_event_id: int,
    out_of_network: bool,
    pts_seconds: float,
    duration_seconds: float | None = None,
    unique_program_id: int = 0,
    avail_num: int = 0,
    avails_expected: int = 0,
) -> bytes:
    """A complete splice_info_section carrying one splice_insert() at `pts_seconds` (the
    presentation time of the splice point, wrapped to 33 bits as MPEG-TS timestamps are).

    `out_of_network` is True for the start of the avail ("OUT") and False for the return
    ("IN"); only an OUT takes `duration_seconds`, sent as break_duration with auto_return so
    that a splicer returns by itself even if the IN is lost."""
    _check("splice_event_id", splice_event_id, 32)
    _check("unique_program_id", unique_program_id, 16)
    _check("avail_num", avail_num, 8)
    _check("avails_expected", avails_expected, 8)
    if pts_seconds < 0:
        raise ValueError(f"pts_seconds must not be negative: {pts_seconds}")
    if duration_seconds is not None and not out_of_network:
        raise ValueError("only the start of a break (out_of_network) has a duration")
    fields = [
        (splice_event_id, 32),
        (0, 1),  # splice_event_cancel_indicator
        (0x7F, 7),  # reserved
        (int(out_of_network), 1),
        (1, 1),  # program_splice_flag: the whole program splices
        (int(duration_seconds is not None), 1),  # duration_flag
        (0, 1),  # splice_immediate_flag: the splice_time() says when
        (1, 1),  # event_id_compliance_flag: event ids are unique per break
        (0b111, 3),  # reserved
        (1, 1),  # splice_time(): time_specified_flag
        (0x3F, 6),  # reserved
        (round(pts_seconds * TICKS_PER_SECOND) % _PTS_WRAP, 33),
    ]
    if duration_seconds is not None:
        ticks = round(duration_seconds * TICKS_PER_SECOND)
        if not 0 <= ticks < _PTS_WRAP:
            raise ValueError(f"duration_seconds out of range: {duration_seconds}")
        fields += [(1, 1), (0x3F, 6), (ticks, 33)]  # break_duration(): auto_return
    fields += [(unique_program_id, 16), (avail_num, 8), (avails_expected, 8)]
    return _section(_SPLICE_INSERT, _pack(fields))


def hls_hex(section: bytes) -> str:
    """The section as an HLS hexadecimal-sequence, the form SCTE35-OUT/-IN take."""
    return "0x" + section.hex().upper()


def _section(command_type: int, command: bytes) -> bytes:
    """splice_info_section() around one command, unencrypted, with no descriptors."""
    body = _pack(
        [
            (0, 8),  # protocol_version
            (0, 1),  # encrypted_packet
            (0, 6),  # encryption_algorithm
            (0, 33),  # pts_adjustment
            (0, 8),  # cw_index
            (_TIER_ALL, 12),
            (len(command), 12),  # splice_command_length
            (command_type, 8),
        ]
    )
    body += command + _pack([(0, 16)])  # descriptor_loop_length
    header = _pack(
        [
            (_TABLE_ID, 8),
            (0, 1),  # section_syntax_indicator
            (0, 1),  # private_indicator
            (_SAP_UNSPECIFIED, 2),
            (len(body) + 4, 12),  # section_length: the bytes after it, CRC included
        ]
    )
    section = header + body
    return section + _crc32(section).to_bytes(4, "big")


def _pack(fields: Iterable[tuple[int, int]]) -> bytes:
    """Big-endian bit fields, given as (value, width in bits), that fill whole bytes."""
    value, width = 0, 0
    for field, bits in fields:
        value = (value << bits) | field
        width += bits
    return value.to_bytes(width // 8, "big")


def _crc32(data: bytes) -> int:
    """CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): what decoders check a section against."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ _CRC_POLY if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _check(name: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{name} must fit in {bits} bits: {value}")
