#!/bin/sh
# Re-records the real-runtime corpus (see README.md): every runtime × case
# below, a few at a time, each a few minutes under `horde run` (4 users,
# each pacing a request every 50 ms: 80 requests a second at most).
# Needs go, java/javac (OpenJDK), node, python3; root for the cgroup cap
# of Go and Python (else ulimit -v). Usage, from the repository's root:
#
#   internal/soak/testdata/runtimes/record.sh [DURATION] [PARALLEL] [FILTER]
#
# e.g. record.sh 4m 5 'go-' re-records the Go series only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dur=${1:-4m}
par=${2:-5}
filter=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/horde" ./cmd/horde
go build -o "$tmp/record" "$here/record"
go build -o "$tmp/leaky-go" "$here/apps/leaky.go"
javac -d "$tmp" "$here/apps/Leaky.java"

# name runtime cap-MB app-environment
cases() {
	for rt in go java-g1 java-parallel node python; do
		ring=500
		case $rt in java-*) ring=2000 ;; esac
		echo "$rt-clean $rt 0 MODE=clean,RING=$ring"
		echo "$rt-leak-slow $rt 0 MODE=leak,LEAK=500,RING=$ring"
		echo "$rt-leak-fast $rt 0 MODE=leak,LEAK=2000,RING=$ring"
		echo "$rt-cache $rt 0 MODE=cache,LEAK=2000,CACHE=8000,RING=$ring"
		case $rt in
		go) cap=200 ;;
		python) cap=170 ;;
		*) cap=160 ;; # the JVM's -Xmx, Node's --max-old-space-size
		esac
		echo "$rt-oom $rt $cap MODE=leak,LEAK=20000,RING=$ring"
	done
}

port=${HORDE_RECORD_PORT:-19200}
n=0
cases | while read -r name rt cap env; do
	case $name in *"$filter"*) ;; *) continue ;; esac
	port=$((port + 1))
	"$tmp/record" -runtime "$rt" -bin "$tmp" -apps "$here/apps" -horde "$tmp/horde" -o "$here/$name.csv" \
		-d "$dur" -port "$port" -cap "$cap" -env "$env" 2>"$tmp/$name.log" &
	n=$((n + 1))
	if [ $((n % par)) -eq 0 ]; then wait; fi
done
wait
