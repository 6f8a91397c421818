#!/usr/bin/env bash
# Provides kube-apiserver, etcd and kubectl for envtest and prints the folder that holds them
# (use it as KUBEBUILDER_ASSETS). Order of attempts:
#   1. a cached folder whose binaries report the wanted versions (costs nothing);
#   2. setup-envtest's normal download (the fast path on a machine with internet);
#   3. a build from source through the Go module proxy (about 8 minutes cold on 2 cores).
# Everything lives under $POP_CACHE (default ~/.cache/pop), never in the repository.
# Progress goes to stderr; stdout carries only the assets folder.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
ETCD_VERSION=${ETCD_VERSION:-3.7.3}
CACHE=${POP_CACHE:-$HOME/.cache/pop}
DEST="$CACHE/envtest/$K8S_VERSION"
K8S_MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)

log() { echo "envtest-assets: $*" >&2; }

assets_ok() {
  local dir=$1
  [[ -x $dir/kube-apiserver && -x $dir/etcd && -x $dir/kubectl ]] || return 1
  # Capture before matching: `cmd | grep -q` under pipefail fails at random when grep exits
  # early and cmd dies of SIGPIPE.
  local apiserver kubectl etcd
  apiserver=$("$dir/kube-apiserver" --version 2>/dev/null) || return 1
  kubectl=$("$dir/kubectl" version --client 2>/dev/null) || return 1
  etcd=$("$dir/etcd" --version 2>/dev/null) || return 1
  [[ $apiserver == *"v$K8S_VERSION" ]] || return 1
  [[ $kubectl == *"v$K8S_VERSION"* ]] || return 1
  # setup-envtest ships the etcd that Kubernetes pins; a source build ships ETCD_VERSION.
  [[ $etcd == *"etcd Version: 3."* ]] || return 1
}

try_setup_envtest() {
  [[ ${POP_ENVTEST_NO_DOWNLOAD:-} == 1 ]] && return 1
  log "trying setup-envtest download of $K8S_VERSION"
  local bindir="$CACHE/envtest/setup-envtest" path
  path=$(timeout 180 go run sigs.k8s.io/controller-runtime/tools/setup-envtest@${SETUP_ENVTEST_VERSION:-v0.25.1} \
      use "$K8S_VERSION" --bin-dir "$bindir" -p path 2>/dev/null) || return 1
  [[ -n $path ]] && assets_ok "$path" || return 1
  mkdir -p "$DEST"
  cp "$path"/kube-apiserver "$path"/etcd "$path"/kubectl "$DEST"/
}

# k8s.io/kubernetes replaces its staging modules with ./staging paths, so `go install` refuses it.
# A wrapper module that replaces each staging module by its published v0.X.Y builds normally.
write_k8s_wrapper() {
  local dir=$1 gomod
  mkdir -p "$dir"
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module pop.dev/envtest-k8s-build"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" |
      awk -v v="v0.$K8S_MINOR.${K8S_VERSION##*.}" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
}

build_from_source() {
  log "building kube-apiserver, kubectl $K8S_VERSION and etcd $ETCD_VERSION from source (several minutes)"
  local src="$CACHE/envtest/src" out="$CACHE/envtest/build-$K8S_VERSION"
  mkdir -p "$src/k8s" "$src/etcd" "$out"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  # Identical flags on every build keep Go's build cache warm (a change of flags rebuilds all).
  local vpkg=k8s.io/component-base/version cpkg=k8s.io/client-go/pkg/version
  local ldflags="-s -w -X $vpkg.gitVersion=v$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$K8S_MINOR"
  ldflags+=" -X $vpkg.gitTreeState=clean -X $cpkg.gitVersion=v$K8S_VERSION -X $cpkg.gitMajor=1 -X $cpkg.gitMinor=$K8S_MINOR"

  write_k8s_wrapper "$src/k8s"
  (cd "$src/k8s" &&
    go get -tool k8s.io/kubernetes/cmd/kube-apiserver >&2 &&
    go get -tool k8s.io/kubernetes/cmd/kubectl >&2 &&
    go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2 &&
    go build -trimpath -ldflags "$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl >&2)

  [[ -f $src/etcd/go.mod ]] || printf 'module pop.dev/envtest-etcd-build\n\ngo 1.26\n' >"$src/etcd/go.mod"
  (cd "$src/etcd" &&
    go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2 &&
    go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3 >&2)

  mkdir -p "$DEST"
  cp "$out"/kube-apiserver "$out"/kubectl "$out"/etcd "$DEST"/
}

main() {
  if assets_ok "$DEST"; then
    log "using cached binaries in $DEST"
  elif try_setup_envtest; then
    log "downloaded with setup-envtest into $DEST"
  else
    log "setup-envtest download unavailable"
    build_from_source
    assets_ok "$DEST" || { log "built binaries failed the version check"; exit 1; }
  fi
  echo "$DEST"
}

main "$@"
