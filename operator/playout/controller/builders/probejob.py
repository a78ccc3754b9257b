"""ProbeJob -> a Job (one run) or a CronJob (`spec.schedule`), an Indexed Job for a folder,
and the report ConfigMaps its pods fill. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playout.api.common import ResourceRequirements
from playout.api.probejob import ProbeJob, ProbeProfile
from playout.controller.builders.access import (
    config_map_rule,
    pod_filled_config_map,
    pod_identity,
)
from playout.controller.builders.channel import MEDIA_ROOT, stream_url
from playout.controller.builders.common import (
    PROBEJOB_LABEL,
    Manifest,
    Owner,
    child_metadata,
    container_security_context,
    identity_labels,
    log_env,
    pod_security_context,
    resources,
)
from playout.controller.builders.network import probejob_network_policy
from playout.controller.config import OperatorConfig

GENERATION_LABEL = "playout.dev/generation"

# The engine stops itself a little before the Job's deadline, so that it can still write
# a report saying it ran out of time.
REPORT_MARGIN_SECONDS = 10
# The report (a folder's: its counts and worst files) goes out as the container's
# termination message, which the operator reads from the pod's status; the whole report
# goes into the report ConfigMaps, the only objects the prober's token may touch.
TERMINATION_LOG = "/dev/termination-log"
# The container whose termination message the operator reads.
PROBER_CONTAINER = "prober"

PROBER_DEFAULTS = {
    ProbeProfile.QUICK: ResourceRequirements(
        requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "512Mi"}
    ),
    ProbeProfile.STANDARD: ResourceRequirements(
        requests={"cpu": "1", "memory": "512Mi"}, limits={"memory": "2Gi"}
    ),
    ProbeProfile.BROADCAST: ResourceRequirements(
        requests={"cpu": "1", "memory": "512Mi"}, limits={"memory": "2Gi"}
    ),
}


@dataclass(frozen=True)
class ProbeJobNames:
    """Names of a ProbeJob's children, all derived from the ProbeJob's name."""

    probe: str

    @property
    def service_account(self) -> str:
        return f"{self.probe}-prober"

    def report_config_maps(self, shards: int) -> list[str]:
        """One per shard, in shard order: `<name>-report`, then `<name>-report-1`..."""
        return [f"{self.probe}-report", *(f"{self.probe}-report-{i}" for i in range(1, shards))]


def job_name(probe: ProbeJob) -> str:
    """One Job per generation: a Job's pod template is immutable, and an edited ProbeJob is
    a new check."""
    return f"{probe.metadata.name}-{probe.metadata.generation or 0}"


def probe_source(probe: ProbeJob) -> str:
    """What the prober is pointed at, as seen from inside its pod."""
    source = probe.spec.source
    if source.url is not None:
        return source.url
    if source.channel_ref is not None:
        return stream_url(source.channel_ref.name, Owner("ProbeJob", probe.metadata).namespace)
    return f"{MEDIA_ROOT}/{source.path}"


def probe_args(probe: ProbeJob) -> list[str]:
    spec = probe.spec
    args = [
        "probe",
        probe_source(probe),
        "--profile",
        spec.profile.value,
        "--json",
        "--timeout",
        str(max(spec.timeout_seconds - REPORT_MARGIN_SECONDS, 1)),
    ]
    for name, value in sorted(spec.thresholds.items()):
        args += ["--threshold", f"{name}={value:g}"]
    if spec.require is not None:
        for layout in spec.require.audio_layouts:
            args += ["--require-layout", layout]
        if spec.require.captions:
            args.append("--require-captions")
    if spec.source.is_folder:
        args += ["--folder", "--shards", str(spec.shards)]
        if spec.source.recursive:
            args.append("--recursive")
        if spec.schedule is not None:
            args.append("--incremental")  # a scheduled run probes only what changed
    for name in ProbeJobNames(probe.metadata.name).report_config_maps(spec.shards):
        args += ["--report-config-map", name]
    # A channel's own stream is a Service inside the cluster: a private address by nature.
    if spec.allow_private_addresses or spec.source.channel_ref is not None:
        args.append("--allow-private-addresses")
    return args


def build_probejob(probe: ProbeJob, config: OperatorConfig) -> list[Manifest]:
    """Every object a ProbeJob needs, in the order they are applied."""
    owner = Owner("ProbeJob", probe.metadata)
    labels = identity_labels(PROBEJOB_LABEL, owner, "prober")
    names = ProbeJobNames(owner.name)
    reports = names.report_config_maps(probe.spec.shards)
    children = [
        *pod_identity(
            names.service_account,
            owner=owner,
            labels=labels,
            rules=[config_map_rule(reports)],
            config=config,
        ),
        # The prober writes its report into them.
        *(
            pod_filled_config_map(name, owner=owner, labels=labels, config=config)
            for name in reports
        ),
    ]
    if config.network_policies:
        # Before the runs, so that no prober pod runs before it exists.
        children.append(probejob_network_policy(probe=probe, config=config))
    return [*children, *_runs(probe, owner, labels, config)]


def _runs(
    probe: ProbeJob, owner: Owner, labels: dict[str, str], config: OperatorConfig
) -> list[Manifest]:
    """The Job of this generation, or the CronJob of a scheduled probe."""
    job_spec = _job_spec(probe, labels, config)
    if probe.spec.schedule is not None:
        zone = {"timeZone": probe.spec.time_zone} if probe.spec.time_zone else {}
        return [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": child_metadata(owner.name, owner, labels, config),
                "spec": {
                    "schedule": probe.spec.schedule,
                    **zone,
                    "concurrencyPolicy": "Forbid",
                    "startingDeadlineSeconds": 300,
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec},
                },
            }
        ]
    generation = str(probe.metadata.generation or 0)
    job_labels = {**labels, GENERATION_LABEL: generation}
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": child_metadata(job_name(probe), owner, job_labels, config),
            "spec": job_spec,
        }
    ]


def _job_spec(probe: ProbeJob, labels: dict[str, str], config: OperatorConfig) -> dict[str, Any]:
    spec = probe.spec
    namespace = {"fieldRef": {"fieldPath": "metadata.namespace"}}
    container: dict[str, Any] = {
        "name": PROBER_CONTAINER,
        "image": config.prober_image,
        "imagePullPolicy": config.image_pull_policy,
        "args": probe_args(probe),
        "env": [
            *log_env(),
            {"name": "PLAYOUT_TERMINATION_LOG", "value": TERMINATION_LOG},
            {"name": "POD_NAMESPACE", "valueFrom": namespace},
        ],
        "resources": resources(spec.resources, PROBER_DEFAULTS[spec.profile]),
        "securityContext": container_security_context(),
        "terminationMessagePath": TERMINATION_LOG,
        # Without a report (the prober crashed), the end of its log says why.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
    }
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    if spec.source.volume is not None:
        container["volumeMounts"].append(
            {"name": "media", "mountPath": MEDIA_ROOT, "readOnly": True}
        )
        volumes.append(spec.source.volume.to_volume("media"))
    if spec.source.is_folder:
        # A pod per shard, each told its shard by its completion index; each file has its
        # own timeout, so the Job as a whole has no deadline. A failing file is a verdict,
        # not a pod failure: retries are for lost nodes, about one per shard.
        run: dict[str, Any] = {
            "completionMode": "Indexed",
            "completions": spec.shards,
            "parallelism": spec.shards,
            "backoffLimit": spec.shards,
        }
    else:
        # A probe that fails on the media fails again; one retry covers a lost node.
        run = {"backoffLimit": 1, "activeDeadlineSeconds": spec.timeout_seconds}
    return {
        **run,
        "ttlSecondsAfterFinished": 3600,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": ProbeJobNames(probe.metadata.name).service_account,
                "automountServiceAccountToken": True,
                "enableServiceLinks": False,
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
