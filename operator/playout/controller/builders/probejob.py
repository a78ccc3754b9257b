"""ProbeJob -> a Job (one run) or a CronJob (`spec.schedule`). Pure."""

from __future__ import annotations

from typing import Any

from playout.api.common import ResourceRequirements
from playout.api.probejob import ProbeJob, ProbeProfile
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
# The report goes out as the container's termination message, which the operator reads
# from the pod's status: the prober needs no API access and no service account token.
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
    # A channel's own stream is a Service inside the cluster: a private address by nature.
    if spec.allow_private_addresses or spec.source.channel_ref is not None:
        args.append("--allow-private-addresses")
    return args


def build_probejob(probe: ProbeJob, config: OperatorConfig) -> list[Manifest]:
    runs = _runs(probe, config)
    if not config.network_policies:
        return runs
    # The policy first, so that no prober pod runs before it exists.
    return [probejob_network_policy(probe=probe, config=config), *runs]


def _runs(probe: ProbeJob, config: OperatorConfig) -> list[Manifest]:
    """The Job of this generation, or the CronJob of a scheduled probe."""
    owner = Owner("ProbeJob", probe.metadata)
    labels = identity_labels(PROBEJOB_LABEL, owner, "prober")
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
    container: dict[str, Any] = {
        "name": PROBER_CONTAINER,
        "image": config.prober_image,
        "imagePullPolicy": config.image_pull_policy,
        "args": probe_args(probe),
        "env": [*log_env(), {"name": "PLAYOUT_TERMINATION_LOG", "value": TERMINATION_LOG}],
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
    return {
        # A probe that fails on the media fails again; one retry covers a lost node.
        "backoffLimit": 1,
        "activeDeadlineSeconds": spec.timeout_seconds,
        "ttlSecondsAfterFinished": 3600,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
                "securityContext": pod_security_context(),
                "containers": [container],
                "volumes": volumes,
            },
        },
    }
