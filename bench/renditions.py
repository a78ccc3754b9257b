"""Renditions benchmark: an ABR ladder of three rungs (720p at 3000 kb/s, 480p at 1400, 360p
at 800) from one 1080p30 source, made as the engine makes it: one ffmpeg that decodes once,
splits and scales the picture, and runs one encoder pair and segment muxer per rung
(`item_command` with `output.renditions`). The baseline is three separate ffmpeg runs, each
`item_command` for one rung alone, each decoding the source itself. Ratios from one run on
one machine:

- CPU seconds (user + sys of the ffmpeg processes) per minute of output, against the three
  runs one after the other;
- the realtime factor (media seconds per wall-clock second) on 2 cores (`--cores`), against
  real time, and the ladder's wall time against the three runs at once; beside it the
  factor the CPU time allows on idle cores (cores x media seconds / CPU seconds), which
  the load of a shared machine moves much less;
- the ladder's CPU against the 720p rung alone (what a channel without renditions costs),
  and what it saves against two decodes of the source (`ffmpeg -f null`).

The first preset (x264 `veryfast`) is measured against all of these. While the ladder stays
below 1.2x real time, `superfast` and then `ultrafast` are measured too, the ladder alone,
against the first preset's ladder. `--preset` (repeatable) measures the presets given, the
first against every baseline.

Usage: python -m bench.renditions [--seconds 60] [--preset NAME ...] [--cores 2]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.timeline import cpu_seconds, load, machine, print_table
from playout.api.channel import Output
from playout.media.ffmpeg import (
    BT709_TAGS,
    EARLIEST_TS_OFFSET,
    RGB_TO_BT709,
    SegmentOutput,
    item_command,
    ladder,
    planned_length,
)
from playout.media.metadata import MediaInfo, metadata_command, parse_metadata
from playout.media.process import find_tool

RUNGS = ((1280, 720, 3000), (854, 480, 1400), (640, 360, 800))
"""Width, height and kb/s of each rung, best first: the ladder of the issue."""
PRESETS = ("veryfast", "superfast", "ultrafast")
REALTIME_TARGET = 1.2
SEGMENT_SECONDS = 2
LOOP_SECONDS = 10
"""The source is this much encoded once and repeated (stream copy) to its length."""


def make_source(work: Path, seconds: int) -> Path:
    """1080p30 H.264 (ultrafast at 20 Mb/s, so that decoding costs what a contribution-grade
    file's does) with stereo AAC: testsrc2 with temporal noise, which gives x264 detail to
    spend its bits on in every frame. A few seconds are encoded and repeated to the length."""
    unit = work / "unit.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30,noise=alls=10:allf=t+u",
         "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-ac", "2",
         "-t", str(min(seconds, LOOP_SECONDS)), "-c:v", "libx264", "-preset", "ultrafast",
         "-b:v", "20M", "-maxrate", "20M", "-bufsize", "40M", "-g", "60",
         "-vf", f"{RGB_TO_BT709},format=yuv420p",
         *BT709_TAGS, "-c:a", "aac", "-b:a", "192k", str(unit)],
        check=True, timeout=300,
    )  # fmt: skip
    source = work / "source.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-stream_loop", "-1", "-i", str(unit),
         "-t", str(seconds), "-c", "copy", str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    return source


def probe(ffprobe: str, path: Path) -> MediaInfo:
    result = subprocess.run(
        metadata_command(ffprobe, path), capture_output=True, check=True, timeout=30
    )
    return parse_metadata(result.stdout.decode())


def ladder_output(preset: str) -> Output:
    """The channel's output with the three renditions."""
    width, height, _ = RUNGS[0]
    renditions = [{"height": h, "bitrateKbps": kbps} for _, h, kbps in RUNGS]
    video = {"width": width, "height": height, "frameRate": 30, "preset": preset}
    return Output.model_validate({"renditions": renditions, "video": video})


def rung_outputs(preset: str) -> list[Output]:
    """One output per rung, with no renditions: what a separate ffmpeg for it would make."""
    return [
        Output.model_validate(
            {
                "video": {
                    "width": w, "height": h, "frameRate": 30, "bitrateKbps": kbps,
                    "preset": preset,
                }
            }
        )
        for w, h, kbps in RUNGS
    ]  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One ffmpeg run to measure, and where it writes."""

    name: str
    command: list[str]
    folder: Path
    segments: int
    """The segment files it must write: every rung's, over the whole length."""


def job(
    ffmpeg: str,
    name: str,
    output: Output,
    source: Path,
    info: MediaInfo,
    seconds: float,
    work: Path,
) -> Job:
    folder = work / name
    folder.mkdir()
    segments = SegmentOutput(folder / "run-%06d.ts", SEGMENT_SECONDS, EARLIEST_TS_OFFSET)
    command = item_command(ffmpeg, output, source, info, 0.0, segments, duration=seconds)
    per_rung = math.ceil(planned_length(output, seconds) / SEGMENT_SECONDS)
    return Job(name, command, folder, per_rung * len(ladder(output)))


@dataclass(frozen=True)
class Measured:
    cpu: float
    wall: float


def run(jobs: list[Job], *, at_once: bool) -> Measured:
    """CPU time (user + sys of the ffmpeg processes, once finished; this process's own,
    waiting on them, is a few milliseconds) and wall time of `jobs`, one after the other or
    all at once. Each must write its whole length of segments."""
    print(f"    load before: {load()}", flush=True)
    cpu = cpu_seconds()
    started = time.monotonic()
    running: list[tuple[Job, subprocess.Popen[bytes]]] = []
    for each in jobs:
        process = subprocess.Popen(
            each.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=each.folder
        )
        running.append((each, process))
        if not at_once:
            finish(each, process)
    for each, process in running:
        finish(each, process)
    measured = Measured(cpu_seconds() - cpu, time.monotonic() - started)
    print(
        f"    {measured.cpu:6.1f} CPU s, {measured.wall:6.1f} s wall; load after: {load()}",
        flush=True,
    )
    for each in jobs:
        shutil.rmtree(each.folder)
    return measured


def finish(each: Job, process: subprocess.Popen[bytes]) -> None:
    if process.returncode is not None:
        return
    _, errors = process.communicate(timeout=1200)
    if process.returncode:
        raise SystemExit(f"{each.name}: ffmpeg failed:\n{errors.decode()[-3000:]}")
    written = len(list(each.folder.glob("*.ts")))
    if written != each.segments:
        raise SystemExit(f"{each.name}: {written} segments written, not {each.segments}")
    if written:
        print(f"    {each.name}: {written} segments")


def decode_job(ffmpeg: str, source: Path, work: Path) -> Job:
    """The source decoded and dropped: what each separate run pays again."""
    folder = work / "decode"
    folder.mkdir()
    command = [ffmpeg, "-v", "error", "-nostdin", "-i", str(source), "-f", "null", "-"]
    return Job("decode", command, folder, segments=0)


@dataclass(frozen=True)
class Baselines:
    """What the first preset's ladder is measured against."""

    one_by_one: Measured
    at_once: Measured
    top_alone: Measured
    decode: Measured


@dataclass(frozen=True)
class PresetRun:
    preset: str
    media: float
    ladder: Measured
    baselines: Baselines | None

    @property
    def realtime(self) -> float:
        return self.media / self.ladder.wall

    def realtime_allowed(self, cores: int) -> float:
        """What the CPU time allows on `cores` cores with nothing else running."""
        return cores * self.media / self.ladder.cpu

    def per_minute(self, cpu: float) -> float:
        return cpu * 60 / self.media


def measure(
    ffmpeg: str,
    preset: str,
    source: Path,
    info: MediaInfo,
    seconds: int,
    work: Path,
    *,
    baselines: bool,
) -> PresetRun:
    """The ladder at `preset`; with `baselines`, also the three rungs one after the other
    (each alone, so that the 720p one is also the channel without renditions), the three at
    once, and a bare decode of the source."""
    output = ladder_output(preset)
    media = planned_length(output, seconds)
    print(f"  {preset}: the ladder, one ffmpeg", flush=True)
    ladder_run = run([job(ffmpeg, "ladder", output, source, info, seconds, work)], at_once=False)
    if not baselines:
        return PresetRun(preset, media, ladder_run, None)

    def singles(tag: str) -> list[Job]:
        return [
            job(ffmpeg, f"{tag}-{o.video.height}p", o, source, info, seconds, work)
            for o in rung_outputs(preset)
        ]

    print(f"  {preset}: three ffmpeg, one per rung, one after the other", flush=True)
    alone = [run([each], at_once=False) for each in singles("single")]
    print(f"  {preset}: three ffmpeg at once", flush=True)
    at_once = run(singles("parallel"), at_once=True)
    print("  the source decoded alone (ffmpeg -f null)", flush=True)
    decode = run([decode_job(ffmpeg, source, work)], at_once=False)
    summed = Measured(sum(m.cpu for m in alone), sum(m.wall for m in alone))
    return PresetRun(preset, media, ladder_run, Baselines(summed, at_once, alone[0], decode))


def rows(result: PresetRun, first: PresetRun, cores: int) -> list[tuple[str, str, float, str]]:
    preset, media = result.preset, result.media
    ladder_cpu = result.per_minute(result.ladder.cpu)
    realtime = [
        (
            f"{preset}: ladder, realtime factor on {cores} cores: {media:.0f} s of media in "
            f"{result.ladder.wall:.1f} s",
            f"real time: {media:.0f} s in {media:.0f} s",
            result.realtime,
            f">= {REALTIME_TARGET}x",
        ),
        (
            f"{preset}: ladder, realtime factor its CPU time allows on {cores} idle cores: "
            f"{cores} x {media:.0f} s / {result.ladder.cpu:.1f} CPU s",
            "real time",
            result.realtime_allowed(cores),
            f">= {REALTIME_TARGET}x",
        ),
    ]
    base = result.baselines
    if base is None:
        first_cpu = first.per_minute(first.ladder.cpu)
        return [
            (
                f"{preset}: ladder, CPU s per minute of output: {ladder_cpu:.1f}",
                f"the {first.preset} ladder: {first_cpu:.1f}",
                ladder_cpu / first_cpu,
                "(what the faster preset saves)",
            ),
            *realtime,
        ]
    base_cpu = result.per_minute(base.one_by_one.cpu)
    top_cpu = result.per_minute(base.top_alone.cpu)
    decode_cpu = result.per_minute(base.decode.cpu)
    return [
        (
            f"{preset}: ladder (one ffmpeg), CPU s per minute of output: {ladder_cpu:.1f}",
            f"three ffmpeg, one per rung, one after the other: {base_cpu:.1f}",
            ladder_cpu / base_cpu,
            "<= 0.7x",
        ),
        *realtime,
        (
            f"{preset}: ladder, wall time: {result.ladder.wall:.1f} s",
            f"three ffmpeg at once: {base.at_once.wall:.1f} s "
            f"({media / base.at_once.wall:.2f}x real time)",
            result.ladder.wall / base.at_once.wall,
            "(less is better)",
        ),
        (
            f"{preset}: ladder, CPU s per minute of output: {ladder_cpu:.1f}",
            f"the 720p rung alone (a channel without renditions): {top_cpu:.1f}",
            ladder_cpu / top_cpu,
            "(what the ladder costs)",
        ),
        (
            f"CPU s per minute the ladder saves: {base_cpu - ladder_cpu:.1f}",
            f"two decodes of the source (`ffmpeg -f null`): 2 x {decode_cpu:.1f}",
            (base_cpu - ladder_cpu) / (2 * decode_cpu),
            "(where the saving comes from)",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="length of the source")
    parser.add_argument(
        "--preset", action="append", choices=PRESETS, help="measure this preset (repeatable)"
    )
    parser.add_argument("--cores", type=int, default=2, help="run on at most this many cores")
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is needed (make system-deps)")
    ffmpeg, ffprobe = find_tool("ffmpeg"), find_tool("ffprobe")
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) > args.cores:
        os.sched_setaffinity(0, allowed[: args.cores])  # inherited by every ffmpeg
    cores = len(os.sched_getaffinity(0))
    print(f"renditions benchmark on {machine()}, running on {cores} of them, load {load()}\n")
    results: list[PresetRun] = []
    with tempfile.TemporaryDirectory(prefix="playout-bench-") as scratch:
        work = Path(scratch)
        print(f"making the source: 1080p30 H.264 + AAC, {args.seconds} s...", flush=True)
        source = make_source(work, args.seconds)
        info = probe(ffprobe, source)
        print(
            f"  {info.width}x{info.height}, {info.duration_seconds:.1f} s, "
            f"{(info.summary.bit_rate or 0) / 1e6:.1f} Mb/s\n"
        )
        for preset in args.preset or PRESETS:
            full = not results
            results.append(
                measure(ffmpeg, preset, source, info, args.seconds, work, baselines=full)
            )
            if not args.preset and results[-1].realtime >= REALTIME_TARGET:
                break  # a faster preset is only needed while the ladder misses its target
    print()
    table: list[tuple[str, str, float, str]] = []
    for result in results:
        table += rows(result, results[0], cores)
    presets = "".join(f" --preset {r.preset}" for r in results) if args.preset else ""
    print_table(table, f"python -m bench.renditions{presets}")
    for result in results:
        spent = {"ladder": result.ladder}
        if result.baselines:
            spent |= {
                "one after the other": result.baselines.one_by_one,
                "at once": result.baselines.at_once,
                "decode": result.baselines.decode,
            }
        times = "; ".join(f"{k} {m.cpu:.1f} CPU s in {m.wall:.1f} s" for k, m in spent.items())
        print(f"\n{result.preset}: {times}")


if __name__ == "__main__":
    main()
