#!/usr/bin/env bash
# Copies what controller-gen generates into the Helm chart (CRDs under files/crds, rendered by
# templates/crds.yaml so that helm upgrade updates them), so that Helm and Kustomize
# install the same CRDs and the same manager permissions (run by `make manifests`).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f charts/pop/files/crds/*.yaml
cp config/crd/bases/*.yaml charts/pop/files/crds/
# The rules of the generated ClusterRole, as a YAML list.
sed -n '/^rules:/,$p' config/rbac/role.yaml | tail -n +2 >charts/pop/files/manager-rules.yaml
