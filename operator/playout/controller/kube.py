"""The operator's API calls: server-side apply with one field manager, pruning and status
patches. A thin adapter over lightkube; every decision is made by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import httpx2
from lightkube import ApiError, AsyncClient, codecs
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event
from lightkube.types import CascadeType, PatchType

from playout.clock import utc_now
from playout.controller.builders.common import MANAGED_BY, MANAGER, Manifest
from playout.controller.kinds import ReconciledKind

FIELD_MANAGER = "playout-operator"
# kopf's own requests wait this long too (handlers.configure): under load, an API server
# can take longer than lightkube's default of 10 s to answer an apply.
REQUEST_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0


def client() -> AsyncClient:
    """The operator's API client, with its timeouts and field manager."""
    return AsyncClient(
        field_manager=FIELD_MANAGER,
        timeout=httpx2.Timeout(REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
    )


class Kube:
    """What the reconciler asks of the API server."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def close(self) -> None:
        await self._client.close()

    async def apply(self, manifest: Manifest) -> None:
        """Server-side apply; `force` takes over fields another manager set by hand, which
        is how drift is corrected."""
        await self._client.apply(
            codecs.from_dict(manifest), field_manager=FIELD_MANAGER, force=True
        )

    async def prune(
        self,
        kind: ReconciledKind[Any],
        *,
        owner: dict[str, Any],
        keep: Iterable[tuple[str, str]],
    ) -> list[str]:
        """Delete the prunable children of `owner` that are not in `keep` ((kind, name)
        pairs). Returns what was deleted, as "Kind/name"."""
        meta = owner["metadata"]
        namespace = meta["namespace"]
        wanted = set(keep)
        deleted = []
        labels: dict[str, Any] = {kind.owner_label: meta["name"], MANAGED_BY: MANAGER}
        for resource in kind.prunable:
            child_kind = resource.__name__
            async for child in self._client.list(resource, namespace=namespace, labels=labels):
                child_meta = cast(ObjectMeta | None, getattr(child, "metadata", None))
                if child_meta is None or child_meta.name is None:
                    continue
                if (child_kind, child_meta.name) in wanted:
                    continue
                if not any(ref.uid == meta["uid"] for ref in child_meta.ownerReferences or []):
                    continue
                try:
                    await self._client.delete(
                        resource,
                        child_meta.name,
                        namespace=namespace,
                        cascade=CascadeType.BACKGROUND,
                    )
                except ApiError as error:
                    if error.status.code != 404:
                        raise
                deleted.append(f"{child_kind}/{child_meta.name}")
        return deleted

    async def post_event(
        self, owner: dict[str, Any], *, event_type: str, reason: str, message: str
    ) -> None:
        """A Kubernetes Event (`event_type` Normal or Warning) about `owner`. Posted directly
        rather than through kopf, whose event queue exists only inside its own handler tasks
        (not in the resync loop)."""
        meta = owner["metadata"]
        now = utc_now()
        await self._client.create(
            Event(
                metadata=ObjectMeta(generateName=f"{meta['name']}.", namespace=meta["namespace"]),
                involvedObject=ObjectReference(
                    apiVersion=owner.get("apiVersion"),
                    kind=owner.get("kind"),
                    name=meta["name"],
                    namespace=meta["namespace"],
                    uid=meta.get("uid"),
                ),
                type=event_type,
                reason=reason,
                message=message[:1024],
                source=EventSource(component=FIELD_MANAGER),
                firstTimestamp=now,
                lastTimestamp=now,
                count=1,
            )
        )

    async def patch_status(
        self, kind: ReconciledKind[Any], *, owner: dict[str, Any], status: dict[str, Any]
    ) -> None:
        """JSON merge patch of the status subresource: only the fields given change, so the
        engines' own status fields are left alone."""
        meta = owner["metadata"]
        await self._client.patch(
            kind.status_resource,
            meta["name"],
            {"status": status},
            namespace=meta["namespace"],
            patch_type=PatchType.MERGE,
        )
