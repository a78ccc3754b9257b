"""The engine's one link to Kubernetes: it writes nowPlaying, progress and stream into its
own Channel's status, and reads them back to resume. The Role the operator gives the pod
allows exactly that, for this one Channel."""

from __future__ import annotations

import asyncio
import logging
import time

from lightkube import ApiError, AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

from playout.api.channel import ChannelStatus
from playout.api.common import GROUP, VERSION

log = logging.getLogger(__name__)

ChannelResource = create_namespaced_resource(GROUP, VERSION, "Channel", "channels")

# Besides every item change, the engine reports this often, which is how the operator
# tells a live stream from a stalled one. Kept in step with controller.status.
HEARTBEAT_SECONDS = 30.0


class KubeReporter:
    """Rate-limited status reports that never hold up the stream: a report in flight makes
    the next one wait, and only the newest waiting one is sent."""

    def __init__(self, name: str, namespace: str, client: AsyncClient | None = None) -> None:
        self.name = name
        self.namespace = namespace
        self._client = client or AsyncClient(field_manager="playout-streamer")
        self._last_sent = float("-inf")
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
        if not item_changed and time.monotonic() - self._last_sent < HEARTBEAT_SECONDS:
            return
        self._waiting = status
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while self._waiting is not None:
            status, self._waiting = self._waiting, None
            self._last_sent = time.monotonic()
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

    async def close(self) -> None:
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        await self._client.close()
