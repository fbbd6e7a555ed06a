package run

import (
	"strings"
	"testing"
	"time"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// steadyHist is a healthy run's history: a tick a second for length,
// users spawned at rate a second up to users, steady latency and rps.
func steadyHist(length time.Duration, users, rate int) []stats.Tick {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var out []stats.Tick
	for s := 0; time.Duration(s)*time.Second <= length; s++ {
		u := min(users, (s+1)*rate)
		out = append(out, stats.Tick{Time: t0.Add(time.Duration(s) * time.Second), Users: u,
			Target: float64(users), Requests: int64(10 * u), RPS: float64(10 * u), P50Ms: 1, P95Ms: 2 + 0.01*float64(s%3), P99Ms: 3})
	}
	return out
}

// A run too short for the drift checks says how long one of its shape
// would have to be, and a run that long does decide.
func TestJudge_ShortRunSaysWhatWouldDecide(t *testing.T) {
	for _, c := range []struct {
		name        string
		length      time.Duration
		users, rate int
		want        string
	}{
		{"all at once, 15s", 15 * time.Second, 10, 10, "the first full 10s statistics window"},
		{"30s ramp, 40s", 40 * time.Second, 30, 1, "the spawn ramp of 29s"},
		{"30s ramp, 15s", 15 * time.Second, 30, 1, "the spawn ramp, cut short at 15s of about 29s (the run ended before its 30 users had all started)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := Judge(nil, nil, steadyHist(c.length, c.users, c.rate), nil, 0)
			var need time.Duration
			for _, v := range vs {
				if v.Kind != "check" || v.Drift == nil {
					continue
				}
				if v.Status != soak.Inconclusive {
					t.Fatalf("%s: %s %s, want inconclusive", v.Name, v.Status, v.Reason)
				}
				if !strings.Contains(v.Reason, c.want) {
					t.Errorf("%s: %q does not name %q", v.Name, v.Reason, c.want)
				}
				i := strings.Index(v.Reason, "a run of ")
				if i < 0 {
					t.Fatalf("%s: %q says no length", v.Name, v.Reason)
				}
				d, err := time.ParseDuration(strings.Fields(v.Reason[i+len("a run of "):])[0])
				if err != nil {
					t.Fatal(err)
				}
				need = d
			}
			if need <= c.length {
				t.Fatalf("a run of %s suggested for a run of %s", need, c.length)
			}
			for _, v := range Judge(nil, nil, steadyHist(need, c.users, c.rate), nil, 0) {
				if v.Drift != nil && v.Status == soak.Inconclusive {
					t.Errorf("a run of %s: %s still inconclusive: %s", need, v.Name, v.Reason)
				}
			}
		})
	}
}
