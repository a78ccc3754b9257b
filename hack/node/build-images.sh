#!/usr/bin/env bash
# Build the images without Docker (buildah, debootstrapped base) and import them into the
# node's containerd (k8s.io namespace) under the names the operator uses by default.
# Usage: hack/node/build-images.sh [streamer] [prober] [operator] [pause]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd); cd "$ROOT"
VERSION=$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
CTR=(ctr -a "${CONTAINERD_ADDRESS:-/run/playout-containerd/containerd.sock}" -n k8s.io)
BASE=$(hack/node/base.sh)
declare -A FILE=([streamer]=images/streamer/Dockerfile [prober]=images/prober/Dockerfile [operator]=operator/Dockerfile)
mkdir -p .cache/images
# Behind a TLS-intercepting proxy, PIP_CERT names its CA: handed to pip in the build stage only.
EXTRA=()
if [[ -n ${PIP_CERT:-} && -f $PIP_CERT ]]; then EXTRA=(-v "$PIP_CERT:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt); fi
for name in "${@:-streamer prober operator pause}"; do for n in $name; do
  t0=$(date +%s.%N)
  if [[ $n == pause ]]; then
    gcc -static -Os -s -o hack/node/pause/pause hack/node/pause/pause.c
    ref=localhost/playout/pause:1
    buildah build -q --layers -f hack/node/pause/Dockerfile -t "$ref" hack/node/pause >/dev/null
  else
    ref=docker.io/library/playout-$n:$VERSION
    buildah build -q --layers --pull=false --build-arg BASE="$BASE" "${EXTRA[@]}" -f "${FILE[$n]}" -t "$ref" . >/dev/null
  fi
  t1=$(date +%s.%N)
  id=$(buildah images --noheading --no-trunc --format '{{.ID}}' "$ref")
  if [[ $(cat ".cache/images/$n.id" 2>/dev/null) != "$id" ]] || ! "${CTR[@]}" images ls -q | grep -qx "$ref"; then
    rm -f ".cache/images/$n.tar"
    buildah push -q --disable-compression "$ref" "oci-archive:.cache/images/$n.tar:$ref" >/dev/null
    "${CTR[@]}" images import ".cache/images/$n.tar" >/dev/null
    rm -f ".cache/images/$n.tar"; echo "$id" > ".cache/images/$n.id"
  fi
  t2=$(date +%s.%N)
  printf '%-9s %-45s build %6.1fs  import %5.1fs  %s\n' "$n" "$ref" "$(echo "$t1-$t0"|bc)" "$(echo "$t2-$t1"|bc)" \
    "$(buildah images --format '{{.Size}}' "$ref")"
done; done
