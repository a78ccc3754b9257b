"""`playout run`: the engine and its HTTP server in one process, with or without a cluster."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from playout.api.channel import Channel, report_heartbeat_seconds
from playout.clock import utc_now
from playout.streamer.engine import Engine
from playout.streamer.metrics import EngineMetrics
from playout.streamer.server import make_app
from playout.streamer.state import SavedState, from_status, load

if TYPE_CHECKING:
    from playout.streamer.report import KubeReporter

log = logging.getLogger(__name__)


async def _saved_state(
    channel: Channel, state_dir: Path, reporter: KubeReporter | None
) -> SavedState | None:
    saved = load(state_dir)
    if saved is not None:
        log.info(f"Resuming from {state_dir} (run {saved.epoch})")
        return saved
    if reporter is not None:
        status = await reporter.load()
        if status is not None and (
            status.progress or (status.stream and status.stream.media_sequence is not None)
        ):
            log.info("Resuming from the Channel status")
            return from_status(status, channel.spec.output.segment_seconds, utc_now())
    return None


async def serve(channel: Channel, media_root: Path, state_dir: Path, host: str, port: int) -> None:
    reporter = None
    if os.environ.get("PLAYOUT_REPORT") == "kubernetes":
        # Imported here: the Kubernetes client is a tenth of the start-up of a channel
        # that runs without a cluster.
        from playout.streamer.report import KubeReporter

        reporter = KubeReporter(
            os.environ.get("PLAYOUT_CHANNEL", channel.metadata.name),
            os.environ.get("PLAYOUT_NAMESPACE", channel.metadata.namespace or "default"),
            timeline_config_map=os.environ.get("PLAYOUT_TIMELINE_CONFIGMAP"),
            heartbeat_seconds=report_heartbeat_seconds(os.environ),
        )
    saved = await _saved_state(channel, state_dir, reporter)
    engine = Engine(
        channel,
        media_root,
        state_dir,
        saved,
        EngineMetrics(),
        reporter,
        timeline_store=reporter,
        skip_source=reporter,
    )
    runner = web.AppRunner(make_app(engine), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info(
        f"Channel {channel.metadata.name} on http://{host}:{port}/ (playlist /live/index.m3u8)"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine_task = asyncio.create_task(engine.run())
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({engine_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if engine_task in done:
            engine_task.result()  # an engine that stopped by itself has failed: raise it
    finally:
        engine_task.cancel()
        stopper.cancel()
        await asyncio.gather(engine_task, return_exceptions=True)
        await runner.cleanup()
        if reporter is not None:
            await reporter.close()
        log.info("Stopped")
