"""The kinds the operator reconciles, one record each: what `reconcile.py` and `kube.py`
need to know of a kind, so that neither looks anything up by a kind's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from lightkube.core.resource import NamespacedResource
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.networking_v1 import NetworkPolicy

from playout.api import crd
from playout.api.channel import Channel, ChannelPhase
from playout.api.meta import Resource
from playout.api.probejob import ProbeJob, ProbeJobPhase
from playout.api.resources import ChannelResource, ProbeJobResource
from playout.controller.builders.common import CHANNEL_LABEL, PROBEJOB_LABEL

ModelT = TypeVar("ModelT", bound=Resource)


@dataclass(frozen=True, kw_only=True)
class ReconciledKind(Generic[ModelT]):
    """One kind the operator reconciles."""

    api: crd.Kind
    """Its names, as the CRD declares them."""
    model: type[ModelT]
    """What a body is validated as."""
    failed_phase: str
    """The phase of an invalid spec or of children the API server refuses for good."""
    status_resource: type[NamespacedResource]
    """Where status patches go: the status subresource."""
    owner_label: str
    """The label by which children name their owner (and are found to be pruned)."""
    prunable: tuple[type[NamespacedResource], ...]
    """Children that can stop being wanted while their owner lives on; every other child
    goes by garbage collection with its owner."""

    @property
    def name(self) -> str:
        return self.api.kind


CHANNEL = ReconciledKind(
    api=crd.CHANNEL,
    model=Channel,
    failed_phase=ChannelPhase.FAILED,
    status_resource=ChannelResource.Status,
    owner_label=CHANNEL_LABEL,
    # The sweeper, when a Channel drops its claim; the policy, when policies are turned off.
    prunable=(CronJob, NetworkPolicy),
)
PROBEJOB = ReconciledKind(
    api=crd.PROBEJOB,
    model=ProbeJob,
    failed_phase=ProbeJobPhase.FAILED,
    status_resource=ProbeJobResource.Status,
    owner_label=PROBEJOB_LABEL,
    # The Job of an earlier generation; the CronJob, when the schedule goes; a report
    # ConfigMap, when there are fewer shards; the policy, when policies are turned off.
    prunable=(Job, CronJob, ConfigMap, NetworkPolicy),
)
