from __future__ import annotations

from prometheus_client import generate_latest

from playout.controller.metrics import Metrics, ObjectState


def test_objects_are_counted_and_named() -> None:
    metrics = Metrics()
    metrics.objects["a"] = ObjectState("Channel", "tv", "classics", "Live")
    metrics.objects["b"] = ObjectState("Channel", "tv", "news", "Degraded")
    metrics.objects["c"] = ObjectState("ProbeJob", "tv", "check", "Succeeded", "fail")
    text = generate_latest(metrics.registry).decode()
    assert 'playout_objects{kind="Channel",phase="Live"} 1.0' in text
    assert 'playout_objects{kind="Channel",phase="Degraded"} 1.0' in text
    assert (
        'playout_object_status{kind="ProbeJob",object_name="check",object_namespace="tv",'
        'phase="Succeeded",verdict="fail"} 1.0'
    ) in text
    del metrics.objects["b"]
    assert 'name="news"' not in generate_latest(metrics.registry).decode()
