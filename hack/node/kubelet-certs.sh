#!/usr/bin/env bash
# Node client cert (CN=system:node:NAME, O=system:nodes) + serving cert, signed by the cluster CA.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NODE=${NODE:-playout-real-0}; NODE_IP=${NODE_IP:?set by node.sh}
PKI=$ROOT/.cluster/pki; OUT=$ROOT/.node/kubelet/pki; mkdir -p "$OUT"
sign() { # name subj ext
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/$1.key" 2>/dev/null
  openssl req -new -key "$OUT/$1.key" -subj "$2" -out "$OUT/$1.csr"
  printf '%s\n' "$3" > "$OUT/$1.ext"
  openssl x509 -req -in "$OUT/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 365 -sha256 -extfile "$OUT/$1.ext" -out "$OUT/$1.crt" 2>/dev/null
  rm -f "$OUT/$1.csr" "$OUT/$1.ext"
}
sign kubelet-client "/O=system:nodes/CN=system:node:$NODE" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
sign kubelet-server "/CN=$NODE" "keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$NODE,IP:$NODE_IP,IP:127.0.0.1"
SERVER=$(awk '/server:/{print $2; exit}' "$ROOT/.cluster/kubeconfig")
cat > "$ROOT/.node/kubelet/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: playout, cluster: {server: $SERVER, certificate-authority: $PKI/ca.crt}}]
users: [{name: $NODE, user: {client-certificate: $OUT/kubelet-client.crt, client-key: $OUT/kubelet-client.key}}]
contexts: [{name: node, context: {cluster: playout, user: $NODE}}]
current-context: node
KC
echo "NODE=$NODE NODE_IP=$NODE_IP SERVER=$SERVER"
