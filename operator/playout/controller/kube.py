"""The operator's API calls: server-side apply with one field manager, pruning and status
patches. A thin adapter over lightkube; every decision is made by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from lightkube import ApiError, AsyncClient, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import Event
from lightkube.types import CascadeType, PatchType

from playout.api.common import GROUP, VERSION
from playout.controller.builders.common import MANAGED_BY, MANAGER, Manifest

FIELD_MANAGER = "playout-operator"

ChannelResource = create_namespaced_resource(GROUP, VERSION, "Channel", "channels")
ProbeJobResource = create_namespaced_resource(GROUP, VERSION, "ProbeJob", "probejobs")
STATUS_RESOURCES = {"Channel": ChannelResource, "ProbeJob": ProbeJobResource}

# Children that can stop being wanted while their owner lives on (the sweeper when a
# Channel drops its claim; a ProbeJob's Job of an earlier generation, or its CronJob when
# the schedule goes). Everything else is removed by garbage collection with its owner.
PRUNABLE = {"Channel": (CronJob,), "ProbeJob": (Job, CronJob)}


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
        owner_kind: str,
        owner_uid: str,
        namespace: str,
        selector: dict[str, str],
        keep: Iterable[tuple[str, str]],
    ) -> list[str]:
        """Delete children of `owner_uid` matching `selector` that are not in `keep`
        ((kind, name) pairs). Returns what was deleted, as "Kind/name"."""
        wanted = set(keep)
        deleted = []
        labels: dict[str, Any] = {**selector, MANAGED_BY: MANAGER}
        for resource in PRUNABLE[owner_kind]:
            kind = resource.__name__
            async for child in self._client.list(resource, namespace=namespace, labels=labels):
                meta = cast(ObjectMeta | None, getattr(child, "metadata", None))
                if meta is None or meta.name is None or (kind, meta.name) in wanted:
                    continue
                if not any(ref.uid == owner_uid for ref in meta.ownerReferences or []):
                    continue
                try:
                    await self._client.delete(
                        resource, meta.name, namespace=namespace, cascade=CascadeType.BACKGROUND
                    )
                except ApiError as error:
                    if error.status.code != 404:
                        raise
                deleted.append(f"{kind}/{meta.name}")
        return deleted

    async def post_event(self, owner: dict[str, Any], kind: str, reason: str, message: str) -> None:
        """A Kubernetes Event about `owner`. Posted directly rather than through kopf, whose
        event queue exists only inside its own handler tasks (not in the resync loop)."""
        meta = owner["metadata"]
        now = datetime.now(UTC)
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
                type=kind,
                reason=reason,
                message=message[:1024],
                source=EventSource(component=FIELD_MANAGER),
                firstTimestamp=now,
                lastTimestamp=now,
                count=1,
            )
        )

    async def patch_status(
        self, kind: str, name: str, namespace: str, status: dict[str, Any]
    ) -> None:
        """JSON merge patch of the status subresource: only the fields given change, so the
        engines' own status fields are left alone."""
        await self._client.patch(
            STATUS_RESOURCES[kind].Status,
            name,
            {"status": status},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
