//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// What a k6 user looks for (issue 30, items 9 to 12), through the doors a
// user uses.

// A worker stopped cleanly (SIGINT) says goodbye: the master logs "worker
// left", never "worker lost", and shows "1 worker (1 left)" in the
// console table (the run outlasts the leave by several 3 s tables) and
// "1 (1 left)" in the web UI's header.
func TestMaster_WorkerLeftShows(t *testing.T) {
	// This test found the goodbye lost in about a third of shutdowns (the
	// worker cancelled its stream while the goodbye was still queued in the
	// transport; worker.Run now waits for the master to end the session).
	// The heartbeat timeout is 6 s, not 2, so that a loaded machine's pauses
	// cannot end a session on silence in its place; the worker's log is
	// printed for the next failure.
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "s.yaml", "users:\n  - name: a\n    wait: {constant: 200ms}\n    tasks:\n      - get: /delay/1\n")

	t.Run("console", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		m, _ := startMaster(t, dir, port, "s.yaml", "--headless", "-u", "4", "-r", "100", "-t", "14s", "-H", host,
			"--expect-workers", "2", "--expect-workers-max-wait", "20s", "--heartbeat-timeout", "6s")
		w1 := startWorker(t, t.TempDir(), port)
		startWorker(t, t.TempDir(), port)
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(m.stdout.String(), ", 2 workers\n") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		defer func() { t.Logf("worker 1 stderr:\n%s", w1.stderr) }()
		waitLog(t, m, regexp.MustCompile(`worker left`), 10*time.Second)
		if code := w1.wait(t, 20*time.Second); code != 0 {
			t.Errorf("the stopped worker: exit %d\n%s", code, w1.stderr)
		}
		if code := m.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("master: exit %d\n%s", code, m.stderr)
		}
		if out := m.stdout.String(); !strings.Contains(out, ", 1 worker (1 left)\n") {
			t.Errorf("no \", 1 worker (1 left)\" in the live tables:\n%s", out)
		}
		if strings.Contains(m.stderr.String(), "worker lost") {
			t.Errorf("a worker that left is said lost:\n%s", m.stderr)
		}
	})

	t.Run("web", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		web := freePort(t)
		m, _ := startMaster(t, dir, port, "s.yaml", "-u", "4", "-r", "100", "-t", "60s", "-H", host, "--autostart",
			"--web-port", strconv.Itoa(web), "--heartbeat-timeout", "6s")
		w1 := startWorker(t, t.TempDir(), port)
		startWorker(t, t.TempDir(), port)
		ctx := newBrowser(t)
		browserDo(t, ctx, "open the web UI", chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", web)))
		browserWait(t, ctx, "two workers in the header", `document.getElementById("status-workers").textContent === "2"`, 20*time.Second)
		if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		browserWait(t, ctx, "the worker that left in the header", `document.getElementById("status-workers").textContent === "1 (1 left)"`, 20*time.Second)
		if strings.Contains(m.stderr.String(), "worker lost") {
			t.Errorf("a worker that left is said lost:\n%s", m.stderr)
		}
	})
}

// A master and one worker (so the figures cross the cluster protocol) run
// a scenario with checks against the target: the request phases and the
// data totals are in the CSV (after Locust's columns), the JSON, the HTML
// report and /metrics; the checks summary is in the console, JSON and
// HTML; checks("...") thresholds pass and fail on it.
func TestRun_PhasesChecksData(t *testing.T) {
	t.Parallel()
	host := startTarget(t)
	dir := t.TempDir()
	writeFile(t, dir, "s.yaml", `thresholds:
  - 'checks("status 200") > 99%'
  - 'checks(body_contains "nope") > 50%'
  - "checks > 40%"
users:
  - name: a
    wait: {constant: 50ms}
    tasks:
      - get: /delay/20
        name: slow
        check:
          status: 200
          body_contains: nope
`)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	port := freePort(t)
	m, _ := startMaster(t, dir, port, "s.yaml", "--headless", "-u", "3", "-r", "100", "-t", "4s", "-H", host,
		"--expect-workers", "1", "--expect-workers-max-wait", "20s", "--csv", "out/r", "--json", "out/r.json",
		"--html", "out/r.html", "--metrics-addr", metrics)
	startWorker(t, t.TempDir(), port)

	// /metrics while the run goes on.
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(body, `horde_checks_total{check="status 200",result="pass"}`) {
		time.Sleep(300 * time.Millisecond)
		if resp, err := http.Get("http://" + metrics + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
	}
	for _, re := range []string{
		`horde_request_phase_seconds_count\{method="GET",name="slow",phase="waiting"\} [1-9]`,
		`horde_request_phase_seconds_count\{method="GET",name="slow",phase="connecting"\} [1-9]`,
		`horde_received_bytes_total\{method="GET",name="slow"\} [1-9]`,
		`horde_sent_bytes_total\{method="GET",name="slow"\} [1-9]`,
		`horde_checks_total\{check="body_contains \\"nope\\"",result="fail"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics has no %s:\n%s", re, grepLines(body, "horde_"))
		}
	}

	// A failed threshold: exit code 1.
	if code := m.wait(t, 40*time.Second); code != 1 {
		t.Fatalf("master: exit %d, want 1 (a failed checks threshold)\n%s\n%s", code, m.stdout, m.stderr)
	}
	out := m.stdout.String()
	for _, re := range []string{
		`(?m)^Checks \(passed of evaluated\)$`,
		`(?m)^\s+0\.00%\s+0 / (\d+)\s+body_contains "nope"$`,
		`(?m)^\s+100\.00%\s+(\d+) / (\d+)\s+status 200$`,
		`(?m)^\s+50\.00%\s+\d+ / \d+\s+\(all checks\)$`,
		`(?m)^Data sent [0-9.]+ [kM]?B \([0-9.]+ [kM]?B/s\), received [0-9.]+ [kM]?B \([0-9.]+ [kM]?B/s\)$`,
		`PASS\s+threshold\s+checks\("status 200"\) > 99% holds: actual 100% \(\d+ of \d+ passed\)`,
		`FAIL\s+threshold\s+checks\(body_contains "nope"\) > 50% fails: actual 0%`,
		`PASS\s+threshold\s+checks > 40% holds: actual 50%`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the console has no %s:\n%s", re, out)
		}
	}

	// The CSV: Locust's columns, then horde's.
	rows := readCSV(t, filepath.Join(dir, "out", "r_stats.csv"))
	head := rows[0]
	col := func(name string) int {
		i := slices.Index(head, name)
		if i < 22 {
			t.Fatalf("column %q at %d of %v (want after Locust's 22)", name, i, head)
		}
		return i
	}
	var slow []string
	for _, r := range rows[1:] {
		if r[1] == "slow" {
			slow = r
		}
	}
	if slow == nil {
		t.Fatalf("no slow row in %v", rows)
	}
	num := func(name string) float64 {
		v, err := strconv.ParseFloat(slow[col(name)], 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	reqs, _ := strconv.Atoi(slow[2])
	if w := num("Waiting Avg"); w < 18 || w > 1000 {
		t.Errorf("Waiting Avg %v ms for /delay/20", w)
	}
	if got := num("Bytes Received"); got < float64(reqs)*40 {
		t.Errorf("Bytes Received %v for %d responses", got, reqs)
	}
	if got := num("Bytes Sent"); got < float64(reqs)*30 {
		t.Errorf("Bytes Sent %v for %d requests", got, reqs)
	}
	if num("Connecting Max") <= 0 || num("TLS Handshaking Avg") != 0 {
		t.Errorf("connecting max %v, TLS handshaking avg %v (plain HTTP)", num("Connecting Max"), num("TLS Handshaking Avg"))
	}

	// The JSON.
	var doc struct {
		Stats []struct {
			Name          string `json:"name"`
			BytesReceived int64  `json:"bytes_received"`
			Phases        map[string]struct {
				Count int64   `json:"count"`
				Avg   float64 `json:"avg"`
			} `json:"phases"`
		} `json:"stats"`
		Data struct {
			Sent     int64 `json:"sent_bytes"`
			Received int64 `json:"received_bytes"`
		} `json:"data"`
		Checks []struct {
			Name          string
			Passes, Fails int64
			Rate          float64
		} `json:"checks"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Stats) != 1 || doc.Stats[0].Phases["waiting"].Count != int64(reqs) || doc.Stats[0].Phases["connecting"].Count < 3 || doc.Stats[0].BytesReceived <= 0 {
		t.Errorf("JSON stats: %+v (%d requests)", doc.Stats, reqs)
	}
	if doc.Data.Sent <= 0 || doc.Data.Received <= 0 {
		t.Errorf("JSON data: %+v", doc.Data)
	}
	if len(doc.Checks) != 2 || doc.Checks[1].Name != "status 200" || doc.Checks[1].Passes != int64(reqs) || doc.Checks[0].Fails != int64(reqs) || doc.Checks[0].Rate != 0 {
		t.Errorf("JSON checks %+v (%d requests)", doc.Checks, reqs)
	}

	// The HTML report.
	html, err := os.ReadFile(filepath.Join(dir, "out", "r.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<table id="checks-table">`, `<table id="phases-table">`, `<dd id="data-totals">Data sent `, `<td class="text">status 200</td>`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("the HTML report has no %s", want)
		}
	}
}

// grepLines returns s's lines that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
