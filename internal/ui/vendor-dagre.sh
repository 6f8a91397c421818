#!/usr/bin/env bash
# Fetches the vendored graph-layout library again: @dagrejs/dagre's browser bundle from the npm
# registry (npm checks the tarball's integrity), into static/vendor/, and checks it against
# the digest the UI's unit test pins (vendor_test.go). The page has no build step otherwise.
set -euo pipefail
VERSION=1.1.4
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@dagrejs/dagre@$VERSION" >/dev/null && tar xzf "dagrejs-dagre-$VERSION.tgz")
cp "$tmp/package/dist/dagre.min.js" static/vendor/dagre.min.js
cp "$tmp/package/LICENSE" static/vendor/dagre.LICENSE
sha256sum static/vendor/dagre.min.js
