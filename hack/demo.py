"""`make demo`: the operator and a sample Channel and ProbeJob on the local cluster that
`make cluster-up` started, with generated sample media.

Where the host allows a real node (root, containerd: `hack/node.py check`), everything runs
for real: the images are built (hack/images.sh), the chart installs the operator, which
runs in its pod, and the streamer and prober pods run on the real node; the player is
reached through `kubectl port-forward` to the channel's Service.

Otherwise the nodes are simulated (kwok) and run no containers: the operator then runs on
this machine as a process, and so does the channel's engine, exactly as its pod would (the
ConfigMap the operator rendered, the identity of the ServiceAccount it made).

`demo.py down` removes what `up` made."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from localcluster.api import responds_ok
from localcluster.layout import DEFAULT_CLUSTER_DIR, ROOT, TOOLS_BIN, ClusterDir
from playout.media.ffmpeg import BT709_TAGS, RGB_TO_BT709

STATE = ROOT / ".demo"
NAMESPACE = "playout-demo"
SYSTEM_NAMESPACE = "playout-system"
RELEASE = "playout"
HEALTH = "http://127.0.0.1:8081/healthz"
PLAYER = "http://127.0.0.1:8080/"
KUBECTL = str(TOOLS_BIN / "kubectl")
HELM = str(TOOLS_BIN / "helm")
KUBECONFIG = ClusterDir(DEFAULT_CLUSTER_DIR).kubeconfig
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}

# A stereo tone whose level in dBFS reads as LUFS: amplitude 0.0708 is -23 dBFS.
TONE = "aevalsrc='0.0708*sin(2*PI*{tone}*t)|0.0708*sin(2*PI*{tone}*t)':s=48000"

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


def tool(binary: str, *args: str, stdin: str | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [binary, *args], input=stdin, capture_output=True, text=True, timeout=300
    )
    if check and result.returncode != 0:
        sys.exit(f"{Path(binary).name} {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    return tool(KUBECTL, *args, stdin=stdin, check=check)


def hack(*args: str) -> None:
    """One of the hack/ scripts, its output shown."""
    command = [sys.executable, *args] if args[0].endswith(".py") else list(args)
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit(f"{' '.join(args)} failed")


def real_node_blockers() -> str:
    """Why this host cannot run a real node ('' if it can)."""
    check = subprocess.run(
        [sys.executable, "hack/node.py", "check"], capture_output=True, text=True, cwd=ROOT
    )
    return "" if check.returncode == 0 else check.stdout.strip()


def start_operator() -> None:
    if responds_ok(HEALTH):
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
        if responds_ok(HEALTH):
            print(f"Operator running (pid {process.pid}, log .demo/operator.log).")
            return
        if process.poll() is not None:
            sys.exit(f"The operator exited; see {STATE / 'operator.log'}")
        time.sleep(1)
    sys.exit(f"The operator did not become healthy; see {STATE / 'operator.log'}")


def make_media() -> Path:
    """Sample media: episodes, a film and a bumper from ffmpeg's test sources, with a tone
    at EBU R128's -23 LUFS, readable by the pods' non-root user."""
    media = STATE / "media"
    # The episodes are smooth gradients, and the sample ProbeJob holds S01E01 to the
    # broadcast profile: in colours no edge of which reads as a black bar (navy does, in
    # BT.709) and whose banding the blockiness heuristic does not take for blocks.
    clips = {
        "shows/Cheers/Cheers S01E01.mkv": (
            "gradients=c0=slateblue:c1=seagreen:speed=0.02:",
            440,
            45,
        ),
        "shows/Cheers/Cheers S01E02.mkv": ("gradients=c0=maroon:c1=olive:speed=0.02:", 550, 45),
        "shows/Cheers/Cheers S01E10.mkv": ("gradients=c0=purple:c1=gray:speed=0.02:", 660, 45),
        "movies/Big Buck Test.mp4": ("smptehdbars=", 330, 270),
        "bumpers/ident.mp4": ("rgbtestsrc=", 880, 3),
        "filler/Promo Autumn.mp4": ("testsrc2=", 770, 10),
        "filler/Promo Winter.mp4": ("gradients=c0=white:c1=blue:speed=0.05:", 990, 7),
    }
    for relative, (source, tone, seconds) in clips.items():
        path = media / relative
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{source}s=1280x720:r=30",
             "-f", "lavfi", "-i", TONE.format(tone=tone), "-t", str(seconds), "-c:v", "libx264",
             "-preset", "ultrafast", "-g", "60", "-vf", f"{RGB_TO_BT709},format=yuv420p",
             *BT709_TAGS, "-c:a", "aac",
             str(path)],
            check=True, timeout=300,
        )  # fmt: skip
    for path in (media, *media.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return media


def demo_library_probe() -> str:
    """examples/probejob-library.yaml run once now (not nightly), two shards: the whole
    Cheers folder checked, each pod its half of the episodes."""
    document = yaml.safe_load((ROOT / "examples" / "probejob-library.yaml").read_text())
    del document["spec"]["schedule"]
    document["spec"]["parallelism"] = 2
    return yaml.safe_dump(document, sort_keys=False)


def show_library() -> None:
    """The library probe's counts and worst files, as its status keeps them."""
    found = kubectl("get", "-n", NAMESPACE, "probejob", "cheers-library", "-o",
                    "jsonpath={.status.library}", check=False)  # fmt: skip
    if not found.strip():
        print("The library probe has no result (its pods run no prober here).")
        return
    library = yaml.safe_load(found)
    counts = library["counts"]
    print(
        f"Library QC of shows/Cheers ({library['shardsReported']} shards): "
        f"{counts['total']} files, {counts['pass']} pass, {counts['warn']} warn, "
        f"{counts['fail']} fail, {counts['error']} error; reports in "
        f"{', '.join(library['reports'])}"
    )
    for item in library.get("worst", []):
        print(f"  {item['status'].upper():5} {item['path']}  {', '.join(item['problems'])}")


def show_report() -> None:
    """The single-file probe's whole report as the web page `kubectl playout report -o
    html` makes of its report ConfigMap: checks, loudness graph, events and pictures."""
    page = kubectl("playout", "-n", NAMESPACE, "report", "cheers-s01e01", "-o", "html",
                   check=False)  # fmt: skip
    if not page.startswith("<!DOCTYPE html>"):
        print("The probe of S01E01 has no report (its pod runs no prober here).")
        return
    path = STATE / "cheers-s01e01.html"
    path.write_text(page, encoding="utf-8")
    print(
        f"QC report of Cheers S01E01 (loudness graph, events, a picture of each): {path}\n"
        f"  made by: kubectl playout -n {NAMESPACE} report cheers-s01e01 -o html"
    )


def demo_channel() -> str:
    """examples/channel.yaml with its slots moved to the next minutes and a break every
    two minutes of the film, so the guide, a slot change and an ad break show up at once."""
    document = yaml.safe_load((ROOT / "examples" / "channel.yaml").read_text())
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    at = [(now + timedelta(minutes=m)).strftime("%H:%M") for m in (0, 3, 9)]
    spec = document["spec"]
    spec["schedule"] = {
        "timezone": "UTC",
        "guideDays": 1,
        "slots": [
            {"start": at[0], "program": "shows/Cheers"},
            {"start": at[1], "program": "movies", "fill": "filler"},
            {"start": at[2], "program": "shows/Cheers"},
        ],
    }
    spec["breaks"] = [{"program": "movies", "everyMinutes": 2, "seconds": 20}]
    # A 2-core machine runs the streamer, the prober and the operator side by side: the demo's
    # ladder is smaller than the example's (480p, 360p, 240p), and its channel asks for half
    # a core, not the example's one.
    spec["output"]["video"] = {"width": 854, "height": 480, "frameRate": 25, "bitrateKbps": 1400,
                               "preset": "superfast"}  # fmt: skip
    spec["output"]["renditions"] = [
        {"height": 480, "bitrateKbps": 1400},
        {"height": 360, "bitrateKbps": 800},
        {"height": 240, "bitrateKbps": 400},
    ]
    spec["resources"] = {
        "requests": {"cpu": "500m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    return yaml.safe_dump(document, sort_keys=False)


def show_guide(count: int = 8) -> None:
    """The first programmes of the channel's XMLTV guide, as an IPTV client reads it."""
    deadline = time.monotonic() + 30  # the port-forward or the engine may still be starting
    while True:
        try:
            with urllib.request.urlopen(f"{PLAYER}xmltv.xml", timeout=10) as response:  # noqa: S310 (our own http URL)
                guide = ElementTree.fromstring(response.read())  # noqa: S314 (our own engine's guide)
            break
        except (OSError, ElementTree.ParseError) as error:
            if time.monotonic() > deadline:
                print(f"(The guide is not reachable yet: {error})")
                return
            time.sleep(1)
    print("The guide (/xmltv.xml):")
    for programme in list(guide.iter("programme"))[:count]:
        start = datetime.strptime(programme.get("start", ""), "%Y%m%d%H%M%S %z")
        stop = datetime.strptime(programme.get("stop", ""), "%Y%m%d%H%M%S %z")
        print(f"  {start:%H:%M:%S}-{stop:%H:%M:%S} UTC  {programme.findtext('title')}")


def show_ladder() -> None:
    """The multivariant playlist: each rendition with its measured bandwidth and codecs."""
    try:
        with urllib.request.urlopen(f"{PLAYER}live/index.m3u8", timeout=10) as response:  # noqa: S310 (our own http URL)
            text = response.read().decode()
    except OSError as error:
        print(f"(The playlist is not reachable yet: {error})")
        return
    print("The renditions (/live/index.m3u8):")
    for line in text.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            print(f"  {line.removeprefix('#EXT-X-STREAM-INF:')}")


def start_engine(media: Path) -> None:
    """The channel's engine with its pod's configuration and ServiceAccount identity."""
    if (STATE / "engine.pid").exists() and _alive(int((STATE / "engine.pid").read_text())):
        print("The channel engine is already running.")
        return
    config = kubectl("get", "-n", NAMESPACE, "configmap", "classics-config", "-o",
                     "jsonpath={.data.channel\\.yaml}")  # fmt: skip
    (STATE / "channel.yaml").write_text(config)
    token = kubectl("create", "token", "-n", NAMESPACE, "classics-streamer", "--duration", "24h")
    cluster = yaml.safe_load(KUBECONFIG.read_text())["clusters"][0]
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


def install_crds() -> None:
    print("Installing the CRDs...")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for crd in ("channels.playout.dev", "probejobs.playout.dev"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")


def create_namespaces(real: bool) -> None:
    for namespace in (SYSTEM_NAMESPACE, NAMESPACE):
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": RESTRICTED},
        }))  # fmt: skip
    if real:
        hack("hack/node.py", "place", SYSTEM_NAMESPACE, NAMESPACE)


def install_chart() -> None:
    """The chart, as users install it: the CRDs, and the operator in its pod."""
    print("Installing the chart (the operator runs in its pod)...")
    tool(HELM, "upgrade", "--install", RELEASE, str(ROOT / "charts" / "playout"),
         "--namespace", SYSTEM_NAMESPACE, "--set", "logFormat=text", "--take-ownership",
         "--wait", "--timeout", "180s", "--kubeconfig", str(KUBECONFIG))  # fmt: skip


def start_port_forward() -> None:
    """The channel's Service on 127.0.0.1:8080, as users reach it: kubectl port-forward."""
    pid_file = STATE / "port-forward.pid"
    # kubectl port-forward holds on to the pod it picked: after a rollout (a rerun of the
    # demo moves the slots, and so rolls the pod) it must pick the new one.
    kubectl("rollout", "status", "-n", NAMESPACE, "deployment/classics", "--timeout=120s",
            check=False)  # fmt: skip
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    log = (STATE / "port-forward.log").open("a")
    process = subprocess.Popen(
        [KUBECTL, "port-forward", "-n", NAMESPACE, "--address", "127.0.0.1", "service/classics",
         "8080:80"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    pid_file.write_text(str(process.pid))


def up() -> None:
    STATE.mkdir(exist_ok=True)
    why_not = real_node_blockers()
    real = not why_not
    if real:
        print("This host can run a real node: the operator, streamer and prober run in pods.")
        hack("hack/node.py", "up")
        print("Building the images (cached after the first time)...")
        hack("hack/images.sh")
    else:
        print(f"Simulated (kwok) nodes only, so pods run no containers.\n{why_not}")
    print("Generating sample media...")
    media = make_media()
    create_namespaces(real)
    if real:
        install_chart()
    else:
        install_crds()
        start_operator()
    kubectl("apply", "-f", "-", stdin=MEDIA_CLAIM)
    kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=demo_channel())
    kubectl("apply", "-n", NAMESPACE, "-f", str(ROOT / "examples" / "probejob.yaml"))
    kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=demo_library_probe())
    if not real:
        kubectl("wait", "-n", NAMESPACE, "--for=jsonpath={.status.phase}=Starting",
                "channel/classics", "--timeout=120s", check=False)  # fmt: skip
        start_engine(media)
    print("Waiting for the channel to go live and the probe to finish...")
    kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "channel/classics",
            "--timeout=180s", check=False)  # fmt: skip
    if real:
        start_port_forward()
    for probe in ("cheers-s01e01", "cheers-library"):
        kubectl("wait", "-n", NAMESPACE, "--for=condition=Complete", f"probejob/{probe}",
                "--timeout=240s", check=False)  # fmt: skip
    print(kubectl("get", "-n", NAMESPACE, "channels,probejobs", "-o", "wide"))
    print(kubectl("get", "-n", NAMESPACE, "deployments,services,jobs,pods", "-o", "wide"))
    # The kubectl plugin (`make kubectl-plugin`, which make demo runs): kubectl finds
    # kubectl-playout on PATH.
    print(f"$ kubectl playout -n {NAMESPACE} status classics")
    print(kubectl("playout", "-n", NAMESPACE, "status", "classics", check=False))
    where = (
        "The pods run on the real node playout-real-0; the player is reached through\n"
        f"`kubectl -n {NAMESPACE} port-forward service/classics 8080:80` (running; log\n"
        ".demo/port-forward.log). The probe's verdict comes from the prober pod."
        if real
        else "Pods run on simulated (kwok) nodes, so the channel's engine runs on this machine\n"
        "as its pod would, and the probe Job's pod runs no prober (the probe finishes\n"
        "without a verdict)."
    )
    show_guide()
    show_ladder()
    show_library()
    show_report()
    print(
        f"Watch the channel: {PLAYER}  (playlist {PLAYER}live/index.m3u8, one per rendition\n"
        f"at {PLAYER}live/480p/index.m3u8 and so on)\n"
        f"Guide: {PLAYER}xmltv.xml  Channel list: {PLAYER}channel.m3u  As-run log: {PLAYER}asrun\n"
        "The film at the second slot has an ad break every 2 minutes: EXT-X-DATERANGE\n"
        f"SCTE35-OUT and EXT-X-CUE-OUT in {PLAYER}live/480p/index.m3u8 while it airs.\n{where}\n"
        f"Try: KUBECONFIG={KUBECONFIG} kubectl -n {NAMESPACE} get channels -w\n"
        f"  and kubectl playout -n {NAMESPACE} status | guide classics | asrun classics |"
        " report cheers-library\n"
        "Remove it all with: make demo-down"
    )


def down() -> None:
    for name in ("port-forward", "engine", "operator"):
        pid_file = STATE / f"{name}.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            pid_file.unlink()
    if Path(KUBECTL).exists() and KUBECONFIG.exists():
        tool(HELM, "uninstall", RELEASE, "--namespace", SYSTEM_NAMESPACE, "--ignore-not-found",
             "--wait", "--kubeconfig", str(KUBECONFIG), check=False)  # fmt: skip
        for namespace in (NAMESPACE, SYSTEM_NAMESPACE):
            kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false",
                    check=False)  # fmt: skip
        kubectl("delete", "pv", f"{NAMESPACE}-media", "--ignore-not-found", "--wait=false",
                check=False)  # fmt: skip
    print("Demo removed.")


if __name__ == "__main__":
    {"up": up, "down": down}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
