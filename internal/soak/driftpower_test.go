package soak

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// driftRates judges n series of gen and returns the failed and flagged
// shares in %.
func driftRates(n int, seed uint64, gen func(r *rand.Rand) []Point) (failed, flagged float64) {
	r := rand.New(rand.NewPCG(seed, 9))
	var f, w int
	for range n {
		switch Drift("latency p95 (ms)", gen(r), DriftOptions{Worse: 1, FailPct: 20, MinAbs: 1}).Status {
		case Fail:
			f++
		case Warn:
			w++
		}
	}
	return 100 * float64(f) / float64(n), 100 * float64(f+w) / float64(n)
}

// A +25 % ramp over 2 hours is flagged in 90 % of runs or more (issue
// #25's goal), also when each 15-s sample is noisy: the samples' own
// trend (samplesTrend) is asked beside the running median's. With 30 %
// lognormal noise the running median alone flagged 75 % (its buckets of
// 12 samples throw away what they say together); failing still asks the
// running median, so a steady series fails no more often than before.
func TestDrift_NoisyRampIsFlagged(t *testing.T) {
	n := 200
	if raceEnabled {
		n = 60
	}
	lognormal := func(level func(time.Duration) float64, s float64) func(r *rand.Rand) []Point {
		return func(r *rand.Rand) []Point {
			return sample(2*time.Hour, 15*time.Second, func(x time.Duration) float64 { return level(x) * math.Exp(s*r.NormFloat64()-s*s/2) })
		}
	}
	ramp := func(x time.Duration) float64 { return 100 * (1 + 0.25*x.Hours()/2) }
	steady := func(time.Duration) float64 { return 100 }
	if _, fl := driftRates(n, 1, lognormal(ramp, 0.3)); fl < 90 {
		t.Errorf("+25%% ramp over 2 h, 30%% lognormal noise every 15 s: flagged %.1f%%, want >= 90%%", fl)
	}
	if f, fl := driftRates(n, 2, lognormal(steady, 0.3)); f > 0 || fl > 2 {
		t.Errorf("steady, 30%% lognormal noise: failed %.1f%%, flagged %.1f%%, want 0 and <= 2%%", f, fl)
	}
}

// A p95 read off a histogram's bucket bounds (or rounded, as Locust
// rounds response times) takes few values and flips between two
// neighbours on noise alone; a change of one step is below what it
// measured (valueStep): a steady one is not flagged, a ramp of two steps
// still is. Before valueStep the steady one warned in 63 % of 2-hour
// runs ("+25 %, a jump", or recurring "incidents").
func TestDrift_QuantisedSteadyIsSteady(t *testing.T) {
	n := 200
	if raceEnabled {
		n = 60
	}
	bound := func(v float64) float64 {
		for _, b := range []float64{50, 60, 75, 100, 125, 150, 200, 250, 300, 400} {
			if v <= b {
				return b
			}
		}
		return 500
	}
	buckets := func(pct float64) func(r *rand.Rand) []Point {
		return func(r *rand.Rand) []Point {
			return sample(2*time.Hour, 15*time.Second, func(x time.Duration) float64 {
				return bound(100 * (1 + pct/100*x.Hours()/2) * math.Exp(0.15*r.NormFloat64()))
			})
		}
	}
	if f, fl := driftRates(n, 3, buckets(0)); f > 0 || fl > 2 {
		t.Errorf("steady p95 on bucket bounds (100, 125, ...): failed %.1f%%, flagged %.1f%%, want 0 and <= 2%%", f, fl)
	}
	if _, fl := driftRates(n, 4, buckets(50)); fl < 85 {
		t.Errorf("+50%% ramp on bucket bounds (two steps): flagged %.1f%%, want >= 85%%", fl)
	}
	if got := valueStep([]float64{100, 125, 100, 100, 125, 125, 100, 125, 150, 100, 125, 100}); got != 25 {
		t.Errorf("valueStep of 100/125/150 = %g, want 25", got)
	}
	if got := valueStep([]float64{1, 2.5, 3.1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17.5, 18}); got != 0 {
		t.Errorf("valueStep of 18 distinct values = %g, want 0", got)
	}
}
