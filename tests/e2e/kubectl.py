"""Driving the cluster the way users do: the real kubectl binary."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.conftest import tool

T = TypeVar("T")


class Kubectl:
    """kubectl bound to one kubeconfig and namespace."""

    def __init__(self, kubeconfig: Path, namespace: str = "default") -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.binary = tool("kubectl")

    def in_namespace(self, namespace: str) -> Kubectl:
        return Kubectl(self.kubeconfig, namespace)

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [self.binary, "--kubeconfig", str(self.kubeconfig), "-n", self.namespace, *args]
        result = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "KUBECTL_EXTERNAL_DIFF": ""},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}{result.stdout}"
            )
        return result

    def __call__(self, *args: str, input: str | None = None) -> str:
        return self.run(*args, input=input).stdout

    def apply(self, document: dict[str, Any] | str, *extra: str) -> str:
        text = document if isinstance(document, str) else yaml.safe_dump(document)
        return self("apply", "-f", "-", *extra, input=text)

    def try_apply(self, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return self.run("apply", "-f", "-", input=yaml.safe_dump(document), check=False)

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        result = self.run("get", kind, name, "-o", "json", check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise AssertionError(result.stderr)
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def items(self, kind: str, *selector: str) -> list[dict[str, Any]]:
        document = json.loads(self("get", kind, "-o", "json", *selector))
        items: list[dict[str, Any]] = document["items"]
        return items


RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


def restricted_namespace(admin: Kubectl, name: str) -> Kubectl:
    """A namespace that enforces Pod Security `restricted`: every pod the operator makes
    must pass it."""
    admin.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": RESTRICTED}}
    )
    return admin.in_namespace(name)


def media_claim(admin: Kubectl, namespace: str, host_path: str) -> str:
    """A `media` claim in `namespace`, bound to a read-only hostPath volume; returns the
    volume's name (cluster-scoped: delete it with the namespace)."""
    volume = f"{namespace}-media"
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": volume},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadOnlyMany"],
                "storageClassName": "",
                "hostPath": {"path": host_path},
                "claimRef": {"namespace": namespace, "name": "media"},
            },
        }
    )
    admin.in_namespace(namespace).apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "media"},
            "spec": {
                "accessModes": ["ReadOnlyMany"],
                "storageClassName": "",
                "volumeName": volume,
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    return volume


@contextmanager
def media_namespace(admin: Kubectl, prefix: str = "e2e") -> Iterator[Kubectl]:
    """A fresh namespace (`prefix`-...) that enforces Pod Security `restricted`, with a
    `media` claim, for the block; deleted after it."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    namespaced = restricted_namespace(admin, name)
    volume = media_claim(admin, name, "/srv/media")
    try:
        yield namespaced
    finally:
        admin.run("delete", "namespace", name, "--wait=false", check=False)
        admin.run("delete", "pv", volume, "--wait=false", check=False)


def eventually(
    probe: Callable[[], T | None], timeout: float = 60, interval: float = 0.5, what: str = ""
) -> T:
    """Poll until `probe` returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except AssertionError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or probe.__name__} (last: {last!r})"
    )


def service_account_kubeconfig(admin: Kubectl, namespace: str, name: str, path: Path) -> Path:
    """A kubeconfig with a token of ServiceAccount `namespace/name`: that identity, and only
    the RBAC bound to it, on the admin's cluster."""
    token = admin.in_namespace(namespace)("create", "token", name, "--duration", "6h").strip()
    admin_config = yaml.safe_load(admin.kubeconfig.read_text())
    cluster = admin_config["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "local", "user": name}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path
