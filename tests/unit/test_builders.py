"""Builders turn a spec into child manifests: pure, so every rule is checked here."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from playout.api import Channel, ProbeJob
from playout.api.annotations import RESTARTED_AT, SKIP
from playout.api.channel import (
    REPORT_HEARTBEAT_ENV,
    REPORT_HEARTBEAT_SECONDS,
    report_heartbeat_seconds,
)
from playout.controller.builders.channel import (
    CONFIG_HASH,
    build_channel,
    engine_config,
    stream_url,
)
from playout.controller.builders.common import MANAGED_BY, MANAGER
from playout.controller.builders.probejob import build_probejob, job_name, probe_args
from playout.controller.config import OperatorConfig
from tests.podsecurity import restricted_violations

CONFIG = OperatorConfig(streamer_image="streamer:test", prober_image="prober:test")


def children(body: dict[str, Any], config: OperatorConfig = CONFIG) -> dict[str, dict[str, Any]]:
    """By kind; the timeline's ConfigMap (there are two) as "TimelineConfigMap"."""
    made = {}
    for child in build_channel(Channel.model_validate(body), config):
        timeline = child["metadata"]["name"].endswith("-timeline")
        made["TimelineConfigMap" if timeline else child["kind"]] = child
    return made


def pod_specs(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for manifest in manifests:
        spec = manifest.get("spec", {})
        if manifest["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            specs.append(spec["template"]["spec"])
    return specs


def probe_run(body: dict[str, Any]) -> dict[str, Any]:
    """The Job or CronJob of a ProbeJob, the last of its children."""
    *before, run = build_probejob(ProbeJob.model_validate(body), CONFIG)
    assert before[-1]["kind"] == "NetworkPolicy"  # no prober pod runs before it exists
    assert run["kind"] in {"Job", "CronJob"}
    return run


def with_pvc_storage(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["spec"]["storage"] = {"persistentVolumeClaim": {"claimName": "segments"}}
    return body


def test_a_channel_gets_its_children(channel_body: dict[str, Any]) -> None:
    made = children(channel_body)
    assert sorted(made) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "TimelineConfigMap",
    ]
    for child in made.values():
        assert child["metadata"]["namespace"] == "tv"
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner == {
            "apiVersion": "playout.dev/v1alpha1",
            "kind": "Channel",
            "name": "classics",
            "uid": channel_body["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert child["metadata"]["labels"][MANAGED_BY] == MANAGER


def test_the_streamer_is_a_singleton(channel_body: dict[str, Any]) -> None:
    deployment = children(channel_body)["Deployment"]["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}


def test_the_streamer_listens_on_the_pod_ip(channel_body: dict[str, Any]) -> None:
    """Probes and the Service reach it there; the engine's own default is loopback."""
    args = children(channel_body)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--port") + 1] == "8080"


def test_suspend_scales_to_zero(channel_body: dict[str, Any]) -> None:
    channel_body["spec"]["suspend"] = True
    assert children(channel_body)["Deployment"]["spec"]["replicas"] == 0


def test_media_is_mounted_read_only(channel_body: dict[str, Any]) -> None:
    pod = children(channel_body)["Deployment"]["spec"]["template"]["spec"]
    media = next(v for v in pod["volumes"] if v["name"] == "media")
    assert media == {
        "name": "media",
        "persistentVolumeClaim": {"claimName": "media", "readOnly": True},
    }
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "media")
    assert mount == {"name": "media", "mountPath": "/media", "readOnly": True}


@pytest.mark.parametrize("storage", [False, True])
def test_every_pod_passes_pod_security_restricted(
    channel_body: dict[str, Any], probejob_body: dict[str, Any], storage: bool
) -> None:
    body = with_pvc_storage(channel_body) if storage else channel_body
    manifests = build_channel(Channel.model_validate(body), CONFIG)
    manifests += build_probejob(ProbeJob.model_validate(probejob_body), CONFIG)
    specs = pod_specs(manifests)
    assert len(specs) == (3 if storage else 2)
    for spec in specs:
        assert restricted_violations(spec) == []


def test_resources_default_by_mode_and_user_values_win(channel_body: dict[str, Any]) -> None:
    del channel_body["spec"]["resources"]
    container = children(channel_body)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "1", "memory": "512Mi"},
        "limits": {"memory": "2Gi"},
    }
    channel_body["spec"]["output"]["mode"] = "copy"
    channel_body["spec"]["resources"] = {"requests": {"memory": "1Gi"}, "limits": {"cpu": "2"}}
    container = children(channel_body)["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    # The default memory limit (512Mi) is lifted to the request the user raised.
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "1Gi"},
        "limits": {"memory": "1Gi", "cpu": "2"},
    }


def test_gitops_tracking_labels_are_never_copied(channel_body: dict[str, Any]) -> None:
    channel_body["metadata"]["labels"] = {
        "app.kubernetes.io/instance": "tv-apps",
        "argocd.argoproj.io/instance": "tv-apps",
        "kustomize.toolkit.fluxcd.io/name": "tv",
        "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
        "helm.toolkit.fluxcd.io/name": "tv",
        "app.kubernetes.io/managed-by": "Helm",
        "team": "sports",
        "my.tracker/instance": "custom",
    }
    channel_body["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": "tv:playout.dev/Channel:tv/classics"
    }
    config = OperatorConfig(extra_tracking_labels=frozenset({"my.tracker/instance"}))
    for child in children(channel_body, config).values():
        labels = child["metadata"]["labels"]
        assert labels["team"] == "sports"  # cost and ownership labels do carry over
        assert labels[MANAGED_BY] == MANAGER
        assert not any(
            k.startswith(("argocd.", "kustomize.toolkit", "helm.toolkit")) for k in labels
        )
        assert "app.kubernetes.io/instance" not in labels
        assert "my.tracker/instance" not in labels
        assert "annotations" not in child["metadata"]


def test_owner_labels_do_not_restart_the_stream(channel_body: dict[str, Any]) -> None:
    before = children(channel_body)["Deployment"]["spec"]["template"]
    channel_body["metadata"]["labels"] = {"team": "news"}
    after = children(channel_body)["Deployment"]["spec"]["template"]
    assert before == after


def test_config_hash_rolls_the_pod_only_when_the_engine_config_changes(
    channel_body: dict[str, Any],
) -> None:
    def config_hash(body: dict[str, Any]) -> str:
        return str(
            children(body)["Deployment"]["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH]
        )

    original = config_hash(channel_body)
    channel_body["spec"]["resources"] = {"requests": {"cpu": "2"}}
    channel_body["spec"]["suspend"] = True
    assert config_hash(channel_body) == original
    channel_body["spec"]["output"]["segmentSeconds"] = 4
    assert config_hash(channel_body) != original


def test_engine_config_is_a_channel_the_engine_can_read(channel_body: dict[str, Any]) -> None:
    import yaml

    channel = Channel.model_validate(channel_body)
    document = yaml.safe_load(engine_config(channel))
    reread = Channel.model_validate(document)
    assert reread.spec.programs == channel.spec.programs
    assert "suspend" not in document["spec"] and "resources" not in document["spec"]
    assert children(channel_body)["ConfigMap"]["data"]["channel.yaml"] == engine_config(channel)


def test_the_streamer_may_touch_only_its_own_channel(channel_body: dict[str, Any]) -> None:
    made = children(channel_body)
    rules = made["Role"]["rules"]
    names = {r: rule["resourceNames"] for rule in rules for r in rule["resources"]}
    assert names == {
        "channels": ["classics"],
        "channels/status": ["classics"],
        "configmaps": ["classics-timeline"],
    }
    verbs = {r: set(rule["verbs"]) for rule in rules for r in rule["resources"]}
    # Its Channel: read, and watched for the skip annotation (a watch by name).
    assert verbs == {
        "channels": {"get", "watch"},
        "channels/status": {"get", "patch"},
        "configmaps": {"get", "patch"},
    }
    # The timeline's ConfigMap is made empty: the engine writes it, the operator never does.
    timeline = made["TimelineConfigMap"]
    assert "data" not in timeline and "binaryData" not in timeline
    env = {e["name"]: e.get("value") for e in made["Deployment"]["spec"]["template"]["spec"][
        "containers"][0]["env"]}  # fmt: skip
    assert env["PLAYOUT_TIMELINE_CONFIGMAP"] == "classics-timeline"
    assert made["RoleBinding"]["subjects"][0]["name"] == made["ServiceAccount"]["metadata"]["name"]
    pod = made["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == made["ServiceAccount"]["metadata"]["name"]


def test_a_restart_request_rolls_the_pod_and_stays(channel_body: dict[str, Any]) -> None:
    """`kubectl playout restart`: the Channel's annotation goes onto the pod template on
    every build (level-triggered: a later reconcile keeps it), and only that annotation."""
    before = children(channel_body)["Deployment"]["spec"]["template"]["metadata"]
    assert RESTARTED_AT not in before["annotations"]
    body = copy.deepcopy(channel_body)
    body["metadata"]["annotations"] = {
        RESTARTED_AT: "2026-12-03T14:00:00Z",
        SKIP: "2026-12-03T14:00:00Z",
        "note.example.com/owner": "team-tv",
    }
    made = children(body)
    template = made["Deployment"]["spec"]["template"]["metadata"]
    assert template["annotations"] == {
        **before["annotations"],
        RESTARTED_AT: "2026-12-03T14:00:00Z",
    }
    assert children(body)["Deployment"] == made["Deployment"]  # the same on every build
    for child in made.values():  # no child's own metadata carries the owner's annotations
        assert RESTARTED_AT not in child["metadata"].get("annotations", {})
    # Nothing the engine reads changed: the engine config (and its hash) stays.
    assert made["ConfigMap"] == children(channel_body)["ConfigMap"]


def test_service_points_at_the_streamer(channel_body: dict[str, Any]) -> None:
    made = children(channel_body)
    selector = made["Service"]["spec"]["selector"]
    pod_labels = made["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    assert made["Deployment"]["spec"]["selector"]["matchLabels"] == selector
    assert stream_url("classics", "tv") == "http://classics.tv.svc/live/index.m3u8"


def test_a_claim_for_segments_brings_a_sweeper(channel_body: dict[str, Any]) -> None:
    made = children(with_pvc_storage(channel_body))
    sweeper = made["CronJob"]
    assert sweeper["metadata"]["name"] == "classics-sweep"
    pod = sweeper["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "state", "persistentVolumeClaim": {"claimName": "segments"}}]
    affinity = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert affinity["labelSelector"]["matchLabels"] == made["Service"]["spec"]["selector"]
    assert pod["containers"][0]["args"][:2] == ["sweep", "/var/lib/playout/segments"]
    streamer_state = next(
        v for v in made["Deployment"]["spec"]["template"]["spec"]["volumes"] if v["name"] == "state"
    )
    assert streamer_state == {"name": "state", "persistentVolumeClaim": {"claimName": "segments"}}


def test_without_a_claim_disk_is_a_bounded_empty_dir(channel_body: dict[str, Any]) -> None:
    pod = children(channel_body)["Deployment"]["spec"]["template"]["spec"]
    state = next(v for v in pod["volumes"] if v["name"] == "state")
    assert state == {"name": "state", "emptyDir": {"sizeLimit": "1Gi"}}


def test_builders_are_pure(channel_body: dict[str, Any]) -> None:
    channel = Channel.model_validate(channel_body)
    assert build_channel(channel, CONFIG) == build_channel(channel, CONFIG)


# --- ProbeJob ---------------------------------------------------------------------------


def test_a_probejob_gets_a_job_per_generation(probejob_body: dict[str, Any]) -> None:
    job = probe_run(probejob_body)
    assert job["kind"] == "Job"
    assert job["metadata"]["name"] == "cheers-s01e01-1"
    spec = job["spec"]
    assert spec["activeDeadlineSeconds"] == 600
    assert spec["backoffLimit"] == 1
    assert spec["ttlSecondsAfterFinished"] > 0
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    probejob_body["metadata"]["generation"] = 2
    assert job_name(ProbeJob.model_validate(probejob_body)) == "cheers-s01e01-2"


def test_probe_arguments(probejob_body: dict[str, Any]) -> None:
    args = probe_args(ProbeJob.model_validate(probejob_body))
    assert args == [
        "probe",
        "/media/shows/Cheers/Cheers S01E01.mkv",
        "--profile",
        "broadcast",
        "--json",
        "--timeout",
        "590",
        "--threshold",
        "blackSeconds=2",
        "--report-config-map",
        "cheers-s01e01-report",
    ]


def test_delivery_rules_become_probe_arguments(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["require"] = {"audioLayouts": ["stereo", "5.1"], "captions": True}
    args = probe_args(ProbeJob.model_validate(probejob_body))
    rules = args[args.index("--require-layout") : args.index("--report-config-map")]
    assert rules == ["--require-layout", "stereo", "--require-layout", "5.1", "--require-captions"]


def test_probing_a_channel_uses_its_service(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["source"] = {"channelRef": {"name": "classics"}}
    job = probe_run(probejob_body)
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"][1] == "http://classics.tv.svc/live/index.m3u8"
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


def test_a_schedule_makes_a_cronjob(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"]["schedule"] = "*/30 * * * *"
    cron = probe_run(probejob_body)
    assert cron["kind"] == "CronJob"
    assert cron["metadata"]["name"] == "cheers-s01e01"
    assert cron["spec"]["schedule"] == "*/30 * * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 600
    assert "timeZone" not in cron["spec"]  # the controller manager's zone


def test_the_cronjob_reads_its_schedule_in_the_time_zone(probejob_body: dict[str, Any]) -> None:
    probejob_body["spec"] |= {"schedule": "0 6 * * mon-fri", "timeZone": "Europe/Berlin"}
    cron = probe_run(probejob_body)
    assert cron["spec"]["schedule"] == "0 6 * * mon-fri"
    assert cron["spec"]["timeZone"] == "Europe/Berlin"


def test_the_prober_reports_through_its_termination_message(probejob_body: dict[str, Any]) -> None:
    job = probe_run(probejob_body)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": "PLAYOUT_TERMINATION_LOG", "value": "/dev/termination-log"} in container["env"]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_the_prober_may_touch_its_report_config_maps_and_nothing_else(
    probejob_body: dict[str, Any],
) -> None:
    """A pod that parses untrusted media holds a token that can read and write its own
    report ConfigMaps only: no list, no create, no other object."""
    manifests = build_probejob(ProbeJob.model_validate(probejob_body), CONFIG)
    made = {child["kind"]: child for child in manifests}
    pod = made["Job"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "cheers-s01e01-prober"
    assert pod["automountServiceAccountToken"] is True
    assert made["ServiceAccount"]["automountServiceAccountToken"] is False
    assert made["Role"]["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["cheers-s01e01-report"],
            "verbs": ["get", "patch"],
        }
    ]
    assert made["RoleBinding"]["roleRef"]["name"] == "cheers-s01e01-prober"
    assert made["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "cheers-s01e01-prober", "namespace": "tv"}
    ]
    assert made["ConfigMap"]["metadata"]["name"] == "cheers-s01e01-report"
    assert "data" not in made["ConfigMap"] and "binaryData" not in made["ConfigMap"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--report-config-map") + 1] == "cheers-s01e01-report"
    assert "--shards" not in args
    env = pod["containers"][0]["env"]
    assert {
        "name": "POD_NAMESPACE",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
    } in env


def library_body(probejob_body: dict[str, Any], **spec: Any) -> dict[str, Any]:
    probejob_body["spec"]["source"] = {
        "volume": probejob_body["spec"]["source"]["volume"],
        "path": "shows/Cheers",
    }
    probejob_body["spec"] |= spec
    return probejob_body


def test_a_folder_is_probed_by_an_indexed_job_a_shard_per_pod(
    probejob_body: dict[str, Any],
) -> None:
    body = library_body(probejob_body, parallelism=3)
    body["spec"]["source"]["recursive"] = True
    manifests = build_probejob(ProbeJob.model_validate(body), CONFIG)
    job = manifests[-1]
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 3
    assert "activeDeadlineSeconds" not in job["spec"]  # each file has its own timeout
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shards") + 1] == "3"
    assert "--recursive" in args and "--incremental" not in args
    reports = ["cheers-s01e01-report", "cheers-s01e01-report-1", "cheers-s01e01-report-2"]
    assert [args[i + 1] for i, arg in enumerate(args) if arg == "--report-config-map"] == reports
    maps = [m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap"]
    assert maps == reports
    (role,) = [m for m in manifests if m["kind"] == "Role"]
    assert role["rules"][0]["resourceNames"] == reports


def test_a_folder_defaults_to_two_shards_and_a_schedule_probes_only_changes(
    probejob_body: dict[str, Any],
) -> None:
    cron = probe_run(library_body(probejob_body, schedule="0 3 * * *"))
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["completions"] == 2
    args = job["template"]["spec"]["containers"][0]["args"]
    assert "--incremental" in args and "--recursive" not in args


def test_the_streamer_reports_at_the_operators_heartbeat(channel_body: dict[str, Any]) -> None:
    """One setting for both sides: the operator judges report ages by the heartbeat it
    hands every streamer."""
    config = OperatorConfig.from_env({REPORT_HEARTBEAT_ENV: "12.5"})
    assert config.report_heartbeat_seconds == 12.5
    (container,) = children(channel_body, config)["Deployment"]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    assert report_heartbeat_seconds(env) == 12.5
    assert OperatorConfig.from_env({}).report_heartbeat_seconds == REPORT_HEARTBEAT_SECONDS


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf", ""])
def test_a_heartbeat_that_is_not_a_duration_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=f"{REPORT_HEARTBEAT_ENV}=.*above 0"):
        OperatorConfig.from_env({REPORT_HEARTBEAT_ENV: value})
