"""Our kinds as the API client addresses them: one definition for the operator and for the
streamer, which reads its own Channel and patches its status. Not imported by
`playout.api` itself, so the prober, which has no Kubernetes client, never loads it."""

from __future__ import annotations

from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource

from playout.api.common import GROUP, VERSION
from playout.api.crd import CHANNEL, PROBEJOB, Kind


def _resource(kind: Kind) -> type[GenericNamespacedResource]:
    return create_namespaced_resource(GROUP, VERSION, kind.kind, kind.plural)


ChannelResource = _resource(CHANNEL)
ProbeJobResource = _resource(PROBEJOB)
