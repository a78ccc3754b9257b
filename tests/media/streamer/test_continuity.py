"""Entries played one after another into one MPEG-TS timeline, as the engine plays them,
and read back the way Jellyfin and Plex read an M3U tuner: `ffmpeg -i index.m3u8`.

Within each stream timestamps must only rise across entries, and each entry must fill
exactly its planned place: video from its planned start (to the 90 kHz tick), audio never
before it nor past its end, the whole as long as the planned lengths add up to."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from playout.api.channel import Output
from playout.media.ffmpeg import (
    AAC_FRAME,
    EARLIEST_TS_OFFSET,
    MPEG_TS_CLOCK,
    SegmentOutput,
    card_command,
    frame_rate,
    item_command,
    parse_segment_line,
    planned_length,
)
from playout.media.hls import LivePlaylist, Segment, target_duration_for
from playout.media.metadata import metadata_command, parse_metadata

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# Black but for a white flash and a beep at 2 s: where both come out shows A/V sync.
FLASH = "color=black:s=320x180:r=30,drawbox=enable='between(t,2,2.2)':c=white:t=fill"
BEEP = "aevalsrc='if(between(t,2,2.1),0.5*sin(2*PI*1000*t),0)|0':s=48000"
FLASH_AT = 2.0
# veryfast (not ultrafast): B-frames, so decode times run ahead of presentation times.
H264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-pix_fmt", "yuv420p"]
COMPLAINTS = ("non monotonically increasing dts", "Non-monotonous DTS")


def encode(path: Path, seconds: float, video: str, audio: str | None, *codecs: str) -> Path:
    inputs = ["-f", "lavfi", "-i", video, *(["-f", "lavfi", "-i", audio] if audio else [])]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inputs,
         "-t", f"{seconds}", *H264, *codecs, str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Awkward lengths, B-frames, keyframes every second. MP4 where timing is measured:
    ffmpeg's Matroska starts the video an AAC priming frame (21 ms) after the audio, which
    copy mode keeps and the sync check would have to allow for."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} not found: install ffmpeg (make system-deps)"
    root = tmp_path_factory.mktemp("continuity")
    tone = "sine=f=440:sample_rate=48000"
    mono = "sine=f=660:sample_rate=44100"
    return {
        "flash": encode(root / "flash.mp4", 3.37, FLASH, BEEP, "-c:a", "aac"),
        "mono": encode(root / "mono.mp4", 2.05, "testsrc=s=320x180:r=25", mono, "-c:a", "aac"),
        "silent": encode(root / "silent.mkv", 1.2, "smptebars=s=320x180:r=30", None),
        "clip": encode(
            root / "clip.mp4", 3.37, "testsrc2=s=320x180:r=30", tone, "-ac", "2", "-c:a", "aac"
        ),
        "short": encode(
            root / "short.mp4", 2.05, "testsrc=s=320x180:r=30", tone, "-ac", "2", "-c:a", "aac"
        ),
        "silent.mp4": encode(root / "silent.mp4", 1.2, "smptebars=s=320x180:r=30", None),
    }


@dataclass(frozen=True)
class Entry:
    source: str | None
    """A key of `media`, or None for a card."""
    start: float
    seconds: float


@dataclass(frozen=True)
class Played:
    start: float
    """Planned start on the stream's timeline (seconds)."""
    length: float
    """planned_length(seconds)."""
    files: list[Path]

    @property
    def ticks(self) -> tuple[int, int]:
        return _ticks(self.start), _ticks(self.start + self.length)

    def joined(self, path: Path) -> Path:
        """The entry's segments as one file (MPEG-TS concatenates)."""
        path.write_bytes(b"".join(file.read_bytes() for file in self.files))
        return path


def _ticks(seconds: float) -> int:
    return round(seconds * MPEG_TS_CLOCK)


def play(
    output: Output, entries: list[Entry], media: dict[str, Path], work: Path
) -> tuple[Path, list[Played]]:
    """Run the entries back to back, each starting where the planned lengths before it
    add up to, into the live playlist as the engine makes it (a discontinuity on each
    entry's first segment). The playlist is ended, so that ffmpeg reads it from the top."""
    playlist = LivePlaylist(target_duration_for(output.segment_seconds, output.mode), 100)
    at = EARLIEST_TS_OFFSET
    done = []
    for index, entry in enumerate(entries):
        segments = SegmentOutput(work / f"entry{index}-%03d.ts", output.segment_seconds, at)
        if entry.source is None:
            card = work / f"card{index}.txt"
            card.write_text("Up next: it's [a] test")
            command = card_command("ffmpeg", output, card, entry.seconds, segments)
        else:
            path = media[entry.source]
            probed = subprocess.run(
                metadata_command("ffprobe", path), capture_output=True, text=True, check=True
            )
            info = parse_metadata(probed.stdout)
            command = item_command(
                "ffmpeg", output, path, info, entry.start, segments, duration=entry.seconds
            )
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        previous, files = at, list[Path]()
        for line in result.stdout.splitlines():
            parsed = parse_segment_line(line)
            if parsed is None:
                continue
            name, end = parsed
            playlist.append(
                Segment(
                    sequence=playlist.next_sequence,
                    uri=name,
                    duration=end - previous,
                    program_date_time=EPOCH + timedelta(seconds=previous - EARLIEST_TS_OFFSET),
                    discontinuity=not files,
                )
            )
            files.append(work / name)
            previous = end
        assert files, f"entry {index} produced no segment"
        length = planned_length(output, entry.seconds)
        done.append(Played(at, length, files))
        at += length
    index_file = work / "index.m3u8"
    index_file.write_text(playlist.render() + "#EXT-X-ENDLIST\n")
    return index_file, done


Packets = dict[str, list[dict[str, int]]]


def packets(path: Path) -> Packets:
    """Per stream kind, packets in file (decode) order: pts, dts, duration in 90 kHz."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_entries",
         "stream=index,codec_type:packet=stream_index,pts,dts,duration", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    document: dict[str, Any] = json.loads(result.stdout)
    kinds = {stream["index"]: stream["codec_type"] for stream in document["streams"]}
    found: Packets = {"video": [], "audio": []}
    for packet in document["packets"]:
        found[kinds[packet["stream_index"]]].append(
            {key: int(packet[key]) for key in ("pts", "dts", "duration")}
        )
    return found


def end_of(stream: list[dict[str, int]]) -> int:
    return max(packet["pts"] + packet["duration"] for packet in stream)


def complaints(playlist: Path) -> Iterator[str]:
    """What ffmpeg says reading the stream, decoding it (as Plex and Jellyfin transcode)
    and copying it (as Jellyfin remuxes)."""
    for copy in ([], ["-c", "copy"]):
        result = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(playlist), *copy, "-f", "null", "-"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        yield from (
            line for line in result.stderr.splitlines() if any(c in line for c in COMPLAINTS)
        )


def check_timeline(output: Output, playlist: Path, entries: list[Played]) -> list[Packets]:
    """The rules both modes keep, and in transcode mode entries that fill their place
    exactly: every frame planned, audio padded to within an AAC frame of the end."""
    assert list(complaints(playlist)) == []
    aac_frame = _ticks(AAC_FRAME / output.audio.sample_rate)
    frame = _ticks(float(1 / frame_rate(output)))
    dts: dict[str, list[int]] = {"video": [], "audio": []}
    found = []
    for index, entry in enumerate(entries):
        start, end = entry.ticks
        kinds = packets(entry.joined(playlist.parent / f"joined{index}.ts"))
        found.append(kinds)
        video, audio = kinds["video"], kinds["audio"]
        assert min(p["pts"] for p in video) == start, f"entry {index}: video starts off plan"
        assert end_of(video) <= end, f"entry {index}: video runs into the next entry"
        if audio:
            first = min(p["pts"] for p in audio)
            assert start <= first < start + aac_frame, f"entry {index}: audio starts off plan"
            assert end_of(audio) <= end, f"entry {index}: audio runs into the next entry"
        if output.mode == "transcode":
            assert abs(len(video) * frame - (end - start)) <= 1, f"entry {index}: frames"
            assert end_of(video) == end and end_of(audio) > end - aac_frame, f"entry {index}"
        for kind, stream in kinds.items():
            dts[kind] += [packet["dts"] for packet in stream]
    for kind, times in dts.items():
        backwards = [(a, b) for a, b in pairwise(times) if b <= a]
        assert backwards == [], f"{kind} DTS goes back"
    # The whole lasts what the plan adds up to, within a frame.
    total = sum(entry.length for entry in entries)
    assert abs(end_of(found[-1]["video"]) - entries[0].ticks[0] - _ticks(total)) <= frame
    return found


def output_for(mode: str, rate: float) -> Output:
    return Output.model_validate(
        {"mode": mode, "segmentSeconds": 1, "audio": {"bitrateKbps": 64},
         "video": {"width": 320, "height": 180, "frameRate": rate, "bitrateKbps": 300}}
    )  # fmt: skip


def flashes_and_beeps(path: Path) -> tuple[list[float], list[float]]:
    """When the picture turns white and the sound starts, in stream time."""
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-copyts", "-i", str(path),
         "-vf", "blackdetect=d=0.01", "-af", "silencedetect=n=-30dB:d=0.01", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    flashes = [float(t) for t in re.findall(r"black_end:([\d.]+)", result.stderr)]
    beeps = [float(t) for t in re.findall(r"silence_end: ([\d.]+)", result.stderr)]
    return flashes, beeps


@pytest.mark.parametrize("rate", [30, 29.97])
def test_transcoded_entries_fill_their_planned_place(
    media: dict[str, Path], tmp_path: Path, rate: float
) -> None:
    output = output_for("transcode", rate)
    entries = [
        Entry("flash", 0.0, 2.5),  # cut short: the file lasts 3.37 s
        Entry("mono", 0.0, 3.0),  # padded: 2.05 s of 25 fps and 44.1 kHz mono
        Entry(None, 0.0, 1.7),  # a card
        Entry("silent", 0.0, 1.2),  # silence added
        Entry("flash", 1.0, 2.37),  # from 1 s to the end
    ]
    playlist, done = play(output, entries, media, tmp_path)
    check_timeline(output, playlist, done)
    # The flash and the beep come out where the plan puts them, together.
    for index in (0, 4):
        flashes, beeps = flashes_and_beeps(done[index].joined(tmp_path / f"sync{index}.ts"))
        expected = done[index].start + FLASH_AT - entries[index].start
        assert flashes and abs(flashes[0] - expected) <= 1 / rate, f"entry {index}: {flashes}"
        assert beeps and abs(beeps[0] - flashes[0]) <= AAC_FRAME / output.audio.sample_rate


def test_copied_entries_keep_to_the_timeline(media: dict[str, Path], tmp_path: Path) -> None:
    """Copy cuts whole packets: exact where starts and ends fall on the source's keyframes,
    as here (every second). An entry longer than its file cannot be padded: a gap follows."""
    output = output_for("copy", 30)
    entries = [
        Entry("clip", 0.0, 2.0),  # cut short on its keyframe at 2 s
        Entry(None, 0.0, 1.5),  # a card, encoded as in transcode mode
        Entry("short", 0.0, 3.0),  # longer than the file's 2.05 s
        Entry("silent.mp4", 0.0, 1.2),  # no audio
        Entry("clip", 1.0, 2.37),  # from its keyframe at 1 s to its end
    ]
    playlist, done = play(output, entries, media, tmp_path)
    found = check_timeline(output, playlist, done)
    assert end_of(found[2]["video"]) < done[2].ticks[1] - _ticks(0.9)


def test_a_run_that_joins_mid_entry_cuts_the_same_packets(
    media: dict[str, Path], tmp_path: Path
) -> None:
    """A restart, or a second engine, starts an entry on one of its segment boundaries: its
    packets must fall exactly where those of a run from the entry's start fall, audio
    included (its AAC frames keep the entry's grid), so both publish the same segments."""
    output = output_for("transcode", 30)
    path = media["clip"]
    probed = subprocess.run(
        metadata_command("ffprobe", path), capture_output=True, text=True, check=True
    )
    info = parse_metadata(probed.stdout)
    length = planned_length(output, 3.37)
    runs = []
    for offset in (0.0, 2.0):
        work = tmp_path / f"from-{offset:g}"
        work.mkdir()
        segments = SegmentOutput(
            work / "seg-%03d.ts",
            output.segment_seconds,
            EARLIEST_TS_OFFSET + offset,
            entry_offset=offset,
        )
        command = item_command(
            "ffmpeg", output, path, info, offset, segments, duration=length - offset
        )
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        names = [p[0] for line in result.stdout.splitlines() if (p := parse_segment_line(line))]
        runs.append(packets(work / names[-1]))
    whole, joined = runs
    # The last segment of the run from the start is the only segment of the joined run.
    for kind in ("video", "audio"):
        assert [p["pts"] for p in joined[kind]] == [p["pts"] for p in whole[kind]], kind
