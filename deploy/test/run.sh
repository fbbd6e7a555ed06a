#!/usr/bin/env bash
# deploy/test/run.sh: the Kubernetes deployment's tests (deploy/test, a module of its own so
# that k8s.io/api and kustomize stay out of horde's binary). Installs the pinned helm from the
# Go module proxy. The static tier always runs (about 15 s); the real-cluster tier runs, as
# root, with HORDE_KUBE_E2E=1 or HORDE_REQUIRE_ALL=1 (hack/kube-up.sh; about 6 minutes of builds
# the first time on a fresh machine, kept in HORDE_KUBE_DIR, default /var/tmp/horde-kube; then
# about 3 minutes). HORDE_REQUIRE_ALL=1 turns the skips for a missing helm or root into
# failures; HORDE_KUBE_E2E=0 skips the cluster tier even then. See docs/kubernetes.md.
# `run.sh tools` only builds what the tiers will use (the cluster tier's Kubernetes, helm, the
# test binary and the image's horde, the last two into the Go build cache) and runs no test:
# scripts/test.sh starts it early, in the background.
set -euo pipefail
cd "$(dirname "$0")"
HELM_VERSION=v3.18.6
tools=${HORDE_TOOLS_DIR:-/var/tmp/horde-tools}/helm-$HELM_VERSION
e2e=${HORDE_KUBE_E2E:-}
cluster_tier() { [ "$(id -u)" = 0 ] && { [ "$e2e" = 1 ] || { [ "${HORDE_REQUIRE_ALL:-}" = 1 ] && [ "$e2e" != 0 ]; }; }; }
install_helm() {
	if [ ! -x "$tools/helm" ]; then
		echo "== go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
		GOBIN="$tools" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	fi
}
if [ "${1:-}" = tools ]; then
	if cluster_tier; then
		echo "== hack/kube-up.sh build"
		KUBE_DIR=${HORDE_KUBE_DIR:-/var/tmp/horde-kube} ../../hack/kube-up.sh build
	fi
	install_helm
	echo "== go test -c, deploy/build.sh (into the build cache)"
	go test -c -o /dev/null .
	sh ../build.sh /dev/null
	exit 0
fi
install_helm
export HORDE_HELM="$tools/helm"
echo "== gofmt, go vet (deploy/test)"
bad=$(gofmt -l .)
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi
go vet ./...
if cluster_tier; then
	# The test stops its cluster itself; this is for a test killed before its cleanup ran.
	trap 'KUBE_DIR=${HORDE_KUBE_DIR:-/var/tmp/horde-kube} ../../hack/kube-up.sh down >/dev/null 2>&1 || true' EXIT
fi
echo "== go test (deploy/test)"
go test -count=1 -timeout 40m -v ./...
