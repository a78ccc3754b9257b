"""Prometheus metrics of the operator, served on /metrics."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(frozen=True)
class ObjectState:
    """What the metrics say of one Channel or ProbeJob."""

    kind: str
    namespace: str
    name: str
    phase: str
    verdict: str = ""


class _PhaseCollector(Collector):
    """Built at scrape time from what the reconciler knows:
    `playout_objects{kind,phase}` counts, and `playout_object_status{kind,namespace,name,
    phase,verdict}` (1 per object, like kube-state-metrics), so alerts can name the channel."""

    def __init__(self, objects: dict[str, ObjectState]) -> None:
        self._objects = objects

    def collect(self) -> Iterator[Metric]:
        counts = GaugeMetricFamily(
            "playout_objects", "Channels and ProbeJobs by phase", labels=["kind", "phase"]
        )
        states = list(self._objects.values())
        for (kind, phase), count in sorted(Tally((o.kind, o.phase) for o in states).items()):
            counts.add_metric([kind, phase], count)
        yield counts
        each = GaugeMetricFamily(
            "playout_object_status",
            "1 for each Channel and ProbeJob, labelled with its phase (and a probe's verdict)",
            labels=["kind", "object_namespace", "object_name", "phase", "verdict"],
        )
        for state in sorted(states, key=lambda o: (o.kind, o.namespace, o.name)):
            each.add_metric(
                [state.kind, state.namespace, state.name, state.phase, state.verdict], 1
            )
        yield each


class Metrics:
    """The operator's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "playout_reconciles_total", "Reconciles, by kind", ["kind"], registry=self.registry
        )
        self.errors = Counter(
            "playout_reconcile_errors_total",
            "Reconciles that failed, by kind and reason",
            ["kind", "reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "playout_reconcile_duration_seconds",
            "Time spent in one reconcile, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.objects: dict[str, ObjectState] = {}
        """uid -> state, kept by the reconciler."""
        self.registry.register(_PhaseCollector(self.objects))

    async def serve(self, host: str, port: int) -> web.AppRunner:
        async def metrics(_: web.Request) -> web.Response:
            return web.Response(
                body=generate_latest(self.registry),
                headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
            )

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner
