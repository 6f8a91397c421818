#!/usr/bin/env bash
# Proves hack/local-cluster/down.sh left nothing behind.
#   check-clean.sh --snapshot FILE   record the host state before the cluster starts
#   check-clean.sh FILE              compare after down.sh: exit 1 with a list of leftovers
# Checked: processes the cluster scripts started (by recorded PID) or that name its state
# folder (containerd's shims, the handler containers' parents), mounts under its state,
# kubelet's and POP's iptables chains, the sysctls kubelet changes, the CNI bridge,
# /var/lib/kubelet and new log entries. Other kube-apiservers on the machine (envtest's) are
# not ours and are not judged.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ASSETS=skip
source "$HERE/common.sh"

snapshot() {
  for s in "${SYSCTLS[@]}"; do echo "sysctl $s $(sysctl -n "$s")"; done
  for d in /var/log/containers /var/log/pods; do ls -1 "$d" 2>/dev/null | sed "s|^|log $d/|"; done
  [[ -e /var/lib/kubelet ]] && echo "exists /var/lib/kubelet"
  return 0
}

leftovers() {
  local before=$1
  local pid name
  if [[ -f $CACHE/cluster/started-pids ]]; then
    while read -r pid name; do
      kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/cmdline" 2>/dev/null | tr '\0' ' ') == *"$name"* ]] &&
        echo "process: $pid $name (started by up.sh)"
    done <"$CACHE/cluster/started-pids"
  fi
  pgrep -af -- "$RUN" | grep -v check-clean | sed 's/^/process: /'
  grep -F " $RUN/" /proc/mounts | sed 's/^/mount: /'
  grep -F " /var/lib/kubelet" /proc/mounts | sed 's/^/mount: /'
  for t in filter nat mangle; do
    iptables -t "$t" -S 2>/dev/null | grep -E -- "-N (KUBE-|CNI-|POP-)" | sed "s/^/iptables $t: /"
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "bridge: $BRIDGE"
  for s in "${SYSCTLS[@]}"; do
    grep -qxF "sysctl $s $(sysctl -n "$s")" "$before" || echo "sysctl: $s = $(sysctl -n "$s") (was $(grep "sysctl $s " "$before" | cut -d' ' -f3))"
  done
  [[ -e /var/lib/kubelet ]] && ! grep -qxF "exists /var/lib/kubelet" "$before" && echo "file: /var/lib/kubelet"
  for d in /var/log/containers /var/log/pods; do
    ls -1 "$d" 2>/dev/null | while read -r f; do grep -qxF "log $d/$f" "$before" || echo "log: $d/$f"; done
  done
  return 0
}

if [[ ${1:-} == --snapshot ]]; then
  snapshot >"$2"
  exit 0
fi
left=$(leftovers "$1")
if [[ -n $left ]]; then
  echo "local cluster left behind:"
  echo "$left"
  exit 1
fi
rm -f "$CACHE/cluster/started-pids"
echo "local cluster left nothing behind: no process, mount, iptables chain, sysctl change, bridge or log entry"
