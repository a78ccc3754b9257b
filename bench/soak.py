"""Soak: one channel for an hour (`--minutes`), its engine's resources sampled as it goes.

No engine airs faster than the clock, so the churn is what is accelerated: 1-second
segments, 6-second items in transcode mode, bumpers and "Up next" cards between them, a
break every 2 minutes filled with 3-second filler clips. An hour is about 3,600 segments and
1,100 runs of ffmpeg (and as many loudness measurements of new versions of the files: the
media folder's files are rewritten every few minutes): the per-segment and per-item work
of weeks of an ordinary channel.

Sampled every `--every` seconds: the engine's resident memory, open file descriptors and
threads, the state directory's size on disk, and ffmpeg processes alive. Each figure is
given at the start (after a warm-up of 2 minutes, the baseline), at the end, as a ratio
of the two, and as the slope of a least-squares line through the samples after the
warm-up, per hour.

Usage: python -m bench.soak [--minutes 60] [--every 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.samples import channel_document, free_port, make_clip

ROOT = Path(__file__).resolve().parent.parent
WARM_UP_SECONDS = 120.0
# The media folder's files get a new version this often (touched), so that the library's
# caches and the loudness meter keep seeing new work, as a library being added to does.
REWRITE_SECONDS = 300.0


@dataclass(frozen=True)
class Sample:
    at: float
    rss_mb: float
    fds: int
    threads: int
    disk_mb: float
    ffmpegs: int


def _status_fields(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _disk_mb(folder: Path) -> float:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_blocks * 512
        except OSError:
            continue  # a segment deleted meanwhile
    return total / 1e6


def sample(pid: int, state: Path, started: float) -> Sample:
    fields = _status_fields(pid)
    ffmpegs = sum(
        1 for child in _children(pid) if Path(f"/proc/{child}/comm").read_text().strip() == "ffmpeg"
    )
    return Sample(
        at=time.monotonic() - started,
        rss_mb=int(fields["VmRSS"].split()[0]) / 1024,
        fds=sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()),
        threads=int(fields["Threads"]),
        disk_mb=_disk_mb(state),
        ffmpegs=ffmpegs,
    )


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


def make_media(root: Path) -> None:
    for n in range(6):
        make_clip(root / f"shows/Show S01E0{n + 1}.mkv", 6, tone=300 + 40 * n)
    for n in range(4):
        make_clip(root / f"filler/filler{n}.mkv", 3, tone=900 + 50 * n)
    for n in range(2):
        make_clip(root / f"bumpers/bumper{n}.mkv", 1, tone=1500 + 100 * n)


def rewrite(root: Path, stop: threading.Event) -> None:
    """Give every file a new version now and then (a new modification time)."""
    while not stop.wait(REWRITE_SECONDS):
        for path in root.rglob("*.mkv"):
            path.touch()


def segments_listed(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/live/index.m3u8", timeout=5) as r:
            text: str = r.read().decode()
    except OSError:
        return 0
    return text.count("#EXTINF")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60, help="how long the channel runs")
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is needed (make system-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        media, state = work / "media", work / "state"
        make_media(media)
        document = channel_document(
            "soak",
            [{"path": "shows"}],
            filler={"path": "filler"},
            bumpers={"path": "bumpers", "upNext": True, "upNextSeconds": 1},
            breaks=[{"program": "shows", "everyMinutes": 2, "seconds": 6}],
        )
        document["spec"]["output"].update({"mode": "transcode", "segmentSeconds": 1})
        channel = work / "soak.yaml"
        channel.write_text(yaml.safe_dump(document))
        port = free_port()
        log = (work / "engine.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "playout.cli", "--log-level", "warning", "run", str(channel),
             "--media-root", str(media), "--state", str(state), "--port", str(port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        stop = threading.Event()
        threading.Thread(target=rewrite, args=(media, stop), daemon=True).start()
        samples: list[Sample] = []
        print(f"soak: one channel for {args.minutes:g} minutes on {os.cpu_count()} cores")
        try:
            while segments_listed(port) < 3:
                if process.poll() is not None:
                    sys.exit(f"playout run exited:\n{(work / 'engine.log').read_text()[-2000:]}")
                time.sleep(0.2)
            started = time.monotonic()
            while time.monotonic() - started < args.minutes * 60:
                samples.append(sample(process.pid, state, started))
                if process.poll() is not None:
                    sys.exit(f"playout run exited:\n{(work / 'engine.log').read_text()[-2000:]}")
                time.sleep(args.every)
            samples.append(sample(process.pid, state, started))
            listed = segments_listed(port)
        finally:
            stop.set()
            process.terminate()
            process.wait()
            log.close()
        report(samples, listed, os.getloadavg()[0])


def report(samples: list[Sample], listed: int, load: float) -> None:
    warm = [s for s in samples if s.at >= WARM_UP_SECONDS] or samples
    first, last = warm[0], warm[-1]
    print(f"{len(samples)} samples; from {first.at / 60:.1f} to {last.at / 60:.1f} minutes\n")
    print(f"{'figure':22s} {'start':>9s} {'end':>9s} {'ratio':>7s} {'slope / hour':>13s}")
    for name, label in [
        ("rss_mb", "engine RSS, MB"),
        ("fds", "open descriptors"),
        ("threads", "threads"),
        ("disk_mb", "state on disk, MB"),
        ("ffmpegs", "ffmpeg processes"),
    ]:
        start, end = getattr(first, name), getattr(last, name)
        slope = slope_per_hour([(s.at, getattr(s, name)) for s in warm])
        ratio = f"{end / start:.2f}x" if start else "-"
        print(f"{label:22s} {start:9.1f} {end:9.1f} {ratio:>7s} {slope:+13.2f}")
    peak = max(samples, key=lambda s: s.rss_mb)
    print(
        f"\npeak RSS {peak.rss_mb:.1f} MB at {peak.at / 60:.1f} min; the live playlist listed "
        f"{listed} segments at the end; load {load:.2f}"
    )


if __name__ == "__main__":
    main()
