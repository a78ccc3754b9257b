"""The operator's in-cluster login: the kubelet's address for the API server, never DNS."""

from __future__ import annotations

from pathlib import Path

from playout.controller.login import in_cluster

SERVICE = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def service_account(tmp_path: Path, token: str = "t0ken\n") -> Path:
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "namespace").write_text("playout-system")
    return tmp_path


def test_a_pod_reaches_the_api_server_by_the_service_address(tmp_path: Path) -> None:
    info = in_cluster(SERVICE, service_account(tmp_path))
    assert info is not None
    assert info.server == "https://10.96.0.1:443"
    assert info.token == "t0ken"
    assert info.ca_path == str(tmp_path / "ca.crt")
    assert info.default_namespace == "playout-system"


def test_an_ipv6_service_address_is_bracketed(tmp_path: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}
    info = in_cluster(environ, service_account(tmp_path))
    assert info is not None and info.server == "https://[fd00::1]:6443"


def test_outside_a_pod_there_is_no_in_cluster_login(tmp_path: Path) -> None:
    assert in_cluster({}, service_account(tmp_path)) is None
    assert in_cluster(SERVICE, tmp_path / "absent") is None
