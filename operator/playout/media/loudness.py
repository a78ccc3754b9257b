"""Loudness normalisation by measurement ahead of air: an item's loudness is measured once
per version of its file (EBU R128: integrated loudness, true peak, loudness range), and it
airs with the one linear gain that brings it to the channel's target, behind a limiter
where that gain would push its peaks past the ceiling. Pure: numbers and command lines.

Against ffmpeg's `loudnorm` in its dynamic mode, which needs nothing measured: no 3-second
look-ahead before the first sound (the larger part of a transcoded channel's start-up), no
pumping as its gain follows the programme, the item's own dynamics kept (EBU R128 prefers
linear normalisation), and one gain for every run over the item, so a restart or the part
after a break sounds as loud as what came before. An item that airs before its measurement
is done still gets `loudnorm` (`dynamic`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playout.api.channel import Loudness
from playout.media.source import input_args

# The EBU R128 meter, shared with the prober's loudness check: true peak by oversampling,
# the per-block lines at the verbose level so that the summary alone reaches the log.
EBUR128 = "ebur128=peak=true:framelog=verbose"
# ebur128's absolute gate: an item measured at or below it is silent, and kept so.
SILENT_LUFS = -70.0
# The most an item is raised: more would lift a near-silent item's hiss and hum to
# programme level.
MAX_GAIN_DB = 20.0
# The limiter works on samples, while the ceiling is a true peak (between samples) of the
# encoded sound: AAC adds up to about a decibel at sharp transients.
CEILING_MARGIN_DB = 1.0
# The limiter's look-ahead (its attack) and release: quick enough to catch a transient,
# slow enough not to distort low frequencies.
LIMITER_ATTACK_MS = 5.0
LIMITER_RELEASE_MS = 50.0


@dataclass(frozen=True)
class Measured:
    """An audio track's loudness, as ebur128 sums it up."""

    integrated_lufs: float
    true_peak_dbtp: float | None
    """None for a silent track (no peak to measure)."""
    range_lu: float | None


@dataclass(frozen=True)
class Level:
    """How one track airs: `gain_db` on every sample, then the limiter if `limited`."""

    gain_db: float
    limited: bool


def level_for(measured: Measured, target: Loudness) -> Level:
    """The gain that brings `measured` to the target's integrated loudness, limited where
    the track's peaks would pass the target's true peak."""
    if measured.integrated_lufs <= SILENT_LUFS:
        return Level(0.0, limited=False)
    gain = min(target.integrated_lufs - measured.integrated_lufs, MAX_GAIN_DB)
    peak = measured.true_peak_dbtp
    return Level(round(gain, 2), limited=peak is not None and peak + gain > target.true_peak_dbtp)


def corrected(level: Level, through: Measured, target: Loudness) -> Level:
    """A limited level adjusted by what the limiter took: `through` is the track measured
    through `level`, its loudness a little under the target where many peaks were held."""
    if not level.limited or through.integrated_lufs <= SILENT_LUFS:
        return level
    gain = level.gain_db + target.integrated_lufs - through.integrated_lufs
    return Level(round(min(gain, MAX_GAIN_DB), 2), limited=True)


def level_filter(level: Level, target: Loudness) -> str:
    """The audio filters that air a track at `level`."""
    gain = f"volume={level.gain_db:.2f}dB"
    if not level.limited:
        return gain
    ceiling = 10 ** ((target.true_peak_dbtp - CEILING_MARGIN_DB) / 20)
    return (
        f"{gain},alimiter=limit={ceiling:.4f}:attack={LIMITER_ATTACK_MS:g}"
        f":release={LIMITER_RELEASE_MS:g}:level=false:latency=true"
    )


def dynamic_filter(target: Loudness, sample_rate: int) -> str:
    """ffmpeg's `loudnorm` in its dynamic mode, for a track not measured in time."""
    return (
        f"loudnorm=I={target.integrated_lufs}:TP={target.true_peak_dbtp}:LRA={target.range_lu},"
        f"aresample={sample_rate}"  # loudnorm works at 192 kHz
    )


def measure_command(
    ffmpeg: str, source: Path, stream: int, *, through: str | None = None
) -> list[str]:
    """Decode one audio track (no picture) into the meter, `through` a level's filters if
    given; the summary is printed at the end of the run."""
    chain = f"{through},{EBUR128}" if through else EBUR128
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        *input_args(source), "-map", f"0:{stream}", "-vn", "-sn", "-dn",
        "-af", chain, "-f", "null", "-",
    ]  # fmt: skip
