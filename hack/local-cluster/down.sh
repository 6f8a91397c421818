#!/usr/bin/env bash
# Stops what up.sh started (by recorded PID only) and undoes its host side effects:
# sysctls kubelet changed, its iptables chains, the CNI bridge, log symlinks and sockets it
# left outside its root dir. Keeps the images and binaries cached; --purge also deletes the
# cluster's state.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ASSETS=skip # down needs no binaries
source "$HERE/common.sh"

stop_all() {
  local name pid
  # Pods first (kubelet), then the runtime, then the control plane.
  for name in kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [[ -f $RUN/pids/$name.pid ]] || continue
    pid=$(cat "$RUN/pids/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $name ($pid)"
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$RUN/pids/$name.pid"
  done
  stop_containers
}

# stop_containers ends every container and shim, then containerd.
stop_containers() {
  [[ -f $RUN/pids/containerd.pid ]] || return
  if [[ -S $CONTAINERD_SOCK ]]; then
    local c
    for c in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$c" >/dev/null 2>&1
    done
    sleep 1
  fi
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io .*-address $CONTAINERD_SOCK" 2>/dev/null
  local pid
  pid=$(cat "$RUN/pids/containerd.pid")
  kill "$pid" 2>/dev/null && log "stopping containerd ($pid)"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$RUN/pids/containerd.pid"
  # Pod sandboxes leave mounts under the runtime's state; unmount before anything is deleted.
  grep -o " $RUN/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
}

restore_host() {
  local kind a b
  if [[ -f $RUN/host-state ]]; then
    while read -r kind a b; do
      [[ $kind == sysctl && -n $b ]] && sysctl -qw "$a=$b"
    done <"$RUN/host-state"
  fi
  for table in filter nat mangle; do
    for chain in "${IPTABLES_CHAINS[@]}"; do
      iptables -t "$table" -S 2>/dev/null | grep -- "-j $chain" | sed 's/^-A/-D/' | while read -r rule; do
        # shellcheck disable=SC2086
        iptables -t "$table" $rule 2>/dev/null
      done
      iptables -t "$table" -F "$chain" 2>/dev/null && iptables -t "$table" -X "$chain" 2>/dev/null
    done
  done
  ip link delete "$BRIDGE" 2>/dev/null
  for d in /var/log/containers /var/log/pods; do
    for f in "$d"/*; do
      [[ -e $f || -L $f ]] || continue
      grep -qxF "keep $f" "$RUN/host-state" 2>/dev/null || rm -rf "$f"
    done
  done
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  grep -qxF "keep /var/lib/kubelet" "$RUN/host-state" 2>/dev/null || rm -rf /var/lib/kubelet
  rm -f "$RUN/host-state"
}

stop_all
restore_host
if [[ ${1:-} == --purge ]]; then
  rm -rf "$RUN"
  log "state deleted"
fi
log "cluster down"
