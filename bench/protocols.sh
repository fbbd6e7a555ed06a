#!/usr/bin/env bash
# bench/protocols.sh: CPU per WebSocket message and per SSE event of horde, beside Locust
# with websocket-client (the way locust-plugins' WebSocket users send and receive) where
# Debian's python3-locust and python3-websocket are installed; CPU per MQTT publish (QoS 1)
# beside Debian's mosquitto_pub, and the memory of an idle MQTT device, where Debian's
# mosquitto (and mosquitto-clients) are installed. bench/run.sh runs it when
# BENCH_PROTOCOLS=1; it also runs alone.
#
# Usage: bash bench/protocols.sh
#
# Environment:
#   BENCH_PROTO_USERS     users / connections (default 50)
#   BENCH_PROTO_DURATION  -t of each run (default 15s)
#   BENCH_PROTO_PORT      port of `horde target` on 127.0.0.1 (default 18085)
#   BENCH_PROTO_MQTT_PORT port of mosquitto on 127.0.0.1 (default 18886)
#   BENCH_MQTT_IDLE       idle MQTT devices for the memory measure (default 2000)
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

# MQTT: mosquitto on core 0; horde's devices publish at QoS 1 without a wait (each publish
# awaits its PUBACK), mosquitto_pub sends the same number of QoS 1 messages from one
# connection (-l: a message per line of its input). Then horde holds BENCH_MQTT_IDLE idle
# devices, and a tenth of them, for the same time: the difference of their peak RSS over
# the difference of devices is the memory of an idle device.
MQTT_PORT=${BENCH_PROTO_MQTT_PORT:-18886}
IDLE=${BENCH_MQTT_IDLE:-2000}
mqtt_note="MQTT: not run (apt-get install mosquitto mosquitto-clients)"
idle_note=""
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
if [[ -x $MOSQ ]]; then
	printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n' "$MQTT_PORT" >"$TMP/mosquitto.conf"
	[[ $(id -u) == 0 ]] && echo "user root" >>"$TMP/mosquitto.conf"
	taskset -c 0 "$MOSQ" -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
	PIDS+=($!)
	sleep 0.5
	cat >"$TMP/mqtt.yaml" <<YAML
users:
  - name: device
    on_start:
      - mqtt_connect: true
    tasks:
      - mqtt_publish: "bench/{{ vu }}"
        name: publish
        payload: "a reading of some length from a horde device"
        qos: 1
YAML
	cat >"$TMP/mqtt-idle.yaml" <<YAML
users:
  - name: device
    on_start:
      - mqtt_connect: true
        keep_alive: 60s
        timeout: 30s
    tasks:
      - steps:
          - sleep: 1h
YAML
	log "horde mqtt: $USERS devices, $DURATION"
	timed mqtt "$HORDE" run "$TMP/mqtt.yaml" --headless -H "mqtt://127.0.0.1:$MQTT_PORT" -u "$USERS" -r 1000 -t "$DURATION" --csv "$TMP/mqtt" --only-summary
	n=$(count "$TMP/mqtt_stats.csv" MQTT publish)
	read -r u s _ <"$TMP/mqtt.time"
	rows+=("horde|mqtt publish qos 1|${n:-0}|$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
	mqtt_note="MQTT: horde's $USERS devices publish at QoS 1 without a wait, each awaiting its PUBACK."
	if command -v mosquitto_pub >/dev/null && [[ ${n:-0} -gt 0 ]]; then
		awk -v n="$n" 'BEGIN {for (i = 0; i < n; i++) print "a reading of some length from mosquitto_pub"}' >"$TMP/lines"
		log "mosquitto_pub: $n messages at QoS 1"
		taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$TMP/mosquitto_pub.time" \
			timeout -k 10 300 mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -t bench/pub -l <"$TMP/lines" >/dev/null 2>&1 || true
		read -r u s _ <"$TMP/mosquitto_pub.time"
		rows+=("mosquitto_pub $(mosquitto_pub --help 2>&1 | awk '/version/ {print $3; exit}')|mqtt publish qos 1|$n|$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')")
		mqtt_note="$mqtt_note mosquitto_pub (Debian mosquitto-clients) sends as many from one connection (-l), its in-flight window open."
	else
		mqtt_note="$mqtt_note No peer: mosquitto_pub needs apt-get install mosquitto-clients."
	fi
	for k in "$IDLE" $((IDLE / 10)); do
		log "horde mqtt idle: $k devices, 20s"
		timed "idle$k" "$HORDE" run "$TMP/mqtt-idle.yaml" --headless -H "mqtt://127.0.0.1:$MQTT_PORT" -u "$k" -r 1000 -t 20s --csv "$TMP/idle$k" --only-summary
	done
	read -r _ _ big <"$TMP/idle$IDLE.time"
	read -r _ _ small <"$TMP/idle$((IDLE / 10)).time"
	c_big=$(count "$TMP/idle${IDLE}_stats.csv" MQTT connect)
	c_small=$(count "$TMP/idle$((IDLE / 10))_stats.csv" MQTT connect)
	idle_note="Idle MQTT devices: peak RSS $small KiB with ${c_small:-0} connected, $big KiB with ${c_big:-0}: $(awk -v a="$small" -v b="$big" -v x="${c_small:-0}" -v y="${c_big:-0}" 'BEGIN {if (y > x) printf "%.1f", (b - a) / (y - x); else print "-"}') KiB per idle device (3.1.1, keep-alive 60 s)."
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
	echo "- $mqtt_note"
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
	[[ -n $idle_note ]] && echo && echo "$idle_note"
} >"$report"
cat "$report"
log "Markdown: $report"
