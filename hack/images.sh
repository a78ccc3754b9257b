#!/usr/bin/env bash
# Build playout's images under the names the chart and the operator use by default:
# playout/{streamer,prober,operator}:<version>, each a target of the one Dockerfile.
#   With a Docker engine: `docker build` (kind users then `kind load` them).
#   Without one: buildah, FROM a debootstrapped Debian (hack/node/base.sh, cached), and an
#   import into the local real node's containerd (hack/node.py), skipped when unchanged.
# Usage: hack/images.sh [streamer] [prober] [operator] [pause]    (default: the first three)
#   BUILDER=docker|buildah overrides the choice; pause is the real node's sandbox image.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
VERSION=$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
CTR=(ctr -a "${CONTAINERD_ADDRESS:-/run/playout-containerd/containerd.sock}" -n k8s.io)
if [[ -z ${BUILDER:-} ]]; then
  if docker info >/dev/null 2>&1; then BUILDER=docker; else BUILDER=buildah; fi
fi
[[ -s operator/playout/streamer/static/hls.min.js ]] || { echo "run 'make player-assets' first" >&2; exit 1; }

if [[ $BUILDER == docker ]]; then
  for n in "${@:-streamer prober operator}"; do for n in $n; do
    docker build -q --target "$n" -t "playout/$n:$VERSION" . >/dev/null
    echo "$n: playout/$n:$VERSION"
  done; done
  exit 0
fi

mkdir -p .cache/images
# Behind a TLS-intercepting proxy, PIP_CERT names its CA: handed to pip in the build stage only.
EXTRA=()
if [[ -n ${PIP_CERT:-} && -f $PIP_CERT ]]; then EXTRA=(-v "$PIP_CERT:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt); fi
for n in "${@:-streamer prober operator}"; do for n in $n; do
  t0=$(date +%s%3N)
  if [[ $n == pause ]]; then
    gcc -static -Os -s -o hack/node/pause/pause hack/node/pause/pause.c
    ref=localhost/playout/pause:1
    buildah build -q --layers -f hack/node/pause/Dockerfile -t "$ref" hack/node/pause >/dev/null
  else
    ref=docker.io/playout/$n:$VERSION
    BASE=${BASE:-$(hack/node/base.sh)}
    buildah build -q --layers --pull=false --build-arg BASE="$BASE" "${EXTRA[@]}" --target "$n" -t "$ref" . >/dev/null
  fi
  t1=$(date +%s%3N)
  id=$(buildah images --noheading --no-trunc --format '{{.ID}}' "$ref")
  imported=skipped
  if "${CTR[@]}" version >/dev/null 2>&1 && { [[ $(cat ".cache/images/$n.id" 2>/dev/null) != "$id" ]] \
       || ! "${CTR[@]}" images ls -q | grep -qx "$ref"; }; then
    rm -f ".cache/images/$n.tar"
    buildah push -q --disable-compression "$ref" "oci-archive:.cache/images/$n.tar:$ref" >/dev/null
    "${CTR[@]}" images import ".cache/images/$n.tar" >/dev/null
    rm -f ".cache/images/$n.tar"; echo "$id" > ".cache/images/$n.id"; imported=imported
  fi
  t2=$(date +%s%3N)
  printf '%-9s %-36s %7s  build %6d ms  %s %6d ms\n' "$n" "$ref" \
    "$(buildah images --format '{{.Size}}' "$ref")" $((t1 - t0)) "$imported" $((t2 - t1))
done; done
