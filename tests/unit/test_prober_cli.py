"""`playout probe` usage errors and refused URLs: caught before any ffmpeg runs."""

from __future__ import annotations

from click.testing import CliRunner

from playout.cli import main


def test_an_unknown_threshold_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["probe", "a.mkv", "--threshold", "blakSeconds=2"])
    assert result.exit_code == 2
    assert "unknown threshold blakSeconds" in result.output


def test_an_unknown_channel_layout_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["probe", "a.mkv", "--require-layout", "surround"])
    assert result.exit_code == 2
    assert "'surround' must be a channel layout as ffprobe prints" in result.output
    assert "--require-layout" in result.output


def test_an_unknown_profile_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["probe", "a.mkv", "--profile", "fast"])
    assert result.exit_code == 2


def test_a_missing_file_is_a_failed_check_not_a_crash(tmp_path: object) -> None:
    result = CliRunner().invoke(main, ["probe", "/nonexistent/a.mkv", "--json"])
    assert result.exit_code == 1
    assert '"verdict": "fail"' in result.output
    assert "no such file: /nonexistent/a.mkv" in result.output


def test_a_private_url_is_refused_before_any_ffmpeg_runs() -> None:
    result = CliRunner().invoke(main, ["probe", "http://10.0.0.1/a.mkv", "--json"])
    assert result.exit_code == 1
    assert "spec.source.url: refused to open http://10.0.0.1/a.mkv" in result.output
    assert "10.0.0.1 is a private address" in result.output
    assert "--allow-private-addresses" in result.output


def test_the_metadata_address_is_refused_even_with_the_opt_out() -> None:
    command = ["probe", "http://169.254.169.254/latest/", "--allow-private-addresses"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert "169.254.169.254 is a cloud metadata address" in result.output
