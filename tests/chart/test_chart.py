"""charts/playout rendered and linted by the real helm, without a cluster: the CRDs and RBAC
are the code's own, the operator pod is configured from values, bad values are rejected."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from playout import __version__, logs
from playout.api.channel import (
    REPORT_HEARTBEAT_ENV,
    REPORT_HEARTBEAT_SECONDS,
    report_heartbeat_seconds,
)
from playout.api.crd import KINDS, chart_crd_files, crd
from playout.controller.config import OperatorConfig
from playout.controller.metrics import Metrics
from playout.controller.rbac import namespaced_rules, operator_rules
from tests.chart.helm import CHART, env_of, helm, of_kind, only, set_flags, template
from tests.podsecurity import restricted_violations

# kubectl's client-side apply (Argo CD's default) keeps the object in an annotation this big.
LAST_APPLIED_LIMIT = 262_144
DIGEST = "sha256:" + "ab" * 32


def test_chart_crds_match_the_models() -> None:
    for name, text in chart_crd_files().items():
        path = CHART / "templates" / "crds" / name
        assert path.exists() and path.read_text() == text, (
            f"{path.relative_to(CHART.parent.parent)} is stale: run "
            "`playout crds --chart --output-dir charts/playout/templates/crds`"
        )


def test_rendered_crds_are_the_generated_ones() -> None:
    rendered = {
        doc["metadata"]["name"]: doc for doc in of_kind(template(), "CustomResourceDefinition")
    }
    assert set(rendered) == {kind.crd_name for kind in KINDS}
    for kind in KINDS:
        generated = crd(kind)
        document = rendered[kind.crd_name]
        assert document["spec"] == generated["spec"]
        assert generated["metadata"]["labels"].items() <= document["metadata"]["labels"].items()
        assert document["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert len(json.dumps(document, separators=(",", ":"))) < LAST_APPLIED_LIMIT


def test_crds_can_be_left_out_or_let_go() -> None:
    assert not of_kind(template({"crds.enabled": "false"}), "CustomResourceDefinition")
    for document in of_kind(template({"crds.keep": "false"}), "CustomResourceDefinition"):
        assert "annotations" not in document["metadata"]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"watchNamespaces": "{tv,news}", "crds.enabled": "false"},
        {
            "metrics.serviceMonitor.enabled": "true",
            "metrics.prometheusRule.enabled": "true",
            "grafanaDashboard.enabled": "true",
        },
        {"metrics.podMonitor.enabled": "true", "metrics.service.enabled": "false"},
    ],
    ids=["defaults", "namespaced", "monitoring", "podmonitor"],
)
def test_lint(values: dict[str, str]) -> None:
    result = helm("lint", "--strict", str(CHART), *set_flags(values))
    assert "0 chart(s) failed" in result.stdout


def test_app_version_is_the_operator_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == __version__


def test_cluster_role_is_the_operator_rules() -> None:
    documents = template()
    assert only(documents, "ClusterRole")["rules"] == operator_rules()
    binding = only(documents, "ClusterRoleBinding")
    account = only(documents, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]
    assert not of_kind(documents, "Role")


def test_watch_namespaces_grants_roles_there_and_nothing_cluster_wide() -> None:
    documents = template({"watchNamespaces": "{tv,news}"})
    assert not of_kind(documents, "ClusterRole") and not of_kind(documents, "ClusterRoleBinding")
    roles = of_kind(documents, "Role")
    assert [role["metadata"]["namespace"] for role in roles] == ["tv", "news"]
    assert all(role["rules"] == namespaced_rules() for role in roles)
    bindings = of_kind(documents, "RoleBinding")
    assert [binding["metadata"]["namespace"] for binding in bindings] == ["tv", "news"]
    assert all(b["subjects"][0]["namespace"] == "tv-ops" for b in bindings)
    container = operator_container(documents)
    assert container["args"][:3] == ["operator", "--namespace=tv", "--namespace=news"]


def operator_container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = only(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_the_operator_pod() -> None:
    documents = template()
    deployment = only(documents, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == only(documents, "ServiceAccount")["metadata"]["name"]
    container = operator_container(documents)
    assert container["args"] == [
        "operator",
        "--all-namespaces",
        "--liveness=http://0.0.0.0:8080/healthz",
        "--metrics-port=9090",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {port["name"]: port["containerPort"] for port in container["ports"]} == {
        "health": 8080,
        "metrics": 9090,
    }
    assert env_of(container) == {
        "POD_ID": "(from metadata.name)",
        "PLAYOUT_STREAMER_IMAGE": f"playout/streamer:{__version__}",
        "PLAYOUT_PROBER_IMAGE": f"playout/prober:{__version__}",
        "PLAYOUT_IMAGE_PULL_POLICY": "IfNotPresent",
        "PLAYOUT_LOG_FORMAT": "json",
        "PLAYOUT_LOG_LEVEL": "info",
        "PLAYOUT_NETWORK_POLICIES": "true",
        "PLAYOUT_API_SERVER_PORTS": "443,6443",
        REPORT_HEARTBEAT_ENV: "300",
    }
    assert container["image"] == f"playout/operator:{__version__}"
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert restricted_violations(pod) == []


def test_images_from_registry_repository_tag_and_digest() -> None:
    container = operator_container(
        template(
            {
                "global.imageRegistry": "mirror.example:5000/tv",
                "images.operator.tag": "1.2.3",
                "images.streamer.registry": "other.example",
                "images.streamer.digest": DIGEST,
                "images.prober.repository": "acme/prober",
                "imagePullPolicy": "Always",
            }
        )
    )
    assert container["image"] == "mirror.example:5000/tv/playout/operator:1.2.3"
    assert container["imagePullPolicy"] == "Always"
    env = env_of(container)
    assert env["PLAYOUT_STREAMER_IMAGE"] == f"other.example/playout/streamer:{__version__}@{DIGEST}"
    assert env["PLAYOUT_PROBER_IMAGE"] == f"mirror.example:5000/tv/acme/prober:{__version__}"
    assert env["PLAYOUT_IMAGE_PULL_POLICY"] == "Always"


def test_tracking_labels_and_log_settings_reach_the_operator() -> None:
    container = operator_container(
        template(
            {
                "trackingLabels": "{argocd.example.com/app,team.example.com/owner}",
                "logLevel": "debug",
                "logFormat": "text",
            }
        )
    )
    env = env_of(container)
    assert env["PLAYOUT_TRACKING_LABELS"] == "argocd.example.com/app,team.example.com/owner"
    assert (env["PLAYOUT_LOG_LEVEL"], env["PLAYOUT_LOG_FORMAT"]) == ("debug", "text")


def test_the_heartbeat_reaches_the_operator_and_defaults_to_the_engines() -> None:
    defaults = env_of(operator_container(template({})))
    assert float(defaults[REPORT_HEARTBEAT_ENV]) == REPORT_HEARTBEAT_SECONDS
    env = env_of(operator_container(template({"reportHeartbeatSeconds": "60"})))
    assert report_heartbeat_seconds(env) == 60


def test_log_levels_are_the_cli_ones() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert tuple(schema["properties"]["logLevel"]["enum"]) == logs.LEVELS


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"bogus": "1"}, "additional properties 'bogus' not allowed"),
        ({"images.operator.digest": "sha256:abc"}, "/images/operator/digest"),
        ({"images.streamer.repository": "Not/Valid"}, "/images/streamer/repository"),
        ({"images.prober.tag": "a tag"}, "/images/prober/tag"),
        ({"imagePullPolicy": "Sometimes"}, "/imagePullPolicy"),
        ({"watchNamespaces": "{tv-*}"}, "/watchNamespaces/0"),
        ({"crds.enabled": "maybe"}, "/crds/enabled"),
        ({"logLevel": "trace"}, "/logLevel"),
        ({"logFormat": "xml"}, "/logFormat"),
        ({"health.port": "80"}, "/health/port"),
        ({"resources.limits.memory": "lots"}, "/resources/limits/memory"),
        ({"trackingLabels": "{not a label}"}, "/trackingLabels/0"),
        ({"networkPolicy.enabled": "maybe"}, "/networkPolicy/enabled"),
        ({"networkPolicy.apiServerCIDRs": "{10.0.0.1}"}, "/networkPolicy/apiServerCIDRs/0"),
        ({"networkPolicy.apiServerPorts": "{0}"}, "/networkPolicy/apiServerPorts/0"),
        ({"networkPolicy.apiServerPorts": "{}"}, "/networkPolicy/apiServerPorts"),
        ({"reportHeartbeatSeconds": "0"}, "/reportHeartbeatSeconds"),
        ({"metrics.serviceMonitor.interval": "soon"}, "/metrics/serviceMonitor/interval"),
        ({"metrics.serviceMonitor.enabled": "true", "metrics.service.enabled": "false"},
         "/metrics/service/enabled"),
        ({"metrics.serviceMonitor.enabled": "true", "metrics.podMonitor.enabled": "true"},
         "'not' failed"),
    ],
)  # fmt: skip
def test_bad_values_are_rejected(values: dict[str, str], complaint: str) -> None:
    result = helm("template", "tv", str(CHART), *set_flags(values), check=False)
    assert result.returncode != 0
    assert "don't meet the specifications of the schema" in result.stderr
    assert complaint in result.stderr


def test_the_operator_pod_has_its_own_network_policy() -> None:
    """In: metrics only; out: DNS and the API server's ports, to any address by default."""
    documents = template()
    policy = only(documents, "NetworkPolicy")
    pod_labels = only(documents, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["metadata"]["namespace"] == "tv-ops"
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9090}]}]
    dns, api_server = policy["spec"]["egress"]
    assert dns == {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    assert api_server == {
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
    }


def test_api_server_cidrs_narrow_the_operator_and_the_streamers() -> None:
    documents = template(
        {
            "networkPolicy.apiServerCIDRs": "{10.0.0.10/32,fd00::10/128}",
            "networkPolicy.apiServerPorts": "{6443}",
            "metrics.port": "9300",
        }
    )
    policy = only(documents, "NetworkPolicy")
    assert policy["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 9300}]}]
    assert policy["spec"]["egress"][1] == {
        "to": [{"ipBlock": {"cidr": "10.0.0.10/32"}}, {"ipBlock": {"cidr": "fd00::10/128"}}],
        "ports": [{"protocol": "TCP", "port": 6443}],
    }
    env = env_of(operator_container(documents))
    assert env["PLAYOUT_API_SERVER_CIDRS"] == "10.0.0.10/32,fd00::10/128"
    assert env["PLAYOUT_API_SERVER_PORTS"] == "6443"
    # What the operator makes of them: the same networks for every streamer.
    config = OperatorConfig.from_env(env)
    assert config.api_server_cidrs == ("10.0.0.10/32", "fd00::10/128")
    assert config.api_server_ports == (6443,)


def test_network_policies_can_be_turned_off() -> None:
    documents = template({"networkPolicy.enabled": "false"})
    assert not of_kind(documents, "NetworkPolicy")
    env = env_of(operator_container(documents))
    assert env["PLAYOUT_NETWORK_POLICIES"] == "false"
    assert OperatorConfig.from_env(env).network_policies is False


def test_metrics_service_and_monitors_select_the_operator() -> None:
    documents = template({"metrics.serviceMonitor.enabled": "true"})
    pod_labels = only(documents, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = only(documents, "Service")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    monitor = only(documents, "ServiceMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    pod_monitor = only(template({"metrics.podMonitor.enabled": "true"}), "PodMonitor")
    assert pod_monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert not of_kind(template(), "ServiceMonitor") and not of_kind(template(), "PodMonitor")


def exported_metrics() -> set[str]:
    """Every sample name the operator's registry can serve (histograms as _bucket etc.)."""
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum"))
    return names


def referenced_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\bplayout_[a-z_]+", expression))


def test_alerts_cover_what_platform_teams_page_on() -> None:
    rule = only(template({"metrics.prometheusRule.enabled": "true"}), "PrometheusRule")
    (group,) = rule["spec"]["groups"]
    alerts = {alert["alert"]: alert for alert in group["rules"]}
    assert set(alerts) == {
        "PlayoutChannelNotLive",
        "PlayoutStreamStale",
        "PlayoutProbeFailing",
        "PlayoutReconcileErrors",
    }
    for alert in alerts.values():
        assert referenced_metrics(alert["expr"]) <= exported_metrics(), alert["alert"]
        assert 'namespace="tv-ops"' in alert["expr"]  # this release's operator only
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert "{{ $value }}" in alert["annotations"]["summary"] or "$labels" in str(alert)


def test_grafana_dashboard() -> None:
    config_map = only(template({"grafanaDashboard.enabled": "true"}), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["playout.json"])
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert expressions
    for expression in expressions:
        assert referenced_metrics(expression), expression
        assert referenced_metrics(expression) <= exported_metrics(), expression
