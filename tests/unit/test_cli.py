from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml
from click.testing import CliRunner

from playout import logs
from playout.cli import main


def test_crds_prints_both_crds() -> None:
    result = CliRunner().invoke(main, ["crds"])
    assert result.exit_code == 0, result.output
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(result.output)]
    assert names == ["channels.playout.dev", "probejobs.playout.dev"]


def test_crds_check_fails_on_drift(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["crds", "--output-dir", str(tmp_path)]).exit_code == 0
    assert runner.invoke(main, ["crds", "--output-dir", str(tmp_path), "--check"]).exit_code == 0
    (tmp_path / "channels.playout.dev.yaml").write_text("stale\n")
    result = runner.invoke(main, ["crds", "--output-dir", str(tmp_path), "--check"])
    assert result.exit_code != 0
    assert "make crds" in result.output


def test_operator_refuses_contradictory_scopes() -> None:
    result = CliRunner().invoke(main, ["operator", "-n", "tv", "-A"])
    assert result.exit_code == 2
    assert "either --namespace or --all-namespaces" in result.output


def test_operator_stops_at_once_on_a_bad_setting() -> None:
    """Before kopf starts (and before any cluster is asked), naming the variable."""
    result = CliRunner().invoke(
        main, ["operator", "-A"], env={"PLAYOUT_API_SERVER_CIDRS": "10.0.0.0/8,kubernetes"}
    )
    assert result.exit_code == 1
    assert "PLAYOUT_API_SERVER_CIDRS: 'kubernetes' is not a network" in result.output


def test_json_logs_carry_the_object(capsys: object) -> None:
    formatter = logs.JsonFormatter()
    record = logging.LogRecord("playout", logging.INFO, __file__, 1, "phase %s", ("Live",), None)
    record.k8s_ref = {"namespace": "tv", "name": "classics", "kind": "Channel"}
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "phase Live"
    assert entry["level"] == "info"
    assert entry["object"]["name"] == "classics"
    text = logs.TextFormatter().format(record)
    assert "[tv/classics]" in text and "phase Live" in text
