package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A steady p95 with 20 % noise sampled every 30 s over an hour crosses
// the trend test's α (0.01) about once in a hundred runs, and along such
// a trend its change easily reaches the 20 % that fails: 2 of these 300
// runs failed when a trend at α failed. Failing asks p < α/10; the
// same runs now warn at most, and a +25 % ramp under the same noise
// still fails in most runs.
func TestDrift_NoisySteadyNeverFails(t *testing.T) {
	span, step := time.Hour, 30*time.Second
	r := rand.New(rand.NewPCG(uint64(span+step), 5))
	failed := 0
	for range 300 {
		pts := sample(span, step, func(time.Duration) float64 { return 100 * (1 + 0.2*r.NormFloat64()) })
		if res := Drift("p95", pts, DriftOptions{}); res.Status == Fail {
			failed++
			t.Logf("%s", res.Reason)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 300 steady runs failed", failed)
	}
	ramps := 0
	for range 100 {
		pts := sample(span, step, func(t time.Duration) float64 {
			return 100 * (1 + 0.25*t.Hours()/span.Hours()) * (1 + 0.05*r.NormFloat64())
		})
		if Drift("p95", pts, DriftOptions{}).Status == Fail {
			ramps++
		}
	}
	if ramps < 80 {
		t.Errorf("a +25%% ramp failed in %d of 100 runs, want 80 or more", ramps)
	}
}
