"""Timeline benchmarks: each figure is a ratio against a baseline measured in the same run on
the same files, so the machine's speed cancels out.

1. Planning: 10 slotted channels over a 5,000-file library (tiny real media whose lengths
   are realistic), each reading its folders and planning its 14-day guide; warm (the
   length cache filled) against listing the library, cold (every file probed) against
   ffprobe over every file with the library's concurrency.
2. Guide error: `playout run` on a slotted channel with filler, bumpers, "Up next" cards
   and breaks, for PLAYOUT_BENCH_GUIDE_MINUTES (default 30): how far what aired is from its
   scheduled time, and from the guide published at the start, against one segment.

Usage: python -m bench.timeline [--part planning|guide]   (both by default)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml

from playout.api.channel import Channel, ChannelSpec
from playout.media.ffmpeg import BT709_TAGS, RGB_TO_BT709
from playout.media.folders import list_media
from playout.media.metadata import metadata_command, parse_metadata
from playout.media.process import find_tool
from playout.streamer.library import PROBES_AT_ONCE, MediaLibrary, Unplayable
from playout.streamer.state import SavedTimeline
from playout.streamer.timeline import plan, start_cursor
from tests.samples import channel_document, free_port, make_clip

ROOT = Path(__file__).resolve().parent.parent

SHOWS = 50
EPISODES = 100
EPISODES_PER_SEASON = 25
CHANNELS = 10
PROGRAMS_PER_CHANNEL = 5
LENGTHS_MINUTES = (22, 30, 44, 90)
FILLER_CLIPS = 20
FILLER_SECONDS = 30
GUIDE_DAYS = 14
WARM_RUNS = 3
LISTINGS = 5
PROBE_TIMEOUT = 30.0
GUIDE_SLOT_SECONDS = 240
START_TIMEOUT = 180.0


# --- reporting ---------------------------------------------------------------------------


def machine() -> str:
    """Cores and CPU model: the ratios are meant to hold across machines, this says which."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} x {model}"


def load() -> str:
    """The 1-minute load average: on a shared machine it says how far to trust a figure."""
    return f"{os.getloadavg()[0]:.2f}"


def command(part: str) -> str:
    return f"python -m bench.timeline --part {part}"


def print_table(rows: Sequence[tuple[str, str, float, str]], run: str) -> None:
    """Markdown rows (figure, baseline, ratio, target, command, machine) for the docs; the
    load average is the one at the end of the measurement."""
    where = f"{machine()}, load {load()}"
    print("| figure | baseline | ratio | target | command | machine |")
    print("| --- | --- | --- | --- | --- | --- |")
    for figure, baseline, ratio, target in rows:
        print(f"| {figure} | {baseline} | {ratio:.2f}x | {target} | `{run}` | {where} |")


# --- 1. planning ------------------------------------------------------------------------


def encode_tiny(path: Path, seconds: int) -> Path:
    """16x16 H.264 at 1 fps, one keyframe: a real file of realistic length in about 18 bytes
    a second, whose length ffprobe reads from the container header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "color=c=gray:s=16x16:r=1",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", str(seconds),
         "-vf", f"{RGB_TO_BT709},format=yuv420p", *BT709_TAGS, str(path)],
        check=True, timeout=300,
    )  # fmt: skip
    return path


def check_master(ffprobe: str, path: Path, seconds: int) -> float:
    """Seconds one probe takes; fails unless ffprobe reads the intended length."""
    started = time.perf_counter()
    result = subprocess.run(
        metadata_command(ffprobe, path), capture_output=True, check=True, timeout=PROBE_TIMEOUT
    )
    took = time.perf_counter() - started
    duration = parse_metadata(result.stdout.decode()).duration_seconds or 0.0
    if abs(duration - seconds) > 1:
        raise SystemExit(f"{path.name}: ffprobe reads {duration} s, not {seconds} s")
    return took


def build_library(work: Path, ffprobe: str) -> Path:
    """50 show folders of 100 episodes and a folder of filler, each file its own copy (so
    its own version for the length cache)."""
    media = work / "media"
    masters = {
        minutes: encode_tiny(work / "masters" / f"{minutes}.mkv", minutes * 60)
        for minutes in LENGTHS_MINUTES
    }
    clip = encode_tiny(work / "masters" / "filler.mkv", FILLER_SECONDS)
    probes = [check_master(ffprobe, path, minutes * 60) for minutes, path in masters.items()]
    sizes = ", ".join(f"{m} min {p.stat().st_size // 1024} kB" for m, p in masters.items())
    print(f"masters: {sizes}; one ffprobe of the 90-minute one {max(probes) * 1000:.0f} ms")
    for show in range(SHOWS):
        name = f"Show {show:02d}"
        (media / name).mkdir(parents=True)
        master = masters[LENGTHS_MINUTES[show % len(LENGTHS_MINUTES)]]
        for episode in range(EPISODES):
            season, number = divmod(episode, EPISODES_PER_SEASON)
            shutil.copy(master, media / name / f"{name} S{season + 1:02d}E{number + 1:02d}.mkv")
    (media / "filler").mkdir()
    for number in range(FILLER_CLIPS):
        shutil.copy(clip, media / "filler" / f"Filler {number + 1:02d}.mkv")
    return media


def planning_spec(channel: int) -> ChannelSpec:
    """Five shows in four daily slots (a fifth on weekend evenings), breaks in two of them."""
    shows = [f"Show {channel * PROGRAMS_PER_CHANNEL + n:02d}" for n in range(PROGRAMS_PER_CHANNEL)]
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    slots = [
        {"start": "06:00", "program": shows[0]},
        {"start": "12:00", "program": shows[1], "fill": "cut"},
        {"start": "18:00", "program": shows[2], "days": weekdays},
        {"start": "18:00", "program": shows[4], "days": ["sat", "sun"], "fill": "slate"},
        {"start": "22:00", "program": shows[3]},
    ]
    document = channel_document(
        f"bench-{channel}",
        [{"path": show} for show in shows],
        schedule={"timezone": "Europe/Berlin", "guideDays": GUIDE_DAYS, "slots": slots},
        filler={"path": "filler"},
        breaks=[
            {"program": shows[0], "everyMinutes": 10, "seconds": 120},
            {"program": shows[2], "everyMinutes": 12, "seconds": 180},
        ],
    )
    return Channel.model_validate(document).spec


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ffprobes): on a shared
    machine it moves much less than wall time when others' load changes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class PlanningRun:
    """One pass over every channel: wall and CPU time, where the wall time went, the
    baseline's times when it ran interleaved, and per channel the timeline's entries, its
    JSON's size and the seconds to write and read it. Timelines are not kept: an engine
    holds one, and the garbage collector's cost grows with what is alive."""

    scan: float = 0.0
    plan: float = 0.0
    cpu: float = 0.0
    baseline: float = 0.0
    baseline_cpu: float = 0.0
    entries: list[int] = field(default_factory=list)
    json_bytes: list[int] = field(default_factory=list)
    dumps: list[float] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.scan + self.plan


async def probe_all(ffprobe: str, paths: Sequence[Path]) -> None:
    """ffprobe once over each of `paths`, as many at once as the library runs."""
    gate = asyncio.Semaphore(PROBES_AT_ONCE)

    async def one(path: Path) -> None:
        async with gate:
            process = await asyncio.create_subprocess_exec(
                *metadata_command(ffprobe, path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                await asyncio.wait_for(process.communicate(), PROBE_TIMEOUT)
            except TimeoutError:
                process.kill()
                raise
            if process.returncode != 0:
                raise RuntimeError(f"ffprobe failed on {path}")

    await asyncio.gather(*(one(path) for path in paths))


def plan_channels(
    specs: Sequence[ChannelSpec],
    media: Path,
    states: Path,
    ffprobe: str,
    epoch: datetime,
    *,
    baseline: Sequence[Sequence[Path]] = (),
) -> PlanningRun:
    """What each channel's engine does at start: read its folders, plan its guide. With
    `baseline`, bare ffprobe runs over the n-th list of files next to channel n, before it
    and after it in turn, so that a change in the shared machine's load or an order effect
    hits the baseline and the figure alike."""
    problems: list[str] = []

    def unplayable(path: str, problem: Unplayable) -> None:
        problems.append(f"{path}: {problem}")

    async def bare(run: PlanningRun, paths: Sequence[Path]) -> None:
        started, cpu = time.perf_counter(), cpu_seconds()
        await probe_all(ffprobe, paths)
        run.baseline += time.perf_counter() - started
        run.baseline_cpu += cpu_seconds() - cpu

    async def every_channel() -> PlanningRun:
        run = PlanningRun()
        for number, spec in enumerate(specs):
            if baseline and number % 2 == 0:
                await bare(run, baseline[number])
            started, cpu = time.perf_counter(), cpu_seconds()
            library = MediaLibrary(
                media_root=media,
                state_dir=states / f"channel-{number}",
                ffprobe=ffprobe,
                on_unplayable=unplayable,
            )
            listing = await library.scan(spec, excluded=set())
            scanned = time.perf_counter()
            cursor = start_cursor(spec, epoch)
            entries, cursor = plan(spec, listing, cursor, until=epoch + timedelta(days=GUIDE_DAYS))
            run.scan += scanned - started
            run.plan += time.perf_counter() - scanned
            run.cpu += cpu_seconds() - cpu
            saved = SavedTimeline(entries=entries, cursor=cursor)
            text = saved.model_dump_json()
            run.entries.append(len(entries))
            run.json_bytes.append(len(text.encode()))
            run.dumps.append(timed(saved.model_dump_json))
            # What a restart reads instead of planning again.
            run.reads.append(timed(partial(SavedTimeline.model_validate_json, text)))
            if baseline and number % 2 == 1:
                await bare(run, baseline[number])
        return run

    run = asyncio.run(every_channel())
    if problems:
        raise SystemExit("unplayable files: " + "; ".join(problems[:5]))
    return run


def walk_and_stat(media: Path) -> int:
    """The least any listing that notices changed files must do."""
    count = 0
    for directory, _, files in os.walk(media):
        for name in files:
            os.stat(f"{directory}/{name}")  # noqa: PTH116 (the plainest stat is the floor)
            count += 1
    return count


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def planning_benchmark(ffprobe: str, run: str) -> None:
    with tempfile.TemporaryDirectory(prefix="playout-bench-") as scratch:
        work = Path(scratch)
        print(f"building the library ({SHOWS * EPISODES + FILLER_CLIPS} files)...", flush=True)
        media = build_library(work, ffprobe)
        os.sync()  # so that the copies' writeback does not overlap the cold pass
        count = sum(1 for _ in media.rglob("*.mkv"))
        specs = [planning_spec(number) for number in range(CHANNELS)]
        epoch = datetime.now(UTC).replace(microsecond=0)
        print(f"load before the cold pass: {load()}", flush=True)

        # The baseline probes every file once: channel n's shows next to channel n, and the
        # filler (which every channel probes, each with its own cache) with the first.
        shares = [
            sorted(f for program in spec.programs for f in (media / program.path).glob("*.mkv"))
            for spec in specs
        ]
        shares[0] = sorted((media / "filler").glob("*.mkv")) + shares[0]
        cold = plan_channels(specs, media, work / "state", ffprobe, epoch, baseline=shares)
        print(f"load after the cold pass: {load()}", flush=True)

        listed, listed_cpu, walked, warm = [], [], [], []
        for _ in range(WARM_RUNS):
            # The baselines are short, so a burst of others' work skews one run: several.
            for _ in range(LISTINGS):
                cpu = cpu_seconds()
                listed.append(timed(lambda: list_media(media, "")))
                listed_cpu.append(cpu_seconds() - cpu)
                walked.append(timed(lambda: walk_and_stat(media)))
            warm.append(plan_channels(specs, media, work / "state", ffprobe, epoch))
        print(f"load after the warm passes: {load()}\n")

    middle = sorted(warm, key=lambda r: r.seconds)[len(warm) // 2]
    listing, walking = statistics.median(listed), statistics.median(walked)
    what = f"scan + plan {GUIDE_DAYS} days, {CHANNELS} channels"
    print_table(
        [
            (
                f"warm: {what} (median of {WARM_RUNS}): {middle.seconds:.3f} s",
                f"`list_media` over the root, {count} files (median of {len(listed)}): "
                f"{listing:.3f} s",
                middle.seconds / listing,
                "<= 2x",
            ),
            (
                "warm, the same",
                f"`os.walk` + `stat` of every file: {walking:.3f} s",
                middle.seconds / walking,
                "(floor)",
            ),
            (
                f"warm, CPU time: {middle.cpu:.3f} s",
                f"`list_media`'s CPU time: {statistics.median(listed_cpu):.3f} s",
                middle.cpu / statistics.median(listed_cpu),
                "(less noisy)",
            ),
            (
                f"cold: {what}, empty caches: {cold.seconds:.1f} s",
                f"ffprobe over every file, {PROBES_AT_ONCE} at once: {cold.baseline:.1f} s",
                cold.seconds / cold.baseline,
                "<= 1.2x",
            ),
            (
                f"cold, CPU time: {cold.cpu:.1f} s",
                f"the same ffprobes' CPU time: {cold.baseline_cpu:.1f} s",
                cold.cpu / cold.baseline_cpu,
                "(less noisy)",
            ),
        ],
        run,
    )
    sizes = [size / 1e6 for size in middle.json_bytes]
    print(
        f"\nwarm split: scan {middle.scan:.3f} s, plan {middle.plan:.3f} s; "
        f"cold split: scan {cold.scan:.1f} s, plan {cold.plan:.3f} s"
    )
    print(
        f"per channel: {min(middle.entries)}-{max(middle.entries)} entries planned; timeline "
        f"JSON {min(sizes):.2f}-{max(sizes):.2f} MB, serialised in "
        f"{statistics.median(middle.dumps) * 1000:.0f} ms and read back in "
        f"{statistics.median(middle.reads) * 1000:.0f} ms (medians)"
    )


# --- 2. guide error ---------------------------------------------------------------------


def guide_media(media: Path) -> None:
    """Three shows (one with items long enough for a break), filler and bumpers."""
    for number in range(3):
        make_clip(media / f"shows/Alpha/Alpha E{number + 1:02d}.mp4", 45, tone=300 + 40 * number)
    for number in range(2):
        make_clip(media / f"shows/Beta/Beta E{number + 1:02d}.mp4", 190, tone=500 + 40 * number)
    for number in range(3):
        make_clip(media / f"shows/Gamma/Gamma E{number + 1:02d}.mp4", 35, tone=700 + 40 * number)
    for number in range(3):
        make_clip(media / f"filler/Filler {number + 1}.mp4", 6, tone=900 + 40 * number)
    for number in range(2):
        make_clip(media / f"bumpers/Bumper {number + 1}.mp4", 3, tone=1200 + 40 * number)


def guide_document(first_slot: datetime, slots: int) -> dict[str, Any]:
    """Slots every few minutes (UTC, to the second), each kind of fill, breaks in Beta."""
    rotation = [
        ("shows/Alpha", "filler"),
        ("shows/Beta", "filler"),
        ("shows/Gamma", "cut"),
        ("shows/Alpha", "slate"),
    ]
    table = []
    for number in range(slots):
        program, fill = rotation[number % len(rotation)]
        start = first_slot + timedelta(seconds=number * GUIDE_SLOT_SECONDS)
        table.append({"start": start.strftime("%H:%M:%S"), "program": program, "fill": fill})
    return channel_document(
        "guide-bench",
        [{"path": "shows/Alpha"}, {"path": "shows/Beta"}, {"path": "shows/Gamma"}],
        schedule={"timezone": "UTC", "guideDays": 1, "slots": table},
        filler={"path": "filler"},
        bumpers={"path": "bumpers", "upNext": True},
        breaks=[{"program": "shows/Beta", "everyMinutes": 2, "seconds": 10}],
    )


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        body: bytes = response.read()
        return body


def wait_on_air(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the live playlist lists a segment (or the engine fails, or time is up)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"playout run exited:\n{log.read_text()[-3000:]}")
        try:
            if b"#EXTINF" in get(port, "/live/index.m3u8"):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"nothing on air after {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def aired(record: dict[str, Any]) -> tuple[datetime, datetime]:
    """(scheduled, aired) the way the engine measures drift: a segment published after its
    own time reached viewers when it was published. A record that joined mid-entry (a
    restart) is measured from where it joined."""
    joined = timedelta(seconds=record.get("joinedAt") or 0)
    scheduled = moment(record["scheduledStart"]) + joined
    started = moment(record["start"]) + joined
    return scheduled, max(started, moment(record["publishedAt"]))


def guide_benchmark(minutes: float, run: str) -> None:
    with tempfile.TemporaryDirectory(prefix="playout-bench-") as scratch:
        work = Path(scratch)
        print("making the media...", flush=True)
        guide_media(work / "media")
        first_slot = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
        slots = int(minutes * 60 // GUIDE_SLOT_SECONDS) + 2
        document = guide_document(first_slot, slots)
        segment = float(document["spec"]["output"]["segmentSeconds"])
        channel = work / "guide-bench.yaml"
        channel.write_text(yaml.safe_dump(document))
        port = free_port()
        log = work / "engine.log"
        print(f"load before the run: {load()}; {slots} slots from {first_slot:%H:%M:%S} UTC")
        with log.open("w") as output:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "playout"), "--log-level", "warning", "run",
                 str(channel), "--media-root", str(work / "media"), "--state", str(work / "state"),
                 "--port", str(port)],
                stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip
        try:
            wait_on_air(process, port, log)
            guide_read = datetime.now(UTC)
            guide = ElementTree.fromstring(get(port, "/xmltv.xml"))  # noqa: S314 (our engine)
            print(f"on air; running for {minutes:g} minutes...", flush=True)
            deadline = time.monotonic() + minutes * 60
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise SystemExit(f"playout run exited:\n{log.read_text()[-3000:]}")
                time.sleep(min(5.0, max(deadline - time.monotonic(), 0.0)))
            lines = get(port, "/asrun?limit=10000").decode().splitlines()
            records = [json.loads(line) for line in lines if line.strip()]
            print(f"load at the end of the run: {load()}")
        finally:
            stop(process)
        warnings = [line for line in log.read_text().splitlines() if line.strip()]
        print(f"engine log lines at warning or above: {len(warnings)}")
        for line in warnings[:5]:
            print(f"  {line[:160]}")
        print()

    if not records:
        raise SystemExit("the as-run log is empty")
    drifts = [abs((a - s).total_seconds()) for s, a in map(aired, records)]
    reported = max(abs(r["driftSeconds"]) for r in records)
    last_scheduled = max(moment(r["scheduledStart"]) for r in records)
    by_start = [(moment(r["scheduledStart"]), r) for r in records]
    errors, missing, retitled = [], 0, 0
    for programme in guide.iter("programme"):
        start = datetime.strptime(programme.attrib["start"], "%Y%m%d%H%M%S %z")
        if start <= guide_read or start > last_scheduled:
            continue  # on air before the guide was read, or after the as-run log was
        near = [(abs((s - start).total_seconds()), r) for s, r in by_start]
        distance, record = min(near, key=lambda pair: pair[0])
        if distance > 1.0:  # the guide is in whole seconds (rounded), the as-run log truncated
            missing += 1
            continue
        title = programme.findtext("title") or ""
        if programme.find("category") is None and title != record["title"]:
            retitled += 1
        errors.append(abs((aired(record)[1] - start).total_seconds()))
    if not errors:
        raise SystemExit("no guide programme started inside the run")
    kinds = sorted({r["kind"] for r in records})
    print_table(
        [
            (
                f"max \\|aired - scheduled\\|, {len(records)} as-run entries: {max(drifts):.2f} s",
                f"one segment: {segment:g} s",
                max(drifts) / segment,
                "<= 1.0x",
            ),
            (
                f"max \\|guide start - aired\\|, {len(errors)} programmes: {max(errors):.2f} s",
                f"one segment: {segment:g} s",
                max(errors) / segment,
                "<= 1.0x",
            ),
        ],
        f"PLAYOUT_BENCH_GUIDE_MINUTES={minutes:g} {run}",
    )
    print(
        f"\nmax |driftSeconds| the engine logged: {reported:.3f} s (as-run times are whole "
        f"seconds, so the rows above are +-1 s); kinds aired: {', '.join(kinds)}; guide "
        f"programmes with no as-run entry at their start: {missing}; with another title: "
        f"{retitled}; entries that aired a stand-in: {sum(bool(r.get('reason')) for r in records)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=["planning", "guide"], help="run only this benchmark")
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is needed (make system-deps)")
    ffprobe = find_tool("ffprobe")
    print(f"timeline benchmarks on {machine()}, load {load()}\n")
    if args.part in (None, "planning"):
        print("== planning")
        planning_benchmark(ffprobe, command("planning"))
    if args.part in (None, "guide"):
        minutes = float(os.environ.get("PLAYOUT_BENCH_GUIDE_MINUTES", "30"))
        print("\n== guide error")
        guide_benchmark(minutes, command("guide"))


if __name__ == "__main__":
    main()
