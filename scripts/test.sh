#!/usr/bin/env bash
# The full test suite: formatting, vet, unit and end-to-end tests (with the
# race detector), and a short run of every fuzzer over its seed corpus.
# Tiers: `go test ./...` runs the unit tests only; the end-to-end tier (internal/e2e,
# which starts the binary, Chromium, Prometheus and nginx) is behind the build tag e2e,
# which every go command below passes.
# Installs what the tests need on a fresh Debian machine when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# What deploy/test will use (helm; as root with its cluster tier on, a Kubernetes built from
# source, about 8 minutes of both cores on a fresh machine) is built in the background at the
# lowest priority, in the CPU time the steps below leave idle (apt-get downloading, the
# end-to-end tests waiting); deploy/test waits for it.
tools_log=$(mktemp)
setsid nice -n 19 bash deploy/test/run.sh tools >"$tools_log" 2>&1 &
tools_pid=$!
trap 'kill -- -$tools_pid 2>/dev/null || true; rm -f "$tools_log"' EXIT

# System packages some tests use. Tests that need a missing one skip with a
# message, unless HORDE_REQUIRE_ALL=1 (set by .ci/run) turns the skip into a failure.
HORDE_TEST_PACKAGES=${HORDE_TEST_PACKAGES:-"chromium python3-locust iproute2 util-linux prometheus nginx mosquitto mosquitto-clients"}
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	missing=()
	for p in ${HORDE_TEST_PACKAGES:-}; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
fi

echo "== gofmt $(date +%T)"
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
	echo "gofmt would change:"; echo "$bad"; exit 1
fi

echo "== go vet $(date +%T)"
go vet -tags e2e ./...

echo "== go test (race detector; -parallel 4: the end-to-end tests marked parallel mostly wait on their runs) $(date +%T)"
go test -race -count=1 -parallel 4 -timeout 45m -tags e2e ./...

echo "== fuzz (seed corpus plus ${FUZZ_TIME:=10s} of new inputs each, two fuzzers at a time) $(date +%T)"
# fuzz_one fuzzes one target with one worker; its output is printed whole when it ends, so
# two at a time do not interleave. Go's fuzzer fails with a bare "context deadline
# exceeded" when an input is still running as -fuzztime ends (a script building a
# 100M-element list in one builtin, say): not a crash, and no input is written. That one
# failure is run again once; any other failure (a crasher, written to testdata/fuzz) fails.
fuzz_one() {
	local pkg=$1 fz=$2 out
	local run=(go test -tags e2e -run "^$" -fuzz "^${fz}\$" -fuzztime "$FUZZ_TIME" -fuzzminimizetime 3s -parallel 1 "$pkg")
	if out=$("${run[@]}" 2>&1); then
		printf -- '-- %s %s\n%s\n' "$pkg" "$fz" "$(tail -1 <<<"$out")"
		return 0
	fi
	if grep -q "context deadline exceeded" <<<"$out" && ! grep -q "Failing input written" <<<"$out"; then
		printf -- '-- %s %s\n%s\n(a slow input was running when the time ran out: fuzzing %s again)\n' "$pkg" "$fz" "$(tail -20 <<<"$out")" "$fz"
		if out=$("${run[@]}" 2>&1); then
			tail -1 <<<"$out"
			return 0
		fi
	fi
	printf -- '-- %s %s FAILED\n%s\n' "$pkg" "$fz" "$(tail -40 <<<"$out")"
	return 1
}
export -f fuzz_one
export FUZZ_TIME
fuzzers=$(for pkg in $(go list -tags e2e ./...); do
	for fz in $(go test -tags e2e -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "$pkg $fz"
	done
done)
if ! xargs -P 2 -L 1 bash -c 'fuzz_one "$0" "$1"' <<<"$fuzzers"; then
	echo "a fuzzer failed (above)"; exit 1
fi
echo "== deploy/test's tools (built in the background since the start) $(date +%T)"
began=$SECONDS
if ! wait $tools_pid; then
	tail -20 "$tools_log"; echo "(run.sh builds what is missing again)"
fi
echo "waited $((SECONDS - began)) s"
echo "== deploy/test (Kubernetes manifests and Helm chart; the real-cluster tier as root with HORDE_KUBE_E2E=1 or HORDE_REQUIRE_ALL=1)"
bash deploy/test/run.sh
echo "== all tests passed $(date +%T)"
