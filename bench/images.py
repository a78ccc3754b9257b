"""Image sizes: the streamer, prober and operator images (`hack/images.sh`, buildah on a
debootstrapped Debian bookworm, as `make images` builds them without Docker) against their
base with Debian's ffmpeg alone (the least an image that runs ffmpeg can be: the same base,
the same package, the same clean-up as the images' own media layer), built in the same run.
The operator, which has no ffmpeg, is also set against the bare base.

Each size is given unpacked (the layers as a node stores them) and gzip-compressed (what a
node pulls from a registry).

Usage: python -m bench.images      (root, on Debian or Ubuntu: buildah and debootstrap)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ("streamer", "prober", "operator")
BASELINE = "localhost/playout-bench/ffmpeg-only:latest"
# The images' media layer (Dockerfile, stage `media`) without Python or playout.
BASELINE_FILE = """\
ARG BASE
FROM ${BASE}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      ffmpeg ca-certificates \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/*
"""


def run(*args: str, **env: str) -> str:
    result = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def version() -> str:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, str] = tomllib.load(file)["project"]
    return project["version"]


def unpacked(ref: str) -> int:
    """Bytes of the image's layers as stored (uncompressed tars)."""
    manifest = json.loads(json.loads(run("buildah", "inspect", "--type", "image", ref))["Manifest"])
    return sum(int(layer["size"]) for layer in manifest["layers"])


def compressed(ref: str, work: Path) -> int:
    """Bytes of the image's layers gzip-compressed, as a registry would serve them."""
    folder = work / ref.replace("/", "_").replace(":", "_")
    run("buildah", "push", "-q", "--compression-format", "gzip", ref, f"oci:{folder}")
    index = json.loads((folder / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((folder / "blobs/sha256" / digest).read_text())
    return sum(int(layer["size"]) for layer in manifest["layers"])


def main() -> None:
    if not shutil.which("buildah"):
        sys.exit("buildah is needed (make node-deps, as root on Debian or Ubuntu)")
    base = run("hack/node/base.sh").strip()
    print(f"building {', '.join(IMAGES)} and the baseline on {base} ...", flush=True)
    run("bash", "hack/images.sh", *IMAGES, BUILDER="buildah", BASE=base)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "Containerfile").write_text(BASELINE_FILE)
        run("buildah", "build", "-q", "--layers", "--pull=false", "--build-arg", f"BASE={base}",
            "-t", BASELINE, str(work))  # fmt: skip
        refs = {name: f"docker.io/playout/{name}:{version()}" for name in IMAGES}
        sizes = {
            name: (unpacked(ref), compressed(ref, work))
            for name, ref in {**refs, "ffmpeg-only": BASELINE, "base": base}.items()
        }
    mb = 1e6
    print(f"\n{'image':12s} {'unpacked':>10s} {'gzip':>9s}  {'ratio to ffmpeg alone':>22s}")
    for name, (size, packed) in sizes.items():
        against = "base" if name == "operator" else "ffmpeg-only"
        base_size, base_packed = sizes[against]
        ratio = (
            f"{size / base_size:.2f}x / {packed / base_packed:.2f}x"
            if name in IMAGES
            else "(baseline)"
        )
        note = " (against the bare base: no ffmpeg)" if name == "operator" else ""
        print(f"{name:12s} {size / mb:8.1f}MB {packed / mb:7.1f}MB  {ratio:>22s}{note}")


if __name__ == "__main__":
    main()
