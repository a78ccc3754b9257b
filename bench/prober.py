"""How fast the prober's standard profile is, as ratios measured in one run on one machine:

- x realtime: media seconds checked per wall-clock second;
- against a bare decode (`ffmpeg -f null`): what the checks cost on top of decoding;
- against one decode per check (what a tool that runs each check as its own ffmpeg does),
  with the same filters, the same sampling and the same metadata and packet reads;
- the report's pictures (loudness curve, a picture a second, the HTML page) against the
  same probe without them: what `--html` and a probe Job's report ConfigMap cost.

Usage: .venv/bin/python -m bench.prober [--seconds 24] [--clip PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from playout.api.probejob import ProbeProfile
from playout.media.ffmpeg import BT709_TAGS, RGB_TO_BT709
from playout.media.metadata import metadata_command, packets_command, parse_metadata
from playout.media.process import find_tool, input_for, run_tool
from playout.prober.catalogue import settings_for
from playout.prober.engine import ProbeRequest, probe
from playout.prober.graph import one_pass_per_check
from playout.prober.html import report_page


def generate(path: Path, seconds: float) -> None:
    """A 1080p25 H.264 programme with stereo AAC: a moving test pattern and a tone."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25",
            "-f", "lavfi", "-i", "sine=f=1000:r=48000",
            "-t", f"{seconds:g}", "-ac", "2", "-vf", f"{RGB_TO_BT709},format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p",
            *BT709_TAGS, "-c:a", "aac", "-b:a", "192k", str(path),
        ],
        check=True,
    )  # fmt: skip


def timed(action: Callable[[], object], repeat: int) -> float:
    """Best wall-clock time of `repeat` runs: the machine is shared, noise only adds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.monotonic()
        action()
        best = min(best, time.monotonic() - started)
    return best


def run(args: list[str]) -> None:
    result = asyncio.run(run_tool(args, 3600))
    if not result.ok:
        raise SystemExit(f"{args[0]} failed: {result.stderr[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=24, help="length of the generated clip")
    parser.add_argument("--clip", type=Path, help="benchmark this file instead of a generated one")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measure (best kept)")
    options = parser.parse_args()

    ffmpeg, ffprobe = find_tool("ffmpeg"), find_tool("ffprobe")
    with tempfile.TemporaryDirectory(prefix="playout-bench-") as scratch:
        clip = options.clip or Path(scratch) / "programme.mp4"
        if options.clip is None:
            print(f"generating a {options.seconds:g} s 1080p clip...", file=sys.stderr)
            generate(clip, options.seconds)
        source = str(clip)
        info = asyncio.run(run_tool(metadata_command(ffprobe, source), 60))
        media = parse_metadata(info.stdout.decode())
        duration = media.duration_seconds or options.seconds
        settings = settings_for(ProbeProfile.STANDARD, {})
        reading = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"]
        reading += ["-i", input_for(source)]
        bare = [*reading, "-f", "null", "-"]

        decode = timed(lambda: run(bare), options.repeat)
        request = ProbeRequest(source, ProbeProfile.STANDARD, {}, 3600)
        engine = timed(lambda: asyncio.run(probe(request)), options.repeat)
        drawn = replace(request, pictures=True)
        with_pictures = timed(
            lambda: report_page(asyncio.run(probe(drawn)), source=source, profile="standard"),
            options.repeat,
        )

        # The same work, one ffmpeg per check: metadata and packets as the engine reads
        # them, a full decode for decode errors, then each content check on its own.
        passes = [metadata_command(ffprobe, source), packets_command(ffprobe, source, None), bare]
        for stream, chain in one_pass_per_check(media, settings).values():
            graph = f"[{stream}]{chain}[out]"
            passes.append([*reading, "-filter_complex", graph, "-map", "[out]", "-f", "null", "-"])
        per_check = timed(lambda: [run(args) for args in passes], 1)

    video = media.summary.video
    print(
        f"prober benchmark: {media.width}x{media.height} {video.codec if video else '?'}, "
        f"{duration:.1f} s, {os.cpu_count()} CPUs"
    )
    rows = [
        ("bare decode (ffmpeg -f null)", decode, ""),
        ("playout probe --profile standard", engine, f"{engine / decode:.2f}x the bare decode"),
        (
            "... with the report's pictures (--html)",
            with_pictures,
            f"{with_pictures / engine:.2f}x without them (target <= 1.15x)",
        ),
        (
            f"one decode per check ({len(passes)} runs)",
            per_check,
            f"playout is {per_check / engine:.1f}x faster",
        ),
    ]
    for label, seconds, ratio in rows:
        print(f"  {label:38} {seconds:6.2f} s  {duration / seconds:5.1f}x realtime  {ratio}")


if __name__ == "__main__":
    main()
