#!/bin/sh
# Re-records the real-runtime corpus (see README.md): every runtime × case
# below, a few at a time, each a few minutes under `horde run` (4 users,
# each pacing a request every 50 ms: 80 requests a second at most).
# Needs go, java/javac (OpenJDK), node, python3; root for the cgroup cap
# of Go and Python (else ulimit -v). Usage, from the repository's root:
#
#   internal/soak/testdata/runtimes/record.sh [DURATION] [PARALLEL] [FILTER]
#
# e.g. record.sh 6m 5 'go-' re-records the Go series only; FILTER may list
# several, space-separated ('java- node-cache').
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dur=${1:-3m}
par=${2:-5}
filter=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/horde" ./cmd/horde
go build -o "$tmp/record" "$here/record"
go build -o "$tmp/leaky-go" "$here/apps/leaky.go"
javac -d "$tmp" "$here/apps/Leaky.java"

# name runtime cap-MB app-environment [runtime flags...]
#
# HORDE_RECORD_SMALL_HEAPS=1 runs the JVM in a small heap committed whole
# (-Xms48m -Xmx48m) with a small young generation whose survivors are
# promoted at once (-Xmn12m -XX:MaxTenuringThreshold=1), leaking 150 and
# 500 bytes a request, and Node.js with a 1 MB semi-space: the old
# generation fills in a minute or two, so a recording holds several major
# collections. Tried on a machine at load 50 (README.md): the services
# were starved of CPU and the recordings were not kept.
cases() {
	for rt in go java-g1 java-parallel node python; do
		ring=500 slow=500 fast=2000 cache=2000 opts=""
		case $rt in java-*) ring=2000 ;; esac
		if [ "${HORDE_RECORD_SMALL_HEAPS:-}" = 1 ]; then
			case $rt in
			java-*)
				ring=500 slow=150 fast=500 cache=500
				opts="-Xms48m -Xmn12m -XX:MaxTenuringThreshold=1"
				;;
			node) opts="--max-semi-space-size=1" ;;
			esac
		fi
		echo "$rt-clean $rt 0 MODE=clean,RING=$ring $opts"
		echo "$rt-leak-slow $rt 0 MODE=leak,LEAK=$slow,RING=$ring $opts"
		echo "$rt-leak-fast $rt 0 MODE=leak,LEAK=$fast,RING=$ring $opts"
		echo "$rt-cache $rt 0 MODE=cache,LEAK=$cache,CACHE=8000,RING=$ring $opts"
		case $rt in
		go) cap=200 ;;
		python) cap=170 ;;
		*) cap=160 ;; # the JVM's -Xmx, Node's --max-old-space-size
		esac
		echo "$rt-oom $rt $cap MODE=leak,LEAK=20000,RING=$ring $opts"
	done
}

port=${HORDE_RECORD_PORT:-19200}
n=0
# The loop runs in a subshell (a pipe): it waits for its own recorders
# (a wait outside it would return at once, and the exit trap remove the
# built apps under them).
cases | {
	while read -r name rt cap env opts; do
		if [ -n "$filter" ]; then
			hit=
			for f in $filter; do
				case $name in *"$f"*) hit=1 ;; esac
			done
			[ -n "$hit" ] || continue
		fi
		port=$((port + 1))
		xmx=512
		[ "${HORDE_RECORD_SMALL_HEAPS:-}" = 1 ] && xmx=48
		"$tmp/record" -runtime "$rt" -bin "$tmp" -apps "$here/apps" -horde "$tmp/horde" -o "$here/$name.csv" \
			-d "$dur" -port "$port" -cap "$cap" -env "$env" -xmx "$xmx" -opts "$opts" 2>"$tmp/$name.log" &
		n=$((n + 1))
		if [ $((n % par)) -eq 0 ]; then wait; fi
	done
	wait
}
