"""A folder probed as a library: one file per defect gives each its verdict and the times
of its defect; shards split the files between them; a second run probes only the file
that changed and carries the rest over. Real ffmpeg, through `playout probe`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from playout.api.probejob import LibraryReport, LibraryShard
from playout.cli import main
from tests.media.prober.conftest import DEFECTS_AUDIO, LOUD, OUT_OF_PHASE, make_clip
from tests.media.prober.test_flashes import FLASHING

# One defect per file (and one clean): how each is made, and what the broadcast profile
# makes of it: its status and the checks that do not pass (a black picture is a frozen one
# too).
LIBRARY: dict[str, tuple[dict[str, Any], str, set[str]]] = {
    "Season 1/S01E01 clean.mkv": ({}, "pass", set()),
    "Season 1/S01E02 black.mkv": (
        {"video_filter": "drawbox=enable='between(t,2,5)':c=black:t=fill"}, "fail", {"black", "freeze"},
    ),
    "Season 1/S01E10 loud.mkv": ({"audio_amplitude": LOUD}, "fail", {"loudness"}),
    "Season 2/S02E01 flashing.mkv": (
        {"video_filter": FLASHING.format(period=0.2, half=0.1)}, "fail", {"flashes"},
    ),
    "Season 2/S02E02 silent.mkv": ({"audio_filter": DEFECTS_AUDIO}, "fail", {"silence"}),
    "S00E01 phase.mkv": ({"audio": OUT_OF_PHASE}, "fail", {"phase"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library") / "Cheers"
    for path, (options, _, _) in LIBRARY.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        make_clip(root / path, 14 if "silent" in path else 8, **options)
    (root / "Season 1" / "notes.txt").write_text("not media: left out")
    (root / ".hidden").mkdir()
    make_clip(root / ".hidden" / "sample.mkv", 2)  # hidden: left out
    return root


def probe_folder(*args: str) -> tuple[int, dict[str, Any]]:
    command = ["probe", *args, "--profile", "broadcast", "--json"]
    result = CliRunner().invoke(main, command, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_each_file_gets_its_verdict_and_the_folder_the_worst(folder: Path) -> None:
    code, document = probe_folder(str(folder), "--recursive")
    report = LibraryReport.model_validate(document)
    assert code == 1 and report.verdict == "fail"
    assert [item.path for item in report.files] == [
        "S00E01 phase.mkv",
        "Season 1/S01E01 clean.mkv",
        "Season 1/S01E02 black.mkv",
        "Season 1/S01E10 loud.mkv",
        "Season 2/S02E01 flashing.mkv",
        "Season 2/S02E02 silent.mkv",
    ]  # natural order, hidden and non-media files left out
    for item in report.files:
        _, status, problems = LIBRARY[item.path]
        assert (item.status, set(item.problems)) == (status, problems), item
        assert item.report is not None and item.size_bytes and item.modified
    by_path = {item.path: item.report for item in report.files}
    black = next(c for c in by_path["Season 1/S01E02 black.mkv"].checks if c.name == "black")  # type: ignore[union-attr]
    assert any(abs(e.start - 2) < 0.3 and abs(e.end - 5) < 0.3 for e in black.events)
    counts = report.counts
    assert (counts.total, counts.passed, counts.warned, counts.failed) == (6, 1, 0, 5)
    # Without --recursive, the top of the folder only.
    _, top = probe_folder(str(folder))
    assert [item["path"] for item in top["files"]] == ["S00E01 phase.mkv"]


def test_shards_split_the_files_and_their_summaries_add_up(folder: Path, tmp_path: Path) -> None:
    seen = []
    for shard in range(3):
        log = tmp_path / f"termination-{shard}"
        command = [str(folder), "--recursive", "--shard", str(shard), "--shards", "3"]
        code, document = probe_folder(*command, "--termination-log", str(log))
        assert code == 0  # in a Job the verdict travels in the report, not the exit code
        seen += [item["path"] for item in document["files"]]
        summary = LibraryShard.model_validate_json(log.read_text())
        assert summary.shard == shard and summary.counts.total == len(document["files"]) == 2
        assert len(log.read_bytes()) <= 4096
    assert sorted(seen) == sorted(LIBRARY)


def test_a_second_run_probes_only_what_changed(folder: Path, tmp_path: Path) -> None:
    _, first = probe_folder(str(folder), "--recursive")
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps(first))
    changed = folder / "Season 1" / "S01E01 clean.mkv"
    os.utime(changed, (changed.stat().st_atime, changed.stat().st_mtime + 60))
    _, second = probe_folder(str(folder), "--recursive", "--earlier", str(earlier))
    reused = {item["path"] for item in second["files"] if item.get("reused")}
    assert reused == set(LIBRARY) - {"Season 1/S01E01 clean.mkv"}
    assert second["counts"]["reused"] == 5
    assert second["verdict"] == first["verdict"]
    # Other checks judge every file again.
    _, other = probe_folder(
        str(folder), "--recursive", "--earlier", str(earlier), "--threshold", "blackSeconds=5"
    )
    assert not any(item.get("reused") for item in other["files"])


def test_a_folder_without_media_or_a_missing_one_fails(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, document = probe_folder(str(tmp_path / "empty"))
    assert code == 1 and document["verdict"] == "fail"
    assert document["notes"] == [f"no media files in {tmp_path / 'empty'}"]
    code, document = probe_folder(str(tmp_path / "missing"), "--folder")
    assert code == 1 and document["notes"] == [f"{tmp_path / 'missing'} does not exist"]
