#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster on this machine, for real Pods without Docker
# or a registry: etcd + kube-apiserver (the envtest binaries), kube-controller-manager,
# kube-scheduler and kubelet (built from source), containerd + runc + CNI plugins (Debian),
# and the project's images (static Go binaries) imported into containerd.
# Idempotent: a running cluster is reused. Prints the kubeconfig path on stdout.
# Must run as root. ../shared/LOCAL-CLUSTER.md records why each setting is what it is;
# hack/local-cluster/down.sh stops it and undoes its host side effects.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$HERE/common.sh"

ensure_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ip >/dev/null || missing+=(iproute2)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

make_certs() {
  local pki=$RUN/pki
  # The marker names the SAN set: certificates from an older layout are made again.
  [[ -f $pki/admin.crt && -f $pki/san-$BRIDGE_IP ]] && return
  rm -rf "$pki"
  mkdir -p "$pki"
  log "creating certificates"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 365 -subj "/CN=pop-local-ca" 2>/dev/null
  cat >"$pki/apiserver.ext" <<EOF
subjectAltName=IP:127.0.0.1,IP:$BRIDGE_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
EOF
  sign "$pki" apiserver "/CN=kube-apiserver" "$pki/apiserver.ext"
  sign "$pki" admin "/O=system:masters/CN=pop-admin" ""
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  touch "$pki/san-$BRIDGE_IP"
}

sign() {
  local pki=$1 name=$2 subj=$3 ext=$4
  openssl req -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -out "$pki/$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -out "$pki/$name.crt" -days 365 ${ext:+-extfile "$ext"} 2>/dev/null
}

write_kubeconfig() {
  cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: pop-local
  cluster: {server: "https://$BRIDGE_IP:$APISERVER_PORT", certificate-authority: "$RUN/pki/ca.crt"}
users:
- name: pop-admin
  user: {client-certificate: "$RUN/pki/admin.crt", client-key: "$RUN/pki/admin.key"}
contexts:
- name: pop-local
  context: {cluster: pop-local, user: pop-admin}
current-context: pop-local
EOF
}

# make_bridge creates the Pods' bridge before the API server starts, so that the API server
# can listen on its address: handlers that report through the API server (the POP annotation
# mode) reach it there, since this cluster has no kube-proxy for the service IP.
make_bridge() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
  # Not `ip addr | grep -q`: under pipefail grep's early exit fails the pipeline (SIGPIPE).
  [[ $(ip -4 -o addr show dev "$BRIDGE") == *"inet $BRIDGE_IP/"* ]] || ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

start_control_plane() {
  start etcd "$ASSETS/etcd" --data-dir "$RUN/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --unsafe-no-fsync
  local pki=$RUN/pki
  start kube-apiserver "$ASSETS/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$BRIDGE_IP" --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --endpoint-reconciler-type none --service-cluster-ip-range 10.96.0.0/16 \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc --authorization-mode Node,RBAC \
    --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --kubelet-preferred-address-types InternalIP --enable-aggregator-routing=true
  wait_for "kube-apiserver" "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get --raw /readyz
  start kube-controller-manager "$NODE_BIN/kube-controller-manager" --kubeconfig "$KUBECONFIG_FILE" \
    --bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt"
  start kube-scheduler "$NODE_BIN/kube-scheduler" --kubeconfig "$KUBECONFIG_FILE" \
    --bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false
}

# route_kubernetes_service does the one thing kube-proxy would do here: Pods that use their
# in-cluster config dial the kubernetes Service (10.96.0.1:443) and reach the API server on the
# bridge. The rule lives in its own chain, which down.sh deletes. (The API server itself calls
# webhooks at their endpoint IPs: --enable-aggregator-routing, so no Service name is resolved
# through the host's DNS.)
route_kubernetes_service() {
  iptables -t nat -N "$SERVICE_CHAIN" 2>/dev/null || iptables -t nat -F "$SERVICE_CHAIN"
  iptables -t nat -A "$SERVICE_CHAIN" -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination "$BRIDGE_IP:$APISERVER_PORT"
  iptables -t nat -C PREROUTING -j "$SERVICE_CHAIN" 2>/dev/null || iptables -t nat -A PREROUTING -j "$SERVICE_CHAIN"
}

start_containerd() {
  mkdir -p "$RUN/containerd" "$RUN/cni/net.d"
  cat >"$RUN/containerd/config.toml" <<EOF
version = 2
root = "$RUN/containerd/root"
state = "$RUN/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "pop.dev/pause:dev"
  # Without it every sandbox fails on this VM (no CAP_SYS_RESOURCE).
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni/net.d"
EOF
  # isDefaultGateway: Pods route everything but their own subnet to the host, which is how
  # they reach the kubernetes Service address (route_kubernetes_service).
  cat >"$RUN/cni/net.d/10-pop.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "pop", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "isDefaultGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]]}}]}
EOF
  start containerd containerd --config "$RUN/containerd/config.toml"
  wait_for containerd ctr --address "$CONTAINERD_SOCK" version
}

import_images() {
  log "building and importing images"
  (cd "$ROOT" && go run ./hack/images -out "$RUN/images") | while read -r file tag; do
    ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$file" >/dev/null
    log "  imported $tag"
  done
}

start_kubelet() {
  mkdir -p "$RUN/kubelet"
  cat >"$RUN/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $BRIDGE_IP
healthzBindAddress: 127.0.0.1
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
EOF
  start kubelet "$NODE_BIN/kubelet" --config "$RUN/kubelet/config.yaml" --kubeconfig "$KUBECONFIG_FILE" \
    --root-dir "$RUN/kubelet/root" --cert-dir "$RUN/kubelet/pki" --hostname-override "$NODE_NAME" --node-ip "$BRIDGE_IP"
  wait_for "node $NODE_NAME Ready" "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
}

main() {
  [[ $(id -u) == 0 ]] || { log "must run as root (containerd and kubelet)"; exit 1; }
  if running kube-apiserver && running kubelet && "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" get --raw /readyz >/dev/null 2>&1; then
    log "already running"
    echo "$KUBECONFIG_FILE"
    return
  fi
  ensure_packages
  mkdir -p "$RUN/pids" "$RUN/logs"
  record_host_state
  make_certs
  write_kubeconfig
  make_bridge
  route_kubernetes_service
  running etcd || start_control_plane
  running containerd || start_containerd
  import_images
  running kubelet || start_kubelet
  log "cluster up: export KUBECONFIG=$KUBECONFIG_FILE"
  echo "$KUBECONFIG_FILE"
}

main "$@"
