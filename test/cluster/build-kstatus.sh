#!/usr/bin/env bash
# Builds test/cluster/kstatus/main.go, a command that prints what sigs.k8s.io/cli-utils' kstatus rules say of
# Kubernetes objects, against the cli-utils version pinned in versions.env, from the Go module proxy. Cached outside
# the repository like the control plane's binaries, keyed by that version and the source's hash:
#   ${XDG_CACHE_HOME:-~/.cache}/switchyard/kstatus-<version>-<hash>/kstatus
#
#   test/cluster/build-kstatus.sh       build it if missing (cold: a few minutes on 2 cores); print its path
#
# SWITCHYARD_BIN_DIR holding an executable `kstatus` skips the build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

if [[ -n "${SWITCHYARD_BIN_DIR:-}" && -x "$SWITCHYARD_BIN_DIR/kstatus" ]]; then
  echo "$SWITCHYARD_BIN_DIR/kstatus"
  exit 0
fi

source_file="$here/kstatus/main.go"
hash=$(sha256sum "$source_file" | cut -c1-12)
out="${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/kstatus-$CLI_UTILS_VERSION-$hash"
if [[ ! -x "$out/kstatus" ]]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "[kstatus] Go (1.22 or newer) is needed to build kstatus from sigs.k8s.io/cli-utils $CLI_UTILS_VERSION;" \
      "or put a kstatus binary in SWITCHYARD_BIN_DIR" >&2
    exit 1
  fi
  printf '[kstatus] building kstatus from sigs.k8s.io/cli-utils %s\n' "$CLI_UTILS_VERSION" >&2
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
  cp "$source_file" "$scratch/main.go"
  cd "$scratch"
  go mod init switchyard.local/kstatus >/dev/null 2>&1
  go get "sigs.k8s.io/cli-utils@$CLI_UTILS_VERSION" >&2
  go mod tidy >&2
  mkdir -p "$out.tmp"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp/kstatus" .
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out/kstatus"
