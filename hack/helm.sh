#!/usr/bin/env bash
# Provides the helm binary (built from helm.sh/helm/v3 through the Go module proxy, cached
# in $POP_CACHE/bin) and prints its path.
set -euo pipefail
VERSION=${HELM_VERSION:-v3.22.0}
DIR=${POP_CACHE:-$HOME/.cache/pop}/bin/helm-$VERSION.d
if [[ ! -x $DIR/helm ]]; then
  echo "helm.sh: building helm $VERSION (a few minutes once)" >&2
  GOBIN=$DIR CGO_ENABLED=0 go install "helm.sh/helm/v3/cmd/helm@$VERSION" >&2
fi
echo "$DIR/helm"
