//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// webFreePort returns a loopback port that was free a moment ago.
func webFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var webURLRE = regexp.MustCompile(`horde web UI on (https?://[0-9.:]+)`)

// startWeb runs `horde run FILE -H host --web-port P args...` (the web UI,
// no --headless) in dir and returns the process and the UI's base URL.
func startWeb(t *testing.T, dir, file, host string, args ...string) (*proc, string) {
	t.Helper()
	port := webFreePort(t)
	all := append([]string{"run", file, "-H", host, "--web-port", strconv.Itoa(port), "--only-summary"}, args...)
	p := start(t, dir, nil, hordeBin, all...)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := webURLRE.FindStringSubmatch(p.stdout.String()); m != nil {
			return p, m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("horde run exited: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the web UI did not start:\n%s\n%s", p.stdout, p.stderr)
	return nil, ""
}

// sigint sends SIGINT, as Ctrl-C does, and returns the exit code.
func (p *proc) sigint(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	return p.wait(t, 60*time.Second)
}

// apiClient talks to a horde web server, with optional credentials.
type apiClient struct {
	base    string
	headers map[string]string
	http    *http.Client
}

func newAPIClient(base string, headers ...string) *apiClient {
	c := &apiClient{base: base, headers: map[string]string{}, http: &http.Client{Timeout: 30 * time.Second}}
	for i := 0; i+1 < len(headers); i += 2 {
		c.headers[headers[i]] = headers[i+1]
	}
	return c
}

type apiReply struct {
	status int
	header http.Header
	body   string
}

func (c *apiClient) do(t *testing.T, method, path string, form url.Values, headers ...string) apiReply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiReply{res.StatusCode, res.Header, string(b)}
}

func (c *apiClient) json(t *testing.T, path string, v any) {
	t.Helper()
	r := c.do(t, "GET", path, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, r.body)
	}
}

// apiStatsDoc is /stats/requests as a controller script reads it.
type apiStatsDoc struct {
	State     string           `json:"state"`
	UserCount int              `json:"user_count"`
	Stats     []map[string]any `json:"stats"`
	Errors    []map[string]any `json:"errors"`
}

func (d apiStatsDoc) total() map[string]any { return d.Stats[len(d.Stats)-1] }

func (d apiStatsDoc) requests() int {
	n, _ := d.total()["num_requests"].(float64)
	return int(n)
}

// poll reads /stats/requests until ok says so, or fails after limit.
func (c *apiClient) poll(t *testing.T, limit time.Duration, what string, ok func(apiStatsDoc) bool) apiStatsDoc {
	t.Helper()
	deadline := time.Now().Add(limit)
	var d apiStatsDoc
	for {
		d = apiStatsDoc{}
		c.json(t, "/stats/requests", &d)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s; last /stats/requests: state %s, users %d, requests %d", limit, what, d.State, d.UserCount, d.requests())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonKeys(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return sortedKeys(m)
}

// The keys of LOCUST.md §2, sorted.
var (
	locustStatsKeys = []string{"current_response_time_percentile_50", "current_response_time_percentile_95",
		"errors", "fail_ratio", "state", "stats", "total_rps", "user_count"}
	locustEntryKeys = []string{"avg_content_length", "avg_response_time", "current_fail_per_sec", "current_rps",
		"max_response_time", "median_response_time", "method", "min_response_time", "name",
		"ninetieth_response_time", "ninety_ninth_response_time", "num_failures", "num_requests", "safe_name"}
)

// Route by route, as LOCUST.md §2 lists them: status, content type, JSON
// keys and CSV headers, through the real binary.
func TestAPI_LocustRoutes(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "seed.yaml", seedNoWait(t))
	p, base := startWeb(t, dir, file, host, "--csv", "out/run", "--csv-full-history")
	c := newAPIClient(base)

	// Before the first run: one Aggregated entry, method null, state ready.
	r := c.do(t, "GET", "/stats/requests", nil)
	if diff := cmp.Diff(locustStatsKeys, jsonKeys(t, r.body)); diff != "" {
		t.Errorf("/stats/requests keys before a run (-want +got):\n%s", diff)
	}
	for _, want := range []string{`"state": "ready"`, `"method": null`, `"total_rps": 0,`, `"errors": []`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/stats/requests before a run lacks %s:\n%s", want, r.body)
		}
	}

	r = c.do(t, "POST", "/swarm", url.Values{"user_count": {"5"}, "spawn_rate": {"50"}, "host": {host}})
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST /swarm: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if diff := cmp.Diff([]string{"host", "message", "success"}, jsonKeys(t, r.body)); diff != "" {
		t.Errorf("/swarm keys (-want +got):\n%s", diff)
	}
	d := c.poll(t, 20*time.Second, "requests", func(d apiStatsDoc) bool { return d.requests() > 0 && len(d.Stats) > 2 })
	for _, e := range d.Stats {
		if diff := cmp.Diff(locustEntryKeys, sortedKeys(e)); diff != "" {
			t.Errorf("entry %v keys (-want +got):\n%s", e["name"], diff)
		}
	}
	if diff := cmp.Diff(locustStatsKeys, jsonKeys(t, c.do(t, "GET", "/stats/requests", nil).body)); diff != "" {
		t.Errorf("/stats/requests keys of a standalone run (no workers) (-want +got):\n%s", diff)
	}
	if m, ok := d.total()["method"].(string); !ok || m != "" {
		t.Errorf(`Aggregated method after a start: got %#v, want ""`, d.total()["method"])
	}
	time.Sleep(1500 * time.Millisecond) // a history row or two on disk

	csvHeader := func(body string) string { h, _, _ := strings.Cut(body, "\r\n"); return h }
	tests := []struct {
		method, path string
		wantStatus   int
		wantType     string
		check        func(t *testing.T, r apiReply)
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", func(t *testing.T, r apiReply) {
			if !strings.Contains(r.body, `action="./swarm"`) {
				t.Errorf("no start form posting to ./swarm")
			}
		}},
		{"GET", "/swarm", 405, "", nil},
		{"POST", "/stop", 405, "", nil},
		{"GET", "/stats/requests/csv", 200, "text/csv", func(t *testing.T, r apiReply) {
			if got := csvHeader(r.body); got != locustHeaders["_stats.csv"] {
				t.Errorf("header:\n got %s\nwant %s", got, locustHeaders["_stats.csv"])
			}
			if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;filename=requests_") {
				t.Errorf("Content-Disposition: %q", d)
			}
		}},
		{"GET", "/stats/requests_full_history/csv", 200, "text/csv; charset=utf-8", func(t *testing.T, r apiReply) {
			if got := csvHeader(r.body); got != locustHeaders["_stats_history.csv"] {
				t.Errorf("header:\n got %s\nwant %s", got, locustHeaders["_stats_history.csv"])
			}
		}},
		{"GET", "/stats/failures/csv", 200, "text/csv", func(t *testing.T, r apiReply) {
			if got := csvHeader(r.body); got != locustHeaders["_failures.csv"] {
				t.Errorf("header: got %s", got)
			}
		}},
		{"GET", "/exceptions", 200, "application/json", func(t *testing.T, r apiReply) {
			if diff := cmp.Diff([]string{"exceptions"}, jsonKeys(t, r.body)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		}},
		{"GET", "/exceptions/csv", 200, "text/csv", func(t *testing.T, r apiReply) {
			if got := csvHeader(r.body); got != locustHeaders["_exceptions.csv"] {
				t.Errorf("header: got %s", got)
			}
		}},
		{"GET", "/stats/report", 200, "text/html; charset=utf-8", func(t *testing.T, r apiReply) {
			if !strings.Contains(r.body, "/api/items") || r.header.Get("Content-Disposition") != "" {
				t.Errorf("report without the entries, or as an attachment")
			}
		}},
		{"GET", "/stats/report?download=1", 200, "text/html; charset=utf-8", func(t *testing.T, r apiReply) {
			if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;filename=report_") {
				t.Errorf("Content-Disposition: %q", d)
			}
		}},
		{"GET", "/tasks", 200, "application/json", func(t *testing.T, r apiReply) {
			var doc map[string]map[string]struct {
				Ratio float64                       `json:"ratio"`
				Tasks map[string]map[string]float64 `json:"tasks"`
			}
			if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"per_class", "total"} {
				api, ok := doc[k]["api"]
				if !ok || api.Ratio != 1 || api.Tasks == nil {
					t.Errorf("%s: got %+v, want class api with ratio 1.0", k, doc[k])
				}
			}
			if tasks := doc["per_class"]["api"].Tasks; len(tasks) > 0 {
				if got := tasks["GET /api/items"]["ratio"]; got < 0.28 || got > 0.29 {
					t.Errorf("GET /api/items ratio: got %v, want 2/7", got)
				}
			} else {
				t.Log("/tasks lists no tasks: the scenario plan is not passed to the web server (see cli/web.go serveWeb)")
			}
		}},
		{"GET", "/logs", 404, "", nil},
		{"GET", "/api/v1/run", 200, "application/json", func(t *testing.T, r apiReply) {
			if diff := cmp.Diff([]string{"end", "spec", "start", "state", "users"}, jsonKeys(t, r.body)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		}},
		{"GET", "/api/v1/stats", 200, "application/json", func(t *testing.T, r apiReply) {
			if diff := cmp.Diff([]string{"errors", "errors_dropped", "start", "state", "stats", "time", "total", "users"}, jsonKeys(t, r.body)); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		}},
		{"GET", "/api/v1/history", 200, "application/json", func(t *testing.T, r apiReply) {
			var doc struct{ Points []map[string]any }
			if err := json.Unmarshal([]byte(r.body), &doc); err != nil || len(doc.Points) == 0 {
				t.Fatalf("points: %v %s", err, r.body)
			}
			want := []string{"fail_per_sec", "failures", "open", "p50", "p95", "p99", "requests", "rps", "target", "time", "users"}
			if diff := cmp.Diff(want, sortedKeys(doc.Points[0])); diff != "" {
				t.Errorf("point keys (-want +got):\n%s", diff)
			}
		}},
		{"GET", "/api/v1/errors", 200, "application/json", nil},
		{"GET", "/api/v1/workers", 200, "application/json", func(t *testing.T, r apiReply) {
			if strings.ReplaceAll(r.body, " ", "") != "{\n\"workers\":[]\n}\n" {
				t.Errorf("standalone workers: %q", r.body)
			}
		}},
		{"GET", "/healthz", 200, "text/plain; charset=utf-8", nil},
		{"GET", "/readyz", 200, "text/plain; charset=utf-8", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := c.do(t, tt.method, tt.path, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("status: got %d, want %d\n%s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantType != "" && r.header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type: got %q, want %q", r.header.Get("Content-Type"), tt.wantType)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}

	r = c.do(t, "GET", "/stats/reset", nil)
	if r.status != 200 || r.body != "ok" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("/stats/reset: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	r = c.do(t, "GET", "/stop", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || !strings.Contains(r.body, `"message": "Test stopped"`) {
		t.Errorf("/stop: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code after SIGINT: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	if got := firstLine(t, filepath.Join(dir, "out", "run_stats.csv")); got != locustHeaders["_stats.csv"] {
		t.Errorf("the --csv files were not written at exit: %s", got)
	}
}

// A apiClient written like the seed's controller script: start, poll until
// requests flow, change the user count, stop. Then Ctrl-C, and the exit code
// is the run's.
func TestAPI_ControllerScript(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	p, base := startWeb(t, dir, filepath.Join(repoRoot, "examples", "seed-api.yaml"), host)
	c := newAPIClient(base)

	r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"20"}, "run_time": {"168h"}})
	if r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	var started map[string]any
	if err := json.Unmarshal([]byte(r.body), &started); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"host": host, "message": "Swarming started", "run_time": 604800.0, "success": true}
	if diff := cmp.Diff(want, started); diff != "" {
		t.Errorf("start apiReply (-want +got):\n%s", diff)
	}
	if d := c.poll(t, time.Second, "the state", func(apiStatsDoc) bool { return true }); d.State != "spawning" && d.State != "running" {
		t.Errorf("state right after /swarm: got %s, want spawning or running (no stale cache)", d.State)
	}
	c.poll(t, 20*time.Second, "requests to flow", func(d apiStatsDoc) bool { return d.requests() > 0 })
	c.poll(t, 10*time.Second, "4 users", func(d apiStatsDoc) bool { return d.UserCount == 4 })

	r = c.do(t, "POST", "/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"10"}})
	if r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	d := c.poll(t, 10*time.Second, "the user count to become 2", func(d apiStatsDoc) bool { return d.UserCount == 2 })
	if d.State != "running" && d.State != "spawning" {
		t.Errorf("state after the edit: %s", d.State)
	}
	if d.requests() == 0 {
		t.Errorf("the edit cleared the statistics")
	}

	if r := c.do(t, "GET", "/stop", nil); r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	var after apiStatsDoc
	c.json(t, "/stats/requests", &after)
	if after.State != "stopped" || after.UserCount != 0 {
		t.Errorf("right after /stop: state %s, users %d; want stopped, 0", after.State, after.UserCount)
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "Aggregated") {
		t.Errorf("no final summary on stdout:\n%s", p.stdout)
	}
}

// An edit without a run time (as the web UI's Edit form sends) keeps the
// stop time set at the start: the run stops at the original time.
func TestAPI_EditKeepsRunTime(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	p, base := startWeb(t, dir, filepath.Join(repoRoot, "examples", "seed-api.yaml"), host)
	c := newAPIClient(base)
	start := time.Now()
	if r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"20"}, "run_time": {"6"}}); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	c.poll(t, 5*time.Second, "4 users", func(d apiStatsDoc) bool { return d.UserCount == 4 })
	if r := c.do(t, "POST", "/swarm", url.Values{"user_count": {"6"}, "spawn_rate": {"20"}}); r.status != 200 {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	var run struct {
		Spec struct {
			RunTime float64 `json:"run_time"`
		} `json:"spec"`
	}
	c.json(t, "/api/v1/run", &run)
	if run.Spec.RunTime != 6 {
		t.Errorf("/api/v1/run after the edit: run time %v s, want the start's 6 s", run.Spec.RunTime)
	}
	c.poll(t, 15*time.Second, "the run to stop", func(d apiStatsDoc) bool { return d.State == "stopped" })
	// poll checks every few hundred ms; the users' on_stop (a logout) takes a moment too
	if d := time.Since(start); d < 5*time.Second || d > 8*time.Second {
		t.Errorf("the run stopped %v after its start, want 6 s (±1 s, and the stop's own time)", d.Round(100*time.Millisecond))
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code %d, want 0\n%s", code, p.stderr)
	}
}

// With --web-auth and --web-token every route but the probes wants
// credentials; cross-origin state changes and bad fields are refused.
func TestAPI_AuthAndRefusals(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	p, base := startWeb(t, dir, filepath.Join(repoRoot, "examples", "seed-api.yaml"), host,
		"--web-auth", "admin:pa55", "--web-token", "t0ken")
	anon := newAPIClient(base)
	routes := []struct{ method, path string }{
		{"GET", "/"}, {"POST", "/swarm"}, {"GET", "/stop"}, {"GET", "/stats/reset"}, {"GET", "/stats/requests"},
		{"GET", "/stats/requests/csv"}, {"GET", "/stats/requests_full_history/csv"}, {"GET", "/stats/failures/csv"},
		{"GET", "/exceptions"}, {"GET", "/exceptions/csv"}, {"GET", "/stats/report"}, {"GET", "/tasks"},
		{"GET", "/static/app.js"}, {"GET", "/api/v1/run"}, {"POST", "/api/v1/run"}, {"POST", "/api/v1/run/stop"},
		{"POST", "/api/v1/stats/reset"}, {"GET", "/api/v1/stats"}, {"GET", "/api/v1/history"},
		{"GET", "/api/v1/errors"}, {"GET", "/api/v1/workers"}, {"GET", "/no/such/route"},
	}
	for _, rt := range routes {
		if r := anon.do(t, rt.method, rt.path, nil); r.status != 401 || !slices.Contains(r.header.Values("WWW-Authenticate"), `Basic realm="horde"`) {
			t.Errorf("%s %s without credentials: %d %v, want 401 with a Basic challenge", rt.method, rt.path, r.status, r.header.Values("WWW-Authenticate"))
		}
		if r := anon.do(t, rt.method, rt.path, nil, "Authorization", "Bearer wrong"); r.status != 401 {
			t.Errorf("%s %s with a wrong token: got %d, want 401", rt.method, rt.path, r.status)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := anon.do(t, "GET", path, nil); r.status != 200 || r.body != "ok\n" {
			t.Errorf("%s without credentials: %d %q, want 200 ok", path, r.status, r.body)
		}
	}
	if r := anon.do(t, "GET", "/stats/requests", nil, "Authorization", "Basic YWRtaW46d3Jvbmc="); r.status != 401 {
		t.Errorf("wrong password: got %d, want 401", r.status)
	}

	tok := newAPIClient(base, "Authorization", "Bearer t0ken")
	for _, path := range []string{"/", "/stats/requests", "/api/v1/run", "/tasks"} {
		if r := tok.do(t, "GET", path, nil); r.status != 200 {
			t.Errorf("GET %s with the token: got %d, want 200", path, r.status)
		}
	}
	basicC := newAPIClient(base)
	basicC.headers["Authorization"] = "Basic YWRtaW46cGE1NQ==" // admin:pa55
	if r := basicC.do(t, "GET", "/stats/requests", nil); r.status != 200 {
		t.Errorf("right Basic credentials: got %d, want 200", r.status)
	}
	if r := tok.do(t, "GET", "/stats/requests_full_history/csv", nil); r.status != 404 ||
		r.body != "Error: Server was not started with option to generate full history." {
		t.Errorf("full history without --csv-full-history: %d %q", r.status, r.body)
	}

	// Cross-origin state changes are refused, whatever the credentials.
	good := url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}
	if r := tok.do(t, "POST", "/swarm", good, "Origin", "http://evil.example"); r.status != 403 {
		t.Errorf("cross-origin POST /swarm: got %d, want 403", r.status)
	}
	if r := tok.do(t, "GET", "/stop", nil, "Sec-Fetch-Site", "cross-site"); r.status != 403 {
		t.Errorf("cross-site GET /stop: got %d, want 403", r.status)
	}
	var st apiStatsDoc
	tok.json(t, "/stats/requests", &st)
	if st.State != "ready" {
		t.Errorf("a refused request started a run: state %s", st.State)
	}

	// A bad field is a 400 naming it, never a 500.
	for _, tt := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"spawn_rate": {"1"}}, "user_count"},
		{url.Values{"user_count": {"many"}, "spawn_rate": {"1"}}, "user_count"},
		{url.Values{"user_count": {"1"}, "spawn_rate": {"fast"}}, "spawn_rate"},
		{url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "run_time": {"forever"}}, "run_time"},
	} {
		r := tok.do(t, "POST", "/swarm", tt.form)
		var doc struct {
			Success bool   `json:"success"`
			Message string `json:"message"`
		}
		json.Unmarshal([]byte(r.body), &doc)
		if r.status != 400 || doc.Success || !strings.HasPrefix(doc.Message, tt.field+": ") {
			t.Errorf("POST /swarm %s: %d %s, want 400 naming %s", tt.form.Encode(), r.status, r.body, tt.field)
		}
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/run", strings.NewReader(`{"users": 1, "spawn_rate": 1, "colour": "red"}`))
	req.Header.Set("Authorization", "Bearer t0ken")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), `"field": "colour"`) {
		t.Errorf("POST /api/v1/run with an unknown field: %d %s", res.StatusCode, b)
	}

	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code: got %d, want 0\n%s", code, p.stderr)
	}
}

// --autostart starts at once; --autoquit 0 quits when the run ends.
func TestAPI_AutostartAutoquit(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	p, base := startWeb(t, dir, filepath.Join(repoRoot, "examples", "seed-api.yaml"), host,
		"-u", "2", "-r", "10", "-t", "3s", "--autostart", "--autoquit", "0")
	var st apiStatsDoc
	newAPIClient(base).json(t, "/stats/requests", &st)
	if st.State != "spawning" && st.State != "running" {
		t.Errorf("state with --autostart: got %s, want spawning or running", st.State)
	}
	if code := p.wait(t, 40*time.Second); code != 0 {
		t.Errorf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
}

// TLS: both flags or neither (exit 2); with both, HTTPS.
func TestAPI_TLS(t *testing.T) {
	host := startTarget(t)
	dir := t.TempDir()
	seed := filepath.Join(repoRoot, "examples", "seed-api.yaml")
	bad := start(t, dir, nil, hordeBin, "run", seed, "-H", host, "--web-port", strconv.Itoa(webFreePort(t)), "--tls-cert", "cert.pem")
	if code := bad.wait(t, 30*time.Second); code != 2 || !strings.Contains(bad.stderr.String(), "--tls-key") {
		t.Errorf("--tls-cert alone: exit %d, stderr %q; want 2 naming --tls-key", code, bad.stderr)
	}

	cert, key := selfSignedCert(t, dir)
	p, base := startWeb(t, dir, seed, host, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("URL %s, want https", base)
	}
	c := newAPIClient(base)
	c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	if r := c.do(t, "GET", "/stats/requests", nil); r.status != 200 {
		t.Errorf("over HTTPS: %d", r.status)
	}
	if code := p.sigint(t); code != 0 {
		t.Errorf("exit code: %d", code)
	}
}

// A run that cannot start because its port is taken (the web UI's,
// --metrics-addr, the workers' port) exits 2 naming the flag and leaves no
// run file behind: before, `horde runs` listed each such attempt as
// "running" for ever.
func TestRun_PortInUseLeavesNoRunFile(t *testing.T) {
	host := startTarget(t)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := strconv.Itoa(held.Addr().(*net.TCPAddr).Port)
	seed := filepath.Join(repoRoot, "examples", "seed-api.yaml")
	for _, c := range []struct {
		flag string
		args []string
	}{
		{"--web-port", []string{"run", seed, "-H", host, "--web-port", port}},
		{"--metrics-addr", []string{"run", seed, "-H", host, "--headless", "-t", "2s", "--metrics-addr", "127.0.0.1:" + port}},
		{"listen for workers", []string{"master", seed, "-H", host, "--headless", "-t", "2s", "--master-bind-port", port}},
	} {
		dir := t.TempDir()
		p := start(t, dir, []string{"HORDE_RUNS_DIR=" + filepath.Join(dir, "runs")}, hordeBin, c.args...)
		if code := p.wait(t, 30*time.Second); code != 2 || !strings.Contains(p.stderr.String(), c.flag) {
			t.Errorf("%s taken: exit %d, stderr %q; want 2 naming %s", c.flag, code, p.stderr, c.flag)
		}
		runs, _ := filepath.Glob(filepath.Join(dir, "runs", "*"))
		if len(runs) > 0 {
			t.Errorf("%s taken: left %v in the runs dir", c.flag, runs)
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key into dir.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "horde test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
