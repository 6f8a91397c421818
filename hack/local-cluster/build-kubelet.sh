#!/usr/bin/env bash
# Builds kubelet from k8s.io/kubernetes through the Go module proxy, reusing the wrapper
# module (and Go build cache) of hack/envtest-assets.sh, and prints the binary's path.
# Cached per version under $POP_CACHE/cluster/<version>/ (a cold build takes 10-25 minutes
# on 2 cores; a warm one seconds).
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.37.2}
CACHE=${POP_CACHE:-$HOME/.cache/pop}
DEST="$CACHE/cluster/$K8S_VERSION"
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
log() { echo "build-kubelet: $*" >&2; }

if [[ -x $DEST/kubelet ]] && out=$("$DEST/kubelet" --version 2>/dev/null) && [[ $out == *"v$K8S_VERSION" ]]; then
  echo "$DEST/kubelet"
  exit 0
fi
# The wrapper module is written by envtest-assets.sh; make sure it exists.
"$(dirname "$0")/../envtest-assets.sh" >/dev/null
src="$CACHE/envtest/src/k8s"
[[ -f $src/go.mod ]] || { log "wrapper module missing at $src (envtest binaries came from a download?)"; exit 1; }
log "building kubelet $K8S_VERSION (cold: 10-25 minutes)"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
vpkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
ldflags="-s -w -X $vpkg.gitVersion=v$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$K8S_MINOR"
ldflags+=" -X $vpkg.gitTreeState=clean -X $cpkg.gitVersion=v$K8S_VERSION -X $cpkg.gitMajor=1 -X $cpkg.gitMinor=$K8S_MINOR"
mkdir -p "$DEST"
(cd "$src" && go get -tool k8s.io/kubernetes/cmd/kubelet >&2 &&
  go build -trimpath -ldflags "$ldflags" -o "$DEST/kubelet.tmp" k8s.io/kubernetes/cmd/kubelet >&2)
mv "$DEST/kubelet.tmp" "$DEST/kubelet"
echo "$DEST/kubelet"
