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
logs=${HORDE_RECORD_LOGS:-$tmp}
mkdir -p "$logs"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/horde" ./cmd/horde
go build -o "$tmp/record" "$here/record"
go build -o "$tmp/leaky-go" "$here/apps/leaky.go"
javac -d "$tmp" "$here/apps/Leaky.java"

# name runtime cap-MB app-environment [runtime flags...]
#
# HORDE_RECORD_SMALL_HEAPS=1 runs the JVM in a small heap committed whole
# (-Xms48m -Xmx48m) with a small young generation (-Xmn8m) whose survivors
# are promoted after one young collection (-XX:MaxTenuringThreshold=1),
# and a ring of 200 responses of 32 kB each: every response is promoted,
# 2.6 MB of old generation a second at 80 requests a second, so the old
# generation fills in 10-20 s and a 5-minute recording holds tens of
# major collections (Parallel GC's full collections, G1's concurrent
# cycles and their mixed collections). It leaks 150 and 500 bytes a
# request, and its cache (3,000 entries of 1,500 bytes) fills in under a
# minute. Node.js runs with a 1 MB semi-space. -Xlog:gc goes to each
# recording's log: HORDE_RECORD_LOGS=DIR keeps the logs there (to count
# the collections a recording holds).
cases() {
	for name in go go-live java-g1 java-parallel java-parallel-live node python; do
		rt=$name ring=500 slow=500 fast=2000 cache=2000 entries=8000 opts=""
		case $rt in java-*) ring=2000 ;; esac
		# go-live: the Go app exporting its live set after each collection
		# (go_gc_heap_live_bytes) as its heap metric.
		# java-parallel-live: the JVM app exporting its old generation's
		# usage after its last collection (jvm_gc_live_data_size_bytes).
		case $name in go-live) rt=go ring=500,LIVE=1 ;; java-parallel-live) rt=java-parallel ;; esac
		if [ "${HORDE_RECORD_SMALL_HEAPS:-}" = 1 ]; then
			case $rt in
			java-*)
				ring=200,RINGSIZE=32768 slow=150 fast=500 cache=1500 entries=3000
				opts="-Xms48m -Xmn8m -XX:MaxTenuringThreshold=1 -Xlog:gc:stderr"
				;;
			node) opts="--max-semi-space-size=1" ;;
			esac
		fi
		case $name in java-parallel-live) ring=$ring,LIVE=1 ;; esac
		echo "$name-clean $rt 0 MODE=clean,RING=$ring $opts"
		echo "$name-leak-slow $rt 0 MODE=leak,LEAK=$slow,RING=$ring $opts"
		echo "$name-leak-fast $rt 0 MODE=leak,LEAK=$fast,RING=$ring $opts"
		echo "$name-cache $rt 0 MODE=cache,LEAK=$cache,CACHE=$entries,RING=$ring $opts"
		case $rt in
		go) cap=200 ;;
		python) cap=170 ;;
		*) cap=160 ;; # the JVM's -Xmx, Node's --max-old-space-size
		esac
		echo "$name-oom $rt $cap MODE=leak,LEAK=20000,RING=$ring $opts"
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
			-d "$dur" -port "$port" -cap "$cap" -env "$env" -xmx "$xmx" -opts "$opts" 2>"$logs/$name.log" &
		n=$((n + 1))
		if [ $((n % par)) -eq 0 ]; then wait; fi
	done
	wait
}
