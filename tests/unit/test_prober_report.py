"""The report as JSON, for people, and trimmed for a termination message."""

from __future__ import annotations

import json

from playout.api.probejob import (
    Check,
    CheckStatus,
    ProbeReport,
    StreamSummary,
    Summary,
    TimeRange,
    Verdict,
    VideoSummary,
)
from playout.prober.report import TERMINATION_MESSAGE_LIMIT, fit, human, to_json


def report(checks: int = 20, events: int = 40, message: str = "x" * 80) -> ProbeReport:
    return ProbeReport(
        verdict=Verdict.FAIL,
        summary=Summary(
            container="matroska,webm",
            duration_seconds=1320.5,
            video=VideoSummary(codec="h264", width=1920, height=1080, side_data=["a"] * 20),
            streams=[StreamSummary(index=i, type="audio", codec="aac") for i in range(30)],
        ),
        checks=[
            Check(
                name=f"check{i}",
                status=CheckStatus.FAIL if i == 7 else CheckStatus.PASS,
                value=i,
                message=message,
                events=[TimeRange(start=t, end=t + 1) for t in range(events)],
            )
            for i in range(checks)
        ],
    )


def test_a_small_report_is_kept_whole() -> None:
    small = report(checks=3, events=1)
    assert ProbeReport.model_validate_json(fit(small)) == small


def test_an_oversized_report_is_trimmed_with_a_note() -> None:
    text = fit(report())
    assert len(text.encode()) <= TERMINATION_MESSAGE_LIMIT
    trimmed = ProbeReport.model_validate_json(text)
    assert trimmed.verdict == Verdict.FAIL
    assert "trimmed to fit the 4096-byte termination message" in trimmed.notes[-1]
    failed = next(c for c in trimmed.checks if c.name == "check7")
    assert failed.status == CheckStatus.FAIL
    assert failed.events_total == 40 or not failed.events


def test_where_a_problem_is_outlasts_what_passed() -> None:
    # 28 checks with long messages, as the broadcast profile gives: the passing ones lose
    # their messages (dropped, not cut to an ellipsis), the failing one keeps its event.
    text = fit(report(checks=28, events=1, message="z" * 130))
    trimmed = ProbeReport.model_validate_json(text)
    assert len(trimmed.checks) == 28
    passing = [c for c in trimmed.checks if c.status == CheckStatus.PASS]
    assert all(c.message == "" for c in passing)
    failed = next(c for c in trimmed.checks if c.name == "check7")
    assert failed.events == [TimeRange(start=0, end=1)] and failed.message == "z" * 130
    # With more checks than fit, the passing ones go before any event does.
    crowded = ProbeReport.model_validate_json(fit(report(checks=90, events=1)))
    assert [c.name for c in crowded.checks] == ["check7"] and crowded.checks[0].events


def test_even_an_absurd_report_keeps_its_verdict() -> None:
    text = fit(report(checks=400, events=100, message="y" * 500))
    assert len(text.encode()) <= TERMINATION_MESSAGE_LIMIT
    trimmed = ProbeReport.model_validate_json(text)
    assert trimmed.verdict == Verdict.FAIL and trimmed.notes


def test_json_leaves_out_what_is_empty() -> None:
    document = json.loads(
        to_json(
            ProbeReport(verdict=Verdict.PASS, checks=[Check(name="black", status=CheckStatus.PASS)])
        )
    )
    assert document == {"verdict": "pass", "checks": [{"name": "black", "status": "pass"}]}


def test_text_for_people() -> None:
    text = human(report(checks=2, events=0, message="fine"), "a.mkv", "broadcast")
    assert text.splitlines()[0] == "a.mkv: FAIL (broadcast profile)"
    assert "matroska,webm, 1320.50 s; video h264 1920x1080" in text
    assert "PASS  check0  fine" in text
