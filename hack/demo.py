"""`make demo`: the CRDs, the operator and a sample Channel and ProbeJob on the local
cluster that `make cluster-up` started, with generated sample media. kwok's pods run no
containers, so the channel's engine runs on this machine exactly as its pod would: the
ConfigMap the operator rendered, the identity of the ServiceAccount it made.
`demo.py down` removes what `up` made."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"
NAMESPACE = "playout-demo"
HEALTH = "http://127.0.0.1:8081/healthz"
PLAYER = "http://127.0.0.1:8080/"
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


def make_media() -> Path:
    """Sample media: episodes, a film and a bumper from ffmpeg's test sources."""
    media = STATE / "media"
    clips = {
        "shows/Cheers/Cheers S01E01.mkv": ("testsrc2", 440, 45),
        "shows/Cheers/Cheers S01E02.mkv": ("testsrc2", 550, 45),
        "shows/Cheers/Cheers S01E10.mkv": ("testsrc2", 660, 45),
        "movies/Big Buck Test.mp4": ("smptehdbars", 330, 60),
        "bumpers/ident.mp4": ("rgbtestsrc", 880, 3),
    }
    for relative, (source, tone, seconds) in clips.items():
        path = media / relative
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=s=1280x720:r=30",
             "-f", "lavfi", "-i", f"sine=f={tone}", "-t", str(seconds), "-c:v", "libx264",
             "-preset", "ultrafast", "-c:a", "aac", str(path)],
            check=True, timeout=300,
        )  # fmt: skip
    return media


def start_engine(media: Path) -> None:
    """The channel's engine with its pod's configuration and ServiceAccount identity."""
    if (STATE / "engine.pid").exists() and _alive(int((STATE / "engine.pid").read_text())):
        print("The channel engine is already running.")
        return
    config = kubectl("get", "-n", NAMESPACE, "configmap", "classics-config", "-o",
                     "jsonpath={.data.channel\\.yaml}")  # fmt: skip
    (STATE / "channel.yaml").write_text(config)
    token = kubectl("create", "token", "-n", NAMESPACE, "classics-streamer", "--duration", "24h")
    cluster = yaml.safe_load((ROOT / ".cluster" / "kubeconfig").read_text())["clusters"][0]
    identity = {
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster],
        "users": [{"name": "streamer", "user": {"token": token.strip()}}],
        "contexts": [
            {"name": "streamer", "context": {"cluster": cluster["name"], "user": "streamer"}}
        ],
        "current-context": "streamer",
    }  # fmt: skip
    (STATE / "streamer.kubeconfig").write_text(yaml.safe_dump(identity))
    (STATE / "streamer.kubeconfig").chmod(0o600)
    env = {**os.environ, "KUBECONFIG": str(STATE / "streamer.kubeconfig"),
           "PLAYOUT_REPORT": "kubernetes", "PLAYOUT_CHANNEL": "classics",
           "PLAYOUT_NAMESPACE": NAMESPACE}  # fmt: skip
    log = (STATE / "engine.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "playout.cli", "run", str(STATE / "channel.yaml"),
         "--media-root", str(media), "--state", str(STATE / "engine"), "--port", "8080"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    (STATE / "engine.pid").write_text(str(process.pid))
    print(f"Channel engine running (pid {process.pid}, log .demo/engine.log).")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def up() -> None:
    print("Installing the CRDs...")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    kubectl("wait", "--for=condition=Established", "crd/channels.playout.dev", "--timeout=60s")
    kubectl("wait", "--for=condition=Established", "crd/probejobs.playout.dev", "--timeout=60s")
    start_operator()
    print("Generating sample media...")
    media = make_media()
    kubectl("create", "namespace", NAMESPACE, check=False)
    kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted",
            "--overwrite")  # fmt: skip
    kubectl("apply", "-f", "-", stdin=MEDIA_CLAIM)
    for example in ("channel.yaml", "probejob.yaml"):
        kubectl("apply", "-n", NAMESPACE, "-f", str(ROOT / "examples" / example))
    kubectl("wait", "-n", NAMESPACE, "--for=jsonpath={.status.phase}=Starting",
            "channel/classics", "--timeout=120s", check=False)  # fmt: skip
    start_engine(media)
    print("Waiting for the channel to go live...")
    kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "channel/classics",
            "--timeout=120s", check=False)  # fmt: skip
    kubectl("wait", "-n", NAMESPACE, "--for=condition=Complete", "probejob/cheers-s01e01",
            "--timeout=120s", check=False)  # fmt: skip
    print(kubectl("get", "-n", NAMESPACE, "channels,probejobs", "-o", "wide"))
    print(kubectl("get", "-n", NAMESPACE, "deployments,services,jobs,pods"))
    print(
        f"Watch the channel: {PLAYER}  (playlist {PLAYER}live/index.m3u8)\n"
        f"Try: KUBECONFIG={ROOT}/.cluster/kubeconfig kubectl -n {NAMESPACE} get channels -w\n"
        "Not shown yet: pods run on simulated (kwok) nodes, so the channel's engine runs on\n"
        "this machine as its pod would, and the probe Job's pod runs no prober (the probe\n"
        "finishes without a verdict). Real pods arrive with the real-node work.\n"
        "Remove it all with: make demo-down"
    )


def down() -> None:
    for pid_file in (STATE / "engine.pid", STATE / "operator.pid"):
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
