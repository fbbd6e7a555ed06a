package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/stats"
)

// fakeRun is a RunControl over plain values.
type fakeRun struct {
	mu         sync.Mutex
	state      string
	spec       cluster.RunSpec
	starts     []cluster.RunSpec
	stops      int
	resets     int
	startErr   error
	done       chan struct{}
	snap       *stats.Snapshot
	hist       []stats.Tick
	users      int
	classUsers []int
	exceptions []stats.Exception
	start, end time.Time
	workers    []cluster.WorkerInfo // used by fakeMaster
}

func newFakeRun() *fakeRun {
	done := make(chan struct{})
	close(done)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return &fakeRun{
		state: "ready",
		done:  done,
		snap:  &stats.Snapshot{Time: now, Start: now, Total: stats.Entry{Name: stats.AggregatedName}},
	}
}

func (f *fakeRun) Start(s cluster.RunSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return f.startErr
	}
	f.starts = append(f.starts, s)
	if s.Host == "" {
		s.Host = "http://configured"
	}
	f.spec = s
	if f.state != "spawning" && f.state != "running" {
		f.state = "spawning"
		f.done = make(chan struct{})
	}
	return nil
}

func (f *fakeRun) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stops++
	if f.state == "spawning" || f.state == "running" {
		f.state = "stopped"
		close(f.done)
	}
}

func (f *fakeRun) RunDone() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

func (f *fakeRun) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
}

func (f *fakeRun) State() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeRun) Spec() cluster.RunSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.spec
}

func (f *fakeRun) Snapshot() *stats.Snapshot               { return f.snap }
func (f *fakeRun) History() []stats.Tick                   { return f.hist }
func (f *fakeRun) Users() int                              { return f.users }
func (f *fakeRun) ClassUsers() []int                       { return f.classUsers }
func (f *fakeRun) Exceptions() []stats.Exception           { return f.exceptions }
func (f *fakeRun) Times() (start, end time.Time)           { return f.start, f.end }
func (f fakeMaster) Workers() ([]cluster.WorkerInfo, bool) { return f.workers, true }
func (f *fakeRun) startsCopy() []cluster.RunSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.starts)
}
func (f *fakeRun) counts() (starts, stops, resets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.starts), f.stops, f.resets
}

// fakeMaster is a fakeRun with workers.
type fakeMaster struct{ *fakeRun }

// runningSnapshot has two entries, an error with HTML in its message and a
// current window.
func runningSnapshot() *stats.Snapshot {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pcts := func(base float64) []float64 {
		out := make([]float64, len(stats.Percentiles))
		for i := range out {
			out[i] = base + float64(i)
		}
		return out
	}
	e1 := stats.Entry{Method: "GET", Name: "/a?x=<1>&y", Requests: 10, Failures: 1, MinMs: 1.4, MaxMs: 12.5, AvgMs: 3.25,
		MedianMs: 2.5, AvgContentSize: 100, CurrentRPS: 2.5, CurrentFailPerSec: 0.1, Percentiles: pcts(2.5), CurrentPercentiles: pcts(2)}
	e2 := stats.Entry{Method: "POST", Name: "/b", Requests: 5, MinMs: 150, MaxMs: 300, AvgMs: 200, MedianMs: 180,
		AvgContentSize: 7, CurrentRPS: 1, Percentiles: pcts(180)}
	total := stats.Entry{Name: stats.AggregatedName, Requests: 15, Failures: 1, MinMs: 1.4, MaxMs: 300, AvgMs: 68.8,
		MedianMs: 3, AvgContentSize: 69, CurrentRPS: 3.5, CurrentFailPerSec: 0.1, Percentiles: pcts(3), CurrentPercentiles: pcts(2.6)}
	return &stats.Snapshot{
		Time: now, Start: now.Add(-time.Minute),
		Entries: []stats.Entry{e1, e2},
		Total:   total,
		Errors:  []stats.Error{{Method: "GET", Name: "/a?x=<1>&y", Message: `HTTPError('404 "x"')`, Occurrences: 1}},
	}
}

func newTestServer(t *testing.T, rc RunControl, opts Options) *httptest.Server {
	t.Helper()
	s, err := New(rc, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, ts *httptest.Server, method, path, contentType, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

const form = "application/x-www-form-urlencoded"

// Every route answers with Locust's status and content type (LOCUST.md §2),
// or, for ours, the documented ones.
func TestServer_Routes(t *testing.T) {
	tests := []struct {
		method, path, ctype, body string
		wantStatus                int
		wantType                  string
		wantDisposition           string // prefix
	}{
		{"GET", "/", "", "", 200, "text/html; charset=utf-8", ""},
		{"GET", "/static/app.js", "", "", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/static/uPlot.iife.min.js", "", "", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/static/uPlot.min.css", "", "", 200, "text/css; charset=utf-8", ""},
		{"GET", "/static/nope.js", "", "", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/swarm", "", "", 405, "text/plain; charset=utf-8", ""},
		{"POST", "/stop", "", "", 405, "text/plain; charset=utf-8", ""},
		{"POST", "/stats/reset", "", "", 405, "text/plain; charset=utf-8", ""},
		{"GET", "/stats/requests", "", "", 200, "application/json", ""},
		{"GET", "/stats/requests/csv", "", "", 200, "text/csv", "attachment;filename=requests_"},
		{"GET", "/stats/requests_full_history/csv", "", "", 404, "text/html; charset=utf-8", ""},
		{"GET", "/stats/failures/csv", "", "", 200, "text/csv", "attachment;filename=failures_"},
		{"GET", "/exceptions", "", "", 200, "application/json", ""},
		{"GET", "/exceptions/csv", "", "", 200, "text/csv", "attachment;filename=exceptions_"},
		{"GET", "/stats/report", "", "", 200, "text/html; charset=utf-8", ""},
		{"GET", "/stats/report?download=1", "", "", 200, "text/html; charset=utf-8", "attachment;filename=report_"},
		{"GET", "/tasks", "", "", 200, "application/json", ""},
		{"GET", "/logs", "", "", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/user_classes", "", "", 404, "text/plain; charset=utf-8", ""},
		{"GET", "/api/v1/run", "", "", 200, "application/json", ""},
		{"GET", "/api/v1/stats", "", "", 200, "application/json", ""},
		{"GET", "/api/v1/history", "", "", 200, "application/json", ""},
		{"GET", "/api/v1/errors", "", "", 200, "application/json", ""},
		{"GET", "/api/v1/workers", "", "", 200, "application/json", ""},
		{"POST", "/api/v1/stats/reset", "", "", 204, "", ""},
		{"GET", "/api/v1/run/stop", "", "", 405, "text/plain; charset=utf-8", ""},
		{"GET", "/healthz", "", "", 200, "text/plain; charset=utf-8", ""},
		{"GET", "/readyz", "", "", 200, "text/plain; charset=utf-8", ""},
		{"POST", "/healthz", "", "", 405, "text/plain; charset=utf-8", ""},
	}
	rc := newFakeRun()
	rc.snap = runningSnapshot()
	ts := newTestServer(t, rc, Options{})
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, ts, tt.method, tt.path, tt.ctype, tt.body)
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d (%s)", r.status, tt.wantStatus, r.body)
			}
			if got := r.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
			}
			if got := r.header.Get("Content-Disposition"); !strings.HasPrefix(got, tt.wantDisposition) || (tt.wantDisposition == "") != (got == "") {
				t.Errorf("Content-Disposition: got %q, want prefix %q", got, tt.wantDisposition)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("Access-Control-Allow-Origin: got %q, want none", got)
			}
			if r.status == 200 && r.header.Get("Content-Length") == "" && tt.path != "/stats/requests_full_history/csv" {
				t.Errorf("no Content-Length")
			}
		})
	}
}

// Before any run, /stats/requests is Locust's body byte for byte but for
// the indentation (the same two spaces) and key order (the same: sorted).
func TestServer_StatsRequests_Ready(t *testing.T) {
	ts := newTestServer(t, newFakeRun(), Options{})
	r := do(t, ts, "GET", "/stats/requests", "", "")
	want := `{
  "current_response_time_percentile_50": null,
  "current_response_time_percentile_95": null,
  "errors": [],
  "fail_ratio": 0.0,
  "state": "ready",
  "stats": [
    {
      "avg_content_length": 0.0,
      "avg_response_time": 0.0,
      "current_fail_per_sec": 0.0,
      "current_rps": 0.0,
      "max_response_time": 0.0,
      "median_response_time": 0,
      "method": null,
      "min_response_time": 0,
      "name": "Aggregated",
      "ninetieth_response_time": 0,
      "ninety_ninth_response_time": 0,
      "num_failures": 0,
      "num_requests": 0,
      "safe_name": "Aggregated"
    }
  ],
  "total_rps": 0,
  "user_count": 0
}
`
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestServer_StatsRequests_Running(t *testing.T) {
	rc := newFakeRun()
	rc.state, rc.users, rc.snap = "running", 7, runningSnapshot()
	ts := newTestServer(t, rc, Options{})
	r := do(t, ts, "GET", "/stats/requests", "", "")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"current_response_time_percentile_50": 3.0, // 2.6 rounded
		"current_response_time_percentile_95": 8.0, // 2.6+5
		"errors": []any{map[string]any{
			"error": "HTTPError(&#x27;404 &quot;x&quot;&#x27;)", "method": "GET", "name": "/a?x=<1>&y", "occurrences": 1.0,
		}},
		"fail_ratio": 1.0 / 15,
		"state":      "running",
		"stats": []any{
			map[string]any{
				"avg_content_length": 100.0, "avg_response_time": 3.25, "current_fail_per_sec": 0.1, "current_rps": 2.5,
				"max_response_time": 13.0, "median_response_time": 3.0, "method": "GET", "min_response_time": 1.0,
				"name": "/a?x=<1>&y", "ninetieth_response_time": 7.0, "ninety_ninth_response_time": 10.0,
				"num_failures": 1.0, "num_requests": 10.0, "safe_name": "/a?x=&lt;1&gt;&amp;y",
			},
			map[string]any{
				"avg_content_length": 7.0, "avg_response_time": 200.0, "current_fail_per_sec": 0.0, "current_rps": 1.0,
				"max_response_time": 300.0, "median_response_time": 180.0, "method": "POST", "min_response_time": 150.0,
				"name": "/b", "ninetieth_response_time": 184.0, "ninety_ninth_response_time": 187.0,
				"num_failures": 0.0, "num_requests": 5.0, "safe_name": "/b",
			},
			map[string]any{
				"avg_content_length": 69.0, "avg_response_time": 68.8, "current_fail_per_sec": 0.1, "current_rps": 3.5,
				"max_response_time": 300.0, "median_response_time": 3.0, "method": "", "min_response_time": 1.0,
				"name": "Aggregated", "ninetieth_response_time": 7.0, "ninety_ninth_response_time": 10.0,
				"num_failures": 1.0, "num_requests": 15.0, "safe_name": "Aggregated",
			},
		},
		"total_rps":  3.5,
		"user_count": 7.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	// Floats keep a decimal point, as Python's.
	for _, s := range []string{`"min_response_time": 1.0,`, `"max_response_time": 300.0,`, `"avg_content_length": 100.0,`} {
		if !strings.Contains(r.body, s) {
			t.Errorf("body lacks %s", s)
		}
	}
}

func TestServer_StatsRequests_Workers(t *testing.T) {
	rc := newFakeRun()
	rc.workers = []cluster.WorkerInfo{{ID: "vm_1", State: "running", Users: 3, CPUPercent: 1.5, MemoryBytes: 1 << 20}}
	ts := newTestServer(t, fakeMaster{rc}, Options{})
	var got struct {
		Workers []map[string]any `json:"workers"`
	}
	if err := json.Unmarshal([]byte(do(t, ts, "GET", "/stats/requests", "", "").body), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"cpu_usage": 1.5, "id": "vm_1", "memory_usage": float64(1 << 20), "state": "running", "user_count": 3.0}}
	if diff := cmp.Diff(want, got.Workers); diff != "" {
		t.Errorf("workers (-want +got):\n%s", diff)
	}
	var api struct {
		Workers []map[string]any `json:"workers"`
	}
	if err := json.Unmarshal([]byte(do(t, ts, "GET", "/api/v1/workers", "", "").body), &api); err != nil {
		t.Fatal(err)
	}
	wantAPI := []map[string]any{{"id": "vm_1", "host": "", "state": "running", "users": 3.0, "cpu": 1.5, "memory": float64(1 << 20), "last_heartbeat": nil}}
	if diff := cmp.Diff(wantAPI, api.Workers); diff != "" {
		t.Errorf("/api/v1/workers (-want +got):\n%s", diff)
	}
	// A master without workers yet says so with an empty list, as Locust's.
	if body := do(t, newTestServer(t, fakeMaster{newFakeRun()}, Options{}), "GET", "/stats/requests", "", "").body; !strings.Contains(body, `"workers": []`) {
		t.Errorf("master without workers: no empty workers list:\n%s", body)
	}
	// A standalone run has no workers key at all, as Locust's local runner.
	if body := do(t, newTestServer(t, newFakeRun(), Options{}), "GET", "/stats/requests", "", "").body; strings.Contains(body, `"workers"`) {
		t.Errorf("standalone /stats/requests has workers:\n%s", body)
	}
}

func TestServer_Swarm(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantReply  map[string]any
		wantSpec   *cluster.RunSpec
	}{
		{"all fields", "user_count=10&spawn_rate=2.5&host=%3Chttp://h:1%3E&run_time=1h20m", 200,
			map[string]any{"host": "http://h:1", "message": "Swarming started", "run_time": 4800.0, "success": true},
			&cluster.RunSpec{Users: 10, SpawnRate: 2.5, Host: "http://h:1", RunTime: 80 * time.Minute}},
		{"minimal", "user_count=1&spawn_rate=1", 200,
			map[string]any{"host": "http://configured", "message": "Swarming started", "success": true},
			&cluster.RunSpec{Users: 1, SpawnRate: 1}},
		{"bare seconds, empty host", "user_count=0&spawn_rate=1&host=&run_time=20", 200,
			map[string]any{"host": "http://configured", "message": "Swarming started", "run_time": 20.0, "success": true},
			&cluster.RunSpec{Users: 0, SpawnRate: 1, RunTime: 20 * time.Second}},
		{"unknown fields ignored", "user_count=3&spawn_rate=1&stop_timeout=7&x=y", 200,
			map[string]any{"host": "http://configured", "message": "Swarming started", "success": true},
			&cluster.RunSpec{Users: 3, SpawnRate: 1}},
		{"missing user_count", "spawn_rate=1", 400, map[string]any{"message": "user_count: required", "success": false}, nil},
		{"bad user_count", "user_count=ten&spawn_rate=1", 400, map[string]any{"message": `user_count: must be an integer, got "ten"`, "success": false}, nil},
		{"float user_count", "user_count=1.5&spawn_rate=1", 400, map[string]any{"message": `user_count: must be an integer, got "1.5"`, "success": false}, nil},
		{"negative user_count", "user_count=-1&spawn_rate=1", 400, map[string]any{"message": "user_count: must be >= 0", "success": false}, nil},
		{"missing spawn_rate", "user_count=1", 400, map[string]any{"message": "spawn_rate: required", "success": false}, nil},
		{"zero spawn_rate", "user_count=1&spawn_rate=0", 400, map[string]any{"message": "spawn_rate: must be a number > 0", "success": false}, nil},
		{"NaN spawn_rate", "user_count=1&spawn_rate=NaN", 400, map[string]any{"message": "spawn_rate: must be a number > 0", "success": false}, nil},
		{"bad host", "user_count=1&spawn_rate=1&host=ftp://x", 400, map[string]any{"message": `host: want an http://, https://, mqtt:// or mqtts:// URL, got "ftp://x"`, "success": false}, nil},
		{"bad run_time", "user_count=1&spawn_rate=1&run_time=soon", 400, nil, nil},
		{"bad body", "user_count=%zz", 400, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newFakeRun()
			ts := newTestServer(t, rc, Options{})
			r := do(t, ts, "POST", "/swarm", form, tt.body)
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", r.status, tt.wantStatus)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("%v: %s", err, r.body)
			}
			if tt.wantReply != nil {
				if diff := cmp.Diff(tt.wantReply, got); diff != "" {
					t.Errorf("reply (-want +got):\n%s", diff)
				}
			} else if got["success"] != false || !hasFieldPrefix(got["message"].(string)) {
				t.Errorf("reply: got %v, want success false and a message naming a field", got)
			}
			var wantStarts []cluster.RunSpec
			if tt.wantSpec != nil {
				wantStarts = []cluster.RunSpec{*tt.wantSpec}
			}
			if diff := cmp.Diff(wantStarts, rc.startsCopy()); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
		})
	}
}

// hasFieldPrefix reports whether an error message starts by naming a field.
func hasFieldPrefix(msg string) bool {
	for _, f := range []string{"user_count: ", "spawn_rate: ", "host: ", "run_time: ", "body: "} {
		if strings.HasPrefix(msg, f) {
			return true
		}
	}
	return false
}

func TestServer_Swarm_Multipart(t *testing.T) {
	rc := newFakeRun()
	ts := newTestServer(t, rc, Options{})
	body := "--XX\r\nContent-Disposition: form-data; name=\"user_count\"\r\n\r\n4\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"spawn_rate\"\r\n\r\n2\r\n--XX--\r\n"
	r := do(t, ts, "POST", "/swarm", "multipart/form-data; boundary=XX", body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if diff := cmp.Diff([]cluster.RunSpec{{Users: 4, SpawnRate: 2}}, rc.startsCopy()); diff != "" {
		t.Errorf("starts (-want +got):\n%s", diff)
	}
}

func TestServer_Swarm_Conflict(t *testing.T) {
	rc := newFakeRun()
	rc.startErr = errors.New("the previous run is still stopping")
	ts := newTestServer(t, rc, Options{})
	r := do(t, ts, "POST", "/swarm", form, "user_count=1&spawn_rate=1")
	if r.status != http.StatusConflict || !strings.Contains(r.body, "still stopping") {
		t.Errorf("got %d %s, want 409 naming the cause", r.status, r.body)
	}
}

// /stop answers once the run has stopped, so the next /stats/requests says so.
func TestServer_StopThenState(t *testing.T) {
	rc := newFakeRun()
	ts := newTestServer(t, rc, Options{})
	if r := do(t, ts, "POST", "/swarm", form, "user_count=2&spawn_rate=1"); r.status != 200 {
		t.Fatalf("swarm: %d %s", r.status, r.body)
	}
	if body := do(t, ts, "GET", "/stats/requests", "", "").body; !strings.Contains(body, `"state": "spawning"`) {
		t.Errorf("after /swarm: %s", body)
	}
	r := do(t, ts, "GET", "/stop", "", "")
	if want := "{\n  \"message\": \"Test stopped\",\n  \"success\": true\n}\n"; r.body != want {
		t.Errorf("/stop: got %q, want %q", r.body, want)
	}
	if body := do(t, ts, "GET", "/stats/requests", "", "").body; !strings.Contains(body, `"state": "stopped"`) || !strings.Contains(body, `"method": ""`) {
		t.Errorf("after /stop: %s", body)
	}
	if r := do(t, ts, "GET", "/stats/reset", "", ""); r.body != "ok" || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("/stats/reset: %q %q", r.body, r.header.Get("Content-Type"))
	}
	if starts, stops, resets := rc.counts(); starts != 1 || stops != 1 || resets != 1 {
		t.Errorf("starts, stops, resets: got %d %d %d, want 1 1 1", starts, stops, resets)
	}
}

func TestServer_APIRun(t *testing.T) {
	tests := []struct {
		name       string
		ctype      string
		body       string
		wantStatus int
		wantErrors []*FieldError
		wantSpec   *cluster.RunSpec
	}{
		{"start", "application/json", `{"users": 10, "spawn_rate": 2, "host": "https://x", "run_time": "90s"}`, 200, nil,
			&cluster.RunSpec{Users: 10, SpawnRate: 2, Host: "https://x", RunTime: 90 * time.Second}},
		{"numeric run_time, no content type", "", `{"users": 1, "spawn_rate": 0.5, "run_time": 30}`, 200, nil,
			&cluster.RunSpec{Users: 1, SpawnRate: 0.5, RunTime: 30 * time.Second}},
		{"null run_time", "application/json; charset=utf-8", `{"users": 1, "spawn_rate": 1, "run_time": null}`, 200, nil,
			&cluster.RunSpec{Users: 1, SpawnRate: 1}},
		{"missing both", "application/json", `{}`, 400,
			[]*FieldError{{"users", "required"}, {"spawn_rate", "required"}}, nil},
		{"every field bad", "application/json", `{"users": -1, "spawn_rate": -2, "host": "x", "run_time": "soon"}`, 400,
			[]*FieldError{
				{"users", "must be >= 0"}, {"spawn_rate", "must be a number > 0"},
				{"host", `want an http://, https://, mqtt:// or mqtts:// URL, got "x"`},
				{"run_time", `bad duration "soon": want a number with a unit (use e.g. 20, 90s, 1h30m, 7d)`},
			}, nil},
		{"wrong type", "application/json", `{"users": "10", "spawn_rate": 1}`, 400,
			[]*FieldError{{"users", "want an integer, got string"}}, nil},
		{"float users", "application/json", `{"users": 1.5, "spawn_rate": 1}`, 400,
			[]*FieldError{{"users", "want an integer, got number 1.5"}}, nil},
		{"unknown field", "application/json", `{"users": 1, "spawn_rate": 1, "user_count": 3}`, 400,
			[]*FieldError{{"user_count", "unknown field (want users, spawn_rate, host, run_time)"}}, nil},
		{"not an object", "application/json", `[1]`, 400, []*FieldError{{"body", "want a JSON object, got array"}}, nil},
		{"empty", "application/json", ``, 400, []*FieldError{{"body", "empty; want a JSON object"}}, nil},
		{"two objects", "application/json", `{"users":1,"spawn_rate":1} {}`, 400,
			[]*FieldError{{"body", "want one JSON object, found more after it"}}, nil},
		{"form content type", form, `users=1`, 415, []*FieldError{{"body", "want Content-Type: application/json"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newFakeRun()
			ts := newTestServer(t, rc, Options{})
			r := do(t, ts, "POST", "/api/v1/run", tt.ctype, tt.body)
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d (%s)", r.status, tt.wantStatus, r.body)
			}
			if r.status != 200 {
				var got apiErrorsDoc
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.wantErrors, got.Errors); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
			} else {
				var got apiRunDoc
				if err := json.Unmarshal([]byte(r.body), &got); err != nil {
					t.Fatal(err)
				}
				if got.State != "spawning" {
					t.Errorf("state: got %q, want spawning", got.State)
				}
			}
			var wantStarts []cluster.RunSpec
			if tt.wantSpec != nil {
				wantStarts = []cluster.RunSpec{*tt.wantSpec}
			}
			if diff := cmp.Diff(wantStarts, rc.startsCopy()); diff != "" {
				t.Errorf("starts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServer_APIRunStop(t *testing.T) {
	rc := newFakeRun()
	rc.start = time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	ts := newTestServer(t, rc, Options{})
	do(t, ts, "POST", "/api/v1/run", "application/json", `{"users": 3, "spawn_rate": 1, "run_time": "1m"}`)
	r := do(t, ts, "POST", "/api/v1/run/stop", "", "")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"state": "stopped", "users": 0.0,
		"spec":  map[string]any{"users": 3.0, "spawn_rate": 1.0, "host": "http://configured", "run_time": 60.0},
		"start": "2026-01-02T03:04:05.600Z", "end": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
}

func TestServer_APIStats(t *testing.T) {
	rc := newFakeRun()
	rc.state, rc.snap = "running", runningSnapshot()
	ts := newTestServer(t, rc, Options{})
	var got struct {
		State string `json:"state"`
		Stats []struct {
			Name               string              `json:"name"`
			Percentiles        map[string]*float64 `json:"percentiles"`
			CurrentPercentiles map[string]*float64 `json:"current_percentiles"`
		} `json:"stats"`
		Total struct {
			MedianResponseTime float64 `json:"median_response_time"`
		} `json:"total"`
		Errors []apiError `json:"errors"`
	}
	body := do(t, ts, "GET", "/api/v1/stats", "", "").body
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Stats) != 2 || got.Stats[0].Name != "/a?x=<1>&y" {
		t.Fatalf("stats: %s", body)
	}
	if p := got.Stats[0].Percentiles["99.9"]; p == nil || *p != 10.5 {
		t.Errorf(`percentiles["99.9"]: got %v, want 10.5`, p)
	}
	if got.Stats[1].CurrentPercentiles != nil {
		t.Errorf("current_percentiles of an entry with an empty window: got %v, want null", got.Stats[1].CurrentPercentiles)
	}
	if got.Total.MedianResponseTime != 3 {
		t.Errorf("total median: got %v, want 3", got.Total.MedianResponseTime)
	}
	wantErr := []apiError{{Method: "GET", Name: "/a?x=<1>&y", Error: `HTTPError('404 "x"')`, Occurrences: 1}}
	if diff := cmp.Diff(wantErr, got.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if i, j := strings.Index(body, `"50": 2.5`), strings.Index(body, `"66": 3.5`); i < 0 || j < i {
		t.Errorf("percentiles are not in stats.Percentiles order:\n%s", body)
	}
}

func TestServer_APIHistory(t *testing.T) {
	rc := newFakeRun()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 250_400_000, time.UTC)
	for i := range 3 {
		rc.hist = append(rc.hist, stats.Tick{Time: t0.Add(time.Duration(i) * time.Second), Users: i, RPS: float64(i), P50Ms: float64(i), Target: 2})
	}
	rc.hist[2].Target, rc.hist[2].Open = 1500, true
	ts := newTestServer(t, rc, Options{})
	type point struct {
		Time   string   `json:"time"`
		Users  int      `json:"users"`
		P50    *float64 `json:"p50"`
		Target float64  `json:"target"`
		Open   bool     `json:"open"`
	}
	get := func(path string) []point {
		var doc struct{ Points []point }
		if err := json.Unmarshal([]byte(do(t, ts, "GET", path, "", "").body), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Points
	}
	one, two := 1.0, 2.0
	all := []point{
		{"2026-01-02T03:04:05.250Z", 0, nil, 2, false},
		{"2026-01-02T03:04:06.250Z", 1, &one, 2, false},
		{"2026-01-02T03:04:07.250Z", 2, &two, 1500, true},
	}
	if diff := cmp.Diff(all, get("/api/v1/history")); diff != "" {
		t.Errorf("all points (-want +got):\n%s", diff)
	}
	// since takes a point's time back: the points after it, not it.
	if diff := cmp.Diff(all[2:], get("/api/v1/history?since=2026-01-02T03:04:06.250Z")); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
	// Every point carries the target and the model, as JSON fields of their own.
	if body := do(t, ts, "GET", "/api/v1/history", "", "").body; !strings.Contains(body, `"target": 1500`) || !strings.Contains(body, `"open": true`) || !strings.Contains(body, `"target": 2`) {
		t.Errorf("history does not carry target and open:\n%s", body)
	}
	if r := do(t, ts, "GET", "/api/v1/history?since=yesterday", "", ""); r.status != 400 || !strings.Contains(r.body, `"field": "since"`) {
		t.Errorf("bad since: %d %s", r.status, r.body)
	}
}

func TestServer_Tasks(t *testing.T) {
	rc := newFakeRun()
	rc.classUsers = []int{3, 1}
	opts := Options{Classes: []report.ClassInfo{
		{Name: "api", Weight: 3, Tasks: []report.TaskInfo{{Name: "get_data", Weight: 3}, {Name: "list_items", Weight: 2}, {Name: "create_item", Weight: 1}, {Name: "update_item", Weight: 1}}},
		{Name: "GoUser", Weight: 1},
	}}
	ts := newTestServer(t, rc, opts)
	var got map[string]map[string]struct {
		Ratio float64                       `json:"ratio"`
		Tasks map[string]map[string]float64 `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(do(t, ts, "GET", "/tasks", "", "").body), &got); err != nil {
		t.Fatal(err)
	}
	approx := cmp.Comparer(func(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 })
	api := got["per_class"]["api"]
	if diff := cmp.Diff(0.75, api.Ratio, approx); diff != "" {
		t.Errorf("per_class api ratio: %s", diff)
	}
	wantTasks := map[string]map[string]float64{
		"get_data": {"ratio": 3.0 / 7}, "list_items": {"ratio": 2.0 / 7}, "create_item": {"ratio": 1.0 / 7}, "update_item": {"ratio": 1.0 / 7},
	}
	if diff := cmp.Diff(wantTasks, api.Tasks, approx); diff != "" {
		t.Errorf("per_class api tasks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(0.75*3/7, got["total"]["api"].Tasks["get_data"]["ratio"], approx); diff != "" {
		t.Errorf("total get_data: %s", diff)
	}
	if g := got["per_class"]["GoUser"]; g.Ratio != 0.25 || len(g.Tasks) != 0 || g.Tasks == nil {
		t.Errorf("GoUser: got %+v, want ratio 0.25 and empty tasks", g)
	}
}

func TestServer_HistoryCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run_stats_history.csv")
	if err := os.WriteFile(path, []byte("Timestamp,User Count\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, newFakeRun(), Options{HistoryCSV: path})
	r := do(t, ts, "GET", "/stats/requests_full_history/csv", "", "")
	if r.status != 200 || r.body != "Timestamp,User Count\r\n" {
		t.Fatalf("got %d %q", r.status, r.body)
	}
	for k, want := range map[string]string{
		"Content-Type":  "text/csv; charset=utf-8",
		"Cache-Control": "no-cache, max-age=0",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"ETag", "Last-Modified"} {
		if r.header.Get(k) == "" {
			t.Errorf("no %s", k)
		}
	}
	if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment; filename=requests_full_history_") {
		t.Errorf("Content-Disposition: %q", d)
	}
	if r2 := do(t, ts, "GET", "/stats/requests_full_history/csv", "", "", "If-None-Match", r.header.Get("ETag")); r2.status != http.StatusNotModified {
		t.Errorf("conditional GET: got %d, want 304", r2.status)
	}

	off := newTestServer(t, newFakeRun(), Options{})
	r = do(t, off, "GET", "/stats/requests_full_history/csv", "", "")
	if want := "Error: Server was not started with option to generate full history."; r.status != 404 || r.body != want {
		t.Errorf("without the option: got %d %q, want 404 %q", r.status, r.body, want)
	}
}

func TestServer_CSVHeaders(t *testing.T) {
	rc := newFakeRun()
	rc.snap = runningSnapshot()
	rc.exceptions = []stats.Exception{{Count: 2, Message: "boom", Traceback: "line 1\nline 2", Nodes: "local"}}
	ts := newTestServer(t, rc, Options{})
	for path, want := range map[string]string{
		"/stats/requests/csv": "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Bytes Sent,Bytes Received,Connecting Avg,Connecting Max,TLS Handshaking Avg,TLS Handshaking Max,Waiting Avg,Waiting Max,Receiving Avg,Receiving Max",
		"/stats/failures/csv": "Method,Name,Error,Occurrences",
		"/exceptions/csv":     "Count,Message,Traceback,Nodes",
	} {
		body := do(t, ts, "GET", path, "", "").body
		if got, _, _ := strings.Cut(body, "\r\n"); got != want {
			t.Errorf("%s header:\n got %s\nwant %s", path, got, want)
		}
	}
	var ex struct {
		Exceptions []map[string]any `json:"exceptions"`
	}
	if err := json.Unmarshal([]byte(do(t, ts, "GET", "/exceptions", "", "").body), &ex); err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{{"count": 2.0, "msg": "boom", "traceback": "line 1\nline 2", "nodes": "local"}}
	if diff := cmp.Diff(want, ex.Exceptions); diff != "" {
		t.Errorf("/exceptions (-want +got):\n%s", diff)
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestServer_Auth(t *testing.T) {
	both := Options{Auth: "admin:s3cret", Token: "tok-123"}
	tests := []struct {
		name       string
		opts       Options
		path       string
		authz      string
		wantStatus int
		wantChall  []string
	}{
		{"open", Options{}, "/stats/requests", "", 200, nil},
		{"basic, none", Options{Auth: "admin:s3cret"}, "/stats/requests", "", 401, []string{`Basic realm="horde"`}},
		{"basic, wrong password", Options{Auth: "admin:s3cret"}, "/", basic("admin", "nope"), 401, []string{`Basic realm="horde"`}},
		{"basic, wrong user", Options{Auth: "admin:s3cret"}, "/", basic("root", "s3cret"), 401, []string{`Basic realm="horde"`}},
		{"basic, right", Options{Auth: "admin:s3cret"}, "/", basic("admin", "s3cret"), 200, nil},
		{"basic, password with colon", Options{Auth: "admin:a:b"}, "/tasks", basic("admin", "a:b"), 200, nil},
		{"token, none", Options{Token: "tok-123"}, "/api/v1/run", "", 401, []string{`Bearer realm="horde"`}},
		{"token, wrong", Options{Token: "tok-123"}, "/api/v1/run", "Bearer tok-124", 401, []string{`Bearer realm="horde"`}},
		{"token, right", Options{Token: "tok-123"}, "/api/v1/run", "Bearer tok-123", 200, nil},
		{"token, basic given", Options{Token: "tok-123"}, "/api/v1/run", basic("admin", "tok-123"), 401, []string{`Bearer realm="horde"`}},
		{"both, token", both, "/exceptions", "Bearer tok-123", 200, nil},
		{"both, basic", both, "/exceptions", basic("admin", "s3cret"), 200, nil},
		{"both, none", both, "/exceptions", "", 401, []string{`Basic realm="horde"`, `Bearer realm="horde"`}},
		{"health open", both, "/healthz", "", 200, nil},
		{"ready open", both, "/readyz", "", 200, nil},
		{"404 after auth", both, "/nope", "", 401, []string{`Basic realm="horde"`, `Bearer realm="horde"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, newFakeRun(), tt.opts)
			r := do(t, ts, "GET", tt.path, "", "", "Authorization", tt.authz)
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", r.status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantChall, r.header.Values("WWW-Authenticate")); diff != "" {
				t.Errorf("WWW-Authenticate (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := New(newFakeRun(), Options{Auth: "nocolon"}); err == nil {
		t.Error("New with auth without a colon: got no error")
	}
}

func TestServer_CrossOrigin(t *testing.T) {
	tests := []struct {
		name, method, path, ctype, body string
		headers                         []string
		wantStatus                      int
	}{
		{"swarm from another site", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Origin", "https://evil.example"}, 403},
		{"swarm from another port", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Origin", "http://127.0.0.1:1"}, 403},
		{"swarm, Sec-Fetch-Site cross-site", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"swarm, Sec-Fetch-Site same-site", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"swarm, origin null", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Origin", "null"}, 403},
		{"swarm, same origin", "POST", "/swarm", form, "user_count=1&spawn_rate=1", []string{"Origin", "SELF", "Sec-Fetch-Site", "same-origin"}, 200},
		{"swarm, no browser headers", "POST", "/swarm", form, "user_count=1&spawn_rate=1", nil, 200},
		{"stop from another site", "GET", "/stop", "", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"stop typed in the address bar", "GET", "/stop", "", "", []string{"Sec-Fetch-Site", "none"}, 200},
		{"reset from another site", "GET", "/stats/reset", "", "", []string{"Origin", "https://evil.example"}, 403},
		{"api start from another site", "POST", "/api/v1/run", "application/json", `{"users":1,"spawn_rate":1}`, []string{"Origin", "https://evil.example"}, 403},
		{"api stop from another site", "POST", "/api/v1/run/stop", "", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"api reset from another site", "POST", "/api/v1/stats/reset", "", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"reading is not state-changing", "GET", "/stats/requests", "", "", []string{"Origin", "https://evil.example"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newFakeRun()
			ts := newTestServer(t, rc, Options{})
			headers := slices.Clone(tt.headers)
			for i := range headers {
				if headers[i] == "SELF" {
					headers[i] = ts.URL
				}
			}
			r := do(t, ts, tt.method, tt.path, tt.ctype, tt.body, headers...)
			if r.status != tt.wantStatus {
				t.Errorf("status: got %d, want %d (%s)", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus == 403 {
				if starts, stops, resets := rc.counts(); starts+stops+resets != 0 {
					t.Errorf("a refused request changed state: starts %d, stops %d, resets %d", starts, stops, resets)
				}
			}
		})
	}
}

// The page prefills the form, links everything relatively and loads nothing
// from elsewhere.
func TestServer_Page(t *testing.T) {
	ts := newTestServer(t, newFakeRun(), Options{
		Defaults: cluster.RunSpec{Users: 50, SpawnRate: 2.5, Host: `http://h"<x>`, RunTime: 90 * time.Second},
		Version:  "1.2.3", HistoryCSV: "x.csv",
	})
	r := do(t, ts, "GET", "/", "", "")
	for _, want := range []string{
		`value="50"`, `value="2.5"`, `value="http://h&#34;&lt;x&gt;"`, `value="1m30s"`, "1.2.3",
		`href="./stats/requests_full_history/csv"`, `src="./static/uPlot.iife.min.js"`, `action="./swarm"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, bad := range []string{`src="http`, `href="http`, `src="/`, `href="/`, "//cdn"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("page has %s: every URL must be relative and local", bad)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	js := do(t, ts, "GET", "/static/app.js", "", "").body
	for _, bad := range []string{"http://", "https://", `fetch("/`} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js has %s", bad)
		}
	}
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{{0, "0.0"}, {1, "1.0"}, {0.25, "0.25"}, {150, "150.0"}, {1e-5, "1e-05"}, {2.5e16, "2.5e+16"}}
	for _, tt := range tests {
		b, _ := pyFloat(tt.in).MarshalJSON()
		if string(b) != tt.want {
			t.Errorf("pyFloat(%v): got %s, want %s", tt.in, b, tt.want)
		}
	}
}
