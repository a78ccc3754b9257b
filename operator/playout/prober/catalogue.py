"""Which checks each profile runs, and how much a problem found by each one weighs. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from playout.api.probejob import CheckStatus, ProbeProfile, ProbeRequirements
from playout.api.thresholds import BY_NAME, defaults, unknown_message, unknown_names

WARN, FAIL = CheckStatus.WARN, CheckStatus.FAIL


@dataclass(frozen=True)
class CheckSpec:
    name: str
    standard: CheckStatus
    """What a problem found by this check makes it in the quick and standard profiles."""
    broadcast: CheckStatus

    def severity(self, profile: ProbeProfile) -> CheckStatus:
        return self.broadcast if profile == ProbeProfile.BROADCAST else self.standard


def _spec(name: str, standard: CheckStatus, broadcast: CheckStatus | None = None) -> CheckSpec:
    return CheckSpec(name, standard, broadcast or standard)


# From ffprobe alone: format, streams and packets, no decode.
METADATA_CHECKS = (
    _spec("readable", FAIL),
    _spec("streams", FAIL),
    _spec("duration", FAIL),
    _spec("keyframes", WARN),
    _spec("bitrate", WARN, FAIL),
    _spec("timestamps", WARN, FAIL),
    # Broadcast chains run at one frame rate: a variable one is converted on air, with
    # dropped or doubled frames and audio that drifts.
    _spec("frameRate", WARN, FAIL),
    _spec("channelLayout", WARN, FAIL),
    _spec("avDuration", WARN, FAIL),
    _spec("colourTags", WARN),
    _spec("colourConsistency", WARN, FAIL),
)
# From the one decode pass. Picture heuristics (blockiness, blur) only ever warn.
CONTENT_CHECKS = (
    _spec("decodeErrors", FAIL),
    # Only ever a problem when required (`require.captions`).
    _spec("captions", FAIL),
    _spec("black", WARN, FAIL),
    _spec("freeze", WARN, FAIL),
    _spec("silence", WARN, FAIL),
    _spec("phase", WARN, FAIL),
    _spec("loudness", WARN, FAIL),
    _spec("truePeak", WARN, FAIL),
    _spec("loudnessRange", WARN),
    _spec("clipping", WARN, FAIL),
    _spec("interlacing", WARN),
    _spec("letterbox", WARN),
    _spec("blockiness", WARN),
    _spec("blur", WARN),
    _spec("broadcastRange", WARN, FAIL),
    _spec("flashes", WARN, FAIL),
    _spec("redFlashes", WARN, FAIL),
)
REFERENCE_CHECKS = (_spec("psnr", FAIL), _spec("ssim", FAIL), _spec("vmaf", FAIL))
HLS_CHECKS = (
    _spec("hlsSegments", FAIL),
    _spec("hlsKeyframes", FAIL),
    _spec("hlsBandwidth", WARN, FAIL),
    _spec("hlsSequence", FAIL),
)
# When the probe itself cannot finish (time limit) it says so as a check.
TIMEOUT = _spec("timeout", FAIL)

CATALOGUE = {
    spec.name: spec
    for spec in (*METADATA_CHECKS, *CONTENT_CHECKS, *REFERENCE_CHECKS, *HLS_CHECKS, TIMEOUT)
}


def decodes(profile: ProbeProfile) -> bool:
    """`quick` stops at metadata and packets; the others decode once for the content."""
    return profile != ProbeProfile.QUICK


@dataclass(frozen=True)
class Settings:
    """A profile with its thresholds resolved: what one probe run holds the media to."""

    profile: ProbeProfile
    thresholds: dict[str, float | None]
    require: ProbeRequirements = field(default_factory=ProbeRequirements)

    def __getitem__(self, name: str) -> float | None:
        return self.thresholds[name]

    def number(self, name: str) -> float:
        """A threshold that always has a value (every one but the optional limits)."""
        value = self.thresholds[name]
        if value is None:
            raise KeyError(f"threshold {name} has no value")
        return value

    def severity(self, check: str) -> CheckStatus:
        return CATALOGUE[check].severity(self.profile)


class ThresholdError(ValueError):
    """An override names no threshold, or is not a number."""


def settings_for(
    profile: ProbeProfile,
    overrides: dict[str, float],
    require: ProbeRequirements | None = None,
) -> Settings:
    unknown = unknown_names(list(overrides))
    if unknown:
        raise ThresholdError(unknown_message(unknown))
    return Settings(
        profile, {**defaults(profile.value), **overrides}, require or ProbeRequirements()
    )


def parse_override(text: str) -> tuple[str, float]:
    """`name=value` as given to `--threshold`."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ThresholdError(f"{text!r}: write a threshold as name=value (e.g. blackSeconds=2)")
    if name not in BY_NAME:
        raise ThresholdError(unknown_message([name]))
    try:
        return name, float(value)
    except ValueError:
        raise ThresholdError(f"{name}={value}: the value must be a number") from None
