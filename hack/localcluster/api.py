"""HTTP to the cluster: the apiserver as its admin, and the health endpoints of the rest."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from localcluster.layout import ClusterDir

Json = dict[str, Any]


class ApiClient:
    """The apiserver on 127.0.0.1, with the admin's client certificate."""

    def __init__(self, cluster_dir: ClusterDir, port: int) -> None:
        self.base = f"https://127.0.0.1:{port}"
        self.context = ssl.create_default_context(cafile=str(cluster_dir.pki / "ca.crt"))
        self.context.load_cert_chain(
            str(cluster_dir.pki / "admin.crt"), str(cluster_dir.pki / "admin.key")
        )

    def call(
        self, method: str, path: str, body: Json | None = None, timeout: float = 5
    ) -> tuple[int, Json | str]:
        """The status code (0 when there was no answer) and the JSON body, or its text."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (self.base is https://127.0.0.1)
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, context=self.context, timeout=timeout
            ) as response:
                raw, status = response.read().decode(), response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read().decode(errors="replace"), error.code
        except OSError as error:  # ssl.SSLError is one
            return 0, str(error)
        try:
            document: Json = json.loads(raw)
        except ValueError:
            return status, raw
        return status, document

    def get(self, path: str) -> tuple[int, Json | str]:
        return self.call("GET", path)


def is_ready(node: Json) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def self_signed() -> ssl.SSLContext:
    """For the components' own serving certificates, which nothing signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def responds_ok(url: str, *, context: ssl.SSLContext | None = None) -> bool:
    """Whether a health endpoint answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as response:  # noqa: S310 (health endpoints on this machine)
            return bool(response.status == 200)
    except OSError:  # refused, timed out, an error status or a TLS failure
        return False


def etcd_healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(json.loads(response.read()).get("health") == "true")
    except (OSError, ValueError):
        return False
