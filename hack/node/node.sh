#!/usr/bin/env bash
# A real node for the local cluster (hack/cluster.py): Debian's containerd + runc + CNI
# plugins, and the kubelet from .tools/bin at the control plane's release.
# Usage: hack/node/node.sh up|down|status     (root; cluster already up)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd); cd "$ROOT"
NODE=${NODE:-playout-real-0}; D=$ROOT/.node; SOCK=/run/playout-containerd/containerd.sock
CTR=(ctr -a "$SOCK" -n k8s.io); export KUBECONFIG=$ROOT/.cluster/kubeconfig PATH=$ROOT/.tools/bin:$PATH
# The address of the interface that holds the default route.
DEV=$(ip -4 route show default | awk '{for(i=1;i<=NF;i++) if($i=="dev") print $(i+1); exit}')
NODE_IP=$(ip -4 -o addr show dev "$DEV" | awk '{split($4, a, "/"); print a[1]; exit}')
export NODE NODE_IP
alive() { [[ -f $D/$1.pid ]] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }
ms() { date +%s%3N; }

up() {
  mkdir -p "$D/logs" "$D/cni/net.d" "$D/kubelet"
  cp hack/node/10-playout.conflist "$D/cni/net.d/"
  t0=$(ms)
  if ! alive containerd; then
    sed "s|@ROOT@|$ROOT|g" hack/node/containerd.toml > "$D/containerd.toml"
    containerd --config "$D/containerd.toml" > "$D/logs/containerd.log" 2>&1 &
    echo $! > "$D/containerd.pid"
  fi
  until "${CTR[@]}" version >/dev/null 2>&1; do sleep 0.1; done; t1=$(ms)
  hack/node/build-images.sh pause >/dev/null      # the sandbox image must be local
  hack/node/kubelet-certs.sh >/dev/null
  # The `kubernetes` Service (10.96.0.1:443) without kube-proxy: DNAT pod traffic to the
  # apiserver on 127.0.0.1 (route_localnet lets a bridged packet reach loopback).
  port=$(awk -F: '/server:/{print $4; exit}' "$KUBECONFIG")
  ip link show playout0 >/dev/null 2>&1 || ip link add playout0 type bridge   # CNI's bridge reuses it
  ip link set playout0 up
  sysctl -qw net.ipv4.conf.playout0.route_localnet=1
  iptables -t nat -N PLAYOUT-SVC 2>/dev/null || iptables -t nat -F PLAYOUT-SVC
  iptables -t nat -A PLAYOUT-SVC -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination "127.0.0.1:$port"
  iptables -t nat -C PREROUTING -i playout0 -j PLAYOUT-SVC 2>/dev/null || iptables -t nat -I PREROUTING -i playout0 -j PLAYOUT-SVC
  if ! alive kubelet; then
    sed "s|@ROOT@|$ROOT|g" hack/node/kubelet.yaml > "$D/kubelet.yaml"
    .tools/bin/kubelet --config="$D/kubelet.yaml" --kubeconfig="$D/kubelet/kubeconfig" \
      --hostname-override="$NODE" --node-ip="$NODE_IP" --root-dir="$D/kubelet/root" \
      --node-labels=playout.dev/node=real --v=1 > "$D/logs/kubelet.log" 2>&1 &
    echo $! > "$D/kubelet.pid"
  fi
  # kube-proxy (iptables mode) for ClusterIP Services, when built (see README.md)
  if [[ -x .cache/bin/kube-proxy ]] && ! alive kube-proxy; then
    hack/node/kube-proxy-cert.sh >/dev/null
    .cache/bin/kube-proxy --kubeconfig="$D/kube-proxy/kubeconfig" --hostname-override="$NODE" \
      --proxy-mode=iptables --cluster-cidr=10.244.0.0/24 --conntrack-max-per-core=0 \
      --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256 > "$D/logs/kube-proxy.log" 2>&1 &
    echo $! > "$D/kube-proxy.pid"
  fi
  t2=$(ms)
  kubectl wait --for=condition=Ready "node/$NODE" --timeout=60s >/dev/null 2>&1 || \
    { sleep 2; kubectl wait --for=condition=Ready "node/$NODE" --timeout=60s; }
  t3=$(ms)
  # Workloads go to the real node unless they ask for kwok.
  for n in $(kubectl get nodes -l type=kwok -o jsonpath='{.items[*].metadata.name}'); do
    kubectl taint nodes --overwrite "$n" playout.dev/node=kwok:NoSchedule >/dev/null; done
  echo "node $NODE Ready ($NODE_IP): containerd $((t1-t0)) ms, kubelet start to Ready $((t3-t2)) ms"
}

down() {
  if alive kubelet && kubectl get node "$NODE" >/dev/null 2>&1; then
    # cordon first, or controllers put replacements straight back; the kubelet then tears
    # every pod down with CNI DEL (bridge ports, IPAM leases, iptables chains)
    kubectl cordon "$NODE" >/dev/null 2>&1 || true
    kubectl delete pods -A --field-selector "spec.nodeName=$NODE" --grace-period=5 --timeout=60s >/dev/null 2>&1 || true
  fi
  alive kubelet && kill "$(cat "$D/kubelet.pid")" && sleep 1
  if alive kube-proxy; then kill "$(cat "$D/kube-proxy.pid")"; sleep 0.5; .cache/bin/kube-proxy --cleanup >/dev/null 2>&1 || true; fi
  if alive containerd; then
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s KILL "$t" 2>/dev/null || true; done
    sleep 1
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks rm -f "$t" >/dev/null 2>&1 || true; done
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers rm "$c" >/dev/null 2>&1 || true; done
    kill "$(cat "$D/containerd.pid")"; while alive containerd; do sleep 0.2; done
  fi
  rm -f "$D"/*.pid
  kubectl delete node "$NODE" --ignore-not-found >/dev/null 2>&1 || true
  iptables -t nat -D PREROUTING -i playout0 -j PLAYOUT-SVC 2>/dev/null || true
  iptables -t nat -F PLAYOUT-SVC 2>/dev/null && iptables -t nat -X PLAYOUT-SVC 2>/dev/null || true
  ip link del playout0 2>/dev/null || true
  # what a pod killed without CNI DEL leaves: its MASQUERADE chain, netns, IPAM lease
  iptables -t nat -S POSTROUTING | grep -- '--comment "name: \\"playout\\"' | sed 's/^-A/-D/' \
    | while read -r rule; do eval "iptables -t nat $rule" || true; done || true
  iptables -t nat -S | awk '/^-N CNI-/{print $2}' | while read -r c; do
    iptables -t nat -S "$c" | grep -q 'name: \\"playout\\"' && { iptables -t nat -F "$c"; iptables -t nat -X "$c"; }; done || true
  for ns in $(ls /run/netns 2>/dev/null | grep '^cni-'); do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf /var/lib/cni/networks/playout
  # the kubelet's KUBE-FIREWALL (drops non-loopback traffic to 127/8 that was not DNATed)
  iptables -D INPUT -j KUBE-FIREWALL 2>/dev/null; iptables -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
  iptables -F KUBE-FIREWALL 2>/dev/null; iptables -X KUBE-FIREWALL 2>/dev/null || true
  for t in mangle nat filter; do iptables -t $t -X KUBE-KUBELET-CANARY 2>/dev/null; ip6tables -t $t -X KUBE-KUBELET-CANARY 2>/dev/null; done || true
  # mounts left by pods (volumes, sandbox shm, netns) under our dirs
  grep -oE " ($D|/run/playout-containerd|/run/netns/cni-)[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  echo "node $NODE down"
}

case ${1:-} in up) up ;; down) down ;; status) alive containerd && alive kubelet && kubectl get node "$NODE" ;; *) echo "usage: $0 up|down|status" >&2; exit 2 ;; esac
