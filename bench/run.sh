#!/usr/bin/env bash
# bench/run.sh: horde's throughput and memory benchmark against wrk, hey, vegeta and Locust,
# and horde's open model at a fixed rate. k6 is not among the peers: it is AGPL-licensed, and
# this script must never fetch or build it (docs/performance.md keeps the earlier k6 figures
# as dated history).
#
# Usage: bash bench/run.sh
#
# Environment:
#   BENCH_DURATION        length of each saturation run (default 20s)
#   BENCH_REPEAT          saturation runs per generator; the report keeps the median (default 1);
#                         also the pairs of the fixed-rate test (horde, then vegeta, alternating;
#                         a row per run and the ratio of their CPU per request in each pair)
#   BENCH_CONNS           connections / users of the saturation runs (default 50)
#   BENCH_TOOLS           saturation generators to run, in order
#                         (default "wrk horde horde-tls horde-h2 hey vegeta locust-fast
#                         locust-http"; set but empty: none); vegeta (MIT licence) is built by
#                         the script with `go install` at the pinned version below into a temp
#                         GOBIN. horde-tls and horde-h2 run against nginx's HTTPS port (a
#                         self-signed certificate, not verified): horde with http2: false
#                         (HTTP/1.1 over TLS) and http2: true (HTTP/2 by ALPN, one connection
#                         per user)
#   BENCH_VEGETA_VERSION  vegeta to install (default v12.13.0); it is installed for the
#                         fixed-rate and high-rate tests too when go is there, whatever
#                         BENCH_TOOLS says
#   BENCH_RATE            iterations/s of the fixed-rate test: horde --rate against
#                         `horde target`'s /delay/50 (default 2000; 0 skips it)
#   BENCH_RATE_DURATION   -t of the fixed-rate test (default 20s)
#   BENCH_RATE_PORT       port of `horde target` on 127.0.0.1 (default 18082)
#   BENCH_VEGETA_MAX_WORKERS  vegeta's -max-workers in both rate tests (default 1000, horde's
#                         default --max-vus: the same cap on concurrent requests)
#   BENCH_RATE_HIGH       iterations/s of the high-rate test: horde --rate against nginx's
#                         `GET /` (a small static answer, core 0; `horde target` on one core
#                         takes only about 4,000/s), vegeta -rate at the same rate right after,
#                         BENCH_REPEAT alternating pairs, the same columns and ratio as the
#                         fixed-rate test (default 20000; 0 skips it)
#   BENCH_RATE_HIGH_DURATION  -t of the high-rate test (default BENCH_RATE_DURATION)
#   BENCH_SYSCALLS        1: one more fixed-rate and high-rate pair under `perf stat` (Debian
#                         linux-perf, as root), printing each generator's system calls per
#                         request; and one more saturation run of wrk and horde (when in
#                         BENCH_TOOLS), the same
#   BENCH_IDLE_USERS      horde users of the idle-users test (default 10000; 0 skips it)
#   BENCH_IDLE_DURATION   -t of the idle-users test (default 40s); the connections are awaited
#                         for up to this less 20 s (at least 30 s): give 19,000 users on a
#                         busy machine 120s
#   BENCH_LOCUST_IDLE_USERS  Locust FastHttpUser users of the same test (default 1000; 0 skips it)
#   BENCH_SCRIPT_USERS    users of the scripted-users test: horde's plain GET and the seed
#                         workload (examples/seed-api.yaml and .star without waits) against the
#                         same `horde target`, CPU per request as a ratio to the plain GET
#                         (default 50; 0 skips it)
#   BENCH_SCRIPT_DURATION -t of each scripted-users run (default 20s)
#   BENCH_SCRIPT_PORT     port of that `horde target` on 127.0.0.1 (default 18084)
#   BENCH_PORT            nginx port on 127.0.0.1 (default 18081)
#   BENCH_TLS_PORT        nginx HTTPS (HTTP/2) port on 127.0.0.1 (default 18083)
#   BENCH_HORDE_BIN             use this horde binary instead of building one
#   BENCH_OUT             directory for the Markdown results (default bench/out)
#   BENCH_PROTOCOLS       1: also run bench/protocols.sh (CPU per WebSocket message and SSE
#                         event, beside Locust with websocket-client) with the same binary
#
# Layout on a 2-core machine: nginx (1 worker) is pinned to core 0, each load generator to
# core 1, one after another. Everything talks to 127.0.0.1 only, and every process is bounded
# by its own duration flag and by `timeout`, and killed by PID when the script exits.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_DURATION:-20s}
REPEAT=${BENCH_REPEAT:-1}
CONNS=${BENCH_CONNS:-50}
TOOLS=${BENCH_TOOLS-"wrk horde horde-tls horde-h2 hey vegeta locust-fast locust-http"}
VEGETA_VERSION=${BENCH_VEGETA_VERSION:-v12.13.0}
RATE=${BENCH_RATE:-2000}
RATE_DURATION=${BENCH_RATE_DURATION:-20s}
RATE_PORT=${BENCH_RATE_PORT:-18082}
# vegeta's workers in the rate tests are capped as horde's users are (--max-vus defaults to
# 1000): unbounded, vegeta starts a worker and a connection for every late request once it
# falls behind, and at 20,000/s it collapsed to 300-1,600/s with 10-s latencies.
VEGETA_MAX_WORKERS=${BENCH_VEGETA_MAX_WORKERS:-1000}
RATE_HIGH=${BENCH_RATE_HIGH:-20000}
RATE_HIGH_DURATION=${BENCH_RATE_HIGH_DURATION:-$RATE_DURATION}
IDLE_USERS=${BENCH_IDLE_USERS:-10000}
IDLE_DURATION=${BENCH_IDLE_DURATION:-40s}
LOCUST_IDLE_USERS=${BENCH_LOCUST_IDLE_USERS:-1000}
SCRIPT_USERS=${BENCH_SCRIPT_USERS:-50}
SCRIPT_DURATION=${BENCH_SCRIPT_DURATION:-20s}
SCRIPT_PORT=${BENCH_SCRIPT_PORT:-18084}
PORT=${BENCH_PORT:-18081}
TLS_PORT=${BENCH_TLS_PORT:-18083}
OUT_DIR=${BENCH_OUT:-$ROOT/bench/out}
URL="http://127.0.0.1:$PORT"
TLS_URL="https://127.0.0.1:$TLS_PORT"
GEN_CPU=1    # core of the load generators
TARGET_CPU=0 # core of nginx

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# seconds DURATION: "20s", "2m", "1m30s" or a bare number of seconds → whole seconds.
seconds() {
	local d=$1 total=0 n
	[[ $d =~ ^[0-9]+$ ]] && { echo "$d"; return; }
	[[ $d =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ && -n $d ]] || die "bad duration '$d' (use e.g. 20s, 2m, 1m30s)"
	if [[ $d =~ ([0-9]+)h ]]; then n=${BASH_REMATCH[1]}; total=$((total + n * 3600)); fi
	if [[ $d =~ ([0-9]+)m ]]; then n=${BASH_REMATCH[1]}; total=$((total + n * 60)); fi
	if [[ $d =~ ([0-9]+)s ]]; then n=${BASH_REMATCH[1]}; total=$((total + n)); fi
	echo "$total"
}
DUR_S=$(seconds "$DURATION")
IDLE_S=$(seconds "$IDLE_DURATION")
RATE_S=$(seconds "$RATE_DURATION")
seconds "$RATE_HIGH_DURATION" >/dev/null
SCRIPT_S=$(seconds "$SCRIPT_DURATION")
((DUR_S > 0)) || die "BENCH_DURATION must be at least 1s"

# ---------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------
need=() # Debian packages to install
have() { command -v "$1" >/dev/null 2>&1; }
have_gnu_time() { [[ -x /usr/bin/time ]] && /usr/bin/time -f '%U' true >/dev/null 2>&1; }
check_tools() {
	need=()
	have nginx || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
	have_gnu_time || need+=(time)
	have taskset || need+=(util-linux)
	have ss || need+=(iproute2)
	have python3 || need+=(python3)
	have openssl || need+=(openssl)
	for t in $TOOLS; do
		case $t in
		wrk) have wrk || need+=(wrk) ;;
		hey) have hey || need+=(hey) ;;
		locust-*) have locust || need+=(python3-locust) ;;
		horde | horde-tls | horde-h2) ;;
		vegeta) have go || die "go is needed to install $t (go install), or leave it out of BENCH_TOOLS" ;;
		k6 | k6-h2) die "k6 is not a peer of this benchmark: it is AGPL-licensed and must not be fetched or built (see docs/performance.md)" ;;
		*) die "unknown tool '$t' in BENCH_TOOLS (known: wrk horde horde-tls horde-h2 hey vegeta locust-fast locust-http)" ;;
		esac
	done
	if ((LOCUST_IDLE_USERS > 0)); then have locust || need+=(python3-locust); fi
	# One package may be listed twice; keep the first.
	if ((${#need[@]})); then mapfile -t need < <(printf '%s\n' "${need[@]}" | awk '!seen[$0]++'); fi
}
check_tools
if ((${#need[@]})); then
	if ((EUID == 0)) && have apt-get; then
		log "installing: ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2 ||
			{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >&2; }
		check_tools
		((${#need[@]} == 0)) || die "still missing after apt-get: ${need[*]}"
	else
		die "missing tools; install the Debian packages: sudo apt-get install -y ${need[*]}"
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ -z ${BENCH_HORDE_BIN:-} ]]; then have go || die "go is needed to build horde (or set BENCH_HORDE_BIN)"; fi

# More file descriptors: 10,000 idle users need 10,000 sockets on each side. Root raises the
# hard limit too, unless the container withholds CAP_SYS_RESOURCE; then the hard limit stays.
if ((EUID == 0)); then ulimit -Hn 65536 2>/dev/null || true; fi
hard=$(ulimit -Hn)
[[ $hard == unlimited ]] && hard=65536
NOFILE=$((hard < 65536 ? hard : 65536))
ulimit -n "$NOFILE" 2>/dev/null || true
NOFILE=$(ulimit -n)
if ((NOFILE < IDLE_USERS + 1000)); then
	log "warning: open-file limit $NOFILE is too low for $IDLE_USERS idle users (run as root, or raise the hard limit)"
fi
# The listen backlog: a burst of 10,000 connects overflows nginx's default of 511, and the
# dropped SYNs come back 1, 3, 7 s later, which would be measured as a slow ramp-up.
BACKLOG=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 4096)
((BACKLOG > 65535)) && BACKLOG=65535

# ---------------------------------------------------------------------------------------------
# Temp dir, process bookkeeping, cleanup
# ---------------------------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/horde-bench.XXXXXX")
PIDS=() # every background process we started
NGINX_PID=
# descendants PID: PID and every process below it (time → timeout → generator), deepest first.
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do descendants "$c"; done
	echo "$1"
}
cleanup() {
	local rc=$? p all=()
	trap - EXIT INT TERM ERR
	for p in "${PIDS[@]}" $NGINX_PID; do
		[[ -n $p ]] && kill -0 "$p" 2>/dev/null || continue
		mapfile -t -O "${#all[@]}" all < <(descendants "$p")
	done
	for p in "${all[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${all[@]}"; do
		[[ -n $p ]] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [[ -n ${BENCH_KEEP_TMP:-} ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'log "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Build horde
# ---------------------------------------------------------------------------------------------
if [[ -n ${BENCH_HORDE_BIN:-} ]]; then
	HORDE=$BENCH_HORDE_BIN
	[[ -x $HORDE ]] || die "BENCH_HORDE_BIN=$HORDE is not executable"
else
	HORDE=$TMP/horde
	log "building horde"
	(cd "$ROOT" && go build -o "$HORDE" ./cmd/horde) || die "go build ./cmd/horde failed"
fi

# vegeta (MIT licence): `go install` at a pinned version into a temp GOBIN (outside any module, so
# horde's go.mod plays no part). A tool that does not build is reported as "not installed"
# instead of failing the run.
GOBIN_DIR=$TMP/gobin
declare -A GOTOOL=() # tool → binary, for the ones that built
go_tool() {
	local tool=$1 pkg=$2
	log "installing $pkg (go install)"
	if (cd "$TMP" && GOBIN=$GOBIN_DIR GOFLAGS=-buildvcs=false GO111MODULE=on go install "$pkg") >"$TMP/install-$tool.log" 2>&1; then
		GOTOOL[$tool]=$GOBIN_DIR/$tool
	else
		log "warning: go install $pkg failed; $tool is left out:"
		tail -n 5 "$TMP/install-$tool.log" >&2 || true
	fi
}
# vegeta is also the peer of the fixed-rate and high-rate tests, whatever BENCH_TOOLS says.
if [[ " $TOOLS " == *" vegeta "* ]] || { ((RATE > 0 || RATE_HIGH > 0)) && have go; }; then
	go_tool vegeta "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"
fi

# ---------------------------------------------------------------------------------------------
# 2. nginx, 1 worker on core 0
# ---------------------------------------------------------------------------------------------
mkdir -p "$TMP/nginx"
# HTTPS with HTTP/2 on TLS_PORT: a self-signed certificate; `http2 on;` since nginx 1.25.1,
# a listen parameter before.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" 2>/dev/null ||
	die "openssl could not make a certificate"
H2_LISTEN="listen 127.0.0.1:$TLS_PORT ssl http2 backlog=$BACKLOG;" H2_ON=
if "$NGINX" -v 2>&1 | awk -F'nginx/' '{split($2, v, "."); exit !(v[1] > 1 || v[1] == 1 && (v[2] > 25 || v[2] == 25 && v[3] >= 1))}'; then
	H2_LISTEN="listen 127.0.0.1:$TLS_PORT ssl backlog=$BACKLOG;" H2_ON="http2 on;"
fi
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$PORT backlog=$BACKLOG;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
    server {
        $H2_LISTEN
        $H2_ON
        ssl_certificate $TMP/nginx/cert.pem;
        ssl_certificate_key $TMP/nginx/key.pem;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	die "127.0.0.1:$PORT is already in use (set BENCH_PORT)"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null; then
	die "127.0.0.1:$TLS_PORT is already in use (set BENCH_TLS_PORT)"
fi
log "starting nginx on $URL (core $TARGET_CPU)"
taskset -c "$TARGET_CPU" "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
	-c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$TMP/nginx/error.log" 2>/dev/null)"
	sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || die "nginx does not listen on $URL"
# The worker is the master's only child; its CPU time tells whether nginx was the bottleneck.
NGINX_WORKER=$(ps -o pid= --ppid "$NGINX_PID" | awk 'NR==1{print $1}')
[[ -n $NGINX_WORKER ]] || die "no nginx worker process"
CLK_TCK=$(getconf CLK_TCK)
nginx_ticks() { awk '{print $14 + $15}' "/proc/$NGINX_WORKER/stat"; }
# core_ticks N: busy (non-idle, non-iowait) ticks of core N since boot, whoever used them.
core_ticks() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
all_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
# Other sessions on the machine compete for both cores and distort every number; warn.
# busy_pct: CPU used by everything over one second, in % of one core (2 cores → at most 200).
busy_pct() {
	local a b ta tb
	a=$(($(core_ticks 0) + $(core_ticks 1))) ta=$(all_ticks)
	sleep 1
	b=$(($(core_ticks 0) + $(core_ticks 1))) tb=$(all_ticks)
	echo $(((b - a) * 100 * $(nproc) / (tb - ta > 0 ? tb - ta : 1)))
}
BUSY=$(busy_pct)
if ((BUSY > 10)); then
	log "warning: the machine is already busy (${BUSY}% of a core used by other processes); results will be noisy:"
	ps -eo pid,pcpu,comm --sort=-pcpu | head -n 6 >&2
fi

# ---------------------------------------------------------------------------------------------
# Scenario and locustfiles
# ---------------------------------------------------------------------------------------------
cat >"$TMP/bench.yaml" <<EOF
host: $URL
users:
  - name: bench
    tasks:
      - get: /
EOF
for v in false true; do
	cat >"$TMP/bench-tls-$v.yaml" <<EOF
host: $TLS_URL
defaults:
  http2: $v
users:
  - name: bench
    tasks:
      - get: /
EOF
done
cat >"$TMP/idle.yaml" <<EOF
host: $URL
users:
  - name: idle
    wait: {constant: 1h}
    on_start:
      - get: /
    tasks:
      - get: /
EOF
printf 'GET %s/\n' "$URL" >"$TMP/vegeta.targets"
cat >"$TMP/rate.yaml" <<EOF
host: http://127.0.0.1:$RATE_PORT
users:
  - name: fixed
    tasks:
      - get: /delay/50
EOF
cat >"$TMP/rate-high.yaml" <<EOF
host: $URL
users:
  - name: fixed
    tasks:
      - get: /
EOF
cat >"$TMP/locust_fast.py" <<'EOF'
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Bench(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
EOF
cat >"$TMP/locust_http.py" <<'EOF'
from locust import HttpUser, constant, task


class Bench(HttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
EOF
cat >"$TMP/locust_idle.py" <<'EOF'
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser


class Idle(FastHttpUser):
    wait_time = constant(3600)

    def on_start(self):
        self.client.get("/")

    @task
    def index(self):
        self.client.get("/")
EOF

# ---------------------------------------------------------------------------------------------
# 3. Saturation runs
# ---------------------------------------------------------------------------------------------
# timed NAME CMD...: runs CMD on the generator core under GNU time and timeout, in the
# background so that the cleanup trap knows its PID; output in $TMP/NAME.{out,err,time}.
timed() {
	local name=$1 pid rc
	shift
	taskset -c "$GEN_CPU" /usr/bin/time -f '%U %S %M %e' -o "$TMP/$name.time" \
		timeout -k 10 $((${TIMED_S:-$DUR_S} + 60)) "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	pid=$!
	PIDS+=("$pid")
	rc=0
	wait "$pid" || rc=$?
	return "$rc"
}

# Results, one line per tool: tool requests failures rps cpu_s rss_kb wall_s nginx_cpu_pct note
RESULTS=$TMP/results.tsv
: >"$RESULTS"

pyget() { python3 - "$@"; }

run_tool() {
	local tool=$1 rc=0 t0 t1 reqs fails rps note=""
	log "saturation: $tool, $CONNS connections, $DURATION"
	t0=$(nginx_ticks)
	local c0=$(core_ticks 0) c1=$(core_ticks 1)
	case $tool in
	wrk)
		timed "$tool" wrk -t1 -c"$CONNS" -d"$DURATION" "$URL/" || rc=$?
		reqs=$(awk '/requests in/{print $1}' "$TMP/$tool.out")
		rps=$(awk '/^Requests\/sec:/{print $2}' "$TMP/$tool.out")
		# Socket errors and non-2xx answers count as failures.
		fails=$(awk '/Socket errors:/{gsub(/,/,""); s=$4+$6+$8+$10} /Non-2xx/{n=$NF} END{print s+n+0}' "$TMP/$tool.out")
		;;
	horde | horde-tls | horde-h2)
		local scen=$TMP/bench.yaml extra=()
		case $tool in
		horde-tls) scen=$TMP/bench-tls-false.yaml extra=(--insecure-skip-tls-verify) ;;
		horde-h2) scen=$TMP/bench-tls-true.yaml extra=(--insecure-skip-tls-verify) ;;
		esac
		timed "$tool" "$HORDE" run "$scen" --headless -u "$CONNS" -r 1000 -t "$DURATION" \
			--only-summary --json "$TMP/$tool.json" "${extra[@]}" || rc=$?
		if [[ -s $TMP/$tool.json ]]; then
			read -r reqs fails rps < <(pyget "$TMP/$tool.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(t["num_requests"], t["num_failures"], t["total_rps"])
EOF
			)
		fi
		;;
	hey)
		timed "$tool" hey -z "$DURATION" -c "$CONNS" "$URL/" || rc=$?
		rps=$(awk '/Requests\/sec:/{print $2}' "$TMP/$tool.out")
		read -r reqs fails < <(awk '
			/Status code distribution:/{s=1; next}
			/Error distribution:/{s=0; e=1; next}
			s && /\[[0-9]+\]/{code=$1; gsub(/[\[\]]/,"",code); n+=$2; if (code+0 >= 400) f+=$2; next}
			e && /\[[0-9]+\]/{x=$1; gsub(/[\[\]]/,"",x); n+=x; f+=x; next}
			END{print n+0, f+0}' "$TMP/$tool.out")
		;;
	vegeta)
		if [[ -z ${GOTOOL[vegeta]:-} ]]; then
			printf '%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\tnot installed (go install failed)\n' "$tool" >>"$RESULTS"
			return 0
		fi
		# -rate=0: as fast as the workers go; 50 workers, no more, like 50 connections.
		# The results go to a file (vegeta's own encoding, part of its cost), read after.
		timed "$tool" "${GOTOOL[vegeta]}" attack -rate=0 -max-workers="$CONNS" -workers="$CONNS" \
			-duration="$DURATION" -targets="$TMP/vegeta.targets" -output="$TMP/vegeta.bin" || rc=$?
		if [[ -s $TMP/vegeta.bin ]]; then
			"${GOTOOL[vegeta]}" report -type=json "$TMP/vegeta.bin" >"$TMP/vegeta.json" 2>>"$TMP/$tool.err" || true
		fi
		if [[ -s $TMP/vegeta.json ]]; then
			read -r reqs fails rps < <(pyget "$TMP/vegeta.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ok = sum(n for c, n in (r.get("status_codes") or {}).items() if 200 <= int(c) < 400)
print(r["requests"], r["requests"] - ok, r["rate"])
EOF
			)
		fi
		;;
	locust-fast | locust-http)
		local file=$TMP/locust_${tool#locust-}.py
		timed "$tool" locust -f "$file" --headless -u "$CONNS" -r "$CONNS" -t "$DURATION" \
			--only-summary -H "$URL" --csv "$TMP/$tool" --loglevel WARNING || rc=$?
		if [[ -s $TMP/${tool}_stats.csv ]]; then
			read -r reqs fails rps < <(pyget "$TMP/${tool}_stats.csv" <<'EOF'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Request Count"], row["Failure Count"], row["Requests/s"])
EOF
			)
		fi
		;;
	esac
	t1=$(nginx_ticks)
	local d0=$(($(core_ticks 0) - c0)) d1=$(($(core_ticks 1) - c1))
	if [[ -z ${reqs:-} || ! -s $TMP/$tool.time ]]; then
		log "$tool produced no result (exit $rc); its output:"
		tail -n 20 "$TMP/$tool.out" "$TMP/$tool.err" >&2 || true
		printf '%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\tno result (exit %s)\n' "$tool" "$rc" >>"$RESULTS"
		return 0
	fi
	((rc == 0)) || note="exit $rc"
	local usr sys rss wall
	read -r usr sys rss wall < <(tail -n 1 "$TMP/$tool.time")
	local nginx_pct core0 core1
	pct() { awk -v t="$1" -v hz="$CLK_TCK" -v w="$wall" 'BEGIN{printf "%.0f", t/hz/w*100}'; }
	nginx_pct=$(pct $((t1 - t0)))
	core0=$(pct "$d0")
	core1=$(pct "$d1")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$reqs" "$fails" "$rps" \
		"$(awk -v u="$usr" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')" "$rss" "$wall" "$nginx_pct" \
		"$core0" "$core1" "$note" >>"$RESULTS"
	log "$tool: $reqs requests, $fails failures, $rps req/s, cpu ${usr}u+${sys}s, max RSS ${rss} KB"
}

for ((i = 1; i <= REPEAT; i++)); do
	for tool in $TOOLS; do
		run_tool "$tool"
		sleep 2 # let TIME_WAIT sockets and the CPU settle
	done
done

# BENCH_SYSCALLS=1: one more saturation run of wrk and horde (those of BENCH_TOOLS) under
# `perf stat`, counting each system call in the kernel, per request.
SAT_SC_MD=$TMP/sat-syscalls.md
: >"$SAT_SC_MD"
if [[ ${BENCH_SYSCALLS:-0} == 1 ]] && [[ " $TOOLS " == *" wrk "* || " $TOOLS " == *" horde "* ]]; then
	if have perf && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
		sat_events=(-e raw_syscalls:sys_enter)
		for sc in read write epoll_wait epoll_pwait epoll_ctl futex nanosleep sched_yield; do
			sat_events+=(-e "syscalls:sys_enter_$sc")
		done
		sat_events+=(-e syscalls:sys_exit_read --filter 'ret == -11')
		: >"$TMP/sat-sc.tsv"
		for tool in wrk horde; do
			[[ " $TOOLS " == *" $tool "* ]] || continue
			log "saturation: system calls of one more $tool run (perf stat)"
			rc=0
			if [[ $tool == wrk ]]; then
				timed wrk-sc perf stat -x, -o "$TMP/wrk-sc.perf" "${sat_events[@]}" -- \
					wrk -t1 -c"$CONNS" -d"$DURATION" "$URL/" || rc=$?
				reqs=$(awk '/requests in/{print $1}' "$TMP/wrk-sc.out")
			else
				timed horde-sc perf stat -x, -o "$TMP/horde-sc.perf" "${sat_events[@]}" -- \
					"$HORDE" run "$TMP/bench.yaml" --headless -u "$CONNS" -r 1000 -t "$DURATION" \
					--only-summary --json "$TMP/horde-sc.json" || rc=$?
				reqs=$([[ -s $TMP/horde-sc.json ]] && pyget "$TMP/horde-sc.json" <<<'import json, sys; print(json.load(open(sys.argv[1]))["total"]["num_requests"])' || true)
			fi
			[[ -n ${reqs:-} ]] && printf '%s\t%s\t%s\n' "$tool" "$reqs" "$TMP/$tool-sc.perf" >>"$TMP/sat-sc.tsv"
			sleep 2
		done
		pyget "$TMP/sat-sc.tsv" >"$SAT_SC_MD" <<'PYEOF'
import sys
sc = {}
for line in open(sys.argv[1]):
    tool, reqs, path = line.rstrip("\n").split("\t")
    n, c = float(reqs), {}
    for row in open(path):
        f = row.strip().split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            name = f[2].split(":")[-1].replace("sys_enter_", "")
            name = "read (EAGAIN)" if name == "sys_exit_read" else ("all" if name == "sys_enter" else name)
            c[name] = float(f[0]) / n if n else 0
    sc[tool] = c
if sc:
    tools = list(sc)
    names = sorted({k for t in tools for k in sc[t] if sc[t][k] >= 0.005},
                   key=lambda k: (k != "all", -max(sc[t].get(k, 0) for t in tools)))
    print("| system call | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for k in names:
        print(f"| {k} | " + " | ".join(f"{sc[t].get(k, 0):.2f}" for t in tools) + " |")
PYEOF
	else
		log "warning: BENCH_SYSCALLS=1 needs perf with syscall tracepoints (Debian: linux-perf, as root); skipped"
	fi
fi

# ---------------------------------------------------------------------------------------------
# 4. Idle users: many users in a long wait, each holding a keep-alive connection
# ---------------------------------------------------------------------------------------------
# ss may fail for a moment while thousands of sockets close; count what it printed.
established() { { ss -Htn state established "( sport = :$PORT )" 2>/dev/null || true; } | wc -l; }

# idle_run NAME USERS CMD...: starts CMD (bounded by its own -t and by timeout), waits until
# nginx holds ~USERS connections (at most the run's -t less 20 s, and at least 30 s), then
# until the generator has settled (under 5 % of a core over a second, at most 15 s: on a busy
# machine the last connects and the memory release after the ramp come late), then reads the
# generator's memory.
IDLE_RESULTS=$TMP/idle.tsv
: >"$IDLE_RESULTS"
idle_run() {
	local name=$1 users=$2 tpid gpid conns=0 waited=0 rss hwm threads rc=0 cpu0 cpu1 note=""
	shift 2
	log "idle users: $name, $users users"
	taskset -c "$GEN_CPU" timeout -k 10 $((IDLE_S + 60)) "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	tpid=$!
	PIDS+=("$tpid")
	gpid=
	for _ in $(seq 50); do
		gpid=$(ps -o pid= --ppid "$tpid" | awk 'NR==1{print $1}')
		[[ -n $gpid ]] && break
		sleep 0.1
	done
	[[ -n $gpid ]] || { log "$name did not start"; wait "$tpid" || true; return 0; }
	local start=$SECONDS limit=$((IDLE_S - 20 > 30 ? IDLE_S - 20 : 30))
	while ((SECONDS - start < limit)); do
		conns=$(established)
		((conns * 100 >= users * 99)) && break
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.5
	done
	waited=$((SECONDS - start))
	sleep 3 # let the last users settle into their wait
	local t0 t1 settle
	for settle in $(seq 15); do
		t0=$(awk '{print $14 + $15}' "/proc/$gpid/stat" 2>/dev/null) || break
		sleep 1
		t1=$(awk '{print $14 + $15}' "/proc/$gpid/stat" 2>/dev/null) || break
		# under 5 % of a core: (t1 - t0) ticks of 1/CLK_TCK s in 1 s
		(((t1 - t0) * 20 < CLK_TCK)) && break
	done
	conns=$(established)
	if kill -0 "$gpid" 2>/dev/null; then
		rss=$(awk '/^VmRSS:/{print $2}' "/proc/$gpid/status")
		hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$gpid/status")
		threads=$(awk '/^Threads:/{print $2}' "/proc/$gpid/status")
		cpu0=$(awk '{print $14 + $15}' "/proc/$gpid/stat")
		sleep 5
		# The run may end (its -t) during these 5 s: then the idle CPU is unknown.
		cpu1=$(awk '{print $14 + $15}' "/proc/$gpid/stat" 2>/dev/null || echo "$cpu0")
	else
		note="exited before measurement"
	fi
	wait "$tpid" || rc=$?
	((rc == 0)) || note="${note:+$note; }exit $rc"
	if ((rc == 124 || rc == 137)); then note="$note (killed by timeout: did not stop at -t)"; fi
	# Requests and failures of the whole run, from horde's JSON or Locust's CSV.
	local counts="- -"
	if [[ -s $TMP/$name.json ]]; then
		counts=$(pyget "$TMP/$name.json" <<'EOF2'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(t["num_requests"], t["num_failures"])
EOF2
		)
	elif [[ -s $TMP/${name}_stats.csv ]]; then
		counts=$(pyget "$TMP/${name}_stats.csv" <<'EOF2'
import csv, sys
for row in csv.DictReader(open(sys.argv[1])):
    if row["Name"] == "Aggregated":
        print(row["Request Count"], row["Failure Count"])
EOF2
		)
	fi
	if ((rc != 0)) || [[ -z ${rss:-} ]]; then
		log "$name: exit $rc; the end of its output:"
		tail -n 12 "$TMP/$name.out" "$TMP/$name.err" >&2 || true
	fi
	if [[ -z ${rss:-} ]]; then
		printf '%s\t%s\t%s\t-\t-\t-\t-\t%s\t%s\t%s\t%s\n' "$name" "$users" "$conns" "$waited" \
			"${counts% *}" "${counts#* }" "$note" >>"$IDLE_RESULTS"
		return 0
	fi
	# CPU used while idle, as % of one core over 5 s.
	local idle_cpu
	idle_cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", (b-a)/hz/5*100}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$users" "$conns" "$rss" "$hwm" \
		"$threads" "$idle_cpu" "$waited" "${counts% *}" "${counts#* }" "$note" >>"$IDLE_RESULTS"
	log "$name: $conns connections after ${waited}s; VmRSS $rss KB, VmHWM $hwm KB, $threads threads"
}

if ((IDLE_USERS > 0)); then
	sleep 2
	idle_run horde-idle "$IDLE_USERS" "$HORDE" run "$TMP/idle.yaml" --headless -u "$IDLE_USERS" \
		-r "$IDLE_USERS" -t "$IDLE_DURATION" --only-summary --json "$TMP/horde-idle.json"
fi
if ((LOCUST_IDLE_USERS > 0)); then
	sleep 2
	idle_run locust-fast-idle "$LOCUST_IDLE_USERS" locust -f "$TMP/locust_idle.py" --headless \
		-u "$LOCUST_IDLE_USERS" -r "$LOCUST_IDLE_USERS" -t "$IDLE_DURATION" --only-summary -H "$URL" \
		--loglevel WARNING --csv "$TMP/locust-fast-idle"
fi

# ---------------------------------------------------------------------------------------------
# 5. Fixed rate: horde's open model against vegeta at the same rate
# ---------------------------------------------------------------------------------------------
# rate_pairs KIND RATE DURATION SCENARIO URL: REPEAT pairs, alternating horde (`--rate RATE`,
# the scenario's one task GET URL, core 1) and vegeta (`-rate RATE`, the same URL, core 1), so
# that each pair shares the machine's state. Writes the Markdown tables to $TMP/KIND.md: a row
# per run (achieved rate, dropped, p50/p99 corrected and uncorrected, CPU µs per request, peak
# RSS, the 1-minute load average before and after the run), the ratio horde ÷ vegeta of CPU
# per request in each pair and its median; with BENCH_SYSCALLS=1 one more pair under `perf
# stat` and each one's system calls per request.
rate_pairs() {
	local kind=$1 rate=$2 dur=$3 scen=$4 url=$5 secs i rc load0
	secs=$(seconds "$dur")
	echo "GET $url" >"$TMP/$kind-vegeta.targets"
	: >"$TMP/$kind-runs.tsv"
	loadavg() { cut -d' ' -f1 /proc/loadavg; }
	for ((i = 1; i <= REPEAT; i++)); do
		rc=0 load0=$(loadavg)
		log "$kind, run $i/$REPEAT: horde --rate $rate -t $dur, GET $url (core $GEN_CPU; load average $load0)"
		TIMED_S=$secs timed "$kind-horde-$i" "$HORDE" run "$scen" --headless --rate "$rate" \
			-t "$dur" --only-summary --json "$TMP/$kind-horde-$i.json" || rc=$?
		if [[ -s $TMP/$kind-horde-$i.json ]]; then
			printf 'horde\t%s\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$TMP/$kind-horde-$i" "$load0" "$(loadavg)" >>"$TMP/$kind-runs.tsv"
		else
			log "$kind: horde produced no result (exit $rc); its output:"
			tail -n 20 "$TMP/$kind-horde-$i.out" "$TMP/$kind-horde-$i.err" >&2 || true
		fi
		if [[ -n ${GOTOOL[vegeta]:-} ]]; then
			sleep 1
			rc=0 load0=$(loadavg)
			log "$kind, run $i/$REPEAT: vegeta -rate $rate -duration $dur (core $GEN_CPU; load average $load0)"
			TIMED_S=$secs timed "$kind-vegeta-$i" "${GOTOOL[vegeta]}" attack -rate="$rate" -duration="$dur" \
				-max-workers="$VEGETA_MAX_WORKERS" \
				-targets="$TMP/$kind-vegeta.targets" -output="$TMP/$kind-vegeta-$i.bin" || rc=$?
			"${GOTOOL[vegeta]}" report -type=json "$TMP/$kind-vegeta-$i.bin" >"$TMP/$kind-vegeta-$i.json" 2>/dev/null || true
			[[ -s $TMP/$kind-vegeta-$i.json ]] &&
				printf 'vegeta\t%s\t%s\t%s\t%s\t%s\n' "$i" "$rc" "$TMP/$kind-vegeta-$i" "$load0" "$(loadavg)" >>"$TMP/$kind-runs.tsv"
		fi
		sleep 1
	done
	# BENCH_SYSCALLS=1: one more pair under `perf stat`, counting each system call in the
	# kernel (no ptrace: the generators keep their pace), per request.
	if [[ ${BENCH_SYSCALLS:-0} == 1 ]]; then
		if have perf && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
			local events=(-e raw_syscalls:sys_enter) sc
			for sc in read write epoll_pwait epoll_ctl timerfd_settime futex nanosleep sched_yield \
				connect setsockopt getsockopt getsockname getpeername socket bind close mmap madvise; do
				events+=(-e "syscalls:sys_enter_$sc")
			done
			events+=(-e syscalls:sys_exit_read --filter 'ret == -11')
			log "$kind: system calls of one more pair (perf stat)"
			rc=0
			TIMED_S=$secs timed "$kind-horde-sc" perf stat -x, -o "$TMP/$kind-horde-sc.perf" "${events[@]}" -- \
				"$HORDE" run "$scen" --headless --rate "$rate" -t "$dur" --only-summary \
				--json "$TMP/$kind-horde-sc.json" || rc=$?
			if [[ -n ${GOTOOL[vegeta]:-} ]]; then
				TIMED_S=$secs timed "$kind-vegeta-sc" perf stat -x, -o "$TMP/$kind-vegeta-sc.perf" "${events[@]}" -- \
					"${GOTOOL[vegeta]}" attack -rate="$rate" -duration="$dur" \
					-targets="$TMP/$kind-vegeta.targets" -output="$TMP/$kind-vegeta-sc.bin" || rc=$?
				"${GOTOOL[vegeta]}" report -type=json "$TMP/$kind-vegeta-sc.bin" >"$TMP/$kind-vegeta-sc.json" 2>/dev/null || true
			fi
		else
			log "warning: BENCH_SYSCALLS=1 needs perf with syscall tracepoints (Debian: linux-perf, as root); skipped"
		fi
	fi
	pyget "$TMP/$kind-runs.tsv" "$rate" "$secs" "$TMP" "$kind" >"$TMP/$kind.md" <<'EOF'
import json, os, statistics, sys
runs, rate, secs, tmp, kind = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
fmt = lambda v, spec: "-" if v is None else format(v, spec)
hrows, vrows, cpu = [], [], {}  # cpu[(tool, run)] = µs per request
for line in open(runs):
    tool, i, rc, base, load0, load1 = line.rstrip("\n").split("\t")
    usr, sys_, rss, wall = open(base + ".time").read().split()[-4:]
    cpu_s = float(usr) + float(sys_)
    doc = json.load(open(base + ".json"))
    if tool == "horde":
        o, t = doc["info"].get("open") or {}, doc["total"]
        it, n = o.get("iterations", 0), t["num_requests"]
        up = (t.get("uncorrected") or {}).get("percentiles", {})
        cpu[("horde", i)] = cpu_s / n * 1e6 if n else None
        hrows.append(f"| {i} | {rate:,.0f} | {it:,} | {it / secs:,.1f} | {(it / secs / rate - 1) * 100:+.2f} % "
                     f"| {o.get('dropped_iterations', '-')} | {n:,} | {t['num_failures']:,} "
                     f"| {fmt(t['percentiles'].get('50'), '.2f')} | {fmt(up.get('50'), '.2f')} "
                     f"| {fmt(t['percentiles'].get('99'), '.2f')} | {fmt(up.get('99'), '.2f')} "
                     f"| {t['max_response_time']:.1f} | {o.get('schedule_lag_mean_ms', 0):.2f} / {o.get('schedule_lag_max_ms', 0):.1f} "
                     f"| {cpu_s:.2f} | {fmt(cpu[('horde', i)], '.1f')} | {int(rss) / 1024:.1f} | {load0} / {load1} | {rc} |")
    else:
        n, lat = doc["requests"], doc["latencies"]
        cpu[("vegeta", i)] = cpu_s / n * 1e6 if n else None
        vrows.append(f"| {i} | {rate:,.0f} | {n:,} | {doc['rate']:,.1f} | {doc['success'] * 100:.2f} % "
                     f"| {lat['50th'] / 1e6:.2f} | {lat['99th'] / 1e6:.2f} | {lat['max'] / 1e6:.1f} "
                     f"| {cpu_s:.2f} | {fmt(cpu[('vegeta', i)], '.1f')} | {int(rss) / 1024:.1f} | {load0} / {load1} | {rc} |")
if hrows:
    print("| run | target rate /s | iterations | achieved /s (iterations ÷ %g s) | vs target | dropped iterations "
          "| requests | failures | p50 ms corrected | p50 ms uncorrected | p99 ms corrected | p99 ms uncorrected "
          "| max ms | schedule lag mean / max ms | CPU s (user+sys) | CPU µs / request | peak RSS MB "
          "| load average before / after | exit |" % secs)
    print("|" + "---|" * 19)
    print("\n".join(hrows))
else:
    print("No result from horde.")
if vrows:
    print()
    print("vegeta at the same rate, same target, each run right after horde's (timed from the send; no correction):")
    print()
    print("| run | target rate /s | requests | achieved /s | success | p50 ms | p99 ms | max ms | CPU s (user+sys) "
          "| CPU µs / request | peak RSS MB | load average before / after | exit |")
    print("|" + "---|" * 13)
    print("\n".join(vrows))
    ratios = [cpu[("horde", i)] / cpu[("vegeta", i)] for (tool, i) in list(cpu)
              if tool == "horde" and cpu[("horde", i)] and cpu.get(("vegeta", i))]
    if ratios:
        print()
        print("CPU per request, horde ÷ vegeta in the same pair: " + ", ".join(f"{r:.2f}" for r in ratios)
              + f"; median **{statistics.median(ratios):.2f}×** (goal ≤ 1.0×).")
# System calls per request (BENCH_SYSCALLS=1).
def perf_counts(path):
    c = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].replace(".", "").isdigit():
            name = f[2].split(":")[-1].replace("sys_enter_", "")
            name = "read (EAGAIN)" if name == "sys_exit_read" else ("all" if name == "sys_enter" else name)
            c[name] = float(f[0])
    return c
sc = {}
for tool, reqs in (("horde", lambda d: d["total"]["num_requests"]), ("vegeta", lambda d: d["requests"])):
    p, j = os.path.join(tmp, f"{kind}-{tool}-sc.perf"), os.path.join(tmp, f"{kind}-{tool}-sc.json")
    if os.path.exists(p) and os.path.exists(j) and os.path.getsize(j):
        n = reqs(json.load(open(j)))
        if n:
            sc[tool] = {k: v / n for k, v in perf_counts(p).items()}
if sc:
    names = [k for k in sc.get("horde", next(iter(sc.values())))]
    names = [k for k in names if any(sc[t].get(k, 0) >= 0.005 for t in sc)]
    names.sort(key=lambda k: (k != "all", -max(sc[t].get(k, 0) for t in sc)))
    tools = list(sc)
    print()
    print("System calls per request (one more pair under `perf stat`, BENCH_SYSCALLS=1):")
    print()
    print("| system call | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for k in names:
        print(f"| {k} | " + " | ".join(f"{sc[t].get(k, 0):.2f}" for t in tools) + " |")
EOF
}

# 5a. The open model at RATE/s against `horde target`'s /delay/50: `horde target` (pinned to
# core 0, nginx idle beside it) answers /delay/50 after 50 ms; horde (core 1) starts RATE
# iterations a second whatever the server does. A perfect run achieves RATE/s, drops nothing,
# and has p99 just above 50 ms, corrected (from the intended start) and uncorrected (from the
# send).
RATE_MD=$TMP/rate.md
: >"$RATE_MD"
if ((RATE > 0)); then
	if (exec 3<>"/dev/tcp/127.0.0.1/$RATE_PORT") 2>/dev/null; then
		die "127.0.0.1:$RATE_PORT is already in use (set BENCH_RATE_PORT)"
	fi
	sleep 2
	log "fixed rate: horde target on 127.0.0.1:$RATE_PORT (core $TARGET_CPU), horde --rate $RATE -t $RATE_DURATION (core $GEN_CPU)"
	taskset -c "$TARGET_CPU" timeout -k 10 $((2 * RATE_S * (REPEAT + 1) + 120)) "$HORDE" target \
		--addr "127.0.0.1:$RATE_PORT" --admin-addr off >"$TMP/target.out" 2>"$TMP/target.err" &
	PIDS+=("$!")
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$RATE_PORT") 2>/dev/null && break
		sleep 0.1
	done
	rate_pairs rate "$RATE" "$RATE_DURATION" "$TMP/rate.yaml" "http://127.0.0.1:$RATE_PORT/delay/50"
fi

# 5b. The open model at a high rate (RATE_HIGH/s, default 20,000) against nginx's `GET /` (a
# small static answer, core 0: it takes far more than 20,000/s on one core, where `horde
# target` takes about 4,000/s). The answer comes back in tens of µs, so what is measured is the
# generator's cost per request at that rate: its scheduler, its wake-ups and its HTTP client.
RATE_HIGH_MD=$TMP/rate-high.md
: >"$RATE_HIGH_MD"
if ((RATE_HIGH > 0)); then
	sleep 2
	log "high rate: nginx on $URL (core $TARGET_CPU), horde --rate $RATE_HIGH -t $RATE_HIGH_DURATION (core $GEN_CPU)"
	rate_pairs rate-high "$RATE_HIGH" "$RATE_HIGH_DURATION" "$TMP/rate-high.yaml" "$URL/"
fi

# ---------------------------------------------------------------------------------------------
# 6. Scripted users: horde's plain GET and the seed workload (YAML, Starlark) on one target
# ---------------------------------------------------------------------------------------------
# `horde target` (core 0) serves the seed's API; horde (core 1) runs SCRIPT_USERS users of a
# plain `GET /` (the reference), then of examples/seed-api.{yaml,star} with the waits removed
# (templates, JSON bodies, token capture, checks), so that the users saturate. The figure is the
# generator's CPU (user+sys) per request, and its ratio to the plain GET of the same run: a
# change to the template, JSON or capture path shows at once (goal: the YAML seed ≤ 1.5×).
SCRIPT_MD=$TMP/script.md
: >"$SCRIPT_MD"
if ((SCRIPT_USERS > 0)); then
	if (exec 3<>"/dev/tcp/127.0.0.1/$SCRIPT_PORT") 2>/dev/null; then
		die "127.0.0.1:$SCRIPT_PORT is already in use (set BENCH_SCRIPT_PORT)"
	fi
	SURL="http://127.0.0.1:$SCRIPT_PORT"
	sed -e 's/^    wait: {between: \[1s, 3s\]}/    wait: {constant: 0s}/' "$ROOT/examples/seed-api.yaml" >"$TMP/seed.yaml"
	sed -e 's/wait = between(1, 3)/wait = constant(0)/' "$ROOT/examples/seed-api.star" >"$TMP/seed.star"
	grep -q 'constant: 0s' "$TMP/seed.yaml" || die "examples/seed-api.yaml: its wait line changed; update bench/run.sh"
	grep -q 'constant(0)' "$TMP/seed.star" || die "examples/seed-api.star: its wait line changed; update bench/run.sh"
	cat >"$TMP/seed-get.yaml" <<EOF
users:
  - name: get
    tasks:
      - get: /
EOF
	sleep 2
	log "scripted users: horde target on $SURL (core $TARGET_CPU)"
	taskset -c "$TARGET_CPU" timeout -k 10 $((3 * SCRIPT_S * REPEAT + 300)) "$HORDE" target \
		--addr "127.0.0.1:$SCRIPT_PORT" --admin-addr off >"$TMP/script-target.out" 2>"$TMP/script-target.err" &
	PIDS+=("$!")
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$SCRIPT_PORT") 2>/dev/null && break
		sleep 0.1
	done
	SCRIPT_TSV=$TMP/script.tsv
	: >"$SCRIPT_TSV"
	for ((i = 1; i <= REPEAT; i++)); do
		for gen in get yaml star; do
			rc=0 counts=""
			log "scripted users: horde run seed-$gen, $SCRIPT_USERS users, $SCRIPT_DURATION (core $GEN_CPU)"
			scen=$TMP/seed.$gen
			[[ $gen == get ]] && scen=$TMP/seed-get.yaml
			TIMED_S=$SCRIPT_S timed "script-$gen" "$HORDE" run "$scen" --headless -u "$SCRIPT_USERS" \
				-r 1000 -t "$SCRIPT_DURATION" -H "$SURL" --only-summary --json "$TMP/script-$gen.json" || rc=$?
			if [[ -s $TMP/script-$gen.json ]]; then
				counts=$(pyget "$TMP/script-$gen.json" <<'PYEOF'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(t["num_requests"], t["num_failures"], t["total_rps"])
PYEOF
				)
			fi
			if [[ -z $counts || ! -s $TMP/script-$gen.time ]]; then
				log "script-$gen produced no result (exit $rc):"
				tail -n 20 "$TMP/script-$gen.out" "$TMP/script-$gen.err" >&2 || true
				printf '%s\t-\t-\t-\t-\tno result (exit %s)\n' "$gen" "$rc" >>"$SCRIPT_TSV"
				continue
			fi
			read -r usr sys rss wall < <(tail -n 1 "$TMP/script-$gen.time")
			read -r reqs fails rps <<<"$counts"
			note=""
			((rc == 0)) || note="exit $rc"
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$gen" "$reqs" "$fails" "$rps" \
				"$(awk -v u="$usr" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')" "$note" >>"$SCRIPT_TSV"
			log "script-$gen: $reqs requests, $fails failures, cpu ${usr}u+${sys}s"
			sleep 2
		done
	done
	pyget "$SCRIPT_TSV" >"$SCRIPT_MD" <<'PYEOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
names = {"get": "horde, plain GET / (the reference)", "yaml": "horde, YAML (examples/seed-api.yaml)",
         "star": "horde, Starlark (examples/seed-api.star)"}
num = lambda x: float(x) if x not in ("-", "") else None
def per(r):
    return num(r[4]) / num(r[1]) * 1e6 if num(r[1]) and num(r[4]) is not None else None
runs = {}
for r in rows:
    runs.setdefault(r[0], []).append((per(r), r))
def median(rs):
    ok = sorted((x for x in rs if x[0] is not None), key=lambda x: x[0])
    return ok[(len(ok) - 1) // 2] if ok else rs[0]
chosen = {g: median(rs) for g, rs in runs.items()}
base = chosen.get("get", (None,))[0]
print("| generator | requests | failures | req/s | CPU s (user+sys) | CPU µs / request | **× plain GET** | CPU µs / request, every run | note |")
print("|" + "---|" * 9)
for g, (p, r) in chosen.items():
    every = ", ".join(f"{x[0]:.1f}" if x[0] is not None else "-" for x in runs[g])
    if p is None:
        print(f"| {names.get(g, g)} | - | - | - | - | - | - | {every} | {r[5]} |")
        continue
    ratio = f"**{p / base:.2f}**" if base else "-"
    print(f"| {names.get(g, g)} | {num(r[1]):,.0f} | {r[2]} | {num(r[3]):,.0f} | {r[4]} | {p:.1f} | {ratio} | {every} | {r[5]} |")
PYEOF
fi

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
STAMP=$(date -u +%Y%m%d-%H%M%S)
REPORT=$OUT_DIR/results-$STAMP.md
CPU_MODEL=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
HORDE_VERSION=$("$HORDE" --version 2>/dev/null | head -n 1 || true)

export BENCH_META_STAMP=$STAMP BENCH_META_CPU="$(nproc) cores, $CPU_MODEL, kernel $(uname -r)"
export BENCH_META_HORDE=${HORDE_VERSION:-unknown} BENCH_META_BUSY=$BUSY BENCH_META_REPEAT=$REPEAT
export BENCH_META_NGINX="$("$NGINX" -v 2>&1 | sed 's/.*: //')"
export BENCH_META_VEGETA=$VEGETA_VERSION
python3 - "$RESULTS" "$IDLE_RESULTS" "$REPORT" "$DURATION" "$CONNS" "$RATE_MD" "$RATE" "$RATE_DURATION" \
	"$SCRIPT_MD" "$SCRIPT_USERS" "$SCRIPT_DURATION" "$SAT_SC_MD" "$RATE_HIGH_MD" "$RATE_HIGH" "$RATE_HIGH_DURATION" <<'EOF'
import os
import sys

results, idle, report, duration, conns, rate_md, rate, rate_duration = sys.argv[1:9]
script_md, script_users, script_duration, sat_sc_md = sys.argv[9:13]
rate_high_md, rate_high, rate_high_duration = sys.argv[13:16]
sat_sc = open(sat_sc_md).read().strip() if os.path.exists(sat_sc_md) else ""
sat_sc_title = "System calls per request at saturation (one more run under `perf stat`, BENCH_SYSCALLS=1)"
meta = {k[len("BENCH_META_"):].lower(): v for k, v in os.environ.items() if k.startswith("BENCH_META_")}
names = {
    "wrk": "wrk (-t1)",
    "horde": "horde",
    "horde-tls": "horde, HTTPS HTTP/1.1",
    "horde-h2": "horde, HTTPS HTTP/2",
    "hey": "hey",
    "vegeta": "vegeta (-workers=%s)" % conns,
    "locust-fast": "Locust FastHttpUser",
    "locust-http": "Locust HttpUser",
    "horde-idle": "horde",
    "locust-fast-idle": "Locust FastHttpUser",
}


def num(x):
    try:
        return float(x)
    except ValueError:
        return None


def fmt(x, spec, scale=1.0):
    return format(x / scale, spec) if x is not None else "-"


cols = ["tool", "reqs", "fails", "rps", "cpu", "rss", "wall", "nginx", "core0", "core1", "note"]
runs = {}
for line in open(results):
    r = dict(zip(cols, line.rstrip("\n").split("\t")))
    reqs, cpu = num(r["reqs"]), num(r["cpu"])
    r["per100k"] = cpu / reqs * 1e5 if reqs and cpu is not None else None
    runs.setdefault(r["tool"], []).append(r)


def median_run(rs):
    ok = sorted((r for r in rs if r["per100k"] is not None), key=lambda r: r["per100k"])
    return ok[(len(ok) - 1) // 2] if ok else rs[0]


chosen = {t: median_run(rs) for t, rs in runs.items()}
wrk = chosen.get("wrk", {}).get("per100k")
repeat = int(meta.get("repeat", "1"))

head = ["generator", "requests", "failures", "req/s", "CPU s (user+sys)", "CPU s / 100k req", "× wrk",
        "peak RSS MB", "nginx worker % of core 0", "core 0 busy %", "core 1 busy %"]
if repeat > 1:
    head.append("CPU s / 100k, every run")
head.append("note")
body = []
for t, r in chosen.items():
    p = r["per100k"]
    row = [names.get(t, t), fmt(num(r["reqs"]), ",.0f"), r["fails"], fmt(num(r["rps"]), ",.0f"), r["cpu"],
           fmt(p, ".2f"), fmt(p / wrk if p is not None and wrk else None, ".2f"), fmt(num(r["rss"]), ".1f", 1024),
           r["nginx"], r["core0"], r["core1"]]
    if repeat > 1:
        row.append(", ".join(fmt(x["per100k"], ".2f") for x in runs[t]))
    row.append(r["note"])
    body.append(row)

icols = ["name", "users", "conns", "rss", "hwm", "threads", "idle_cpu", "waited", "reqs", "fails", "note"]
ihead = ["generator", "users", "connections at nginx", "requests", "failures", "VmRSS MB", "VmHWM MB",
         "KB / user (VmRSS)", "threads", "CPU % while idle", "s to ramp up", "note"]
ibody = []
for line in open(idle):
    r = dict(zip(icols, line.rstrip("\n").split("\t")))
    u, rss, hwm = num(r["users"]), num(r["rss"]), num(r["hwm"])
    ibody.append([names.get(r["name"], r["name"]), fmt(u, ",.0f"), r["conns"], r["reqs"], r["fails"],
                  fmt(rss, ".1f", 1024), fmt(hwm, ".1f", 1024), fmt(rss / u if rss and u else None, ".1f"),
                  r["threads"], r["idle_cpu"], r["waited"], r["note"]])


def text_table(head, body):
    w = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "  ".join(str(c).ljust(n) for c, n in zip(cells, w)).rstrip()
    return "\n".join([line(head), line(["-" * n for n in w])] + [line(b) for b in body])


def md_table(head, body):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in b) + " |" for b in body]
    return "\n".join(out)


ratios = [f"{names.get(t, t)}: {r['per100k'] / wrk:.2f}× wrk" for t, r in chosen.items()
          if t != "wrk" and r["per100k"] is not None and wrk]
title = f"Saturation: {conns} connections, {duration}, GET / on nginx (core 0), generator on core 1"
if repeat > 1:
    title += f", median of {repeat} runs by CPU s / 100k"
print()
print(title)
print(text_table(head, body))
if ratios:
    print("\nCPU per request relative to wrk: " + "; ".join(ratios))
if sat_sc:
    print("\n" + sat_sc_title + ":\n" + sat_sc)
if ibody:
    print("\nIdle users (long wait, one keep-alive connection each):")
    print(text_table(ihead, ibody))
rate_title = f"Fixed rate: horde --rate {rate} -t {rate_duration}, GET /delay/50 on horde target (core 0), horde on core 1"
rate_table = open(rate_md).read().strip() if os.path.exists(rate_md) else ""
if rate_table:
    print("\n" + rate_title + ":")
    print(rate_table)
rate_high_title = (f"High rate: horde --rate {rate_high} -t {rate_high_duration}, GET / on nginx (core 0), "
                   "generator on core 1")
rate_high_table = open(rate_high_md).read().strip() if os.path.exists(rate_high_md) else ""
if rate_high_table:
    print("\n" + rate_high_title + ":")
    print(rate_high_table)

with open(report, "w") as f:
    f.write(f"# horde benchmark, {meta['stamp']} UTC\n\n")
    f.write(f"- Machine: {meta['cpu']}.\n")
    f.write(f"- horde: {meta['horde']}; target: {meta['nginx']}, 1 worker on core 0.\n")
    f.write(f"- vegeta {meta['vegeta']} (MIT), built with `go install`; k6 is not run (AGPL).\n")
    f.write(f"- Command: `BENCH_DURATION={duration} BENCH_REPEAT={repeat} bash bench/run.sh`.\n")
    f.write(f"- CPU used by other processes just before the runs: {meta['busy']}% of a core.\n\n")
    f.write(f"## {title}\n\n")
    f.write(md_table(head, body) + "\n\n")
    f.write("CPU s is user+sys of the whole generator process including startup (GNU time), "
            "req/s is each tool's own figure, peak RSS is GNU time's maximum resident set. "
            "Core busy % counts every process on that core, so more than nginx plus the "
            "generator means another process competed.\n")
    if ratios:
        f.write("\nCPU per request relative to wrk: " + "; ".join(ratios) + ".\n")
    if sat_sc:
        f.write(f"\n{sat_sc_title}:\n\n" + sat_sc + "\n")
    if ibody:
        f.write("\n## Idle users: long wait, one keep-alive connection each\n\n")
        f.write(md_table(ihead, ibody) + "\n\n")
        f.write("VmRSS/VmHWM are read from /proc/PID/status once the users hold their connections.\n")
    if rate_table:
        f.write(f"\n## {rate_title}\n\n" + rate_table + "\n\n")
        f.write("Achieved rate is iterations started ÷ the run time; p99 corrected is timed from each "
                "iteration's intended start, uncorrected from the send. The server's own delay is 50 ms.\n")
    if rate_high_table:
        f.write(f"\n## {rate_high_title}\n\n" + rate_high_table + "\n\n")
        f.write("The same columns as the fixed-rate test; nginx answers at once, so the figures are the "
                "generator's own cost at this rate. Load average: the machine's 1-minute figure before and "
                "after each run.\n")
script_title = (f"Scripted users: plain GET and the seed workload without waits, {script_users} users, "
                f"{script_duration}, against horde target (core 0), generator on core 1")
script_table = open(script_md).read().strip() if os.path.exists(script_md) else ""
if script_table:
    print("\n" + script_title + ":")
    print(script_table)
    with open(report, "a") as f:
        f.write(f"\n## {script_title}\n\n" + script_table + "\n\n")
        f.write("CPU is the generator process's user+sys (GNU time) over its whole run, startup included; "
                "× plain GET divides by horde's plain GET / against the same target in the same run "
                "(goal for the YAML seed: ≤ 1.5).\n")
print(f"\nMarkdown: {report}")
EOF

# WebSocket and SSE: CPU per message beside Locust + websocket-client (bench/protocols.sh).
if [[ ${BENCH_PROTOCOLS:-0} == 1 ]]; then
	BENCH_HORDE_BIN=$HORDE BENCH_OUT=$OUT_DIR bash "$ROOT/bench/protocols.sh"
fi
