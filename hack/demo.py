"""`make demo`: the CRDs, the operator and a sample Channel and ProbeJob on the local
cluster that `make cluster-up` started. `demo.py down` removes what `up` made."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"
NAMESPACE = "playout-demo"
HEALTH = "http://127.0.0.1:8081/healthz"
KUBECTL = str(ROOT / ".tools" / "bin" / "kubectl")

MEDIA_CLAIM = f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {NAMESPACE}-media}}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadOnlyMany]
  storageClassName: ""
  hostPath: {{path: {STATE}/media}}
  claimRef: {{namespace: {NAMESPACE}, name: media}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: media, namespace: {NAMESPACE}}}
spec:
  accessModes: [ReadOnlyMany]
  storageClassName: ""
  volumeName: {NAMESPACE}-media
  resources: {{requests: {{storage: 1Gi}}}}
"""


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        sys.exit(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def operator_running() -> bool:
    try:
        with urllib.request.urlopen(HEALTH, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_operator() -> None:
    if operator_running():
        print("The operator is already running.")
        return
    STATE.mkdir(exist_ok=True)
    log = (STATE / "operator.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "playout.cli", "operator", "-A", "--liveness", HEALTH,
         "--metrics-host", "127.0.0.1", "--metrics-port", "9090"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    (STATE / "operator.pid").write_text(str(process.pid))
    for _ in range(60):
        if operator_running():
            print(f"Operator running (pid {process.pid}, log .demo/operator.log).")
            return
        if process.poll() is not None:
            sys.exit(f"The operator exited; see {STATE / 'operator.log'}")
        time.sleep(1)
    sys.exit(f"The operator did not become healthy; see {STATE / 'operator.log'}")


def up() -> None:
    print("Installing the CRDs...")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd/channels.playout.dev", "--timeout=60s")
    kubectl("wait", "--for=condition=Established", "crd/probejobs.playout.dev", "--timeout=60s")
    start_operator()
    (STATE / "media").mkdir(parents=True, exist_ok=True)
    kubectl("create", "namespace", NAMESPACE, check=False)
    kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted",
            "--overwrite")  # fmt: skip
    kubectl("apply", "-f", "-", stdin=MEDIA_CLAIM)
    for example in ("channel.yaml", "probejob.yaml"):
        kubectl("apply", "-n", NAMESPACE, "-f", str(ROOT / "examples" / example))
    print("Waiting for the operator to report...")
    kubectl("wait", "-n", NAMESPACE, "--for=jsonpath={.status.phase}=Starting",
            "channel/classics", "--timeout=120s", check=False)  # fmt: skip
    kubectl("wait", "-n", NAMESPACE, "--for=condition=Complete", "probejob/cheers-s01e01",
            "--timeout=120s", check=False)  # fmt: skip
    print(kubectl("get", "-n", NAMESPACE, "channels,probejobs", "-o", "wide"))
    print(kubectl("get", "-n", NAMESPACE, "deployments,services,jobs,pods"))
    print(
        "Not shown yet: the pods run on simulated (kwok) nodes and the streamer and prober\n"
        "engines are not built yet, so the channel stays Starting (no stream to watch) and\n"
        "the probe finishes without a verdict. Both arrive with the engine and real-node work.\n"
        f"Try: KUBECONFIG={ROOT}/.cluster/kubeconfig kubectl -n {NAMESPACE} describe channel "
        "classics\nRemove it all with: make demo-down"
    )


def down() -> None:
    pid_file = STATE / "operator.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
        pid_file.unlink()
    if Path(KUBECTL).exists() and (ROOT / ".cluster" / "kubeconfig").exists():
        kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false",
                check=False)  # fmt: skip
        kubectl("delete", "pv", f"{NAMESPACE}-media", "--ignore-not-found", "--wait=false",
                check=False)  # fmt: skip
    print("Demo removed.")


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
