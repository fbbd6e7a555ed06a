//go:build e2e

package e2e

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/target"
)

// WebSocket and server-sent events (docs/protocols.md) through the binary,
// against `horde target`'s /ws/echo and /events on loopback.

// runExample runs an example scenario headless against host and returns
// its _stats.csv rows.
func runExample(t *testing.T, file, host string, args ...string) map[string][]string {
	t.Helper()
	dir := t.TempDir()
	all := append([]string{"run", file, "--headless", "-H", host, "--csv", "out/run", "--only-summary"}, args...)
	p := start(t, dir, nil, hordeBin, all...)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	return statsRows(t, filepath.Join(dir, "out", "run_stats.csv"))
}

// validate runs horde validate on file, which must pass.
func validate(t *testing.T, file string) {
	t.Helper()
	v := start(t, repoRoot, nil, hordeBin, "validate", file)
	if code := v.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("validate %s: exit %d\n%s%s", file, code, v.stdout, v.stderr)
	}
}

// noFailures fails for each row of keys with failures.
func noFailures(t *testing.T, rows map[string][]string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if n := count(t, rows[k], 3); n != 0 {
			t.Errorf("%s: %d failures (%v)", k, n, rows[k])
		}
	}
}

// examples/websocket.yaml validates and runs: every user connects once,
// chats with request–reply round trips that all match, and its session
// ends with on_stop's close.
func TestWebSocketExample(t *testing.T) {
	t.Parallel()
	file := filepath.Join(repoRoot, "examples", "websocket.yaml")
	validate(t, file)
	host := startTarget(t)
	rows := runExample(t, file, host, "-u", "4", "-r", "100", "-t", "4s")
	if got := count(t, rows["WS connect /ws/echo"], 2); got != 4 {
		t.Errorf("connects = %d, want 4 (one per user; a task's connect of an open connection does nothing)", got)
	}
	if got := count(t, rows["WS session /ws/echo"], 2); got != 4 {
		t.Errorf("sessions = %d, want 4 (closed by on_stop)", got)
	}
	if got := count(t, rows["WS chat"], 2); got < 1 {
		t.Errorf("chat round trips = %d, want some (8 tasks in 10 are chats)", got)
	}
	noFailures(t, rows, "WS connect /ws/echo", "WS session /ws/echo", "WS chat", "WS presence echo", "WS ping")
	// a session lasts about the run: 4 s less the spawn
	if avg, _ := strconv.ParseFloat(rows["WS session /ws/echo"][5], 64); avg < 2000 {
		t.Errorf("average session %v ms, want about the run's 4 s", avg)
	}
}

// examples/sse.yaml validates and runs: events are counted by type,
// checked, and a stream the server drops is resumed with Last-Event-ID
// until the awaited event arrives.
func TestSSEExample(t *testing.T) {
	t.Parallel()
	file := filepath.Join(repoRoot, "examples", "sse.yaml")
	validate(t, file)
	host := startTarget(t)
	rows := runExample(t, file, host, "-u", "2", "-r", "100", "-t", "5s")
	noFailures(t, rows, "SSE /events tick", "SSE connect /events", "SSE stream /events", "SSE /events (dropped) tick", "SSE stream /events (dropped)")
	if got := count(t, rows["SSE stream /events (dropped)"], 2); got < 1 {
		t.Fatalf("no dropped stream read to its until: event: %v", rows)
	}
	// each read of the dropped stream: 12 events over 3 connections
	streams := count(t, rows["SSE stream /events (dropped)"], 2)
	if c := count(t, rows["SSE connect /events (dropped)"], 2); c < 3*streams {
		t.Errorf("%d connects for %d streams dropped every 5 events, want >= %d", c, streams, 3*streams)
	}
	if got := count(t, rows["SSE /events tick"], 2); got < 20 {
		t.Errorf("%d ticks, want >= 20 (one read of 20)", got)
	}
}

// A wrong check is a failure of the event, and a stream that ends before
// its until: event is a failure of the stream; a message that never
// matches times out.
func TestProtocolFailures(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "bad.yaml", `
users:
  - name: u
    wait: {constant: 200ms}
    tasks:
      - steps:
          - ws_connect: /ws/echo
          - ws_send: {json: {type: a}}
            name: never
            reply: {json: {type: b}}
            timeout: 300ms
          - sse: /events?n=3&interval=10ms
            name: short
            until: {json: {n: 99}}
            check: {json: {n: {"<": 3}}}
            timeout: 2s
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "1", "-r", "10", "-t", "2s", "--csv", "bad", "--only-summary")
	if code := p.wait(t, 30*time.Second); code == 0 {
		t.Fatalf("exit code 0 with failures\n%s", p.stdout)
	}
	fails := readCSV(t, filepath.Join(dir, "bad_failures.csv"))
	var all []string
	for _, r := range fails[1:] {
		all = append(all, strings.Join(r[:3], " | "))
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"WS | never | no message matched within 300ms (1 others)",
		"SSE | stream short | stream ended after 3 events",
		`SSE | short tick | check json "n": got 3, want < 3`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("failures lack %q; they are:\n%s", want, joined)
		}
	}
}

// wss:// and https:// event streams with the same TLS options as HTTP
// (--target-ca), and the user's cookies on the handshake and the stream.
func TestWebSocketSSE_TLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pki := makePKI(t, dir)
	srv, err := target.New(target.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3cret", Path: "/"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err != nil || c.Value != "s3cret" {
			http.Error(w, "no session cookie", http.StatusUnauthorized)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	})
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	host := "https://" + ln.Addr().(*net.TCPAddr).String()
	file := writeFile(t, dir, "tls.yaml", `
users:
  - name: u
    wait: {constant: 100ms}
    on_start:
      - post: /session
    tasks:
      - steps:
          - ws_connect: /ws/echo
            name: echo
          - ws_send: "hello"
            name: hello
            reply: {body_contains: hello}
            timeout: 5s
          - sse: /events?interval=10ms
            name: ticks
            events: 3
            timeout: 5s
    on_stop:
      - ws_close: true
`)
	run := func(args ...string) (int, *proc) {
		p := start(t, dir, nil, hordeBin, append([]string{"run", file, "--headless", "-H", host, "-u", "2", "-r", "10", "-t", "2s", "--only-summary"}, args...)...)
		return p.wait(t, 30*time.Second), p
	}
	code, p := run("--target-ca", pki.ca, "--csv", "ok")
	if code != 0 {
		t.Fatalf("with --target-ca: exit %d\n%s\n%s", code, p.stdout, p.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "ok_stats.csv"))
	noFailures(t, rows, "WS connect echo", "WS hello", "SSE connect ticks", "SSE ticks tick", "WS session echo")
	if count(t, rows["WS hello"], 2) == 0 || count(t, rows["SSE ticks tick"], 2) < 3 {
		t.Errorf("no traffic over TLS: %v", rows)
	}
	// without the CA, the handshake fails on the certificate
	code, p = run("--csv", "bad")
	if code == 0 {
		t.Fatal("without the CA the run passed")
	}
	fails := readCSV(t, filepath.Join(dir, "bad_failures.csv"))
	found := false
	for _, r := range fails[1:] {
		if r[1] == "connect echo" && strings.Contains(r[2], "certificate") {
			found = true
		}
	}
	if !found {
		t.Errorf("no certificate failure of the handshake: %v", fails)
	}
}

// A master and a worker run the WebSocket example: the WS rows reach the
// master's statistics.
func TestCluster_WebSocket(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	file := filepath.Join(repoRoot, "examples", "websocket.yaml")
	m, port := startMaster(t, dir, 0, file, "--headless", "-H", host, "--expect-workers", "1", "--expect-workers-max-wait", "30s",
		"-u", "3", "-r", "100", "-t", "4s", "--csv", "out/dist", "--only-summary")
	w := startWorker(t, t.TempDir(), port)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit code %d\nstdout:\n%s\nstderr:\n%s", code, m.stdout, m.stderr)
	}
	if code := w.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("worker exit code %d\n%s", code, w.stderr)
	}
	rows := statsRows(t, filepath.Join(dir, "out", "dist_stats.csv"))
	if got := count(t, rows["WS connect /ws/echo"], 2); got != 3 {
		t.Errorf("master counted %d connects, want 3", got)
	}
	if got := count(t, rows["WS session /ws/echo"], 2); got != 3 {
		t.Errorf("master counted %d sessions, want 3 (on_stop in the final reports)", got)
	}
	if got := count(t, rows["WS chat"], 2); got == 0 {
		t.Errorf("no chat round trips reached the master: %v", rows)
	}
}

// examples/websocket.star: the Starlark module records what the YAML
// steps record, and closes the connection in on_stop.
func TestWebSocketSSEScript(t *testing.T) {
	t.Parallel()
	file := filepath.Join(repoRoot, "examples", "websocket.star")
	validate(t, file)
	host := startTarget(t)
	rows := runExample(t, file, host, "-u", "2", "-r", "100", "-t", "4s")
	if got := count(t, rows["WS connect /ws/echo"], 2); got != 1 {
		t.Errorf("connects = %d, want 1 (one chatter)", got)
	}
	if got := count(t, rows["WS session /ws/echo"], 2); got != 1 {
		t.Errorf("sessions = %d, want 1 (closed in on_stop)", got)
	}
	if got := count(t, rows["SSE /events tick"], 2); got < 10 {
		t.Errorf("%d ticks, want >= 10", got)
	}
	noFailures(t, rows, "WS connect /ws/echo", "WS chat", "WS session /ws/echo", "SSE /events tick", "SSE stream /events")
}

// The soak case: a user holds its connection and sends periodically; the
// server drops it every 3 messages (normally) and the task's ws_connect
// reconnects. Each session is recorded, none as a failure.
func TestWebSocketReconnect(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "re.yaml", `
users:
  - name: u
    wait: {constant: 200ms}
    tasks:
      - steps:
          - ws_connect: /ws/echo?close_after=3
            name: echo
          - ws_send: "hello"
            name: hello
            reply: true
            timeout: 2s
`)
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-H", host, "-u", "1", "-r", "10", "-t", "3s", "--csv", "re", "--only-summary")
	p.wait(t, 30*time.Second)
	rows := statsRows(t, filepath.Join(dir, "re_stats.csv"))
	connects, sessions := count(t, rows["WS connect echo"], 2), count(t, rows["WS session echo"], 2)
	if connects < 2 || sessions != connects {
		t.Errorf("%d connects and %d sessions, want reconnections (>= 2) and a session for each", connects, sessions)
	}
	if n := count(t, rows["WS hello"], 2); n < 3*(connects-1) {
		t.Errorf("%d messages over %d connections dropped every 3", n, connects)
	}
	noFailures(t, rows, "WS connect echo", "WS session echo")
}
