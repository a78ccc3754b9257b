"""Library QC: how many files a minute a folder is checked at with one shard and with two,
as a ProbeJob's Indexed Job runs them (one `playout probe` process per shard, side by
side). The ratio is the shard speed-up on this machine's cores; one shard is the baseline,
measured in the same run.

Usage: .venv/bin/python -m bench.library [--clips 20] [--seconds 10] [--shards 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.samples import make_clip

PLAYOUT = Path(sys.executable).with_name("playout")


def check_folder(folder: Path, shards: int) -> float:
    """Seconds for `shards` processes to check every file of `folder`, each its shard."""
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [
                str(PLAYOUT),
                "probe",
                str(folder),
                "--json",
                "--shard",
                str(shard),
                "--shards",
                str(shards),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for shard in range(shards)
    ]
    codes = [process.wait() for process in processes]
    if any(code not in (0, 1) for code in codes):  # 1: a file failed, which is a verdict
        raise SystemExit(f"playout probe failed: exit codes {codes}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="files in the folder")
    parser.add_argument("--seconds", type=float, default=10, help="length of each file")
    parser.add_argument("--shards", type=int, default=2, help="shards of the parallel run")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="playout-bench-") as scratch:
        folder = Path(scratch) / "Season 1"
        print(f"generating {options.clips} clips of {options.seconds:g} s...", file=sys.stderr)
        for n in range(1, options.clips + 1):
            make_clip(folder / f"S01E{n:02}.mkv", options.seconds, size="640x360", tone=300 + n)
        one = check_folder(folder, 1)
        load_one = os.getloadavg()[0]
        many = check_folder(folder, options.shards)
        load_many = os.getloadavg()[0]
    print(
        f"library benchmark: {options.clips} files of {options.seconds:g} s (640x360 H.264 + "
        f"AAC), standard profile, {os.cpu_count()} CPUs"
    )
    runs = (("1 shard", one, load_one), (f"{options.shards} shards", many, load_many))
    for label, seconds, load in runs:
        print(
            f"  {label:10} {seconds:6.1f} s  {options.clips * 60 / seconds:6.1f} files/min"
            f"  (load {load:.2f} after)"
        )
    print(f"  speed-up: {one / many:.2f}x with {options.shards} shards")


if __name__ == "__main__":
    main()
