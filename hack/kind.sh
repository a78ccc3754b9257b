#!/usr/bin/env bash
# `make e2e-kind`: the real-node tier (tests/node) on a kind cluster, for machines with a
# Docker engine (needed: kind's node is a Docker container, and the images are built with
# `docker build`). Builds kind, kubectl and helm (hack/tools.sh), the images
# (hack/images.sh), creates the cluster unless it exists, loads the images into it, runs
# the tests, and deletes the cluster on exit.
# Usage: hack/kind.sh [PYTEST ARGS...]
#   KEEP=1          keep the cluster afterwards (a later run reuses it)
#   KIND_CLUSTER    cluster name (default playout-e2e)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
VERSION=$(python3 -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
CLUSTER=${KIND_CLUSTER:-playout-e2e}
# kind v0.33.0's image for Kubernetes 1.34, the minor of the local control plane (v1.34.10).
NODE_IMAGE=kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d
KIND=$ROOT/.tools/bin/kind
KUBECONFIG_FILE=$ROOT/.cache/kind-kubeconfig
MEDIA=$ROOT/.cache/kind-media

log() { printf '[kind] %s\n' "$*"; }
if ! docker info >/dev/null 2>&1; then
  echo "make e2e-kind needs a running Docker engine, and 'docker info' failed: install or" \
    "start Docker (without Docker, 'make test' runs this tier on a local real node)" >&2
  exit 1
fi

hack/tools.sh kind kubectl helm
BUILDER=docker hack/images.sh
IMAGES=(playout/streamer:"$VERSION" playout/prober:"$VERSION" playout/operator:"$VERSION")

# Emptied, not recreated: a kept cluster's node has this very directory mounted.
mkdir -p "$MEDIA" && chmod 755 "$MEDIA" && find "$MEDIA" -mindepth 1 -delete
sed "s|@MEDIA@|$MEDIA|" hack/kind/cluster.yaml > .cache/kind-cluster.yaml

cleanup() {
  if [[ ${KEEP:-} == 1 ]]; then
    log "kept cluster $CLUSTER (kubeconfig $KUBECONFIG_FILE); delete it with:"
    log "  $KIND delete cluster --name $CLUSTER --kubeconfig $KUBECONFIG_FILE"
  else
    log "deleting cluster $CLUSTER (KEEP=1 keeps it)"
    "$KIND" delete cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG_FILE" || true
  fi
}
trap cleanup EXIT

clusters=$("$KIND" get clusters)
if grep -qxF "$CLUSTER" <<<"$clusters"; then
  log "reusing cluster $CLUSTER"
  "$KIND" get kubeconfig --name "$CLUSTER" > "$KUBECONFIG_FILE"
else
  # --kubeconfig: leave the user's ~/.kube/config and current context alone.
  "$KIND" create cluster --name "$CLUSTER" --config .cache/kind-cluster.yaml \
    --image "$NODE_IMAGE" --wait 120s --kubeconfig "$KUBECONFIG_FILE"
fi
# IfNotPresent (the chart's default) then finds them on the node: no registry needed.
"$KIND" load docker-image --name "$CLUSTER" "${IMAGES[@]}"

PLAYOUT_E2E_KUBECONFIG=$KUBECONFIG_FILE \
PLAYOUT_E2E_MEDIA="$MEDIA:/srv/playout-media" \
PLAYOUT_E2E_CTR="docker exec $CLUSTER-control-plane ctr -n k8s.io" \
  .venv/bin/pytest tests/node "$@"
