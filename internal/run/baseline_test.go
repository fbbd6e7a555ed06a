package run

import (
	"testing"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/soak"
)

// TestTargetFigures: the checks' verdicts give the figures compare and the
// regression thresholds read: memory growth, CPU per request, each
// resource's growth and its time to exhaustion; an inconclusive check none.
func TestTargetFigures(t *testing.T) {
	vs := []soak.Verdict{
		{Kind: "check", Name: "memory: rss", Leak: &soak.LeakResult{Name: "rss", Status: soak.Pass, PerHourPct: 0.4}},
		{Kind: "check", Name: "cpu per request: process_cpu_seconds_total", Drift: &soak.DriftResult{Status: soak.Warn, First: 1.2, Last: 1.5}},
		{Kind: "check", Name: "latency drift", Drift: &soak.DriftResult{Status: soak.Pass, Last: 80}}, // not the CPU's
		{Kind: "check", Name: "open fds: process_open_fds", Resource: &soak.ResourceResult{Name: "process_open_fds", Kind: soak.ResFDs, Status: soak.Fail,
			Growth: soak.LeakResult{Status: soak.Fail, PerHourPct: 12}, Forecast: &soak.Forecast{In: 90 * time.Minute}}},
		{Kind: "check", Name: "pool slots in use: pool", Resource: &soak.ResourceResult{Name: "pool", Kind: soak.ResPool, Status: soak.Inconclusive,
			Growth: soak.LeakResult{Status: soak.Inconclusive}, Reason: "too few samples"}},
	}
	got := map[string]compare.Target{}
	for _, f := range targetFigures(vs) {
		got[f.Name+" "+f.Series] = f
	}
	want := []compare.Target{
		{Name: "memory_growth", Series: "rss", Unit: "%/h", Value: 0.4, Valid: true},
		{Name: "cpu_per_request", Series: "process_cpu_seconds_total", Unit: "ms", Value: 1.5, Valid: true},
		{Name: "open_fds_growth", Series: "process_open_fds", Unit: "%/h", Value: 12, Valid: true},
		{Name: "time_to_exhaustion", Series: "process_open_fds", Unit: "h", Value: 1.5, Valid: true},
		{Name: "pool_slots_growth", Series: "pool", Unit: "%/h", Valid: false},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d figures, want %d: %+v", len(got), len(want), got)
	}
	for _, w := range want {
		g, ok := got[w.Name+" "+w.Series]
		if !ok || g.Unit != w.Unit || g.Value != w.Value || g.Valid != w.Valid {
			t.Errorf("%s %s: got %+v, want %+v", w.Name, w.Series, g, w)
		}
	}
}
