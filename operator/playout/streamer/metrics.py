"""Prometheus metrics of the streamer engine, served on its /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.segments = Counter(
            "playout_segments_written_total", "Segments published", registry=self.registry
        )
        self.items = Counter(
            "playout_items_played_total",
            "Items played to the end, by kind (item, bumper, up-next, slate)",
            ["kind"],
            registry=self.registry,
        )
        self.skips = Counter(
            "playout_items_skipped_total",
            "Items skipped, by reason (missing, unreadable, undecodable)",
            ["reason"],
            registry=self.registry,
        )
        self.ffmpeg_restarts = Counter(
            "playout_ffmpeg_restarts_total",
            "ffmpeg runs that failed mid-item",
            registry=self.registry,
        )
        self.encode_speed = Gauge(
            "playout_encode_speed",
            "Media seconds encoded per second while ffmpeg runs (above 1: faster than real time)",
            registry=self.registry,
        )
        self.media_sequence = Gauge(
            "playout_media_sequence",
            "EXT-X-MEDIA-SEQUENCE of the live playlist",
            registry=self.registry,
        )
        self.disk_full = Gauge(
            "playout_disk_full",
            "1 while the state volume has no room for the next segment or state file",
            registry=self.registry,
        )
        self.schedule_drift = Gauge(
            "playout_schedule_drift_seconds",
            "How late (positive) or early the latest entry went on air against the timeline",
            registry=self.registry,
        )
        self.copy_fallbacks = Counter(
            "playout_copy_fallbacks_total",
            "Files copy mode transcoded instead, their keyframes too far apart for the segments",
            registry=self.registry,
        )
        self.misaligned = Counter(
            "playout_rendition_misaligned_segments_total",
            "Segments whose renditions ended at different times (players switching would jump)",
            registry=self.registry,
        )
