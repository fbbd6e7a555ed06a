//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/store"
)

// Healthy runs end with no alarm (issue #25): the seed scenario against
// a clean `horde target`, 15 to 60 s, spawn ramps of 1 to 30 s, headless
// and through the web UI with --autostart --autoquit (whose idle time
// after the run must not be judged), twelve runs at once (two whose
// ramp outlasts the run): no WARN and no
// FAIL in any verdict, exit code 0.
func TestHealthyRunsNoAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("ten soaks of up to 60 s")
	}
	type cfg struct {
		web        bool
		users      int
		rate       string // spawn rate: users / ramp seconds
		runTime    string
		ramp       string // for the log
		autoquitSe string
	}
	cfgs := []cfg{
		{false, 10, "10", "15s", "1s", ""},
		{false, 10, "1", "20s", "10s", ""},
		{false, 30, "1", "40s", "30s", ""},
		{false, 5, "0.5", "20s", "10s", ""},
		{false, 20, "2", "60s", "10s", ""},
		{true, 10, "10", "15s", "1s", "20"},
		{true, 10, "1", "20s", "10s", "15"},
		{true, 30, "1", "40s", "30s", "10"},
		{true, 5, "5", "15s", "1s", "30"},
		{true, 20, "4", "60s", "5s", "20"},
		// a ramp longer than the run: users still logging in when it
		// stops (one spawned as it ended sent its logout without a token,
		// a 401 and exit 1, before on_stop needed a finished on_start)
		{false, 30, "1", "15s", "30s", ""},
		{true, 30, "2", "15s", "15s", "5"},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i, c := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := startTarget(t)
			args := []string{"run", "examples/seed-api.yaml", "-u", fmt.Sprint(c.users), "-r", c.rate, "-t", c.runTime, "-H", host, "--only-summary"}
			if c.web {
				args = append(args, "--autostart", "--autoquit", c.autoquitSe, "--web-port", "0") // 0: the system's pick (a port freed and then taken by one of the other runs' targets ended a run with exit 2)
			} else {
				args = append(args, "--headless")
			}
			p := start(t, repoRoot, nil, hordeBin, args...)
			code := p.wait(t, 150*time.Second)
			out := p.stdout.String()
			if j := strings.Index(out, "Verdict"); j >= 0 {
				out = out[j:]
			}
			var bad []string
			for _, line := range strings.Split(out, "\n") {
				l := strings.TrimSpace(line)
				if strings.HasPrefix(l, "WARN") || strings.HasPrefix(l, "FAIL") {
					bad = append(bad, l)
				}
			}
			t.Logf("run %d (web %v, %d users, ramp %s, %s): exit %d\n%s", i, c.web, c.users, c.ramp, c.runTime, code, out)
			if code != 0 {
				t.Logf("run %d's stderr:\n%s", i, p.stderr)
			}
			// The run file keeps the generator's own scheduling delay
			// beside the latencies (what the latency check weighs a rise
			// against): measured on at least one tick.
			if m := regexp.MustCompile(`run file  (\S+\.db)`).FindStringSubmatch(out); m == nil {
				bad = append(bad, "no run file in the output")
			} else if d := maxSchedDelay(t, m[1]); d <= 0 {
				bad = append(bad, fmt.Sprintf("no scheduling delay recorded in %s", m[1]))
			}
			if code != 0 || len(bad) > 0 || !strings.Contains(out, "Verdict") {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("run %d (web %v, ramp %s, %s): exit %d, %s", i, c.web, c.ramp, c.runTime, code, strings.Join(bad, " | ")))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d of %d healthy runs alarmed:\n%s", len(failures), len(cfgs), strings.Join(failures, "\n"))
	}
}

// maxSchedDelay is the largest load-generator scheduling delay a run file
// recorded over its ticks (ms).
func maxSchedDelay(t *testing.T, path string) float64 {
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Errorf("open %s: %v", path, err)
		return 0
	}
	defer s.Close(ctx)
	ticks, err := s.Ticks(ctx)
	if err != nil {
		t.Errorf("ticks of %s: %v", path, err)
	}
	d := 0.0
	for _, tk := range ticks {
		d = max(d, tk.SchedDelayMs)
	}
	return d
}
