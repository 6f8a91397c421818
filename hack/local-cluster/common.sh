# Shared settings and helpers of the local-cluster scripts (sourced, not run).
CACHE=${POP_CACHE:-$HOME/.cache/pop}
RUN=${POP_CLUSTER_DIR:-$CACHE/cluster/run}
KUBECONFIG_FILE=$RUN/kubeconfig
ETCD_PORT=${POP_ETCD_PORT:-23790}
APISERVER_PORT=${POP_APISERVER_PORT:-16443}
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
NODE_NAME=pop-node
BRIDGE=popbr0
BRIDGE_IP=10.244.0.1
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)
SERVICE_CHAIN=POP-LOCAL-SERVICES
IPTABLES_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT "$SERVICE_CHAIN")

log() { echo "local-cluster: $*" >&2; }

# Binaries: the envtest set and the node set, both built or downloaded on demand.
assets() {
  ASSETS=$("$HERE/../envtest-assets.sh")
  NODE_BIN=$("$HERE/build-node.sh")
  KUBECTL=$ASSETS/kubectl
}
if [[ -z ${ASSETS:-} ]]; then assets; fi

running() {
  local pidfile=$RUN/pids/$1.pid
  [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# start NAME CMD ARGS… runs a process in the background with its log and PID recorded.
start() {
  local name=$1
  shift
  log "starting $name"
  mkdir -p "$RUN/pids" "$RUN/logs"
  setsid "$@" >"$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/pids/$name.pid"
  # Every PID ever started, kept after down.sh, so check-clean.sh can judge only ours.
  echo "$! $name" >>"$CACHE/cluster/started-pids"
}

# wait_for WHAT CMD… retries CMD for up to 90 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 180); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  log "$what did not come up; logs in $RUN/logs"
  return 1
}

# record_host_state saves what kubelet changes so that down.sh can restore it.
record_host_state() {
  [[ -f $RUN/host-state ]] && return
  {
    for s in "${SYSCTLS[@]}"; do echo "sysctl $s $(sysctl -n "$s" 2>/dev/null)"; done
    for d in /var/log/containers /var/log/pods; do
      for f in "$d"/*; do
        if [[ -e $f || -L $f ]]; then echo "keep $f"; fi
      done
    done
    if [[ -e /var/lib/kubelet ]]; then echo "keep /var/lib/kubelet"; fi
  } >"$RUN/host-state"
}
