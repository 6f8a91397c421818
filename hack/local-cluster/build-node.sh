#!/usr/bin/env bash
# Builds kubelet, kube-scheduler and kube-controller-manager from k8s.io/kubernetes through
# the Go module proxy, reusing the wrapper module (and Go build cache) of
# hack/envtest-assets.sh, and prints the folder holding them. Cached per version under
# $POP_CACHE/cluster/<version>/: about 5 minutes each after the envtest build warmed the
# cache, seconds once built. The scheduler binds Pods to the node and the controller manager
# creates default service accounts and collects garbage, as in any real cluster.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.37.2}
CACHE=${POP_CACHE:-$HOME/.cache/pop}
DEST="$CACHE/cluster/$K8S_VERSION"
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
log() { echo "build-kubelet: $*" >&2; }

BINARIES=(kubelet kube-scheduler kube-controller-manager)
cached() {
  local b out
  for b in "${BINARIES[@]}"; do
    [[ -x $DEST/$b ]] && out=$("$DEST/$b" --version 2>/dev/null) && [[ $out == *"v$K8S_VERSION" ]] || return 1
  done
}
if cached; then
  echo "$DEST"
  exit 0
fi
# The wrapper module is written by envtest-assets.sh; make sure it exists.
"$(dirname "$0")/../envtest-assets.sh" >/dev/null
src="$CACHE/envtest/src/k8s"
[[ -f $src/go.mod ]] || { log "wrapper module missing at $src (envtest binaries came from a download?)"; exit 1; }
log "building ${BINARIES[*]} $K8S_VERSION (several minutes each)"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
vpkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
ldflags="-s -w -X $vpkg.gitVersion=v$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$K8S_MINOR"
ldflags+=" -X $vpkg.gitTreeState=clean -X $cpkg.gitVersion=v$K8S_VERSION -X $cpkg.gitMajor=1 -X $cpkg.gitMinor=$K8S_MINOR"
mkdir -p "$DEST"
for b in "${BINARIES[@]}"; do
  (cd "$src" && go get -tool "k8s.io/kubernetes/cmd/$b" >&2 &&
    go build -trimpath -ldflags "$ldflags" -o "$DEST/$b.tmp" "k8s.io/kubernetes/cmd/$b" >&2)
  mv "$DEST/$b.tmp" "$DEST/$b"
done
echo "$DEST"
