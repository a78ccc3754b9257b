#!/usr/bin/env bash
# Build the local control-plane toolchain from source via the Go module proxy
# (no Docker, no release-binary downloads):
#
#   kube-apiserver kube-controller-manager kube-scheduler kubectl
#   etcd kwok helm kstatus
#   kubelet kube-proxy coredns              (the real node, hack/node.py)
#
# and, only when asked for by name (so the default cold build does not grow):
#
#   kind        `hack/tools.sh kind`, for `make e2e-kind` (hack/kind.sh)
#
# Versions are pinned by the wrapper modules under hack/tools/ (go.mod + go.sum):
#   hack/tools/go.mod        k8s.io/kubernetes (+ staging k8s.io/* at v0.Y.Z)
#   hack/tools/etcd/go.mod   go.etcd.io/etcd/server/v3
#   hack/tools/kwok/go.mod   sigs.k8s.io/kwok
#   hack/tools/helm/go.mod   helm.sh/helm/v3
#   hack/tools/kstatus/      sigs.k8s.io/cli-utils kstatus, wrapped by main.go (gitops tests)
#   hack/tools/coredns/go.mod github.com/coredns/coredns
#   hack/tools/kind/go.mod   sigs.k8s.io/kind
#
# Output layout (repo root):
#   .tools/<tool>-<version>/bin/<binary>   built binaries + .stamp (build key)
#   .tools/bin/<binary>                    symlinks to the current versions
#   .tools/logs/<binary>.log               go build output of the last build
#
# A binary is rebuilt only when its key (version, wrapper go.mod/go.sum, Go
# version, build flags) changes, so a warm run takes seconds.
#
# Usage: hack/tools.sh [--force] [--without-node] [--list] [BINARY...]
#   BINARY...          build only these (default: all but kind)
#   --force            rebuild even if up to date
#   --without-node     skip the real node's kubelet, kube-proxy and coredns
#   --list             print pinned versions and exit
# Env: TOOLS_DIR (default <repo>/.tools), GO (go binary to use).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HACK_TOOLS="${ROOT}/hack/tools"
TOOLS_DIR="${TOOLS_DIR:-${ROOT}/.tools}"
BUILD_FLAGS_REV=1 # bump to force rebuilds after changing flags below

log() { printf '[tools] %s\n' "$*"; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

# --- locate go --------------------------------------------------------------
if [[ -z "${GO:-}" ]]; then
  if command -v go >/dev/null 2>&1; then GO="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else die "go not found (install Go >= 1.24 or set GO=/path/to/go)"; fi
fi
GO_VERSION="$("${GO}" env GOVERSION)" || die "cannot run ${GO}"

# --- arguments ----------------------------------------------------------------
FORCE=0; WITH_NODE=1; LIST=0; WANT=()
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --without-node) WITH_NODE=0 ;;
    --list) LIST=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown flag: $a" ;;
    *) WANT+=("$a") ;;
  esac
done

modver() { # <wrapper dir> <module path> -> version from the wrapper's graph
  (cd "$1" && "${GO}" list -m -f '{{.Version}}' "$2") || die "cannot resolve $2 in $1/go.mod"
}

K8S_VERSION="$(modver "${HACK_TOOLS}" k8s.io/kubernetes)"
ETCD_VERSION="$(modver "${HACK_TOOLS}/etcd" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(modver "${HACK_TOOLS}/kwok" sigs.k8s.io/kwok)"
HELM_VERSION="$(modver "${HACK_TOOLS}/helm" helm.sh/helm/v3)"
HELM_K8S_CLIENT="$(modver "${HACK_TOOLS}/helm" k8s.io/client-go)" # v0.N.x -> 1.N
KIND_VERSION="$(modver "${HACK_TOOLS}/kind" sigs.k8s.io/kind)"
COREDNS_VERSION="$(modver "${HACK_TOOLS}/coredns" github.com/coredns/coredns)"
# Our own main.go is part of kstatus's version, so that editing it rebuilds the helper.
KSTATUS_VERSION="$(modver "${HACK_TOOLS}/kstatus" sigs.k8s.io/cli-utils)-$(sha256sum "${HACK_TOOLS}/kstatus/main.go" | cut -c1-8)"

if [[ "${LIST}" == 1 ]]; then
  printf 'kubernetes %s\netcd %s\nkwok %s\nhelm %s\ncoredns %s\nkind %s\ngo %s\n' \
    "${K8S_VERSION}" "${ETCD_VERSION}" "${KWOK_VERSION}" "${HELM_VERSION}" "${COREDNS_VERSION}" \
    "${KIND_VERSION}" "${GO_VERSION}"
  exit 0
fi

# --- ldflags ----------------------------------------------------------------
k8s_ldflags() {
  local v="${K8S_VERSION#v}" major minor date
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  # shellcheck disable=SC2015 # empty date is fine
  date="$(cd "${HACK_TOOLS}" && "${GO}" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes 2>/dev/null || true)"
  local out="-s -w" pkg
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    out+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor}"
    out+=" -X ${pkg}.gitTreeState=clean"
    [[ -n "${date}" ]] && out+=" -X ${pkg}.buildDate=${date}"
  done
  printf '%s' "${out}"
}
helm_ldflags() {
  local c="${HELM_K8S_CLIENT#v0.}"; c="${c%%.*}"
  local out="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
  out+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  out+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${c}"
  out+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${c}"
  printf '%s' "${out}"
}

# --- build table: binary|tool-dir-name|version|wrapper dir|package|tags|ldflags
K8S_TAGS="selinux,notest,grpcnotrace"
K8S_LD="$(k8s_ldflags)"
TABLE=(
  "kube-apiserver|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kube-apiserver|${K8S_TAGS}|${K8S_LD}"
  "kube-controller-manager|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kube-controller-manager|${K8S_TAGS}|${K8S_LD}"
  "kube-scheduler|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kube-scheduler|${K8S_TAGS}|${K8S_LD}"
  "kubectl|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kubectl|${K8S_TAGS}|${K8S_LD}"
  "kubelet|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kubelet|${K8S_TAGS}|${K8S_LD}"
  "kube-proxy|kubernetes|${K8S_VERSION}|${HACK_TOOLS}|k8s.io/kubernetes/cmd/kube-proxy|${K8S_TAGS}|${K8S_LD}"
  "etcd|etcd|${ETCD_VERSION}|${HACK_TOOLS}/etcd|go.etcd.io/etcd/server/v3||-s -w"
  "kwok|kwok|${KWOK_VERSION}|${HACK_TOOLS}/kwok|sigs.k8s.io/kwok/cmd/kwok||-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${K8S_VERSION}"
  "helm|helm|${HELM_VERSION}|${HACK_TOOLS}/helm|helm.sh/helm/v3/cmd/helm||$(helm_ldflags)"
  "kstatus|kstatus|${KSTATUS_VERSION}|${HACK_TOOLS}/kstatus|playout/hack/tools/kstatus||-s -w"
  "coredns|coredns|${COREDNS_VERSION}|${HACK_TOOLS}/coredns|github.com/coredns/coredns||-s -w"
  "kind|kind|${KIND_VERSION}|${HACK_TOOLS}/kind|sigs.k8s.io/kind||-s -w"
)
NODE_TOOLS=(kubelet kube-proxy coredns)
ON_DEMAND=(kind) # built only when named: left out of the default set

selected() {
  local b="$1" w
  if [[ ${#WANT[@]} -eq 0 ]]; then
    if [[ "${WITH_NODE}" == 0 ]]; then
      for w in "${NODE_TOOLS[@]}"; do [[ "$w" == "$b" ]] && return 1; done
    fi
    for w in "${ON_DEMAND[@]}"; do [[ "$w" == "$b" ]] && return 1; done
    return 0
  fi
  for w in "${WANT[@]}"; do [[ "$w" == "$b" ]] && return 0; done
  return 1
}

for w in "${WANT[@]+"${WANT[@]}"}"; do
  found=0
  for row in "${TABLE[@]}"; do [[ "${row%%|*}" == "$w" ]] && found=1; done
  [[ $found == 1 ]] || die "unknown binary '$w' (known: $(printf '%s ' "${TABLE[@]%%|*}"))"
done

mkdir -p "${TOOLS_DIR}/bin" "${TOOLS_DIR}/logs"
# Serialize concurrent runs (e.g. `make tools` and the e2e fixture): a waiting
# run then finds everything up to date.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TOOLS_DIR}/.lock"
  flock -n 9 || { log "another hack/tools.sh is running; waiting for it"; flock 9; }
fi
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath -mod=readonly -buildvcs=false"

FAILED=(); BUILT=(); CACHED=(); T0=$SECONDS
for row in "${TABLE[@]}"; do
  IFS='|' read -r bin tool ver wdir pkg tags ldflags <<<"${row}"
  selected "${bin}" || continue
  dest="${TOOLS_DIR}/${tool}-${ver}/bin"
  key="$(printf '%s\n' "${BUILD_FLAGS_REV}" "${GO_VERSION}" "${ver}" "${pkg}" "${tags}" "${ldflags}" "${CGO_ENABLED}" \
           | cat - "${wdir}/go.mod" "${wdir}/go.sum" | sha256sum | cut -c1-16)"
  stamp="${dest}/.${bin}.stamp"
  if [[ "${FORCE}" == 0 && -x "${dest}/${bin}" && -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
    CACHED+=("${bin}")
    log "up to date: ${bin} ${ver}"
  else
    mkdir -p "${dest}"
    log "building ${bin} ${ver} (${pkg}) ..."
    t=$SECONDS
    blog="${TOOLS_DIR}/logs/${bin}.log"
    if (cd "${wdir}" && "${GO}" build ${tags:+-tags="${tags}"} -ldflags="${ldflags}" -o "${dest}/${bin}.tmp.$$" "${pkg}") >"${blog}" 2>&1; then
      mv -f "${dest}/${bin}.tmp.$$" "${dest}/${bin}"
      printf '%s\n' "${key}" >"${stamp}"
      BUILT+=("${bin}")
      log "built ${bin} ${ver} in $((SECONDS - t))s"
    else
      rm -f "${dest}/${bin}.tmp.$$"
      FAILED+=("${bin}")
      printf '[tools] ERROR: cannot build %s %s (%s) after %ss; last lines of %s:\n' \
        "${bin}" "${ver}" "${pkg}" "$((SECONDS - t))" "${blog}" >&2
      tail -n 20 "${blog}" | sed 's/^/    /' >&2
      continue
    fi
  fi
  ln -sfn "../${tool}-${ver}/bin/${bin}" "${TOOLS_DIR}/bin/${bin}"
done

log "done in $((SECONDS - T0))s: built=[${BUILT[*]-}] up-to-date=[${CACHED[*]-}] -> ${TOOLS_DIR}/bin"
if [[ ${#FAILED[@]} -gt 0 ]]; then
  die "failed to build: ${FAILED[*]}"
fi
