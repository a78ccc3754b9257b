#!/usr/bin/env bash
# kube-proxy's identity: CN=system:kube-proxy (bound to system:node-proxier by default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd); OUT=$ROOT/.node/kube-proxy; PKI=$ROOT/.cluster/pki; mkdir -p "$OUT"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$OUT/client.key" 2>/dev/null
openssl req -new -key "$OUT/client.key" -subj "/CN=system:kube-proxy" -out "$OUT/client.csr"
printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$OUT/ext"
openssl x509 -req -in "$OUT/client.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days 365 -extfile "$OUT/ext" -out "$OUT/client.crt" 2>/dev/null; rm -f "$OUT/client.csr" "$OUT/ext"
SERVER=$(awk '/server:/{print $2; exit}' "$ROOT/.cluster/kubeconfig")
cat > "$OUT/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: playout, cluster: {server: $SERVER, certificate-authority: $PKI/ca.crt}}]
users: [{name: kube-proxy, user: {client-certificate: $OUT/client.crt, client-key: $OUT/client.key}}]
contexts: [{name: p, context: {cluster: playout, user: kube-proxy}}]
current-context: p
KC
