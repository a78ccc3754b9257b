"""The thresholds a ProbeJob may override (`spec.thresholds`), with their defaults per
profile. Part of the API: the CRD rejects unknown names and `kubectl explain` lists these.
Pure data."""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float | None]
"""The smallest and the largest value that make sense (None: no largest)."""

DAY = 86400.0  # seconds: no run is longer (`timeoutSeconds`)
SECONDS: Range = (0, DAY)
SHARE: Range = (0, 1)
DECIBELS: Range = (-200, 0)  # at most full scale
COUNT: Range = (0, None)
INTERVAL: Range = (0.01, DAY)  # 0 would take every frame


@dataclass(frozen=True)
class Threshold:
    name: str
    description: str
    standard: float | None
    """Default of the `quick` and `standard` profiles; None: not checked unless given."""
    broadcast: float | None
    range: Range

    def default(self, profile: str) -> float | None:
        return self.broadcast if profile == "broadcast" else self.standard

    def holds(self, value: float) -> bool:
        low, high = self.range
        return low <= value and (high is None or value <= high)

    @property
    def range_message(self) -> str:
        low, high = self.range
        if high is None:
            return f"{self.name} must be at least {_number(low)}"
        return f"{self.name} must be between {_number(low)} and {_number(high)}"


def _same(name: str, value: float | None, description: str, range: Range) -> Threshold:
    return Threshold(name, description, value, value, range)


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("keyframeIntervalSeconds", "longest time between keyframes", 10, 5, INTERVAL),
    _same("maxBitrateMbps", None, "highest bitrate over any 1 s window, in Mb/s", (0.01, None)),
    _same("timestampJumps", 0, "timestamp discontinuities allowed", COUNT),
    _same("durationToleranceSeconds", 1, "allowed gap between declared and decoded duration",
          SECONDS),
    _same("avDurationMismatchSeconds", 1, "largest difference between the length of an audio "
          "track and of the video, from their packets", SECONDS),
    _same("blackSeconds", 1, "shortest black run reported", SECONDS),
    _same("blackPixelThreshold", 0.10, "luma (0-1) under which a pixel counts as black", SHARE),
    _same("blackPictureRatio", 0.98, "share of black pixels that makes a picture black", SHARE),
    _same("freezeSeconds", 2, "shortest frozen run reported", SECONDS),
    _same("freezeNoiseDb", -60, "picture difference (dB) under which frames count as equal",
          DECIBELS),
    _same("silenceSeconds", 1, "shortest silence reported", SECONDS),
    _same("silenceDb", -60, "level (dBFS) under which audio counts as silent", DECIBELS),
    _same("phaseSeconds", 1, "shortest run of out-of-phase stereo reported (the two "
          "channels 170 degrees or more apart: a mono downmix cancels them out)", SECONDS),
    _same("loudnessTarget", -23, "integrated loudness target, in LUFS", (-70, 0)),
    Threshold("loudnessTolerance", "allowed distance from loudnessTarget, in LU", 7, 1, (0, 70)),
    _same("truePeakDb", -1, "highest true peak, in dBTP", (-70, 20)),
    _same("loudnessRangeLu", 20, "highest loudness range (LRA), in LU", (0, 100)),
    _same("clippingSeconds", 0, "clipped audio allowed, in seconds", SECONDS),
    # Lossy codecs shave a few tenths of a dB off clipped peaks; clean masters keep 1 dB.
    _same("clippingDb", -0.5, "sample peak (dBFS) from which 100 ms of audio counts as clipped",
          DECIBELS),
    _same("interlacedRatio", 0.1, "share of frames that may look interlaced", SHARE),
    _same("letterboxRatio", 0.05, "share of height or width that black bars may take", SHARE),
    _same("blockiness", 20, "highest mean blockdetect score (heuristic)", COUNT),
    _same("blur", 10, "highest mean blurdetect score (heuristic)", COUNT),
    _same("broadcastRangeRatio", 0.01, "share of the picture that may lie outside EBU R 103's "
          "RGB gamut (-5% to 105%, after its low-pass filter)", SHARE),
    _same("decodeErrors", 0, "decoder errors allowed", COUNT),
    _same("flashesPerSecond", 3, "most flashes (and red flashes) in any one second (BT.1702)",
          COUNT),
    _same("flashAreaRatio", 0.25, "share of the screen that changes together in a flash",
          SHARE),
    _same("flashLuminanceCdm2", 20, "luminance change, in cd/m² on a 200 cd/m² display, that "
          "makes half a flash", (1, 200)),
    _same("psnrDb", 35, "lowest average PSNR against the reference, in dB", (0, None)),
    _same("ssim", 0.95, "lowest average SSIM against the reference", SHARE),
    _same("vmaf", 80, "lowest VMAF score against the reference", (0, 100)),
    _same("hlsBandwidthTolerance", 0.1, "how far measured bitrate may exceed BANDWIDTH", (0, 100)),
    _same("sampleSeconds", 0.5, "interval of the letterbox and broadcast range samples", INTERVAL),
    _same("qualitySampleSeconds", 2, "interval of the blockiness and blur samples", INTERVAL),
    _same("liveSeconds", 30, "how much of a live stream (no known end) is analysed", (1, DAY)),
)  # fmt: skip

BY_NAME = {threshold.name: threshold for threshold in THRESHOLDS}
THRESHOLD_NAMES = tuple(BY_NAME)


def defaults(profile: str) -> dict[str, float | None]:
    return {threshold.name: threshold.default(profile) for threshold in THRESHOLDS}


def unknown_names(names: list[str] | tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in BY_NAME]


def unknown_message(names: list[str]) -> str:
    return f"unknown threshold {', '.join(names)}; known: {', '.join(THRESHOLD_NAMES)}"


def out_of_range(values: dict[str, float]) -> list[str]:
    """What is wrong with the values of known thresholds, one message each."""
    return [
        BY_NAME[name].range_message
        for name, value in values.items()
        if name in BY_NAME and not BY_NAME[name].holds(value)
    ]


def explain_thresholds() -> str:
    """The text `kubectl explain probejob.spec.thresholds` shows."""
    parts = []
    for threshold in THRESHOLDS:
        if threshold.standard == threshold.broadcast:
            default = _number(threshold.standard)
        else:
            default = f"{_number(threshold.standard)}, broadcast {_number(threshold.broadcast)}"
        parts.append(
            f"{threshold.name} ({threshold.description}; {_range(threshold.range)}; "
            f"default {default})"
        )
    return "Per-check threshold overrides, by name: " + "; ".join(parts) + "."


def _range(range: Range) -> str:
    low, high = range
    if high is None:
        return f"at least {_number(low)}"
    return f"{_number(low)} to {_number(high)}"


def _number(value: float | None) -> str:
    return "unset" if value is None else f"{value:g}"
