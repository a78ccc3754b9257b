"""Codec strings read from MPEG-TS bytes, on packets laid out as a muxer lays them out."""

from __future__ import annotations

from playout.media.mpegts import codecs

VIDEO_PID, AUDIO_PID, MAP_PID = 0x100, 0x101, 0x1000


def packet(pid: int, payload: bytes, *, starts: bool, adaptation: int = 0) -> bytes:
    """One 188-byte packet; `adaptation` bytes of stuffing before the payload, as muxers
    put a PCR there."""
    header = bytes([0x47, (0x40 if starts else 0) | pid >> 8, pid & 0xFF])
    room = 184 - (1 + adaptation if adaptation else 0)
    body = payload[:room].ljust(room, b"\xff")
    if adaptation:
        return header + b"\x30" + bytes([adaptation]) + b"\x00" * adaptation + body
    return header + b"\x10" + body


def section(table: int, body: bytes) -> bytes:
    length = len(body) + 5 + 4  # after the length field: 5 header bytes, then the CRC
    head = bytes([table, 0xB0 | length >> 8, length & 0xFF, 0, 1, 0xC1, 0, 0])
    return b"\x00" + head + body + b"\x00\x00\x00\x00"  # pointer field first; CRC unchecked


def pes(stream_id: int, data: bytes) -> bytes:
    # A header with a PTS whose bytes look like an ADTS sync word, as a real one may.
    return (
        b"\x00\x00\x01" + bytes([stream_id, 0, 0, 0x80, 0x80, 5]) + b"\x21\xff\xf1\xff\xf1" + data
    )


def segment(*, profile: int, level: int, aac_profile: int) -> bytes:
    pat = section(0, b"\x00\x01" + bytes([0xE0 | MAP_PID >> 8, MAP_PID & 0xFF]))
    streams = bytes([0x1B, 0xE1, 0x00, 0xF0, 0x00, 0x0F, 0xE1, 0x01, 0xF0, 0x00])
    pmt = section(2, bytes([0xE1, 0x00, 0xF0, 0x00]) + streams)
    sps = b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67" + bytes([profile, 0, level]) + b"\xac\xd9"
    adts = bytes([0xFF, 0xF1, aac_profile << 6 | 0x0C, 0x80, 0x2E, 0x7F, 0xFC])
    return b"".join(
        [
            packet(0, pat, starts=True),
            packet(MAP_PID, pmt, starts=True),
            packet(VIDEO_PID, pes(0xE0, sps), starts=True, adaptation=7),
            packet(VIDEO_PID, b"\x00" * 184, starts=False),
            packet(AUDIO_PID, pes(0xC0, adts), starts=True),
        ]
    )


def test_profile_and_level_come_from_the_sequence_parameter_set() -> None:
    assert codecs(segment(profile=0x64, level=0x1F, aac_profile=1)) == ["avc1.64001f", "mp4a.40.2"]
    assert codecs(segment(profile=0x4D, level=0x28, aac_profile=0)) == ["avc1.4d0028", "mp4a.40.1"]


def test_what_is_not_a_transport_stream_has_no_codecs() -> None:
    assert codecs(b"") == []
    assert codecs(b"\x00" * 188 * 4) == []
    assert codecs(segment(profile=0x64, level=0x1F, aac_profile=1)[:188]) == []  # PAT only
