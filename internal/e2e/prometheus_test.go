//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/series"
)

// horde analyze --prometheus judges series from a real Prometheus server
// (Debian's), as the seed's analyser does: a target leaking memory fails,
// an idle one passes.
func TestAnalyze_Prometheus(t *testing.T) {
	t.Parallel() // mostly waiting on timed runs: beside the other long soak tests
	if _, err := exec.LookPath("prometheus"); err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	_, leaky := startTargetWithAdmin(t, "--leak-bytes-per-second", "3000000")
	_, healthy := startTargetWithAdmin(t)
	dir := t.TempDir()
	url := startPrometheus(t, dir, fmt.Sprintf(`  - job_name: leaky
    static_configs: [{targets: ["%s"]}]
  - job_name: healthy
    static_configs: [{targets: ["%s"]}]
`, leaky, healthy))
	time.Sleep(45 * time.Second) // about 40 scrapes of each target

	for _, tt := range []struct {
		job      string
		wantCode int
		want     string
	}{
		{"leaky", 1, "FAIL  check      memory leak (process_resident_memory_bytes{"},
		// A young idle process still settles (a few % of RSS): it may pass, warn or be
		// inconclusive, never fail.
		{"healthy", 0, "memory leak (process_resident_memory_bytes{"},
	} {
		p := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url,
			"--query", `process_resident_memory_bytes{job="`+tt.job+`"}`, "--start", "-45s", "--step", "1s", "--warmup", "25s")
		code := p.wait(t, 30*time.Second)
		out := p.stdout.String()
		t.Logf("%s:\n%s", tt.job, out)
		if code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d\n%s", tt.job, code, tt.wantCode, p.stderr)
		}
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: output lacks %q", tt.job, tt.want)
		}
		if tt.wantCode == 0 && strings.Contains(out, "FAIL") {
			t.Errorf("%s: a failed check", tt.job)
		}
	}
	bad := start(t, dir, nil, hordeBin, "analyze", "--prometheus", url, "--query", "rate(")
	if code := bad.wait(t, 30*time.Second); code != 2 || !strings.Contains(bad.stderr.String(), "rate(") {
		t.Errorf("a bad query: exit code %d, want 2\n%s", code, bad.stderr)
	}

	leakyMem := `process_resident_memory_bytes{job="leaky"}`
	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout, or in stderr when the code is 2
	}{
		{"threshold fails", []string{"--query", leakyMem, "--threshold", "target.memory_growth < 10%"}, 1, "FAIL  threshold  target.memory_growth < 10%"},
		// Held: PASS, or INCONCLUSIVE when the healthy series's check could
		// not decide in its 20 s (never FAIL: the exit code is 0).
		{"threshold passes", []string{"--query", `process_resident_memory_bytes{job="healthy"}`, "--threshold", "target.memory_growth < 1000%"}, 0, "  threshold  target.memory_growth < 1000%"},
		{"invalid threshold", []string{"--query", leakyMem, "--threshold", "memory_growth <<< 3"}, 2, "--threshold"},
		{"request threshold", []string{"--query", leakyMem, "--threshold", "p95 < 1ms"}, 2, "only target.* thresholds"},
		{"no data", []string{"--query", `up{job="no-such-job"}`}, 2, `no-such-job\"}": no data`},
		// A division drops the metric's name: only --memory-query says it is memory.
		{"memory query", []string{"--memory-query", leakyMem + " / 1"}, 1, "FAIL  check      memory leak ("},
		{"step raised", []string{"--query", leakyMem, "--start", "-48h", "--step", "1s"}, -1, "step raised from 1s to"},
		{"json figures", []string{"--query", leakyMem, "--format", "json"}, 1, `"per_hour_pct"`},
		// A step finer than the 1-s scrape repeats each sample about four
		// times: judged once each, and said.
		{"step finer than the scrapes", []string{"--query", leakyMem, "--step", "250ms"}, 1, "points repeated the sample before (the 250ms step is finer than its scrape interval"},
		// A drift series (not memory, not a resource) the same way.
		{"a drift series at a step finer than the scrapes", []string{"--query", `scrape_duration_seconds{job="leaky"}`, "--step", "250ms"}, -1, "points repeated the sample before (the 250ms step is finer than its scrape interval"},
		// No marker queried: the process's start time is looked up under
		// the series' job and instance, and said.
		{"start time looked up", []string{"--memory-query", leakyMem + " + 0"}, 1, `restarts from process_start_time_seconds{job="leaky",instance=`},
		{"a restart query is no check", []string{"--query", leakyMem, "--query", `process_start_time_seconds{job="leaky"}`}, 1, "memory leak ("},
	} {
		args := append([]string{"analyze", "--prometheus", url, "--start", "-45s", "--warmup", "25s"}, tt.args...)
		p := start(t, dir, nil, hordeBin, args...)
		code := p.wait(t, 30*time.Second)
		out, errOut := p.stdout.String(), p.stderr.String()
		if tt.wantCode >= 0 && code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d\n%s\n%s", tt.name, code, tt.wantCode, out, errOut)
		}
		where := out
		if tt.wantCode == 2 {
			where = errOut
		}
		if !strings.Contains(where, tt.want) {
			t.Errorf("%s: output lacks %q\n%s\n%s", tt.name, tt.want, out, errOut)
		}
		if tt.name == "json figures" {
			var doc struct {
				Verdicts []struct {
					Leak *struct {
						GrowthPct float64 `json:"growth_pct"`
						WindowS   float64 `json:"window_s"`
					} `json:"leak"`
				} `json:"verdicts"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Verdicts) == 0 || doc.Verdicts[0].Leak == nil ||
				doc.Verdicts[0].Leak.GrowthPct <= 10 || doc.Verdicts[0].Leak.WindowS <= 0 {
				t.Errorf("json: %v, want the leak's figures (growth, window)\n%s", err, out)
			}
		}
		if tt.name == "a restart query is no check" && strings.Contains(out, "process_start_time_seconds") {
			t.Errorf("the start-time query was judged:\n%s", out)
		}
	}
}

// Prometheus scrapes horde's own /metrics (monitor out): request counters
// labelled by request name, users, and the generator's health.
func TestMetrics_ScrapedByPrometheus(t *testing.T) {
	if _, err := exec.LookPath("prometheus"); err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	host := startTarget(t)
	dir := t.TempDir()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	webAddr := free()
	_, webPort, _ := net.SplitHostPort(webAddr)
	file := writeFile(t, dir, "m.yaml", "users:\n  - name: a\n    wait: {constant: 50ms}\n    tasks:\n      - get: /delay/0\n        name: /delay/[ms]\n")
	start(t, dir, nil, hordeBin, "run", file, "-H", host, "-u", "2", "-r", "10", "--autostart", "--web-port", webPort)
	prom := startPrometheus(t, dir, fmt.Sprintf("  - job_name: horde\n    static_configs: [{targets: [%q]}]\n", webAddr))

	deadline := time.Now().Add(30 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(`horde_requests_total{name="/delay/[ms]"}`))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, `"name":"/delay/[ms]"`) {
			break
		}
	}
	if !strings.Contains(body, `"name":"/delay/[ms]"`) || !strings.Contains(body, `"method":"GET"`) {
		t.Fatalf("Prometheus has no horde_requests_total for the request name:\n%s", body)
	}
	for _, q := range []string{"horde_users", "go_goroutines", `horde_request_duration_run_seconds{quantile="0.99"}`, `horde_request_duration_seconds_bucket{le="+Inf"}`} {
		resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `"result":[{`) {
			t.Errorf("%s: no result: %s", q, b)
		}
	}
	checkDashboard(t, prom, "horde", "")
}

// checkDashboard runs every query of the Grafana dashboard
// (deploy/grafana/horde-dashboard.json) against a real Prometheus, its
// variables set to match everything: each must be valid PromQL, and the
// panels of horde's request metrics must have data. With a targetJob (a
// horde target's admin listener that Prometheus scrapes), every query must
// have data but those of cAdvisor's container_* series, which only a
// kubelet serves, and horde_workers, which a standalone run has none of. (Which metrics exist is checked without Prometheus, in
// internal/monitor/dashboard_test.go.)
func checkDashboard(t *testing.T, prom, hordeJob, targetJob string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "horde-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Type  string
				Query json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	tj := targetJob
	if tj == "" {
		tj = ".*"
	}
	vars := strings.NewReplacer("$horde_job", hordeJob, "$name", ".*", "$target_job", tj, "$pod", "my-app-.*",
		"$__rate_interval", "1m", "$__range", "5m")
	queries := map[string]string{}
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			queries[fmt.Sprintf("panel %q #%d", p.Title, i)] = tg.Expr
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, v := range dash.Templating.List {
		var q struct{ Query string }
		if v.Type != "query" || json.Unmarshal(v.Query, &q) != nil {
			continue
		}
		if m := labelValues.FindStringSubmatch(q.Query); m != nil {
			queries["variable "+q.Query] = m[1]
		}
	}
	// A rate needs two scrapes in its window: wait for them.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var noData []string
		for where, q := range queries {
			q = vars.Replace(q)
			resp, err := http.Get(prom + "/api/v1/query?query=" + url.QueryEscape(q))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Status, Error string
				Data          struct{ Result []json.RawMessage }
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err != nil || doc.Status != "success" {
				t.Errorf("%s: %s: %v %s", where, q, err, doc.Error)
				delete(queries, where)
				continue
			}
			// Panels of what exists only when it happens: a pool (the
			// target's --pool-size knob) and a forecast (a resource growing
			// towards a limit) have no series on a healthy run.
			conditional := strings.Contains(q, "horde_target_pool_") || strings.Contains(q, "horde_target_exhaustion")
			needData := strings.Contains(q, "horde_request") ||
				(targetJob != "" && !conditional && !strings.Contains(q, "container_") && !strings.Contains(q, "horde_workers"))
			if needData && len(doc.Data.Result) == 0 {
				noData = append(noData, where+": "+q)
			}
		}
		if len(noData) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("no data after 20 s:\n%s", strings.Join(noData, "\n"))
			return
		}
		time.Sleep(time.Second)
	}
}

// startPrometheus starts Debian's prometheus on a free loopback port,
// scraping every second the jobs in scrapeConfigs (YAML list items under
// scrape_configs:), and returns its base URL once it answers queries.
func startPrometheus(t *testing.T, dir, scrapeConfigs string, args ...string) string {
	t.Helper()
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		skipOrFail(t, "prometheus not installed (Debian package prometheus)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	writeFile(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1s\nscrape_configs:\n"+scrapeConfigs)
	p := start(t, dir, nil, promBin, append([]string{"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr}, args...)...)
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30 s: %v\n%s", err, p.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPromSeries waits up to 30 s for Prometheus at prom to answer query
// with a series (its first scrapes).
func waitPromSeries(t *testing.T, prom, query string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for promQuery(prom, query) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus at %s has no %s after 30 s", prom, query)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// backfilledPrometheus writes an OpenMetrics text into a fresh Prometheus
// data directory under dir with promtool's backfill and starts Debian's
// Prometheus on it; it returns the server's URL.
func backfilledPrometheus(t *testing.T, dir, openMetrics string) string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		skipOrFail(t, "promtool not installed (Debian package prometheus)")
	}
	writeFile(t, dir, "backfill.om", openMetrics)
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", filepath.Join(dir, "backfill.om"), filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	return startPrometheus(t, dir, "")
}

// promQuery runs an instant query and returns the number of series in
// its answer (0 on any error: the caller polls).
func promQuery(base, q string) int {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var doc struct {
		Data struct{ Result []json.RawMessage } `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&doc) != nil {
		return 0
	}
	return len(doc.Data.Result)
}

// A run with a monitor: prometheus: section stores the target's memory
// series, as Prometheus scraped it from horde target's admin listener,
// into the run file: one sample per monitor interval on the run's clock.
// The target leaks 3 MB/s: the leak check and target.memory_growth fail
// the run on that series, and horde analyze judges it again from the file.
// A --promql query from the command line is stored beside it.
func TestRun_PrometheusMonitor(t *testing.T) {
	dir := t.TempDir()
	host, admin := startTargetWithAdmin(t, "--leak-bytes-per-second", "3000000")
	prom := startPrometheus(t, dir, fmt.Sprintf("  - job_name: target\n    static_configs: [{targets: [%q]}]\n", admin))
	const memQuery = `process_resident_memory_bytes{job="target"}`
	waitPromSeries(t, prom, memQuery)

	file := writeFile(t, dir, "prom.yaml", fmt.Sprintf(`host: %s
monitor:
  interval: 1s
  prometheus:
    url: %s
    queries:
      - {name: memory, query: '%s'}
thresholds: ["target.memory_growth < 10%%"]
users:
  - name: a
    wait: {constant: 50ms}
    tasks:
      - get: /
`, host, prom, memQuery))
	runs := filepath.Join(dir, "runs")
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "2", "-r", "10", "-t", "12s", "--warmup", "1s", "--only-summary",
		"--runs-dir", runs, "--promql", `goroutines=sum(go_goroutines{job="target"})`)
	if code := p.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("run: exit code %d, want 1 (a failed threshold)\n%s\n%s", code, p.stdout, p.stderr)
	}
	path := runFileOf(t, p, dir)
	t.Logf("run:\n%s", p.stdout)
	memName := fmt.Sprintf(`memory process_resident_memory_bytes{instance=%q,job="target"}`, admin)
	for _, want := range []string{
		"FAIL  threshold  target.memory_growth < 10%: actual",
		"FAIL  check      memory leak (" + memName + ")",
	} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("run: the verdict lacks %q", want)
		}
	}

	run, stored := runAndSeries(t, path)
	byName := map[string]series.Series{}
	for _, s := range stored {
		byName[s.Name] = s
	}
	mem, ok := byName[memName]
	if !ok {
		t.Fatalf("run file lacks the series %s; it has %v", memName, stored)
	}
	if !mem.Memory || mem.Metric != "memory" {
		t.Errorf("%s: memory %v, metric %q; want a memory series of metric \"memory\"", memName, mem.Memory, mem.Metric)
	}
	// Twelve seconds at one sample a second, plus the last word.
	if n := len(mem.Points); n < 10 || n > 15 {
		t.Errorf("%s: %d samples, want about 13 (one a second for 12 s)", memName, n)
	}
	for i, pt := range mem.Points {
		if pt.V < 1e6 || pt.V > 1e10 {
			t.Errorf("sample %d: %v bytes is not the target's RSS", i, pt.V)
		}
		// horde's clock, not Prometheus's scrape times: within the run
		// (its start is the load's, which the monitor's first sample,
		// taken as the run file is made, precedes by moments).
		if pt.T.Before(run.Started.Add(-time.Second)) || (!run.Ended.IsZero() && pt.T.After(run.Ended.Add(time.Second))) {
			t.Errorf("sample %d at %v is outside the run %v..%v", i, pt.T, run.Started, run.Ended)
		}
		if i > 0 {
			if gap := pt.T.Sub(mem.Points[i-1].T); gap <= 0 || gap > 1500*time.Millisecond {
				t.Errorf("samples %d and %d are %v apart, want the 1s interval", i-1, i, gap)
			}
		}
	}
	if g, ok := byName["goroutines"]; !ok || g.Memory || len(g.Points) < 10 || g.Points[0].V < 1 {
		t.Errorf("the --promql series goroutines: %+v (of %v)", g, stored)
	}
	// The memory series names its job and instance and no restart marker
	// was queried: the monitor looked up its process's start time (a
	// marker: no check of its own in the verdict above).
	startName := fmt.Sprintf(`process_start_time_seconds process_start_time_seconds{instance=%q,job="target"}`, admin)
	if st, ok := byName[startName]; !ok || st.Memory || len(st.Points) < 10 || st.Points[0].V < float64(run.Started.Add(-time.Minute).Unix()) || st.Points[0].V > float64(run.Started.Unix()) {
		t.Errorf("the looked-up start time %s: %+v (of %v)", startName, st, stored)
	}

	code, out, errOut := hordeIn(t, dir, "analyze", path)
	if code != 1 || !strings.Contains(out, "FAIL  check      memory leak ("+memName+")") {
		t.Errorf("analyze: exit %d, want 1 and a failed leak check of %s\n%s\n%s", code, memName, out, errOut)
	}
}
