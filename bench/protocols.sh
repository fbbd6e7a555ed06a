#!/usr/bin/env bash
# bench/protocols.sh: CPU per WebSocket message and per SSE event of horde, beside Locust
# with websocket-client (the way locust-plugins' WebSocket users send and receive) where
# Debian's python3-locust and python3-websocket are installed. bench/run.sh runs it when
# BENCH_PROTOCOLS=1; it also runs alone.
#
# Usage: bash bench/protocols.sh
#
# Environment:
#   BENCH_PROTO_USERS     users / connections (default 50)
#   BENCH_PROTO_DURATION  -t of each run (default 15s)
#   BENCH_PROTO_PORT      port of `horde target` on 127.0.0.1 (default 18085)
#   BENCH_HORDE_BIN       use this horde binary instead of building one
#   BENCH_OUT             directory for the Markdown results (default bench/out)
#
# `horde target` (its /ws/echo and /events) is pinned to core 0, each generator to core 1;
# everything stays on 127.0.0.1, every process is bounded by -t and `timeout` and killed by
# PID when the script exits.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERS=${BENCH_PROTO_USERS:-50}
DURATION=${BENCH_PROTO_DURATION:-15s}
PORT=${BENCH_PROTO_PORT:-18085}
OUT_DIR=${BENCH_OUT:-$ROOT/bench/out}
HOST="http://127.0.0.1:$PORT"
TMP=$(mktemp -d)
PIDS=()

log() { printf '[bench-protocols] %s\n' "$*" >&2; }
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ -n ${BENCH_HORDE_BIN:-} ]]; then
	HORDE=$BENCH_HORDE_BIN
else
	HORDE=$TMP/horde
	(cd "$ROOT" && go build -o "$HORDE" ./cmd/horde)
fi
[[ -x /usr/bin/time ]] || { log "GNU time (/usr/bin/time) is needed: apt-get install time"; exit 1; }

taskset -c 0 "$HORDE" target --addr "127.0.0.1:$PORT" --admin-addr off >"$TMP/target.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
	grep -q "listening on" "$TMP/target.log" && break
	sleep 0.1
done

DUR_S=${DURATION%s}

# timed NAME CMD...: runs CMD on core 1 under GNU time; "$TMP/NAME.time" gets user sys.
timed() {
	local name=$1
	shift
	taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$TMP/$name.time" \
		timeout -k 10 $((DUR_S + 60)) "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
}

cat >"$TMP/ws.yaml" <<YAML
users:
  - name: chat
    on_start:
      - ws_connect: /ws/echo
    tasks:
      - ws_send: "hello from horde, a chat message of some length"
        name: chat
        reply: {body_contains: hello}
        timeout: 5s
YAML
cat >"$TMP/sse.yaml" <<YAML
users:
  - name: reader
    tasks:
      - sse: /events?interval=0s&n=1000000
        name: /events
        duration: 1h
YAML
cat >"$TMP/locust_ws.py" <<'PY'
import time
import websocket
from locust import User, task, events

class Chat(User):
    def on_start(self):
        self.ws = websocket.create_connection(self.host.replace("http", "ws", 1) + "/ws/echo")

    @task
    def chat(self):
        t0 = time.perf_counter()
        self.ws.send("hello from locust, a chat message of some length")
        m = self.ws.recv()
        events.request.fire(request_type="WS", name="chat", response_time=(time.perf_counter() - t0) * 1000,
                            response_length=len(m), exception=None, context={})

    def on_stop(self):
        self.ws.close()
PY

# count CSV TYPE NAME: the request count of a _stats.csv row
count() { awk -F, -v t="$2" -v n="$3" '$1 == t && $2 == n {print $3}' "$1"; }

rows=()
run_horde() {
	local name=$1 file=$2 typ=$3 row=$4
	log "horde $name: $USERS users, $DURATION"
	timed "$name" "$HORDE" run "$file" --headless -H "$HOST" -u "$USERS" -r 1000 -t "$DURATION" --csv "$TMP/$name" --only-summary
	local n cpu
	n=$(count "$TMP/${name}_stats.csv" "$typ" "$row")
	read -r u s _ <"$TMP/$name.time"
	cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')
	rows+=("horde|$name|${n:-0}|$cpu")
}
run_horde ws "$TMP/ws.yaml" WS chat
run_horde sse "$TMP/sse.yaml" SSE "/events tick"

if command -v locust >/dev/null && /usr/bin/python3 -c 'import locust, websocket' 2>/dev/null; then
	log "locust ws: $USERS users, $DURATION"
	timed locust-ws locust -f "$TMP/locust_ws.py" --headless -H "$HOST" -u "$USERS" -r 1000 -t "$DURATION" --csv "$TMP/locust-ws" --only-summary
	n=$(count "$TMP/locust-ws_stats.csv" WS chat)
	read -r u s _ <"$TMP/locust-ws.time"
	rows+=("locust + websocket-client|ws|${n:-0}|$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
	peer="Locust $(locust --version 2>&1 | awk '{print $2}') with websocket-client $(/usr/bin/python3 -c 'import websocket; print(websocket.__version__)')"
else
	peer="none: Locust with websocket-client needs apt-get install python3-locust python3-websocket"
fi

mkdir -p "$OUT_DIR"
report=$OUT_DIR/protocols-$(date -u +%Y%m%d-%H%M%S).md
{
	echo "# horde protocols benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC"
	echo
	echo "- $USERS users, $DURATION each, generator on core 1, \`horde target\` on core 0; peer: $peer."
	echo "- WS: a text message sent and its echo awaited (a round trip) per iteration, no wait."
	echo "  SSE: /events?interval=0s read by each user (events as fast as the target sends them);"
	echo "  no SSE peer is run (neither Debian nor Locust ships an SSE load client)."
	echo
	echo "| generator | test | messages | CPU s | CPU µs / message |"
	echo "|---|---|---|---|---|"
	for r in "${rows[@]}"; do
		IFS='|' read -r g t n c <<<"$r"
		per=$(awk -v n="$n" -v c="$c" 'BEGIN {if (n > 0) printf "%.1f", c * 1e6 / n; else print "-"}')
		echo "| $g | $t | $n | $c | $per |"
	done
	echo
	echo "CPU s is the generator process's user+sys (GNU time), startup included."
} >"$report"
cat "$report"
log "Markdown: $report"
