"""What an MPEG-TS segment holds, read from its bytes: the RFC 6381 codec strings a
multivariant playlist's CODECS attribute names (`avc1.64001f`, `mp4a.40.2`). Pure.

Read from the stream itself rather than from the encoder's settings, so that the attribute
says what players will decode: the level x264 chose, or a copied source's own profile.
"""

from __future__ import annotations

PACKET = 188
SYNC = 0x47
H264 = 0x1B
AAC_ADTS = 0x0F
# Enough of each stream to reach its first SPS or ADTS header: a keyframe's PES begins
# with them, so a few packets do; the cap bounds the work on a stream without them.
ENOUGH = 16 * 1024


def _payload(packet: bytes) -> tuple[int, bool, bytes] | None:
    """(PID, whether a PES or section starts here, the payload) of one packet."""
    if len(packet) < PACKET or packet[0] != SYNC:
        return None
    pid = ((packet[1] & 0x1F) << 8) | packet[2]
    starts = bool(packet[1] & 0x40)
    control = (packet[3] >> 4) & 0x3
    if not control & 0x1:
        return None  # adaptation field only
    offset = 4 + (1 + packet[4] if control & 0x2 else 0)
    return pid, starts, packet[offset:PACKET]


def _section(payload: bytes) -> bytes:
    """A PSI section, from the pointer field on, cut to its length (CRC excluded)."""
    if not payload:
        return b""
    section = payload[1 + payload[0] :]
    if len(section) < 3:
        return b""
    length = ((section[1] & 0x0F) << 8) | section[2]
    return section[: 3 + length - 4]


def _program_map_pid(section: bytes) -> int | None:
    for at in range(8, len(section) - 3, 4):
        number = (section[at] << 8) | section[at + 1]
        if number != 0:  # 0 is the network PID
            return ((section[at + 2] & 0x1F) << 8) | section[at + 3]
    return None


def _streams(section: bytes) -> dict[int, int]:
    """PID -> stream type, in the program map's order."""
    if len(section) < 12:
        return {}
    at = 12 + (((section[10] & 0x0F) << 8) | section[11])
    streams: dict[int, int] = {}
    while at + 5 <= len(section):
        pid = ((section[at + 1] & 0x1F) << 8) | section[at + 2]
        streams[pid] = section[at]
        at += 5 + (((section[at + 3] & 0x0F) << 8) | section[at + 4])
    return streams


def _elementary(payload: bytes) -> bytes:
    """A PES packet's start without its header (whose timestamps could look like a sync
    word)."""
    if payload[:3] != b"\x00\x00\x01" or len(payload) < 9:
        return payload
    return payload[9 + payload[8] :]


def _avc(data: bytes) -> str | None:
    """From the first sequence parameter set: profile_idc, the constraint flags and
    level_idc, as RFC 6381 writes them."""
    at = data.find(b"\x00\x00\x01")
    while 0 <= at <= len(data) - 7:
        if data[at + 3] & 0x1F == 7:
            profile, flags, level = data[at + 4], data[at + 5], data[at + 6]
            return f"avc1.{profile:02x}{flags:02x}{level:02x}"
        at = data.find(b"\x00\x00\x01", at + 3)
    return None


def _aac(data: bytes) -> str | None:
    """From the first ADTS header: the audio object type is its profile plus one."""
    for at in range(len(data) - 2):
        if data[at] == 0xFF and data[at + 1] & 0xF6 == 0xF0:
            return f"mp4a.40.{(data[at + 2] >> 6) + 1}"
    return None


def codecs(data: bytes) -> list[str]:
    """The codec strings of the H.264 and AAC streams of a segment, video first; empty
    for what is not MPEG-TS."""
    map_pid: int | None = None
    streams: dict[int, int] = {}
    seen: dict[int, bytearray] = {}
    for at in range(0, len(data) - PACKET + 1, PACKET):
        parsed = _payload(data[at : at + PACKET])
        if parsed is None:
            continue
        pid, starts, payload = parsed
        if pid == 0 and starts and map_pid is None:
            map_pid = _program_map_pid(_section(payload))
        elif pid == map_pid and starts and not streams:
            streams = _streams(_section(payload))
        elif pid in streams and (pid in seen or starts):
            collected = seen.setdefault(pid, bytearray())
            if len(collected) < ENOUGH:
                collected += _elementary(payload) if starts else payload
    found: list[str] = []
    for kind, read in ((H264, _avc), (AAC_ADTS, _aac)):
        for pid, stream_type in streams.items():
            value = read(bytes(seen.get(pid, b""))) if stream_type == kind else None
            if value is not None:
                found.append(value)
                break
    return found
