"""`playout probe` usage errors: caught before any ffmpeg runs."""

from __future__ import annotations

from click.testing import CliRunner

from playout.cli import main


def test_an_unknown_threshold_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["probe", "a.mkv", "--threshold", "blakSeconds=2"])
    assert result.exit_code == 2
    assert "unknown threshold blakSeconds" in result.output


def test_an_unknown_profile_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["probe", "a.mkv", "--profile", "fast"])
    assert result.exit_code == 2


def test_a_missing_file_is_a_failed_check_not_a_crash(tmp_path: object) -> None:
    result = CliRunner().invoke(main, ["probe", "/nonexistent/a.mkv", "--json"])
    assert result.exit_code == 1
    assert '"verdict": "fail"' in result.output
    assert "no such file: /nonexistent/a.mkv" in result.output
