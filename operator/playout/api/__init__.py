"""The Channel and ProbeJob API: pydantic models that validate input, type the status and
generate the CRDs."""

from playout.api.channel import Channel, ChannelPhase, ChannelSpec, ChannelStatus
from playout.api.common import API_VERSION, GROUP, VERSION, Condition, ConditionStatus
from playout.api.probejob import ProbeJob, ProbeJobPhase, ProbeJobSpec, ProbeJobStatus, Verdict

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "Channel",
    "ChannelPhase",
    "ChannelSpec",
    "ChannelStatus",
    "Condition",
    "ConditionStatus",
    "ProbeJob",
    "ProbeJobPhase",
    "ProbeJobSpec",
    "ProbeJobStatus",
    "Verdict",
]
