"""The cluster's certificates, made with the openssl CLI, and the kubeconfigs that carry them."""

from __future__ import annotations

import base64
import contextlib
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from localcluster.console import fail
from localcluster.layout import CLUSTER_NAME, SERVICE_IP

VALID_DAYS = "3650"
APISERVER_NAMES = [
    "IP:127.0.0.1",
    f"IP:{SERVICE_IP}",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
]


def openssl(*args: str) -> None:
    result = subprocess.run(
        ["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if result.returncode != 0:
        fail(f"openssl {' '.join(args[:2])} failed:\n{result.stdout}")


@contextlib.contextmanager
def request_config(
    pki: Path, *, subject: str, organization: str | None, extensions: list[str]
) -> Iterator[str]:
    """An openssl request config (subject and the `ext` section) in a temporary file."""
    names = f"CN = {subject}\n" + (f"O = {organization}\n" if organization else "")
    text = f"[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n{names}[ext]\n"
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", dir=pki, delete=False) as config:
        config.write(text + "\n".join(extensions) + "\n")
    try:
        yield config.name
    finally:
        Path(config.name).unlink()


def new_key(path: Path) -> None:
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


def new_ca(pki: Path, name: str, *, subject: str) -> None:
    key = pki / f"{name}.key"
    new_key(key)
    extensions = [
        "basicConstraints = critical, CA:TRUE",
        "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
        "subjectKeyIdentifier = hash",
    ]
    with request_config(pki, subject=subject, organization=None, extensions=extensions) as config:
        openssl(
            "req", "-x509", "-new", "-key", str(key), "-config", config, "-extensions", "ext",
            "-days", VALID_DAYS, "-sha256", "-out", str(pki / f"{name}.crt"),
        )  # fmt: skip


def new_cert(
    pki: Path,
    name: str,
    *,
    ca: str,
    subject: str,
    organization: str | None = None,
    server_names: list[str] | None = None,
) -> None:
    """Key + certificate signed by `ca`; a client certificate unless server_names is given."""
    key = pki / f"{name}.key"
    new_key(key)
    extensions = [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
    ]
    if server_names:
        extensions += [
            "extendedKeyUsage = serverAuth",
            "subjectAltName = " + ", ".join(server_names),
        ]
    else:
        extensions += ["extendedKeyUsage = clientAuth"]
    request = pki / f"{name}.csr"
    with request_config(
        pki, subject=subject, organization=organization, extensions=extensions
    ) as config:
        try:
            openssl("req", "-new", "-key", str(key), "-config", config, "-out", str(request))
            openssl(
                "x509", "-req", "-in", str(request),
                "-CA", str(pki / f"{ca}.crt"), "-CAkey", str(pki / f"{ca}.key"),
                "-set_serial", "0x" + secrets.token_hex(16), "-days", VALID_DAYS, "-sha256",
                "-extfile", config, "-extensions", "ext", "-out", str(pki / f"{name}.crt"),
            )  # fmt: skip
        finally:
            request.unlink(missing_ok=True)


def control_plane_certificates(pki: Path) -> None:
    """The CAs, the apiserver's serving certificate, a client certificate per component and
    the ServiceAccount token signing keypair."""
    pki.mkdir(parents=True, exist_ok=True)
    new_ca(pki, "ca", subject="playout-local-ca")
    new_ca(pki, "front-proxy-ca", subject="playout-local-front-proxy-ca")
    new_cert(pki, "apiserver", ca="ca", subject="kube-apiserver", server_names=APISERVER_NAMES)
    new_cert(pki, "admin", ca="ca", subject="kubernetes-admin", organization="system:masters")
    new_cert(pki, "kube-controller-manager", ca="ca", subject="system:kube-controller-manager")
    new_cert(pki, "kube-scheduler", ca="ca", subject="system:kube-scheduler")
    # kwok writes status of nodes and pods, leases and events for many nodes.
    new_cert(pki, "kwok", ca="ca", subject="kwok-controller", organization="system:masters")
    new_cert(
        pki,
        "apiserver-kubelet-client",
        ca="ca",
        subject="kube-apiserver-kubelet-client",
        organization="system:masters",
    )
    new_cert(pki, "front-proxy-client", ca="front-proxy-ca", subject="front-proxy-client")
    # ServiceAccount tokens are signed ES256.
    new_key(pki / "sa.key")
    openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def write_kubeconfig(path: Path, *, server: str, pki: Path, user: str) -> None:
    """A kubeconfig for `server` that logs in with the certificate pki/<user>.crt."""

    def inline(file: Path) -> str:
        return base64.b64encode(file.read_bytes()).decode()

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: {CLUSTER_NAME}
  cluster:
    server: {server}
    certificate-authority-data: {inline(pki / "ca.crt")}
users:
- name: {CLUSTER_NAME}-{user}
  user:
    client-certificate-data: {inline(pki / f"{user}.crt")}
    client-key-data: {inline(pki / f"{user}.key")}
contexts:
- name: {CLUSTER_NAME}
  context:
    cluster: {CLUSTER_NAME}
    user: {CLUSTER_NAME}-{user}
current-context: {CLUSTER_NAME}
""")
    path.chmod(0o600)
