//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var adminRE = regexp.MustCompile(`metrics on http://([0-9.:]+)/metrics`)

// The open model through the CLI: a fixed rate against a target that stalls
// for a second. Iterations keep starting on schedule (the pool grows), none
// is dropped, and the figures timed from the intended start show the stall
// while the uncorrected ones are reported beside them.
func TestRun_OpenModelStalledTarget(t *testing.T) {
	p := start(t, repoRoot, nil, hordeBin, "target", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0")
	var host, admin string
	deadline := time.Now().Add(10 * time.Second)
	for host == "" && time.Now().Before(deadline) {
		out := p.stdout.String()
		if m := listenRE.FindStringSubmatch(out); m != nil {
			if a := adminRE.FindStringSubmatch(out); a != nil {
				host, admin = m[1], a[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if host == "" {
		t.Fatalf("target did not start: %s", p.stderr)
	}
	dir := t.TempDir()
	file := writeFile(t, dir, "open.yaml", `
users:
  - name: probe
    tasks:
      - get: /delay/0
load:
  rate: 200
  max_vus: 2000
`)
	run := start(t, dir, nil, hordeBin, "run", file, "--headless", "-t", "6s", "-H", host,
		"--only-summary", "--json", "open.json")
	time.Sleep(2500 * time.Millisecond)
	resp, err := http.Post("http://"+admin+"/admin/pause?d=1s", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := run.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s\n%s", code, run.stdout, run.stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "open.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Info struct {
			Open struct {
				Iterations int64 `json:"iterations"`
				Dropped    int64 `json:"dropped_iterations"`
			} `json:"open"`
		} `json:"info"`
		Total struct {
			NumRequests int64              `json:"num_requests"`
			Max         float64            `json:"max_response_time"`
			Percentiles map[string]float64 `json:"percentiles"`
			Uncorrected *struct {
				NumRequests int64              `json:"num_requests"`
				Percentiles map[string]float64 `json:"percentiles"`
			} `json:"uncorrected"`
		} `json:"total"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	o, tot := doc.Info.Open, doc.Total
	t.Logf("iterations %d, dropped %d, requests %d, corrected p99 %.1f ms, max %.1f ms",
		o.Iterations, o.Dropped, tot.NumRequests, tot.Percentiles["99"], tot.Max)
	if o.Iterations < 1150 || o.Iterations > 1210 {
		t.Errorf("iterations: %d in 6 s at 200/s, want about 1200: the schedule must not wait for the stalled target", o.Iterations)
	}
	if o.Dropped != 0 {
		t.Errorf("dropped %d iterations with room in the pool", o.Dropped)
	}
	if tot.Max < 950 {
		t.Errorf("max %.1f ms: the 1 s stall is not visible", tot.Max)
	}
	if p99 := tot.Percentiles["99"]; p99 < 800 {
		t.Errorf("corrected p99 %.1f ms: 200 of ~1200 requests waited 0-1 s for the stall, so p99 is ~900 ms", p99)
	}
	if tot.Uncorrected == nil || tot.Uncorrected.NumRequests != tot.NumRequests {
		t.Errorf("uncorrected figures missing or incomplete: %+v", tot.Uncorrected)
	}
	if !strings.Contains(run.stdout.String(), "Uncorrected response time percentiles") {
		t.Errorf("console summary lacks the uncorrected table")
	}
}
