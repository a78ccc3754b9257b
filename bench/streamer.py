"""Streamer benchmarks: every figure is a ratio against a baseline measured in the same run
on the same clips, so the machine's speed cancels out.

1. Start-up: `playout run` until its live playlist lists 3 segments, against plain ffmpeg
   writing 3 HLS segments of the same file.
2. CPU per minute of output, copy and transcode modes, against the settings of the
   single-container FFmpeg channel that inspired playout (libx264 `medium`, `-re`, 6 s
   segments, one ffmpeg per file).

Usage: python -m bench.streamer [--seconds 30]   (the output time measured per mode)
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from tests.samples import channel_document, free_port, make_clip

ROOT = Path(__file__).resolve().parent.parent


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def raw_ffmpeg_start(clip: Path, work: Path) -> float:
    """Seconds until plain ffmpeg has written 3 segments of `clip`."""
    out = work / "raw"
    out.mkdir()
    started = time.monotonic()
    process = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-i", str(clip), "-c:v", "libx264", "-preset", "veryfast",
         "-g", "50", "-sc_threshold", "0", "-c:a", "aac", "-f", "hls", "-hls_time", "2",
         "-hls_list_size", "0", str(out / "index.m3u8")],
    )  # fmt: skip
    try:
        while True:
            playlist = out / "index.m3u8"
            if playlist.exists() and playlist.read_text().count("#EXTINF") >= 3:
                return time.monotonic() - started
            if process.poll() is not None:
                raise RuntimeError("ffmpeg ended before writing 3 segments")
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()


def start_playout(
    media: Path, work: Path, name: str, mode: str, video: dict[str, object]
) -> tuple[subprocess.Popen[bytes], int]:
    document = channel_document(name, [{"path": "clips"}])
    document["spec"]["output"].update({"mode": mode, "video": video, "audio": {"bitrateKbps": 128}})
    channel = work / f"{name}.yaml"
    channel.write_text(yaml.safe_dump(document))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "playout.cli", "--log-level", "warning", "run", str(channel),
         "--media-root", str(media), "--state", str(work / f"{name}-state"), "--port", str(port)],
        cwd=ROOT,
    )  # fmt: skip
    return process, port


def segments_listed(port: int) -> int:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/live/index.m3u8", timeout=2
        ) as response:
            return response.read().decode().count("#EXTINF")
    except OSError:
        return 0


def playout_start(media: Path, work: Path, video: dict[str, object]) -> float:
    started = time.monotonic()
    process, port = start_playout(media, work, "start", "transcode", video)
    try:
        while segments_listed(port) < 3:
            if process.poll() is not None:
                raise RuntimeError("playout run exited")
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait()


def playout_cpu(
    media: Path, work: Path, mode: str, video: dict[str, object], seconds: float
) -> float:
    """CPU seconds (engine and its ffmpeg) per minute of live output."""
    before = children_cpu()
    process, port = start_playout(media, work, f"cpu-{mode}", mode, video)
    while segments_listed(port) < 1:
        time.sleep(0.05)
    time.sleep(seconds)
    process.terminate()
    process.wait()
    return (children_cpu() - before) * 60 / seconds


def baseline_cpu(clip: Path, work: Path, seconds: float) -> float:
    """The inspiring channel's ffmpeg: libx264 medium, -re, 6 s segments."""
    out = work / "baseline"
    out.mkdir()
    before = children_cpu()
    process = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-stream_loop", "-1", "-i", str(clip),
         "-c:v", "libx264", "-preset", "medium", "-b:v", "3000k", "-c:a", "aac", "-b:a", "128k",
         "-f", "hls", "-hls_time", "6", "-hls_list_size", "10", "-hls_flags", "delete_segments",
         str(out / "index.m3u8")],
    )  # fmt: skip
    time.sleep(seconds)
    process.terminate()
    process.wait()
    return (children_cpu() - before) * 60 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30, help="output time measured per mode")
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is needed (make system-deps)")
    video = {
        "width": 1280,
        "height": 720,
        "frameRate": 30,
        "bitrateKbps": 3000,
        "preset": "veryfast",
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media = work / "media"
        clips = [
            make_clip(media / f"clips/clip{n}.mp4", 20, size="1280x720", rate=30, tone=300 + 50 * n)
            for n in range(3)
        ]
        print(f"streamer benchmarks on {os.cpu_count()} cores, 720p30 clips of 20 s\n")
        raw = min(raw_ffmpeg_start(clips[0], Path(tempfile.mkdtemp(dir=work))) for _ in range(3))
        ours = min(playout_start(media, Path(tempfile.mkdtemp(dir=work)), video) for _ in range(3))
        print("start to 3 segments available (best of 3)")
        print(f"  plain ffmpeg -f hls     {raw:6.2f} s")
        print(f"  playout run             {ours:6.2f} s   ratio {ours / raw:.2f}x")
        base = baseline_cpu(clips[0], work, args.seconds)
        copy = playout_cpu(media, work, "copy", video, args.seconds)
        transcode = playout_cpu(media, work, "transcode", video, args.seconds)
        print(f"\nCPU seconds per minute of output ({args.seconds:.0f} s measured each)")
        print(f"  baseline (x264 medium, -re, 6 s)   {base:6.1f}")
        print(
            f"  playout transcode (x264 veryfast)  {transcode:6.1f}   ratio {transcode / base:.2f}x"
        )
        print(f"  playout copy                       {copy:6.1f}   ratio {copy / base:.3f}x")


if __name__ == "__main__":
    main()
