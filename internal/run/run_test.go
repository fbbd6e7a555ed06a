package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
)

// target is a system under test on loopback that counts what it served;
// /fail answers 500, /slow takes 20 ms.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/slow":
			time.Sleep(20 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &served
}

// config is a headless two-second run of src against host, recorded in a
// temporary runs dir.
func config(t *testing.T, src, host string) Config {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := scenario.Parse(file, dir, []byte(src), scenario.Options{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	ths, err := Thresholds(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Command: "run", ScenarioFile: file, Scenario: []byte(src), Plan: plan,
		Classes:    engine.PlanClasses(plan, host),
		Spec:       cluster.RunSpec{Users: 2, SpawnRate: 100, Host: host, RunTime: 2 * time.Second},
		Load:       plan.Load,
		Thresholds: ths,
		Headless:   true, Output: Output{OnlySummary: true}, ExitCodeOnError: ExitFailures,
		RunsDir: filepath.Join(dir, "runs"), RunsInterval: DefaultRunsInterval,
		Stdout: &bytes.Buffer{},
	}
}

const ping = `
users:
  - name: pinger
    wait: {constant: 20ms}
    tasks:
      - get: /ping
`

func TestRun_HeadlessRecordsAndPasses(t *testing.T) {
	srv, served := target(t)
	cfg := config(t, ping, srv.URL)
	dir := filepath.Dir(cfg.RunsDir)
	cfg.Output.CSVPrefix = filepath.Join(dir, "out", "run")
	cfg.Output.JSON = filepath.Join(dir, "out", "summary.json")
	cfg.Output.HTML = filepath.Join(dir, "out", "report.html")
	oc, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := oc.ExitCode(); got != ExitOK {
		t.Fatalf("exit code %d (%v), want 0", got, oc.Err())
	}
	// A request in flight when the run stops reached the target but is not
	// recorded (its user was stopped, as Locust's are): at most one a user.
	if n := served.Load(); oc.Requests == 0 || oc.Requests > n || n-oc.Requests > int64(cfg.Spec.Users) {
		t.Errorf("outcome counts %d requests, the target served %d", oc.Requests, n)
	}
	for _, f := range []string{"run_stats.csv", "run_stats_history.csv", "run_failures.csv", "run_exceptions.csv", "summary.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, "out", f)); err != nil {
			t.Errorf("result file: %v", err)
		}
	}
	var sum struct {
		Info struct {
			ExitCode int `json:"exit_code"`
		} `json:"info"`
	}
	b, _ := os.ReadFile(cfg.Output.JSON)
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Errorf("summary.json: %v", err)
	}

	// The run file holds the run; judged again, it passes too.
	files, _ := filepath.Glob(filepath.Join(cfg.RunsDir, "*.db"))
	if len(files) != 1 {
		t.Fatalf("run files %v, want one", files)
	}
	rf, err := Open(context.Background(), files[0])
	if err != nil {
		t.Fatal(err)
	}
	if rf.Snapshot.Total.Requests != oc.Requests || rf.Run.Ended.IsZero() || rf.Config.Command != "run" {
		t.Errorf("run file: %d requests (want %d), ended %v, command %q", rf.Snapshot.Total.Requests, oc.Requests, rf.Run.Ended, rf.Config.Command)
	}
	again, err := rf.Analyze(nil, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Verdicts) == 0 || again.ExitCode() != ExitOK {
		t.Errorf("analyze: exit %d, verdicts %+v", again.ExitCode(), again.Verdicts)
	}
}

func TestRun_ThresholdDecides(t *testing.T) {
	srv, _ := target(t)
	src := strings.Replace(ping, "get: /ping", "get: /slow", 1) + `
thresholds:
  - "p95 < 5ms"
`
	oc, err := Run(context.Background(), config(t, src, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if got := oc.ExitCode(); got != ExitFailures {
		t.Fatalf("exit code %d, want 1 (p95 of a 20 ms endpoint is not < 5ms)", got)
	}
	if err := oc.Err(); err == nil || !strings.Contains(err.Error(), "1 of 1 thresholds failed") {
		t.Errorf("error %v, want the failed threshold counted", err)
	}
}

func TestRun_FailuresWithoutThresholds(t *testing.T) {
	srv, _ := target(t)
	cfg := config(t, strings.Replace(ping, "get: /ping", "get: /fail", 1), srv.URL)
	cfg.ExitCodeOnError = 7
	oc, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := oc.ExitCode(); got != 7 {
		t.Errorf("exit code %d, want --exit-code-on-error's 7", got)
	}
}

func TestRun_AbortOnFail(t *testing.T) {
	srv, _ := target(t)
	src := strings.Replace(ping, "get: /ping", "get: /fail", 1) + `
thresholds:
  - threshold: "error_rate < 5%"
    abort_on_fail: true
`
	cfg := config(t, src, srv.URL)
	cfg.Spec.RunTime = time.Minute
	start := time.Now()
	oc, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the run took %v: abort_on_fail did not stop it", d)
	}
	if oc.ExitCode() != ExitFailures || len(oc.Verdicts) == 0 || oc.Verdicts[0].Name != "abort_on_fail" {
		t.Errorf("exit %d, verdicts %+v: want the abort first and exit 1", oc.ExitCode(), oc.Verdicts)
	}
}

func TestRun_BadInput(t *testing.T) {
	srv, _ := target(t)
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"full history without csv", func(c *Config) { c.Output.CSVFullHistory = true }, "--csv-full-history needs --csv"},
		{"no classes", func(c *Config) { c.Classes = nil }, "no user classes"},
		{"negative users", func(c *Config) { c.Spec.Users = -1 }, "--users"},
		{"zero spawn rate", func(c *Config) { c.Spec.SpawnRate = 0 }, "--spawn-rate"},
		{"no runs dir", func(c *Config) { c.RunsDir = "" }, "--runs-dir"},
		{"open channel", func(c *Config) { c.Cluster = &Cluster{BindHost: "0.0.0.0"} }, "--allow-open-workers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, ping, srv.URL)
			tt.edit(&cfg)
			_, err := Run(context.Background(), cfg)
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != ExitBadInput || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want exit 2 naming %q", err, tt.want)
			}
			if files, _ := filepath.Glob(filepath.Join(cfg.RunsDir, "*.db")); len(files) > 0 {
				t.Errorf("bad input recorded a run: %v", files)
			}
		})
	}
}

func TestOutcome_ExitCode(t *testing.T) {
	fail := soak.Verdict{Kind: "threshold", Name: "p95 < 1ms", Status: soak.Fail}
	check := soak.Verdict{Kind: "check", Name: "memory leak: rss", Status: soak.Fail}
	pass := soak.Verdict{Kind: "threshold", Name: "rps > 1", Status: soak.Pass}
	tests := []struct {
		name string
		oc   Outcome
		want int
	}{
		{"clean", Outcome{Requests: 10}, ExitOK},
		{"failures, no thresholds", Outcome{Requests: 10, Failures: 1, ExitCodeOnError: 1}, ExitFailures},
		{"exceptions, no thresholds, code 0", Outcome{Exceptions: 1, ExitCodeOnError: 0}, ExitOK},
		{"thresholds pass despite failures", Outcome{Verdicts: []soak.Verdict{pass}, Thresholds: 1, Failures: 3, ExitCodeOnError: 1}, ExitOK},
		{"a threshold fails", Outcome{Verdicts: []soak.Verdict{pass, fail}, Thresholds: 2}, ExitFailures},
		{"a run's check informs", Outcome{Verdicts: []soak.Verdict{check}}, ExitOK},
		{"analyze's check decides", Outcome{Verdicts: []soak.Verdict{check}, ChecksDecide: true}, ExitFailures},
		{"broken", Outcome{Broken: true, Verdicts: []soak.Verdict{fail}}, ExitBroken},
		{"handed over", Outcome{HandedOver: true, Failures: 5, ExitCodeOnError: 1}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.oc.ExitCode(); got != tt.want {
				t.Errorf("ExitCode = %d, want %d", got, tt.want)
			}
			if (tt.oc.Err() == nil) != (tt.want == ExitOK) {
				t.Errorf("Err = %v with exit code %d", tt.oc.Err(), tt.want)
			}
		})
	}
}
