//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// horde analyze --prometheus over a day: a latency that follows the day
// (its last quarter at another hour than its first) is steady, judged with
// its daily cycle taken out and saying so; a lasting +30 % ramp over the
// same day still fails. The day is written into Debian's Prometheus with
// promtool's backfill, then queried as any user would.
func TestAnalyze_PrometheusDailyCycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Now().Add(-30 * time.Hour).Truncate(time.Hour)
	r := rand.New(rand.NewPCG(7, 25))
	var b strings.Builder
	b.WriteString("# HELP latency_ms p95 of a service's requests.\n# TYPE latency_ms gauge\n")
	for _, shape := range []string{"daily", "ramp"} {
		for i := 0; i <= 24*60; i++ {
			h := float64(i) / 60
			v := 100 * math.Exp(0.05*r.NormFloat64())
			if shape == "daily" {
				// Lowest 3 h in, highest 15 h in: the last quarter reads
				// about 20 % above the first.
				v *= 1 + 0.2*math.Sin(2*math.Pi*(h-9)/24)
			} else {
				v *= 1 + 0.3*h/24
			}
			fmt.Fprintf(&b, "latency_ms{shape=%q} %.3f %d\n", shape, v, t0.Add(time.Duration(i)*time.Minute).Unix())
		}
	}
	b.WriteString("# EOF\n")
	url := backfilledPrometheus(t, dir, b.String())
	span := []string{"--start", strconv.FormatInt(t0.Unix(), 10), "--end", strconv.FormatInt(t0.Add(24*time.Hour).Unix(), 10), "--step", "60s"}

	p := start(t, dir, nil, hordeBin, append([]string{"analyze", "--prometheus", url, "--query", `latency_ms{shape="daily"}`}, span...)...)
	code := p.wait(t, 60*time.Second)
	out := p.stdout.String()
	if code != 0 || strings.Contains(out, "FAIL") || strings.Contains(out, "WARN") {
		t.Errorf("a daily cycle: exit %d, want 0 and neither FAIL nor WARN\n%s\n%s", code, out, p.stderr)
	}
	if !strings.Contains(out, "judged with its daily cycle taken out") {
		t.Errorf("a daily cycle: the verdict does not say it took the cycle out\n%s", out)
	}
	p = start(t, dir, nil, hordeBin, append([]string{"analyze", "--prometheus", url, "--query", `latency_ms{shape="daily"}`, "--format", "json"}, span...)...)
	p.wait(t, 60*time.Second)
	if !regexp.MustCompile(`"daily_cycle_removed": ?true`).MatchString(p.stdout.String()) {
		t.Errorf("json: no daily_cycle_removed\n%s", p.stdout)
	}

	p = start(t, dir, nil, hordeBin, append([]string{"analyze", "--prometheus", url, "--query", `latency_ms{shape="ramp"}`}, span...)...)
	code = p.wait(t, 60*time.Second)
	out = p.stdout.String()
	if code != 1 || !strings.Contains(out, "FAIL  check") {
		t.Errorf("a +30%% ramp over the day: exit %d, want 1 and a failed check\n%s\n%s", code, out, p.stderr)
	}
}
