"""The engine's one link to Kubernetes: it writes nowPlaying, progress, stream and schedule
into its own Channel's status and reads them back to resume, keeps the published timeline
in a ConfigMap the Channel owns, so a replacement pod airs the same guide, and watches its
Channel for skip requests. The Role the operator gives the pod allows exactly that, for
this one Channel. The timeline's packing in that ConfigMap is `unpack_timeline`'s, which
`kubectl playout guide` reads too."""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
import time
from collections.abc import AsyncIterator, Mapping

from lightkube import ApiError, AsyncClient
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import PatchType

from playout.api.annotations import SKIP
from playout.api.channel import ChannelStatus
from playout.api.resources import ChannelResource

log = logging.getLogger(__name__)

TIMELINE_KEY = "timeline.json.gz"
# A ConfigMap holds at most 1 MiB; a timeline that does not fit stays on the state volume.
TIMELINE_MAX_BYTES = 900 * 1024
# A watch that ended in an error is started again after this long.
WATCH_RETRY_SECONDS = 5.0


def unpack_timeline(binary_data: Mapping[str, str] | None) -> bytes | None:
    """The timeline JSON in a timeline ConfigMap's binaryData (`state.parse_timeline` reads
    it); None when there is none, or it cannot be read."""
    packed = (binary_data or {}).get(TIMELINE_KEY)
    if packed is None:
        return None
    try:
        return gzip.decompress(base64.b64decode(packed))
    except (OSError, ValueError) as error:
        log.warning(f"Ignoring an unreadable published timeline: {error}")
        return None


class KubeReporter:
    """Rate-limited status reports that never hold up the stream: one on every item change
    and otherwise one per heartbeat; a report in flight makes the next one wait, and only the
    newest waiting one is sent. Closing sends the latest status if it was held back, so
    what a stopped engine last aired (its resume cursor) is never a heartbeat old."""

    def __init__(
        self,
        name: str,
        namespace: str,
        client: AsyncClient | None = None,
        *,
        timeline_config_map: str | None = None,
        heartbeat_seconds: float,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.timeline_config_map = timeline_config_map
        self._client = client or AsyncClient(field_manager="playout-streamer")
        self.heartbeat_seconds = heartbeat_seconds
        self._last_sent = float("-inf")
        self._latest: dict[str, object] | None = None
        """The newest status the engine gave, sent or not."""
        self._sent: dict[str, object] | None = None
        self._waiting: dict[str, object] | None = None
        self._sender: asyncio.Task[None] | None = None

    async def load(self) -> ChannelStatus | None:
        try:
            channel = await self._client.get(ChannelResource, self.name, namespace=self.namespace)
        except ApiError as error:
            log.warning(
                f"Could not read channel {self.namespace}/{self.name}: {error.status.message}"
            )
            return None
        return ChannelStatus.model_validate(channel.status or {})

    async def __call__(self, status: dict[str, object], item_changed: bool) -> None:
        self._latest = status
        if not item_changed and time.monotonic() - self._last_sent < self.heartbeat_seconds:
            return
        self._waiting = status
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while self._waiting is not None:
            status, self._waiting = self._waiting, None
            self._last_sent = time.monotonic()
            self._sent = status
            try:
                await self._client.patch(
                    ChannelResource.Status,
                    self.name,
                    {"status": status},
                    namespace=self.namespace,
                    patch_type=PatchType.MERGE,
                )
            except ApiError as error:
                log.warning(f"Status report failed: {error.status.message}")
            except Exception as error:  # the API being away must not stop the stream
                log.warning(f"Status report failed: {error}")

    async def load_timeline(self) -> bytes | None:
        """The timeline JSON another pod of this channel published, if any."""
        if self.timeline_config_map is None:
            return None
        try:
            found = await self._client.get(
                ConfigMap, self.timeline_config_map, namespace=self.namespace
            )
        except ApiError as error:
            log.warning(f"Could not read the published timeline: {error.status.message}")
            return None
        return unpack_timeline(found.binaryData)

    async def save_timeline(self, document: bytes) -> None:
        """Publish the timeline JSON (compressed); the stream never waits on it."""
        if self.timeline_config_map is None:
            return
        packed = base64.b64encode(gzip.compress(document, mtime=0)).decode()
        if len(packed) > TIMELINE_MAX_BYTES:
            log.warning(
                f"The timeline is {len(packed)} bytes compressed, more than a ConfigMap holds: "
                "it is kept on the state volume only"
            )
            return
        try:
            await self._client.patch(
                ConfigMap,
                self.timeline_config_map,
                {"binaryData": {TIMELINE_KEY: packed}},
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        except ApiError as error:
            log.warning(f"Could not publish the timeline: {error.status.message}")
        except Exception as error:  # the API being away must not stop the stream
            log.warning(f"Could not publish the timeline: {error}")

    async def skip_requests(self) -> AsyncIterator[str]:
        """The Channel's skip annotation each time the Channel is seen with one: a watch of
        this one Channel (by name, which its Role's resourceNames admit), started again
        when it ends. The engine tells a request it has seen from a new one."""
        while True:
            try:
                async for _, channel in self._client.watch(
                    ChannelResource,
                    namespace=self.namespace,
                    fields={"metadata.name": self.name},
                ):
                    metadata = channel.metadata
                    request = (metadata.annotations or {}).get(SKIP) if metadata else None
                    if request:
                        yield request
            except ApiError as error:
                log.warning(f"Watching the channel for skip requests: {error.status.message}")
            except Exception as error:  # the API being away must not stop the stream
                log.warning(f"Watching the channel for skip requests: {error}")
            await asyncio.sleep(WATCH_RETRY_SECONDS)

    async def close(self) -> None:
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._latest is not None and self._latest is not self._sent:
            self._waiting = self._latest
            await self._send()
        await self._client.close()
