//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// hpaExporter serves what kube-state-metrics says of three
// HorizontalPodAutoscalers, changing with the time since reset: "flappy"
// scales 2 → 3 → 2 ... every 3 s (max 10), "pinned" scales 1 → 2 → 4 in
// its first 6 s and stays at its maximum of 4, "steady" scales 2 → 3
// once at 10 s (max 10).
type hpaExporter struct {
	mu sync.Mutex
	t0 time.Time // zero before reset: the first state
}

func (e *hpaExporter) reset() {
	e.mu.Lock()
	e.t0 = time.Now()
	e.mu.Unlock()
}

func (e *hpaExporter) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	var el time.Duration
	if !e.t0.IsZero() {
		el = time.Since(e.t0)
	}
	e.mu.Unlock()
	flappy := 2 + int(el/(3*time.Second))%2
	pinned := 1
	switch {
	case el >= 6*time.Second:
		pinned = 4
	case el >= 3*time.Second:
		pinned = 2
	}
	steady := 2
	if el >= 10*time.Second {
		steady = 3
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# TYPE kube_horizontalpodautoscaler_status_current_replicas gauge")
	for _, h := range []struct {
		name string
		cur  int
	}{{"flappy", flappy}, {"pinned", pinned}, {"steady", steady}} {
		fmt.Fprintf(w, "kube_horizontalpodautoscaler_status_current_replicas{namespace=\"shop\",horizontalpodautoscaler=%q} %d\n", h.name, h.cur)
	}
	fmt.Fprintln(w, "# TYPE kube_horizontalpodautoscaler_spec_max_replicas gauge")
	for _, h := range []struct {
		name string
		max  int
	}{{"flappy", 10}, {"pinned", 4}, {"steady", 10}} {
		fmt.Fprintf(w, "kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"shop\",horizontalpodautoscaler=%q} %d\n", h.name, h.max)
	}
}

// The replicas check through a real door: Debian's Prometheus scrapes an
// exporter of three autoscalers (kube-state-metrics' metric names) while
// horde runs a 30 s load with a monitor's replicas queries; the run and
// `horde analyze --prometheus` over the same range both fail the flapping
// one (its reversals counted) and the one pinned at its maximum (the
// time at it), pass the one that scaled up once, in the console, the JSON
// and JUnit.
func TestReplicas_Prometheus(t *testing.T) {
	t.Parallel()
	exp := &hpaExporter{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: exp}
	go srv.Serve(l)
	defer srv.Close()
	dir := t.TempDir()
	prom := startPrometheus(t, dir, fmt.Sprintf("  - job_name: ksm\n    static_configs: [{targets: [%q]}]\n", l.Addr().String()))
	const cur, max = "kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_spec_max_replicas"
	for deadline := time.Now().Add(30 * time.Second); promQuery(prom, cur) < 3; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus at %s has no %s after 30 s", prom, cur)
		}
	}
	host := startTarget(t)
	file := writeFile(t, dir, "hpa.yaml", fmt.Sprintf(`users:
  - name: a
    wait: {constant: 100ms}
    tasks:
      - get: /
monitor:
  interval: 1s
  prometheus:
    url: %s
    queries:
      - {name: replicas, query: '%s{namespace="shop"}'}
      - {name: max_replicas, query: '%s{namespace="shop"}'}
`, prom, cur, max))
	exp.reset()
	start0 := time.Now()
	p := start(t, dir, nil, hordeBin, "run", file, "--headless", "-u", "1", "-r", "10", "-t", "30s", "-H", host,
		"--only-summary", "--json", "run.json", "--junit", "run.xml")
	p.wait(t, 2*time.Minute)
	end0 := time.Now()

	// The reason of each autoscaler's check, as each door says it.
	want := map[string]*regexp.Regexp{
		"flappy": regexp.MustCompile(`FAIL\s+check\s+replicas.*"flappy".*replicas 2 to 3 over .*: scaled up [0-9]+, down [0-9]+ times; flapping: [0-9]+ reversals within 5m0s`),
		"pinned": regexp.MustCompile(`FAIL\s+check\s+replicas.*"pinned".*replicas 1 to 4 over .*: scaled up 2, down 0 times; at the maximum of 4 for .* \([5-9][0-9]% of the run\): pinned at the maximum`),
		"steady": regexp.MustCompile(`PASS\s+check\s+replicas.*"steady".*replicas 2 to 3 over .*: scaled up 1, down 0 times; at the maximum of 10 for 0s \(0% of the run\)`),
	}
	checkConsole := func(door, out string) {
		for name, re := range want {
			if !re.MatchString(out) {
				t.Errorf("%s: the console lacks %s's check %s", door, name, re)
			}
		}
	}
	checkJSON := func(door string, vs []map[string]any) {
		seen := 0
		for _, v := range vs {
			r, _ := v["replicas"].(map[string]any)
			if r == nil {
				continue
			}
			seen++
			name, _ := v["name"].(string)
			n := func(k string) float64 { f, _ := r[k].(float64); return f }
			switch {
			case strings.Contains(name, `"flappy"`):
				if v["status"] != "fail" || n("flaps") < 3 || n("scale_ups") < 3 || n("scale_downs") < 3 {
					t.Errorf("%s: flappy: %v", door, v)
				}
			case strings.Contains(name, `"pinned"`):
				if v["status"] != "fail" || n("limit") != 4 || n("at_max_pct") < 50 || n("scale_ups") != 2 || n("flaps") != 0 {
					t.Errorf("%s: pinned: %v", door, v)
				}
			case strings.Contains(name, `"steady"`):
				if v["status"] != "pass" || n("limit") != 10 || n("scale_ups") != 1 || n("scale_downs") != 0 || n("at_max_pct") != 0 {
					t.Errorf("%s: steady: %v", door, v)
				}
			}
		}
		if seen != 3 {
			t.Errorf("%s: %d replicas verdicts in the JSON, want 3: %v", door, seen, vs)
		}
	}
	checkJUnit := func(door, path string) {
		got := map[string]bool{} // autoscaler → failed
		for _, c := range readJUnit(t, path).Suites[0].Cases {
			for _, h := range []string{"flappy", "pinned", "steady"} {
				if strings.Contains(c.Name, "replicas") && strings.Contains(c.Name, `"`+h+`"`) {
					got[h] = c.Failure != nil
				}
			}
		}
		if w := map[string]bool{"flappy": true, "pinned": true, "steady": false}; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: JUnit replicas cases failed %v, want %v", door, got, w)
		}
	}

	out := p.stdout.String()
	t.Logf("run:\n%s", out)
	checkConsole("run", out)
	var rep struct {
		Info struct {
			Verdicts []map[string]any `json:"verdicts"`
		} `json:"info"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "run.json")); err != nil || json.Unmarshal(b, &rep) != nil {
		t.Errorf("run: no JSON report: %v\n%s", err, p.stderr)
	}
	checkJSON("run", rep.Info.Verdicts)
	checkJUnit("run", filepath.Join(dir, "run.xml"))

	// The same range through horde analyze --prometheus.
	rng := []string{"analyze", "--prometheus", prom, "--start", start0.Format(time.RFC3339Nano), "--end", end0.Format(time.RFC3339Nano), "--step", "1s",
		"--query", cur + `{namespace="shop"}`, "--query", max + `{namespace="shop"}`}
	a := start(t, dir, nil, hordeBin, append(rng, "--junit", "analyze.xml")...)
	if code := a.wait(t, 30*time.Second); code != 1 {
		t.Errorf("analyze: exit code %d, want 1 (failed checks)\n%s", code, a.stderr)
	}
	t.Logf("analyze:\n%s", a.stdout)
	checkConsole("analyze", a.stdout.String())
	checkJUnit("analyze", filepath.Join(dir, "analyze.xml"))
	aj := start(t, dir, nil, hordeBin, append(rng, "--format", "json")...)
	aj.wait(t, 30*time.Second)
	var doc struct {
		Verdicts []map[string]any `json:"verdicts"`
	}
	if err := json.Unmarshal([]byte(aj.stdout.String()), &doc); err != nil {
		t.Fatalf("analyze --format json: %v\n%s", err, aj.stdout)
	}
	checkJSON("analyze", doc.Verdicts)
}
