"""A library probe's pure parts: shards, reuse, counts, the worst files, and the report as
a ConfigMap and a termination message hold it."""

from __future__ import annotations

import base64
import gzip
import json

from playout.api.probejob import (
    Check,
    CheckStatus,
    LibraryFile,
    LibraryReport,
    LibraryShard,
    ProbeProfile,
    ProbeReport,
)
from playout.prober import library
from playout.prober.report import TERMINATION_MESSAGE_LIMIT, plain


def report_with(*statuses: CheckStatus, padding: int = 0) -> ProbeReport:
    checks = [
        Check(name=f"check{i}", status=status, message="x" * padding)
        for i, status in enumerate(statuses)
    ]
    return ProbeReport(verdict="pass", checks=checks)


def item(path: str, *statuses: CheckStatus, padding: int = 0) -> LibraryFile:
    return library.file_result(
        path, report_with(*statuses, padding=padding), size=100, modified=1700000000.5
    )


def library_report(files: list[LibraryFile], **fields: object) -> LibraryReport:
    return LibraryReport(
        source="/media/shows/Cheers",
        profile=ProbeProfile.STANDARD,
        files=files,
        counts=library.count(files),
        **fields,  # type: ignore[arg-type]
    )


def test_files_are_dealt_into_shards_in_natural_order() -> None:
    paths = [f"S01E{n}.mkv" for n in (10, 2, 1, 3, 11)]
    dealt = [library.shard_of(paths, shard=shard, shards=2) for shard in range(2)]
    assert dealt == [["S01E1.mkv", "S01E3.mkv", "S01E11.mkv"], ["S01E2.mkv", "S01E10.mkv"]]
    assert sorted(dealt[0] + dealt[1]) == sorted(paths)  # every file once
    assert library.shard_of(paths[:1], shard=2, shards=3) == []  # more shards than files


def test_a_file_is_as_bad_as_its_worst_check() -> None:
    assert item("a.mkv", CheckStatus.PASS, CheckStatus.WARN).status == CheckStatus.WARN
    failed = item("a.mkv", CheckStatus.ERROR, CheckStatus.FAIL, CheckStatus.WARN)
    assert failed.status == CheckStatus.FAIL
    assert failed.problems == ["check0", "check1", "check2"]
    assert item("a.mkv", CheckStatus.ERROR).status == CheckStatus.ERROR


def test_an_unchanged_file_is_carried_over_and_a_changed_one_is_not() -> None:
    earlier = {"a.mkv": item("a.mkv", CheckStatus.FAIL)}
    reused = library.reusable(earlier, "a.mkv", size=100, modified=1700000000.5)
    assert reused is not None and reused.reused and reused.status == CheckStatus.FAIL
    assert library.reusable(earlier, "a.mkv", size=101, modified=1700000000.5) is None
    assert library.reusable(earlier, "a.mkv", size=100, modified=1700000001.0) is None
    assert library.reusable(earlier, "b.mkv", size=100, modified=1700000000.5) is None


def test_only_results_of_the_same_checks_are_carried_over() -> None:
    earlier = library_report([item("a.mkv", CheckStatus.PASS)], thresholds={"blackSeconds": 2})
    same = library.earlier_results([earlier], profile="standard", thresholds={"blackSeconds": 2})
    assert list(same) == ["a.mkv"]
    assert not library.earlier_results([earlier], profile="standard", thresholds={})
    assert not library.earlier_results(
        [earlier], profile="broadcast", thresholds={"blackSeconds": 2}
    )


def test_counts_add_up_across_shards() -> None:
    files = [
        item("a.mkv", CheckStatus.PASS),
        item("b.mkv", CheckStatus.WARN),
        item("c.mkv", CheckStatus.FAIL),
        item("d.mkv", CheckStatus.ERROR),
        item("e.mkv", CheckStatus.PASS).model_copy(update={"reused": True}),
    ]
    counts = library.count(files)
    assert (counts.total, counts.passed, counts.warned, counts.failed, counts.errors) == (
        5, 2, 1, 1, 1,
    )  # fmt: skip
    assert counts.reused == 1
    both = library.add([counts, library.count(files[:2])])
    assert both.total == 7 and both.passed == 3 and both.reused == 1
    assert library.verdict_of(counts) == "fail"
    assert library.verdict_of(library.count(files[:2])) == "warn"
    assert library.verdict_of(library.count(files[:1])) == "pass"
    # As the status spells them.
    assert counts.model_dump(by_alias=True)["pass"] == 2


def test_the_worst_files_come_first_without_their_reports() -> None:
    files = [
        item("warned.mkv", CheckStatus.WARN),
        item("fine.mkv", CheckStatus.PASS),
        item("E10.mkv", CheckStatus.FAIL),
        item("E2.mkv", CheckStatus.FAIL),
        item("twice.mkv", CheckStatus.FAIL, CheckStatus.FAIL),
        item("error.mkv", CheckStatus.ERROR),
    ]
    worst = library.worst(files)
    assert [w.path for w in worst] == ["twice.mkv", "E2.mkv", "E10.mkv", "error.mkv", "warned.mkv"]
    assert all(w.report is None for w in worst)
    assert len(library.worst([item(f"{n}.mkv", CheckStatus.FAIL) for n in range(30)])) == 20


def test_a_shard_summary_fits_a_termination_message() -> None:
    title = "shows/Cheers/Season 1/Cheers - S01E{:02} - Give Me a Ring Sometime [WEBDL-1080p].mkv"
    files = [item(title.format(n), *[CheckStatus.FAIL] * 12) for n in range(40)]
    text = library.shard_summary(library_report(files), config_map="cheers-report")
    assert len(text.encode()) <= TERMINATION_MESSAGE_LIMIT
    summary = LibraryShard.model_validate_json(text)
    assert summary.counts.failed == 40  # the counts stay whole
    assert 0 < len(summary.worst) < 20
    assert any("fewer worst files" in note for note in summary.notes)
    assert summary.config_map == "cheers-report"


def test_a_report_packs_into_a_config_map_and_back() -> None:
    report = library_report([item("a.mkv", CheckStatus.FAIL), item("b.mkv", CheckStatus.PASS)])
    packed, kept = library.pack(report)
    assert kept == report  # it fits whole
    raw = gzip.decompress(base64.b64decode(packed))
    assert json.loads(raw)["files"][0]["path"] == "a.mkv"
    assert library.unpack(packed) == report


def test_a_report_too_big_for_a_config_map_loses_details_first_then_reports() -> None:
    # Incompressible text, so that the sizes do not depend on gzip's luck.
    noise = base64.b64encode(bytes(range(256)) * 40).decode()
    files = [
        library.file_result(
            f"{n}.mkv",
            ProbeReport(verdict="fail", checks=[Check(name="black", status="fail")], notes=[noise]),
            size=1,
            modified=1.0,
        )
        for n in range(20)
    ]
    report = library_report(files)
    whole, _ = library.pack(report)
    packed, kept = library.pack(report, budget=len(whole) // 2)
    assert len(packed) <= len(whole) // 2
    assert all(f.report is not None for f in kept.files)
    assert any("trimmed to 4096" in note for note in kept.notes)
    smallest, _ = library.pack(report, budget=0)  # nothing fits: the last resort
    packed, kept = library.pack(report, budget=len(smallest))
    assert any("only their status and failing checks" in note for note in kept.notes)
    assert all(f.report is None and f.problems == ["black"] for f in kept.files)
    assert len(kept.files) == 20  # no file is lost, only its details
    assert library.unpack(packed) == kept


def test_what_cannot_be_read_is_no_earlier_report() -> None:
    assert library.unpack("not base64!") is None
    assert library.unpack(base64.b64encode(b"plain").decode()) is None
    assert library.unpack(base64.b64encode(gzip.compress(b'{"x": 1}')).decode()) is None


def test_a_shard_status_adds_up_in_shard_order() -> None:
    summaries = [
        LibraryShard(shard=1, shards=2, counts=library.count([item("b.mkv", CheckStatus.FAIL)]),
                     worst=library.worst([item("b.mkv", CheckStatus.FAIL)]), config_map="r-1"),
        LibraryShard(shard=0, shards=2, counts=library.count([item("a.mkv", CheckStatus.WARN)]),
                     worst=library.worst([item("a.mkv", CheckStatus.WARN)]), config_map="r"),
    ]  # fmt: skip
    status = library.library_status(summaries, shards=2)
    assert status.reports == ["r", "r-1"]
    assert [w.path for w in status.worst] == ["b.mkv", "a.mkv"]
    assert status.counts.total == 2 and status.shards_reported == 2


def test_the_shards_reports_read_back_as_one_worst_first() -> None:
    """What `kubectl playout report` shows of a library: every shard's ConfigMap read by
    the module that packed it, all the files together, worst first, counted again."""
    shards = [
        library_report(
            [item("S01E01.mkv", CheckStatus.PASS), item("S01E03.mkv", CheckStatus.WARN)],
            shard=0,
            shards=2,
            notes=["folder note"],
        ),
        library_report(
            [item("S01E02.mkv", CheckStatus.FAIL, CheckStatus.WARN)],
            shard=1,
            shards=2,
            notes=["folder note"],
        ),
    ]
    read = [library.unpack(library.pack(shard)[0]) for shard in reversed(shards)]
    assert all(report is not None for report in read)
    whole = library.merged([r for r in read if r is not None], expected=2)
    assert [f.path for f in whole.files] == ["S01E02.mkv", "S01E03.mkv", "S01E01.mkv"]
    assert (whole.counts.total, whole.counts.failed, whole.counts.warned) == (3, 1, 1)
    assert whole.verdict == "fail" and whole.shards == 2 and whole.notes == ["folder note"]
    # A shard without a report fails the whole and is named.
    partial = library.merged([shards[0]], expected=2)
    assert partial.verdict == "fail"
    assert partial.notes[-1] == "no report from shard 1: its files are left out"


def test_a_single_sources_report_reads_back() -> None:
    report = report_with(CheckStatus.PASS, CheckStatus.WARN)
    # Read back as a detailed report, without pictures: a report without them is one too.
    unpacked = library.unpack_single(library.pack_single(report))
    assert unpacked is not None and unpacked.pictures is None
    assert plain(unpacked) == report
    assert library.unpack_single("not base64 gzip") is None
