"""What the decode pass left behind -> measurements. Pure: every function takes text.

Three sources: ffmpeg's log (events of blackdetect, freezedetect and silencedetect; the
end-of-run summaries of ebur128, idet, psnr, ssim and libvmaf; decoder errors), the
`metadata=print` files the graph writes, and `-progress` output (how far decoding got)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# --- the log ----------------------------------------------------------------------------

_NUMBER = r"(-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|-?inf|-?nan)"
_BLACK = re.compile(rf"black_start:{_NUMBER} black_end:{_NUMBER}")
_FREEZE_START = re.compile(rf"lavfi\.freezedetect\.freeze_start: {_NUMBER}")
_FREEZE_END = re.compile(rf"lavfi\.freezedetect\.freeze_end: {_NUMBER}")
_SILENCE_START = re.compile(rf"silence_start: {_NUMBER}")
_SILENCE_END = re.compile(rf"silence_end: {_NUMBER}")
_PHASE_START = re.compile(rf"out_phase_start: {_NUMBER}")
_PHASE_END = re.compile(rf"out_phase_end: {_NUMBER}")
_INTEGRATED = re.compile(rf"^\s*I:\s+{_NUMBER} LUFS", re.MULTILINE)
_RANGE = re.compile(rf"^\s*LRA:\s+{_NUMBER} LU\b", re.MULTILINE)
_TRUE_PEAK = re.compile(rf"^\s*Peak:\s+{_NUMBER} dBFS", re.MULTILINE)
_IDET = re.compile(
    r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)"
    r" Undetermined:\s*(\d+)"
)
_PSNR = re.compile(rf"PSNR .*average:{_NUMBER}")
_SSIM = re.compile(rf"SSIM .*All:{_NUMBER}")
_VMAF = re.compile(rf"VMAF score[:=]\s*{_NUMBER}")
_LEVEL = re.compile(r"\[(error|fatal)\] ")
_REPEATED = re.compile(r"Last message repeated (\d+) times")
# Errors of the null output (timestamps it is handed), not of the media's decoding.
_NOT_DECODING = ("[null @",)


@dataclass(frozen=True)
class Span:
    """A detected run; `end` is None when the run lasted to the end of what was decoded."""

    start: float
    end: float | None


@dataclass(frozen=True)
class Interlacing:
    tff: int
    bff: int
    progressive: int
    undetermined: int

    @property
    def frames(self) -> int:
        return self.tff + self.bff + self.progressive + self.undetermined

    @property
    def ratio(self) -> float:
        return (self.tff + self.bff) / self.frames if self.frames else 0.0


@dataclass
class LogFindings:
    black: list[Span] = field(default_factory=list)
    freeze: list[Span] = field(default_factory=list)
    silence: list[Span] = field(default_factory=list)
    out_of_phase: list[Span] = field(default_factory=list)
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    true_peak_db: float | None = None
    interlacing: Interlacing | None = None
    psnr_db: float | None = None
    ssim: float | None = None
    vmaf: float | None = None
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


# ffmpeg prints the PSNR of identical pictures as inf; JSON has no infinity.
IDENTICAL_PSNR_DB = 100.0


def _last(pattern: re.Pattern[str], text: str, infinity: float | None = None) -> float | None:
    """The value of the last match: ffmpeg sets a complex graph up twice and the first,
    empty one prints its own summary first."""
    values = pattern.findall(text)
    if not values:
        return None
    value = float(values[-1])
    if value == math.inf:
        return infinity
    return value if math.isfinite(value) else None


def _run_event(
    line: str,
    runs: list[tuple[re.Pattern[str], re.Pattern[str], list[Span]]],
    opened: dict[int, float],
) -> bool:
    """Whether `line` starts a run, or ends an open one (which then joins its list)."""
    for kind, (start, end, spans) in enumerate(runs):
        if match := start.search(line):
            opened[kind] = float(match[1])
            return True
        if (match := end.search(line)) and kind in opened:
            spans.append(Span(opened.pop(kind), float(match[1])))
            return True
    return False


def parse_log(text: str, error_samples: int = 3) -> LogFindings:
    findings = LogFindings()
    # Detectors that log a run's start and its end on lines of their own: their patterns,
    # where the runs go, and when the run still open began.
    runs = [
        (_FREEZE_START, _FREEZE_END, findings.freeze),
        (_SILENCE_START, _SILENCE_END, findings.silence),
        (_PHASE_START, _PHASE_END, findings.out_of_phase),
    ]
    opened: dict[int, float] = {}
    counting = False
    for line in text.splitlines():
        if match := _BLACK.search(line):
            findings.black.append(Span(float(match[1]), float(match[2])))
        elif _run_event(line, runs, opened):
            pass
        elif (match := _REPEATED.search(line)) and counting:
            findings.errors += int(match[1])
        elif _LEVEL.search(line) and not line.startswith(_NOT_DECODING):
            findings.errors += 1
            if len(findings.error_samples) < error_samples:
                findings.error_samples.append(_LEVEL.split(line, maxsplit=1)[-1].strip())
            counting = True
            continue
        counting = False
    for kind, start in opened.items():
        runs[kind][2].append(Span(start, None))  # still going when the log ends
    findings.integrated_lufs = _last(_INTEGRATED, text)
    findings.loudness_range_lu = _last(_RANGE, text)
    findings.true_peak_db = _last(_TRUE_PEAK, text)
    counts = _IDET.findall(text)
    if counts:
        findings.interlacing = Interlacing(*(int(value) for value in counts[-1]))
    findings.psnr_db = _last(_PSNR, text, infinity=IDENTICAL_PSNR_DB)
    findings.ssim = _last(_SSIM, text)
    findings.vmaf = _last(_VMAF, text)
    return findings


_INPUT_STREAM = re.compile(r"^(?:\[\w+\] )?\s*Stream #0:(\d+)\S*: Video: .*, Closed Captions\b")


def captioned_streams(text: str) -> set[int]:
    """The video streams of the (first) input that carry CEA-608/708 captions: ffmpeg's
    description of its input says so of a stream whose first frames have them."""
    found = set()
    for line in text.splitlines():
        if line.endswith("Stream mapping:"):
            break  # what follows describes the outputs
        if match := _INPUT_STREAM.match(line):
            found.add(int(match[1]))
    return found


# --- metadata=print files ---------------------------------------------------------------

_FRAME = re.compile(r"^frame:\s*\d+\s+pts:\s*\S+\s+pts_time:(\S+)")


@dataclass(frozen=True)
class Frame:
    time: float
    values: dict[str, str]

    def number(self, key: str) -> float | None:
        """A finite number, or None (blurdetect says `nan` for a picture without edges)."""
        try:
            value = float(self.values[key])
        except (KeyError, ValueError):
            return None
        return value if math.isfinite(value) else None


def parse_frames(lines: Iterable[str]) -> Iterator[Frame]:
    """The `metadata=print` format: a `frame:N pts:P pts_time:T` line, then key=value."""
    time: float | None = None
    values: dict[str, str] = {}
    for line in lines:
        if match := _FRAME.match(line):
            if time is not None:
                yield Frame(time, values)
            try:
                time = float(match[1])
            except ValueError:
                time = None
            values = {}
        elif "=" in line and time is not None:
            key, _, value = line.strip().partition("=")
            values[key] = value
    if time is not None:
        yield Frame(time, values)


# --- -progress ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    seconds: float | None
    """How far decoding got: the last output timestamp."""


def parse_progress(text: str) -> Progress:
    microseconds: int | None = None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            microseconds = int(value)
    seconds = microseconds / 1e6 if microseconds is not None and microseconds >= 0 else None
    return Progress(seconds)
