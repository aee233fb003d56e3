#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go module proxy and caches them outside the repository,
# one folder per component and version, so that each is built once per machine.
#
#   test/cluster/build-binaries.sh          build what is missing, print the folder of each component
#
# Skips the build where binaries are provided:
#   SWITCHYARD_BIN_DIR   a folder holding any of etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#                        kwok kwokctl helm (those found there are used as they are)
#   KUBEBUILDER_ASSETS   envtest's folder (etcd, kube-apiserver, kubectl); used for those it holds
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/switchyard"
k8s_minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)

log() { printf '[binaries] %s\n' "$*" >&2; }

need_go() {
  command -v go >/dev/null 2>&1 && return 0
  cat >&2 <<MSG
[binaries] Go is needed to build $1, and it is not on PATH.
  Either install Go (1.24 or newer), or provide prebuilt binaries:
    SWITCHYARD_BIN_DIR=/folder/with/binaries   (etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl helm)
    KUBEBUILDER_ASSETS=/envtest/folder         (etcd kube-apiserver kubectl; envtest's setup-envtest provides them)
  Missing: $1 (${2})
MSG
  exit 1
}

# provided NAME: prints the path of a binary the user provides, if any.
provided() {
  local dir
  for dir in "${SWITCHYARD_BIN_DIR:-}" "${KUBEBUILDER_ASSETS:-}"; do
    if [[ -n "$dir" && -x "$dir/$1" ]]; then echo "$dir/$1"; return 0; fi
  done
  return 1
}

# A scratch wrapper module, removed on exit: Go ignores a dependency's replace lines, so each build pins them here.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

build_kubernetes() {
  local out="$cache/kubernetes-$KUBERNETES_VERSION"
  [[ -x "$out/kubectl" && -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" && -x "$out/kube-scheduler" ]] && return 0
  need_go "kube-apiserver, kube-controller-manager, kube-scheduler and kubectl" "$KUBERNETES_VERSION"
  log "building Kubernetes $KUBERNETES_VERSION (cold: 10-25 minutes on 2 cores)"
  local mod="$scratch/kubernetes" upstream
  mkdir -p "$mod" && cd "$mod"
  go mod init switchyard.local/kubernetes-binaries >/dev/null 2>&1
  upstream=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  {
    grep -E '^godebug ' "$upstream" | sort -u
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    # Kubernetes replaces its staging modules with local folders; pin each to its published v0.<minor>.<patch>.
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 v0'"${KUBERNETES_VERSION#v1}"'#p' "$upstream"
  } >>go.mod
  cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy
  local x="-X k8s.io/component-base/version" y="-X k8s.io/client-go/pkg/version" ldflags="-s -w"
  for pkg in "$x" "$y"; do
    ldflags+=" $pkg.gitVersion=$KUBERNETES_VERSION $pkg.gitMajor=1 $pkg.gitMinor=$k8s_minor $pkg.gitTreeState=clean"
    ldflags+=" $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  mkdir -p "$out.tmp"
  go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$out.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  [[ -x "$out/etcd" ]] && return 0
  need_go etcd "$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  local mod="$scratch/etcd"
  mkdir -p "$mod" && cd "$mod"
  go mod init switchyard.local/etcd-binary >/dev/null 2>&1
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  mkdir -p "$out.tmp"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_kwok() {
  local out="$cache/kwok-$KWOK_VERSION"
  [[ -x "$out/kwok" && -x "$out/kwokctl" ]] && return 0
  need_go "kwok and kwokctl" "$KWOK_VERSION"
  log "building kwok and kwokctl $KWOK_VERSION"
  mkdir -p "$out.tmp"
  local ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION"
  GOBIN="$out.tmp" go install -trimpath -ldflags "$ldflags" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

build_helm() {
  local out="$cache/helm-$HELM_VERSION"
  [[ -x "$out/helm" ]] && return 0
  need_go helm "$HELM_VERSION"
  log "building helm $HELM_VERSION"
  mkdir -p "$out.tmp"
  local v=helm.sh/helm/v3/internal/version ldflags="-s -w"
  ldflags+=" -X $v.version=$HELM_VERSION -X $v.gitTreeState=clean"
  ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  GOBIN="$out.tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  rm -rf "$out" && mv "$out.tmp" "$out"
}

# Each component: a provided binary wins; otherwise the cached build (made now if missing).
declare -A component_of=(
  [etcd]=etcd [kube-apiserver]=kubernetes [kube-controller-manager]=kubernetes [kube-scheduler]=kubernetes
  [kubectl]=kubernetes [kwok]=kwok [kwokctl]=kwok [helm]=helm
)
declare -A folder_of=(
  [kubernetes]="$cache/kubernetes-$KUBERNETES_VERSION" [etcd]="$cache/etcd-$ETCD_VERSION"
  [kwok]="$cache/kwok-$KWOK_VERSION" [helm]="$cache/helm-$HELM_VERSION"
)
declare -A wanted=()
for bin in "${!component_of[@]}"; do
  provided "$bin" >/dev/null || wanted[${component_of[$bin]}]=1
done
for component in kubernetes etcd kwok helm; do
  [[ -n "${wanted[$component]:-}" ]] && (build_"$component")
done
# One line per binary: NAME=PATH, for the cluster tooling to read.
for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl helm; do
  echo "$bin=$(provided "$bin" || echo "${folder_of[${component_of[$bin]}]}/$bin")"
done
