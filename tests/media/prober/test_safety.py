"""Broken input fails with a clear message and never crashes; the timeout holds on a source
that never ends; odd file names are safe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from playout.api.probejob import CheckStatus, Verdict
from tests.media.prober.conftest import check, ffmpeg, make_clip, run

pytestmark = pytest.mark.bad_input

PLAYOUT = [sys.executable, "-m", "playout.cli"]


def test_a_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    report = run(empty)
    assert report.verdict == Verdict.FAIL
    readable = check(report, "readable")
    assert readable.status == CheckStatus.ERROR
    assert "empty (0 bytes)" in readable.message


def test_a_file_that_is_not_media(tmp_path: Path) -> None:
    text = tmp_path / "episode.mp4"
    text.write_text("this is a shopping list, not a film\n" * 50)
    readable = check(run(text), "readable")
    assert readable.status == CheckStatus.ERROR
    assert "not readable as media" in readable.message
    assert "Invalid data found when processing input" in readable.message


def test_a_truncated_file_without_an_index(clean: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    ffmpeg("-i", str(clean), "-c", "copy", str(whole))  # the MP4 index is written last
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])
    report = run(cut)
    assert report.verdict == Verdict.FAIL
    readable = check(report, "readable")
    assert readable.status == CheckStatus.ERROR and "moov atom not found" in readable.message


def test_a_truncated_file_with_its_index_first(clean: Path, tmp_path: Path) -> None:
    whole = tmp_path / "faststart.mp4"
    ffmpeg("-i", str(clean), "-c", "copy", "-movflags", "+faststart", str(whole))
    cut = tmp_path / "cut-faststart.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for profile in ("quick", "standard"):
        report = run(cut, profile)
        assert report.verdict == Verdict.FAIL
        duration = check(report, "duration")
        assert duration.status == CheckStatus.FAIL
        assert "truncated or damaged" in duration.message


def test_damaged_packets_are_decode_errors(clean: Path, tmp_path: Path) -> None:
    stream = tmp_path / "clip.ts"
    ffmpeg("-i", str(clean), "-c", "copy", str(stream))
    data = bytearray(stream.read_bytes())
    for offset in range(len(data) // 3, 2 * len(data) // 3, 4000):
        data[offset : offset + 16] = bytes(range(16))
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    errors = check(run(damaged), "decodeErrors")
    assert errors.status == CheckStatus.FAIL
    assert errors.value is not None and errors.value > 0
    assert "first:" in errors.message


def _processes_reading(path: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if str(path).encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_the_timeout_kills_a_source_that_never_ends(tmp_path: Path) -> None:
    never = tmp_path / "never.ts"
    os.mkfifo(never)  # opening it blocks until a writer comes, and none will
    started = time.monotonic()
    report = run(never, timeout=3)
    assert time.monotonic() - started < 6
    assert report.verdict == Verdict.FAIL
    timeout = check(report, "timeout")
    assert timeout.status == CheckStatus.ERROR and "3 s timeout" in timeout.message
    assert _processes_reading(never) == []


@pytest.mark.parametrize("name", ["we:ird, [name]'s; x.mkv", "-starts-with-dash.mkv", "a\nb.mkv"])
def test_odd_file_names(
    clean: Path, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = tmp_path / name
    shutil.copy(clean, odd)
    # Scratch files of the graph under an odd folder too: their paths sit inside the graph.
    scratch = tmp_path / "tmp: [odd], 'dir';"
    scratch.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    report = run(odd)
    assert report.verdict == Verdict.PASS, [(c.name, c.message) for c in report.checks]
    assert check(report, "black").status == CheckStatus.PASS


def test_the_cli_reports_through_a_termination_log(defects: Path, tmp_path: Path) -> None:
    log = tmp_path / "termination-log"
    result = subprocess.run(
        [*PLAYOUT, "probe", str(defects), "--profile", "broadcast", "--json",
         "--termination-log", str(log)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr  # the verdict travels in the report
    assert '"verdict": "fail"' in result.stdout
    message = log.read_text()
    assert len(message.encode()) <= 4096
    assert '"verdict":"fail"' in message
    plain = subprocess.run(
        [*PLAYOUT, "probe", str(defects), "--profile", "broadcast"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert plain.returncode == 1
    assert "FAIL" in plain.stdout.splitlines()[0]


def test_a_reference_comparison(clean: Path, tmp_path: Path) -> None:
    degraded = make_clip(tmp_path / "degraded.mkv", 10, extra=("-crf", "51"))
    report = run(degraded, reference=str(clean))
    psnr, ssim = check(report, "psnr"), check(report, "ssim")
    assert psnr.status == CheckStatus.FAIL and psnr.value is not None and psnr.value < 35
    assert ssim.value is not None and 0 < ssim.value < 1
    assert psnr.events  # frames under the limit, with their times
    assert any("VMAF not measured" in note for note in report.notes)
    same = run(clean, reference=str(clean))
    assert check(same, "psnr").status == CheckStatus.PASS


def test_the_tools_run_without_a_shell(
    clean: Path, tmp_path: Path, http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ffmpeg and ffprobe is the prober's own child, given a local URL of the relay."""
    root, base = http_root
    shutil.copy(clean, root / "no-shell.mkv")
    seen = tmp_path / "seen.jsonl"
    for tool in ("ffprobe", "ffmpeg"):
        wrapper = tmp_path / tool
        wrapper.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            f"with open({str(seen)!r}, 'a') as log:\n"
            "    parent = os.path.realpath(f'/proc/{os.getppid()}/exe')\n"
            "    log.write(json.dumps([parent, sys.argv[1:]]) + '\\n')\n"
            f"os.execv({shutil.which(tool)!r}, [{tool!r}, *sys.argv[1:]])\n"
        )
        wrapper.chmod(0o755)
        monkeypatch.setenv(f"PLAYOUT_{tool.upper()}", str(wrapper))
    report = run(f"{base}/no-shell.mkv", allow_private_addresses=True)
    assert report.verdict == Verdict.PASS, [(c.name, c.message) for c in report.checks]
    runs = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(runs) >= 3  # metadata, packets, the decode pass
    for parent, args in runs:
        assert parent == os.path.realpath(sys.executable)
        assert not any(base in arg for arg in args), "a tool was given the source itself"
