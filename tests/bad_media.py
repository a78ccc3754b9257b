"""Bad media, as a library off the web or a half-finished copy holds it: one corpus that the
streamer's and the prober's media tests both feed through, so that each says what it does
with the same files.

Each file is made in a second or less with lavfi sources (the 10-hour file has one frame a
minute); what each component must make of it is written beside it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PLAYS = "plays"
"""The streamer puts it on air."""


@dataclass(frozen=True)
class BadMedia:
    name: str
    """The file's name, which also says what is wrong with it."""
    make: Callable[[Path], None]
    streamer: str
    """PLAYS, or the reason the streamer gives for leaving it out."""
    prober_fails: str | None
    """The check the prober fails it on (its standard profile); None when it passes."""


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=120)


def _encoded(
    path: Path,
    *,
    video: str | None = "testsrc2=s=320x240:r=25",
    audio: bool = True,
    seconds: float = 4,
    extra: tuple[str, ...] = (),
) -> None:
    inputs = ["-f", "lavfi", "-i", video] if video else []
    if audio:
        inputs += ["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"] if video else []
    codecs += ["-c:a", "aac"] if audio else []
    _ffmpeg(*inputs, "-t", f"{seconds:g}", *codecs, *extra, str(path))


def _zero_bytes(path: Path) -> None:
    path.touch()


def _not_media(path: Path) -> None:
    path.write_text("this is a shopping list, not a film\n" * 50)


def _truncated(path: Path) -> None:
    """Cut short where a copy stopped: the Matroska header says 6 s, the packets end at a
    quarter of the file."""
    whole = path.with_name(f"whole-{path.name}")
    _encoded(whole, seconds=6)
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 4])
    whole.unlink()


def _corrupt_every_second(path: Path) -> None:
    """An MPEG-TS with a run of garbage in its packets once a second of its bytes."""
    _encoded(path, seconds=6)
    data = bytearray(path.read_bytes())
    step = len(data) // 6
    for start in range(step // 2, len(data), step):
        data[start : start + 376] = b"\xa5" * len(data[start : start + 376])
    path.write_bytes(bytes(data))


CORPUS: tuple[BadMedia, ...] = (
    BadMedia("zero-bytes.mkv", _zero_bytes, "undecodable", "readable"),
    BadMedia("not-media.mp4", _not_media, "undecodable", "readable"),
    BadMedia("truncated.mkv", _truncated, PLAYS, "duration"),
    BadMedia("tiny-16x16.mkv", lambda p: _encoded(p, video="testsrc2=s=16x16:r=25"), PLAYS, None),
    BadMedia(
        "huge-7680x4320.mkv",
        lambda p: _encoded(p, video="testsrc2=s=7680x4320:r=25", seconds=0.4),
        PLAYS,
        None,
    ),
    BadMedia(
        "no-frames.mkv", lambda p: _encoded(p, seconds=0, audio=False), "undecodable", "readable"
    ),
    BadMedia(
        "one-frame.mkv", lambda p: _encoded(p, audio=False, extra=("-frames:v", "1")), PLAYS, None
    ),
    BadMedia("audio-only.mp4", lambda p: _encoded(p, video=None), "undecodable", None),
    BadMedia("video-only.mkv", lambda p: _encoded(p, audio=False), PLAYS, None),
    BadMedia("corrupt-every-second.ts", _corrupt_every_second, PLAYS, "decodeErrors"),
    BadMedia(
        "ten-hours.mkv",
        lambda p: _encoded(
            p, video="testsrc2=s=64x36:r=1/60", audio=False, seconds=36_000, extra=("-g", "1")
        ),
        PLAYS,
        None,
    ),
)


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every file of the corpus in `folder`, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for bad in CORPUS:
        bad.make(folder / bad.name)
        made[bad.name] = folder / bad.name
    return made
