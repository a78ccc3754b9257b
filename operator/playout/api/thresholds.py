"""The thresholds a ProbeJob may override (`spec.thresholds`), with their defaults per
profile. Part of the API: the CRD rejects unknown names and `kubectl explain` lists these.
Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Threshold:
    name: str
    description: str
    standard: float | None
    """Default of the `quick` and `standard` profiles; None: not checked unless given."""
    broadcast: float | None

    def default(self, profile: str) -> float | None:
        return self.broadcast if profile == "broadcast" else self.standard


def _same(name: str, value: float | None, description: str) -> Threshold:
    return Threshold(name, description, value, value)


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("keyframeIntervalSeconds", "longest time between keyframes", 10, 5),
    _same("maxBitrateMbps", None, "highest bitrate over any 1 s window, in Mb/s"),
    _same("timestampJumps", 0, "timestamp discontinuities allowed"),
    _same("durationToleranceSeconds", 1, "allowed gap between declared and decoded duration"),
    _same("blackSeconds", 1, "shortest black run reported"),
    _same("blackPixelThreshold", 0.10, "luma (0-1) under which a pixel counts as black"),
    _same("blackPictureRatio", 0.98, "share of black pixels that makes a picture black"),
    _same("freezeSeconds", 2, "shortest frozen run reported"),
    _same("freezeNoiseDb", -60, "picture difference (dB) under which frames count as equal"),
    _same("silenceSeconds", 1, "shortest silence reported"),
    _same("silenceDb", -60, "level (dBFS) under which audio counts as silent"),
    _same("loudnessTarget", -23, "integrated loudness target, in LUFS"),
    Threshold("loudnessTolerance", "allowed distance from loudnessTarget, in LU", 7, 1),
    _same("truePeakDb", -1, "highest true peak, in dBTP"),
    _same("loudnessRangeLu", 20, "highest loudness range (LRA), in LU"),
    _same("clippingSeconds", 0, "clipped audio allowed, in seconds"),
    # Lossy codecs shave a few tenths of a dB off clipped peaks; clean masters keep 1 dB.
    _same("clippingDb", -0.5, "sample peak (dBFS) from which 100 ms of audio counts as clipped"),
    _same("interlacedRatio", 0.1, "share of frames that may look interlaced"),
    _same("letterboxRatio", 0.05, "share of height or width that black bars may take"),
    _same("blockiness", 20, "highest mean blockdetect score (heuristic)"),
    _same("blur", 10, "highest mean blurdetect score (heuristic)"),
    _same("broadcastRangeRatio", 0.01, "share of pixels that may lie outside broadcast range"),
    _same("decodeErrors", 0, "decoder errors allowed"),
    _same("psnrDb", 35, "lowest average PSNR against the reference, in dB"),
    _same("ssim", 0.95, "lowest average SSIM against the reference"),
    _same("vmaf", 80, "lowest VMAF score against the reference"),
    _same("hlsBandwidthTolerance", 0.1, "how far measured bitrate may exceed BANDWIDTH"),
    _same("sampleSeconds", 0.5, "interval of the letterbox and broadcast range samples"),
    _same("qualitySampleSeconds", 2, "interval of the blockiness and blur samples"),
    _same("liveSeconds", 30, "how much of a live stream (no known end) is analysed"),
)  # fmt: skip

BY_NAME = {threshold.name: threshold for threshold in THRESHOLDS}
THRESHOLD_NAMES = tuple(BY_NAME)


def defaults(profile: str) -> dict[str, float | None]:
    return {threshold.name: threshold.default(profile) for threshold in THRESHOLDS}


def unknown_names(names: list[str] | tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in BY_NAME]


def unknown_message(names: list[str]) -> str:
    return f"unknown threshold {', '.join(names)}; known: {', '.join(THRESHOLD_NAMES)}"


def explain_thresholds() -> str:
    """The text `kubectl explain probejob.spec.thresholds` shows."""
    parts = []
    for threshold in THRESHOLDS:
        if threshold.standard == threshold.broadcast:
            default = _number(threshold.standard)
        else:
            default = f"{_number(threshold.standard)}, broadcast {_number(threshold.broadcast)}"
        parts.append(f"{threshold.name} ({threshold.description}; default {default})")
    return "Per-check threshold overrides, by name: " + "; ".join(parts) + "."


def _number(value: float | None) -> str:
    return "unset" if value is None else f"{value:g}"
