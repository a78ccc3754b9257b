"""Restarts: the program carries on from where it was, and the playlist's numbers only
grow."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from playout.media.hls import parse_playlist, playlist_violations, reload_violations
from tests.streaming import (
    StartStreamer,
    Streamer,
    channel_document,
    follow_live_playlist,
    make_clip,
)

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
def test_a_restart_resumes_within_a_segment(
    tmp_path: Path, streamer_for: StartStreamer, sig: int
) -> None:
    make_clip(tmp_path / "media/shows/Long S01E01.mkv", 40)
    make_clip(tmp_path / "media/shows/Long S01E02.mkv", 40)
    document = channel_document("resume", [{"path": "shows"}])
    state = tmp_path / "state"
    first = streamer_for(document, tmp_path / "media", state)
    first.wait_for_playlist(3)
    time.sleep(12)  # into the item, past the start burst
    before_playlist = parse_playlist(first.get("/live/index.m3u8").decode())
    before = first.status()
    first.stop(sig)
    cursor = before["progress"]["shows"]
    assert cursor["item"] == "shows/Long S01E01.mkv" and cursor["positionSeconds"] >= 10

    second = streamer_for(document, tmp_path / "media", state)
    resumed = second.wait_for_status(lambda status: status["nowPlaying"] is not None)["nowPlaying"]
    after_playlist = parse_playlist(second.get("/live/index.m3u8").decode())
    assert reload_violations(before_playlist, after_playlist) == []
    last_before = before_playlist.segments[-1].sequence
    new = [s for s in after_playlist.segments if s.sequence > last_before]
    # The first new segment starts a discontinuity (new timestamps), and the item goes on
    # from the saved cursor: within one segment of where playback had got to.
    assert new and new[0].discontinuity
    assert resumed["item"] == "shows/Long S01E01.mkv"
    resumed_from = resumed["positionSeconds"] - sum(segment.duration for segment in new)
    assert abs(resumed_from - cursor["positionSeconds"]) <= 2.1
    assert cursor["positionSeconds"] >= before["nowPlaying"]["positionSeconds"] - 2.0


def test_a_kill_mid_break_goes_on_with_the_same_break(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """SIGKILL 4 s into a 16-s ad break: the restarted engine joins the same break where
    the clock is (the same EXT-X-DATERANGE, no second CUE-OUT), returns from it on time,
    and the item goes on from its break point."""
    make_clip(tmp_path / "media/shows/Long S01E01.mkv", 200)
    breaks = [{"program": "shows", "everyMinutes": 2, "seconds": 16}]
    document = channel_document("break", [{"path": "shows"}], breaks=breaks)
    # The item began 108 s ago on the channel's clock: its break is at 120 s.
    epoch = datetime.now(UTC) - timedelta(seconds=108)
    document["metadata"]["creationTimestamp"] = epoch.isoformat()
    state = tmp_path / "state"
    first = streamer_for(document, tmp_path / "media", state)
    first.wait_for_playlist(2)
    while not any(s.cue_out for s in first.wait_for_playlist(1).segments):
        time.sleep(0.2)
    time.sleep(4)
    before = first.wait_for_playlist(1)
    first.stop(signal.SIGKILL)
    (opened,) = [s for s in before.segments if s.cue_out]
    (mark,) = [d for d in before.dateranges if d.attributes.get("SCTE35-OUT")]

    second = streamer_for(document, tmp_path / "media", state)
    # Every segment and date range a player reloading the playlist saw, before and after,
    # each segment as first listed (a discontinuity tag goes with the window's first line).
    seen = {s.sequence: s for s in before.segments}
    ranges = list(before.dateranges)
    last = before
    deadline = time.monotonic() + 40
    while not any(s.cue_in for s in seen.values() if s.sequence > opened.sequence):
        assert time.monotonic() < deadline, f"the break never ended:\n{second.log_text()}"
        time.sleep(0.5)
        after = second.wait_for_playlist(1)
        assert playlist_violations(after) == [] and reload_violations(last, after) == []
        for segment in after.segments:
            seen.setdefault(segment.sequence, segment)
        ranges += after.dateranges
        last = after
    # The first segment of the second engine starts a discontinuity (new timestamps; the
    # first may have published one more before the kill landed). It is inside the break.
    resumed_in = next(
        seen[n] for n in sorted(seen) if n > opened.sequence and seen[n].discontinuity
    )
    assert [s.sequence for s in seen.values() if s.cue_out] == [opened.sequence]
    assert resumed_in.break_elapsed is not None
    assert sorted(seen) == list(range(min(seen), max(seen) + 1)), "a segment was lost"
    assert {d.id for d in ranges if d.attributes.get("SCTE35-OUT")} == {mark.id}
    assert all(d.start_date == mark.start_date for d in ranges if d.id == mark.id)
    # Joined where the clock is: the break's elapsed time agrees with its segments' dates.
    assert resumed_in.program_date_time is not None and mark.start_date is not None
    since_start = (resumed_in.program_date_time - mark.start_date).total_seconds()
    assert abs(resumed_in.break_elapsed - since_start) <= 0.1
    # Back on time, and the item goes on from its break point.
    (back,) = [s for s in seen.values() if s.cue_in and s.sequence > opened.sequence]
    assert back.program_date_time is not None
    assert abs((back.program_date_time - mark.start_date).total_seconds() - 16) <= 0.1
    resumed = second.wait_for_status(
        lambda s: (s["nowPlaying"] or {}).get("item") == "shows/Long S01E01.mkv"
    )["nowPlaying"]
    assert 120 <= resumed["positionSeconds"] <= 126


def segmenting_ffmpeg(streamer: Streamer) -> int | None:
    """The pid of the ffmpeg that `streamer`'s engine runs to make segments, if one runs."""
    assert streamer.process is not None
    parent = streamer.process.pid
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rpartition(")")[2].split()[1])
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and argv[0].endswith(b"ffmpeg") and b"segment" in argv:
            return int(proc.name)
    return None


def _into_an_item(tmp_path: Path, streamer_for: StartStreamer, name: str) -> tuple[Streamer, int]:
    """A channel 8 s into a 60-s item, past the start burst, and its segmenting ffmpeg."""
    make_clip(tmp_path / "media/shows/Long S01E01.mkv", 60)
    streamer = streamer_for(channel_document(name, [{"path": "shows"}]), tmp_path / "media")
    streamer.wait_for_playlist(3)
    time.sleep(8)
    ffmpeg = segmenting_ffmpeg(streamer)
    assert ffmpeg is not None
    return streamer, ffmpeg


def test_a_hung_ffmpeg_is_restarted_before_players_run_dry(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """ffmpeg stopped for good (SIGSTOP, again whenever the engine lets it go on, as a read
    blocked on a dead NFS server would): the watchdog kills it, the item goes on from its
    last segment, and the live edge never stands still longer than a player 3 segments
    behind it holds."""
    streamer, hung = _into_an_item(tmp_path, streamer_for, "hung")
    stopped_at = time.monotonic()
    edges: list[tuple[float, int]] = []
    while time.monotonic() - stopped_at < 30:
        with contextlib.suppress(ProcessLookupError):
            os.kill(hung, signal.SIGSTOP)
        playlist = parse_playlist(streamer.get("/live/index.m3u8").decode())
        edge = playlist.segments[-1].sequence
        if not edges or edges[-1][1] != edge:
            edges.append((time.monotonic(), edge))
        time.sleep(0.2)
    replaced = segmenting_ffmpeg(streamer)
    assert replaced not in (None, hung)
    with contextlib.suppress(ProcessLookupError):
        os.kill(hung, signal.SIGCONT)
    longest = max(b[0] - a[0] for a, b in itertools.pairwise(edges))
    # The edge moved on after the restart, and never stood still for 3 segments (6 s).
    assert edges[-1][1] >= edges[0][1] + 10, edges
    assert longest < 3 * 2.0, (longest, edges)
    assert streamer.log is not None and "(watchdog)" in streamer.log.read_text()
    metrics = streamer.get("/metrics").decode()
    assert "playout_ffmpeg_restarts_total 1.0" in metrics
    final = parse_playlist(streamer.get("/live/index.m3u8").decode())
    assert playlist_violations(final) == []
    print(f"\nffmpeg hung: the live edge stood still at most {longest:.1f}s")


def test_a_killed_ffmpeg_is_replaced_and_the_item_goes_on_within_a_segment(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """ffmpeg killed mid-item (SIGKILL, as the OOM killer does): a new one takes the item
    up from the end of its last published segment, so the playlist goes on with the same
    item, no segment missing and none repeated, and the restart is counted."""
    streamer, victim = _into_an_item(tmp_path, streamer_for, "killed")
    os.kill(victim, signal.SIGKILL)
    # Long enough for the new run's first segments, short enough that the window (6
    # segments) still holds the last of the old run.
    seen = follow_live_playlist(lambda: streamer.get("/live/index.m3u8").decode(), 8, 2)
    assert seen.problems == []
    assert seen.titles == {"Long S01E01"}
    assert segmenting_ffmpeg(streamer) not in (None, victim)
    assert "playout_ffmpeg_restarts_total 1.0" in streamer.get("/metrics").decode()
    # The new run carries on the old one's timestamps from its last segment (no
    # discontinuity needed): each segment's date follows the one before it exactly.
    playlist = parse_playlist(streamer.get("/live/index.m3u8").decode())
    for before, after in itertools.pairwise(playlist.segments):
        assert before.program_date_time is not None and after.program_date_time is not None
        gap = (after.program_date_time - before.program_date_time).total_seconds()
        assert abs(gap - before.duration) < 0.05, (before, after)
    position = streamer.status()["nowPlaying"]["positionSeconds"]
    assert streamer.status()["nowPlaying"]["item"] == "shows/Long S01E01.mkv" and position > 20


def test_a_vanished_item_is_replaced_in_its_own_time(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """The timeline does not move: the rest of the vanished item's time airs the slate
    (there is no filler here), and the next item starts when the guide said."""
    make_clip(tmp_path / "media/shows/A S01E01.mkv", 16)
    make_clip(tmp_path / "media/shows/A S01E02.mkv", 6)
    document = channel_document("vanish", [{"path": "shows"}])
    state = tmp_path / "state"
    first = streamer_for(document, tmp_path / "media", state)
    first.wait_for_playlist(3)
    scheduled = next(p for p in first.status()["schedule"]["next"] if p["title"] == "A S01E02")
    time.sleep(2)
    first.stop()
    (tmp_path / "media/shows/A S01E01.mkv").unlink()
    second = streamer_for(document, tmp_path / "media", state)
    resumed = second.wait_for_status(
        lambda status: (status["nowPlaying"] or {}).get("item") == "shows/A S01E02.mkv"
    )
    assert resumed["nowPlaying"]["startedAt"][:19] == scheduled["start"][:19]
    assert any(s["item"] == "shows/A S01E01.mkv" and s["reason"] == "missing"
               for s in resumed["skipped"])  # fmt: skip
    asrun = [line for line in second.get("/asrun").decode().splitlines() if '"reason"' in line]
    assert any('"missing"' in line and '"slate"' in line for line in asrun)


def test_nothing_playable_keeps_the_stream_alive_with_a_slate(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    (tmp_path / "media/shows").mkdir(parents=True)
    (tmp_path / "media/shows/broken.mkv").write_bytes(b"this is not a video")
    # A state directory whose name would break a filter graph unescaped: the slate's text
    # file lives there.
    state = tmp_path / "st:ate, [x] it's"
    streamer = streamer_for(
        channel_document("slate", [{"path": "shows"}]), tmp_path / "media", state
    )
    streamer.wait_for_playlist(3)
    assert streamer.status()["nowPlaying"]["title"] == "We'll be right back"
    metrics = streamer.get("/metrics").decode()
    assert 'playout_items_skipped_total{reason="undecodable"} 1.0' in metrics


def test_items_that_fail_their_checks_are_skipped(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """`spec.probe`: the prober's quick profile before an item airs."""
    make_clip(tmp_path / "media/shows/A good.mkv", 6)
    # Cut short: the header still says 6 s, the packets end much sooner. It decodes, so
    # only the checks tell.
    whole = make_clip(tmp_path / "whole.mkv", 6, audio=False)
    cut = tmp_path / "media/shows/B truncated.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 4])
    document = channel_document("checked", [{"path": "shows"}], probe={})
    streamer = streamer_for(document, tmp_path / "media")
    # The rejected item's time airs the slate; then the good one plays again.
    status = streamer.wait_for_status(
        lambda s: s["skipped"] and (s["nowPlaying"] or {}).get("item") == "shows/A good.mkv",
        timeout=40,
    )
    assert status["nowPlaying"]["item"] == "shows/A good.mkv"
    (skipped,) = status["skipped"]
    assert skipped["item"] == "shows/B truncated.mkv"
    assert skipped["reason"] == "rejected"
    assert "duration" in skipped["message"]


def test_an_empty_lineup_goes_on_air_as_soon_as_media_arrives(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """The slate of an empty lineup ends at the next look for media once some has come:
    the lineup is planned again from there, not after the slate's planned minutes."""
    (tmp_path / "media/shows").mkdir(parents=True)
    streamer = streamer_for(channel_document("arrive", [{"path": "shows"}]), tmp_path / "media")
    streamer.wait_for_playlist(3)
    assert streamer.status()["nowPlaying"]["title"] == "We'll be right back"
    # Written aside and moved in whole, as a copy onto the volume would end.
    make_clip(tmp_path / "A S01E01.mkv", 20).rename(tmp_path / "media/shows/A S01E01.mkv")
    arrived = time.monotonic()
    streamer.wait_for_status(
        lambda s: (s["nowPlaying"] or {}).get("item") == "shows/A S01E01.mkv", timeout=60
    )
    print(f"\non air {time.monotonic() - arrived:.1f}s after the media arrived")
    guide = streamer.status()["schedule"]["next"]
    assert any(p["title"] == "A S01E01" for p in guide)


def test_media_that_comes_back_is_joined_where_the_clock_is(
    tmp_path: Path, streamer_for: StartStreamer
) -> None:
    """The whole media root goes away for a while (an NFS blip): the item due meanwhile
    is missing and the slate stands in; when the volume is back, the item is joined at the
    point the clock has reached in it, within seconds, not after the rest of its time."""
    media = tmp_path / "media"
    make_clip(media / "shows/A S01E01.mkv", 12)
    make_clip(media / "shows/A S01E02.mkv", 60)
    streamer = streamer_for(channel_document("outage", [{"path": "shows"}]), media)
    streamer.wait_for_playlist(2)
    scheduled = next(p for p in streamer.status()["schedule"]["next"] if p["title"] == "A S01E02")
    media.rename(tmp_path / "away")  # before E02 is opened
    streamer.wait_for_status(
        lambda s: any(
            k["item"] == "shows/A S01E02.mkv" and k["reason"] == "missing" for k in s["skipped"]
        ),
        timeout=60,
    )
    time.sleep(20)
    (tmp_path / "away").rename(media)
    back = time.monotonic()
    status = streamer.wait_for_status(
        lambda s: (s["nowPlaying"] or {}).get("item") == "shows/A S01E02.mkv", timeout=60
    )
    print(f"\njoined {time.monotonic() - back:.1f}s after the volume came back")
    now_playing = status["nowPlaying"]
    # Where the clock is in it (the outage's time has gone by), on its planned start.
    assert now_playing["positionSeconds"] >= 20
    assert now_playing["startedAt"][:19] == scheduled["start"][:19]


@pytest.fixture
def small_volume(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs for the engine's state: a volume that can fill up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(volume)], check=True)
    yield volume
    subprocess.run(["umount", "--lazy", str(volume)], check=False)


def test_a_full_volume_holds_the_stream_until_there_is_room(
    tmp_path: Path, small_volume: Path, streamer_for: StartStreamer
) -> None:
    """The state volume fills up (something else wrote to it): the engine says so in its
    status and a metric, keeps running, and goes on by itself once there is room."""
    media = tmp_path / "media"
    make_clip(media / "shows/A S01E01.mkv", 30)
    make_clip(media / "shows/A S01E02.mkv", 30)
    streamer = streamer_for(channel_document("full", [{"path": "shows"}]), media, small_volume)
    streamer.wait_for_playlist(3)
    ballast = small_volume / "ballast"
    descriptor = os.open(ballast, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, bytes(1 << 16)):
            pass
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)
    full = streamer.wait_for_status(lambda s: s["stream"].get("diskFullSince"), timeout=60)
    assert "playout_disk_full 1.0" in streamer.get("/metrics").decode()
    time.sleep(6)  # a look for room or two, still full
    assert streamer.process is not None and streamer.process.poll() is None
    ballast.unlink()
    sequence = full["stream"]["mediaSequence"]
    streamer.wait_for_status(
        lambda s: not s["stream"].get("diskFullSince") and s["stream"]["mediaSequence"] > sequence,
        timeout=60,
    )
    assert "playout_disk_full 0.0" in streamer.get("/metrics").decode()
    playlist = streamer.wait_for_playlist(3)
    assert playlist_violations(playlist) == []
    log = streamer.log_text()
    assert "The state volume is full" in log and "Traceback" not in log
