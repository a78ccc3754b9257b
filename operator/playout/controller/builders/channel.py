"""Channel -> the objects that put it on air. Pure: same Channel, same manifests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import yaml

from playout.api.annotations import RESTARTED_AT
from playout.api.channel import REPORT_HEARTBEAT_ENV, Channel
from playout.api.common import ResourceRequirements
from playout.clock import rfc3339
from playout.controller.builders.access import (
    config_map_rule,
    pod_filled_config_map,
    pod_identity,
)
from playout.controller.builders.common import (
    CHANNEL_LABEL,
    STREAMER_PORT,
    Manifest,
    Owner,
    child_metadata,
    container_security_context,
    identity_labels,
    log_env,
    pod_security_context,
    resources,
    streamer_selector,
)
from playout.controller.builders.network import channel_network_policy
from playout.controller.config import OperatorConfig

SERVICE_PORT = 80
CONFIG_DIR = "/etc/playout"
CONFIG_FILE = "channel.yaml"
MEDIA_ROOT = "/media"
STATE_DIR = "/var/lib/playout"
SEGMENTS_DIR = f"{STATE_DIR}/segments"
CONFIG_HASH = "playout.dev/config-hash"
# libyaml's emitter where PyYAML was built with it: a tenth of the pure-Python one's time,
# which every reconcile of every Channel pays.
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Transcoding needs a core or so for 720p30 veryfast; copying needs next to nothing. No CPU
# limit by default: throttling a real-time encoder makes the stream stall.
STREAMER_DEFAULTS = {
    "copy": ResourceRequirements(
        requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "512Mi"}
    ),
    "transcode": ResourceRequirements(
        requests={"cpu": "1", "memory": "512Mi"}, limits={"memory": "2Gi"}
    ),
}
SWEEPER_RESOURCES = ResourceRequirements(
    requests={"cpu": "10m", "memory": "64Mi"}, limits={"memory": "128Mi"}
)


@dataclass(frozen=True)
class ChannelNames:
    """Names of a Channel's children, all derived from the Channel's name."""

    channel: str

    @property
    def deployment(self) -> str:
        return self.channel

    @property
    def service(self) -> str:
        return self.channel

    @property
    def config_map(self) -> str:
        return f"{self.channel}-config"

    @property
    def service_account(self) -> str:
        return f"{self.channel}-streamer"

    @property
    def sweeper(self) -> str:
        return f"{self.channel}-sweep"

    @property
    def timeline(self) -> str:
        return f"{self.channel}-timeline"


def stream_url(name: str, namespace: str) -> str:
    """In-cluster URL of a channel's live playlist."""
    return f"http://{ChannelNames(name).service}.{namespace}.svc/live/index.m3u8"


def engine_config(channel: Channel) -> str:
    """The file the streamer engine reads: the Channel as `playout run` takes it, without
    the fields that only the operator acts on (so changing them does not restart it)."""
    metadata: dict[str, object] = {
        "name": channel.metadata.name,
        "namespace": channel.metadata.namespace,
    }
    if channel.metadata.creation_timestamp is not None:
        # The channel's time origin: every pipeline counts segment timestamps from it.
        metadata["creationTimestamp"] = rfc3339(
            channel.metadata.creation_timestamp, timespec="auto"
        )
    document = {
        "apiVersion": channel.api_version,
        "kind": channel.kind,
        "metadata": metadata,
        "spec": channel.spec.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"suspend", "resources"}
        ),
    }
    return yaml.dump(document, Dumper=_YAML_DUMPER, sort_keys=False)


def build_channel(channel: Channel, config: OperatorConfig) -> list[Manifest]:
    """Every object a Channel needs, in the order they are applied."""
    owner = Owner("Channel", channel.metadata)
    names = ChannelNames(channel.metadata.name)
    labels = identity_labels(CHANNEL_LABEL, owner, "streamer")
    # The policy before the Deployment, so that no streamer runs before it exists.
    policy = [channel_network_policy(owner=owner, config=config)]
    rendered = engine_config(channel)  # once: the ConfigMap holds it, the pod its hash
    children = [
        *_access(owner, names, labels, config),
        _config_map(rendered, owner, names, labels, config),
        # The engine writes the timeline into it.
        pod_filled_config_map(names.timeline, owner=owner, labels=labels, config=config),
        *(policy if config.network_policies else []),
        _deployment(channel, rendered, owner, names, labels, config),
        _service(owner, names, labels, config),
    ]
    if channel.spec.storage.persistent_volume_claim is not None:
        children.append(_sweeper(channel, owner, names, config))
    return children


def _access(
    owner: Owner, names: ChannelNames, labels: dict[str, str], config: OperatorConfig
) -> list[Manifest]:
    # The engine reads its own Channel (to resume from status.progress), watches it for
    # the skip annotation (a watch by `metadata.name`, which resourceNames admits) and
    # reports into its status; resourceNames scopes all of it to this one Channel.
    rules = [
        {
            "apiGroups": ["playout.dev"],
            "resources": ["channels"],
            "resourceNames": [owner.name],
            "verbs": ["get", "watch"],
        },
        {
            "apiGroups": ["playout.dev"],
            "resources": ["channels/status"],
            "resourceNames": [owner.name],
            "verbs": ["get", "patch"],
        },
        # The published timeline, so that a replacement pod airs the same guide.
        config_map_rule([names.timeline]),
    ]
    return pod_identity(
        names.service_account, owner=owner, labels=labels, rules=rules, config=config
    )


def _config_map(
    rendered: str,
    owner: Owner,
    names: ChannelNames,
    labels: dict[str, str],
    config: OperatorConfig,
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": child_metadata(names.config_map, owner, labels, config),
        "data": {CONFIG_FILE: rendered},
    }


def _state_volume(channel: Channel) -> dict[str, Any]:
    storage = channel.spec.storage
    if storage.persistent_volume_claim is not None:
        claim = storage.persistent_volume_claim.claim_name
        return {"name": "state", "persistentVolumeClaim": {"claimName": claim}}
    return {"name": "state", "emptyDir": {"sizeLimit": str(storage.size_limit)}}


def _deployment(
    channel: Channel,
    rendered: str,
    owner: Owner,
    names: ChannelNames,
    labels: dict[str, str],
    config: OperatorConfig,
) -> Manifest:
    spec = channel.spec
    health = {"httpGet": {"path": "/healthz", "port": "http"}}
    container = {
        "name": "streamer",
        "image": config.streamer_image,
        "imagePullPolicy": config.image_pull_policy,
        "args": [
            "run",
            f"{CONFIG_DIR}/{CONFIG_FILE}",
            "--media-root",
            MEDIA_ROOT,
            "--state",
            STATE_DIR,
            "--port",
            str(STREAMER_PORT),
            "--host",
            "0.0.0.0",  # noqa: S104 (the pod IP: kubelet probes and the Service reach it there)
        ],
        "env": [
            *log_env(),
            {"name": "PLAYOUT_REPORT", "value": "kubernetes"},
            {"name": "PLAYOUT_CHANNEL", "value": owner.name},
            {"name": "PLAYOUT_TIMELINE_CONFIGMAP", "value": names.timeline},
            {"name": REPORT_HEARTBEAT_ENV, "value": f"{config.report_heartbeat_seconds:g}"},
            {
                "name": "PLAYOUT_NAMESPACE",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
            },
        ],
        "ports": [{"name": "http", "containerPort": STREAMER_PORT, "protocol": "TCP"}],
        # Start-up may take a while (first segments, probing the lineup); after that a
        # stream that stops producing segments is restarted.
        "startupProbe": {**health, "periodSeconds": 2, "failureThreshold": 60},
        "livenessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
        "readinessProbe": {**health, "periodSeconds": 2, "failureThreshold": 2},
        "resources": resources(spec.resources, STREAMER_DEFAULTS[spec.output.mode]),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "media", "mountPath": MEDIA_ROOT, "readOnly": True},
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "state", "mountPath": STATE_DIR},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (ffmpeg scratch space)
        ],
    }
    config_hash = hashlib.sha256(rendered.encode()).hexdigest()[:16]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(names.deployment, owner, labels, config),
        "spec": {
            "replicas": 0 if spec.suspend else 1,
            # A channel is a singleton: two streamers would fight over the same segments.
            "strategy": {"type": "Recreate"},
            "revisionHistoryLimit": 3,
            "progressDeadlineSeconds": 300,
            "selector": {"matchLabels": streamer_selector(owner.name)},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        CONFIG_HASH: config_hash,
                        "kubectl.kubernetes.io/default-container": "streamer",
                        **_restart(channel),
                    },
                },
                "spec": {
                    "serviceAccountName": names.service_account,
                    "automountServiceAccountToken": True,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 15,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": [
                        spec.media.to_volume("media"),
                        {"name": "config", "configMap": {"name": names.config_map}},
                        _state_volume(channel),
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                    ],
                },
            },
        },
    }


def _restart(channel: Channel) -> dict[str, str]:
    """`kubectl playout restart`: the Channel's restartedAt annotation on the pod template,
    read from the Channel on every build, so a new value rolls the pipelines and no
    reconcile takes it back. The one annotation of the owner a child carries."""
    restarted = channel.metadata.annotations.get(RESTARTED_AT)
    return {RESTARTED_AT: restarted} if restarted else {}


def _service(
    owner: Owner, names: ChannelNames, labels: dict[str, str], config: OperatorConfig
) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(names.service, owner, labels, config),
        "spec": {
            "type": "ClusterIP",
            "selector": streamer_selector(owner.name),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }


def sweep_age_seconds(channel: Channel) -> int:
    """Segments older than this cannot be in any playlist a player still holds."""
    output = channel.spec.output
    return max(600, 10 * output.window_segments * output.segment_seconds)


def _sweeper(
    channel: Channel, owner: Owner, names: ChannelNames, config: OperatorConfig
) -> Manifest:
    labels = identity_labels(CHANNEL_LABEL, owner, "sweeper")
    streamer = streamer_selector(owner.name)
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "restartPolicy": "OnFailure",
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(),
            # Beside the streamer, so a ReadWriteOnce claim can be mounted by both.
            "affinity": {
                "podAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "labelSelector": {"matchLabels": streamer},
                            "topologyKey": "kubernetes.io/hostname",
                        }
                    ]
                }
            },
            "containers": [
                {
                    "name": "sweeper",
                    "image": config.streamer_image,
                    "imagePullPolicy": config.image_pull_policy,
                    "args": [
                        "sweep",
                        SEGMENTS_DIR,
                        "--older-than",
                        str(sweep_age_seconds(channel)),
                    ],
                    "env": log_env(),
                    "resources": resources(None, SWEEPER_RESOURCES),
                    "securityContext": container_security_context(),
                    "volumeMounts": [{"name": "state", "mountPath": STATE_DIR}],
                }
            ],
            "volumes": [_state_volume(channel)],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": child_metadata(names.sweeper, owner, labels, config),
        "spec": {
            "schedule": "*/15 * * * *",
            "concurrencyPolicy": "Forbid",
            # With the channel off air there is nothing to sit beside, and nothing to sweep.
            "suspend": channel.spec.suspend,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 600,
                    "ttlSecondsAfterFinished": 3600,
                    "template": pod,
                },
            },
        },
    }
