"""The reconciler's own bookkeeping, against a real HTTP client and an address where no
API server answers: what a reconcile that cannot reach the cluster leaves behind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from playout.controller.config import OperatorConfig
from playout.controller.kinds import CHANNEL
from playout.controller.kube import Kube, client
from playout.controller.metrics import Metrics
from playout.controller.reconcile import RETRY_AFTER, Reconciler
from tests.streaming import free_port

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kubeconfig naming a loopback port nothing listens on."""
    server = f"http://127.0.0.1:{free_port()}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gone", "cluster": {"server": server}}],
        "users": [{"name": "gone", "user": {}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
        "current-context": "gone",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))


async def test_a_reconcile_the_api_server_does_not_answer_is_retried(
    unreachable: None, channel_body: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    kube = Kube(client())
    reconciler = Reconciler(kube=kube, config=OperatorConfig(), metrics=metrics, clock=lambda: NOW)
    try:
        with caplog.at_level(logging.WARNING):
            await reconciler.reconcile_channel(
                channel_body, deployment=None, logger=logging.getLogger("test")
            )
    finally:
        await kube.close()
    assert "The API server did not answer" in caplog.text and "retrying in 10 s" in caplog.text
    errors = metrics.registry.get_sample_value(
        "playout_reconcile_errors_total", {"kind": "Channel", "reason": "Unreachable"}
    )
    assert errors == 1
    assert reconciler.next_recheck() == NOW + RETRY_AFTER
    assert reconciler.due_rechecks(NOW + RETRY_AFTER - timedelta(seconds=1)) == []
    (due,) = reconciler.due_rechecks(NOW + RETRY_AFTER)
    meta = channel_body["metadata"]
    assert due.kind is CHANNEL and due.key == (meta["namespace"], meta["name"])
    assert reconciler.next_recheck() is None  # taken: the retried reconcile sets the next


async def test_a_forgotten_object_has_no_recheck(
    unreachable: None, channel_body: dict[str, Any]
) -> None:
    kube = Kube(client())
    reconciler = Reconciler(
        kube=kube, config=OperatorConfig(), metrics=Metrics(), clock=lambda: NOW
    )
    try:
        await reconciler.reconcile_channel(
            channel_body, deployment=None, logger=logging.getLogger("test")
        )
    finally:
        await kube.close()
    assert reconciler.next_recheck() is not None
    reconciler.forget(channel_body["metadata"]["uid"])
    assert reconciler.next_recheck() is None
