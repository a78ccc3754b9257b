"""Prometheus metrics of the operator, served on /metrics."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _PhaseCollector(Collector):
    """`playout_objects{kind,phase}`, counted at scrape time from what the reconciler knows."""

    def __init__(self, phases: dict[str, tuple[str, str]]) -> None:
        self._phases = phases

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "playout_objects", "Channels and ProbeJobs by phase", labels=["kind", "phase"]
        )
        for (kind, phase), count in sorted(Tally(self._phases.values()).items()):
            family.add_metric([kind, phase], count)
        yield family


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
        self.phases: dict[str, tuple[str, str]] = {}
        """uid -> (kind, phase), kept by the reconciler."""
        self.registry.register(_PhaseCollector(self.phases))

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
