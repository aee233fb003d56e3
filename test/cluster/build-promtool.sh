#!/usr/bin/env bash
# Builds Prometheus's promtool (cmd/promtool of github.com/prometheus/prometheus, at the version pinned in
# versions.env) from the Go module proxy, for the tests that evaluate the chart's PrometheusRule with
# `promtool test rules`. Cached outside the repository like the control plane's binaries, keyed by that version:
#   ${XDG_CACHE_HOME:-~/.cache}/switchyard/promtool-<version>/promtool
#
#   test/cluster/build-promtool.sh      build it if missing (cold: about 7 minutes on 2 cores); print its path
#
# SWITCHYARD_BIN_DIR holding an executable `promtool` skips the build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

if [[ -n "${SWITCHYARD_BIN_DIR:-}" && -x "$SWITCHYARD_BIN_DIR/promtool" ]]; then
  echo "$SWITCHYARD_BIN_DIR/promtool"
  exit 0
fi

out="${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/promtool-$PROMETHEUS_VERSION"
if [[ ! -x "$out/promtool" ]]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "[promtool] Go (as new as that Prometheus's go.mod asks: 1.26.7 for v0.316.0) is needed to build promtool" \
      "from github.com/prometheus/prometheus $PROMETHEUS_VERSION;" \
      "or put a promtool binary in SWITCHYARD_BIN_DIR" >&2
    exit 1
  fi
  printf '[promtool] building promtool from github.com/prometheus/prometheus %s\n' "$PROMETHEUS_VERSION" >&2
  export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
  rm -rf "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_VERSION"
  rm -rf "$out" && mv "$out.tmp" "$out"
fi
echo "$out/promtool"
