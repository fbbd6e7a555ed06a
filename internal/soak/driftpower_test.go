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

// A latency that follows the day (±20 %, a cluster's neighbours) over a
// 24-hour run is steady: its last quarter sits at another hour than its
// first, and before the second reading with the daily cycle taken out it
// warned in 36.5 % of runs. Only what both readings flag is flagged: a
// ramp keeps its verdict, and a six-hour bump late in a 48-hour run, which
// the harmonic alone turns into a trend (flagged in every run when read
// only without the cycle), is not flagged.
func TestDrift_DailyCycleIsSteady(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 30
	}
	day := func(span time.Duration, amp, ramp float64, from, to time.Duration) func(r *rand.Rand) []Point {
		return func(r *rand.Rand) []Point {
			ph := r.Float64() * 2 * math.Pi
			return sample(span, time.Minute, func(x time.Duration) float64 {
				v := 100 * (1 + amp*math.Sin(2*math.Pi*x.Hours()/24+ph)) * (1 + ramp*x.Hours()/span.Hours())
				if x >= from && x < to {
					v *= 1.3
				}
				return v * math.Exp(0.1*r.NormFloat64())
			})
		}
	}
	h := time.Hour
	if f, fl := driftRates(n, 5, day(24*h, 0.2, 0, 0, 0)); f > 0 || fl > 5 {
		t.Errorf("a daily cycle of ±20%% over 24 h: failed %.1f%%, flagged %.1f%%, want 0 and <= 5%%", f, fl)
	}
	if f, _ := driftRates(n, 6, day(24*h, 0, 0.25, 0, 0)); f < 95 {
		t.Errorf("+25%% ramp over 24 h: failed %.1f%%, want >= 95%%", f)
	}
	if f, fl := driftRates(n, 7, day(48*h, 0, 0, 30*h, 36*h)); f > 0 || fl > 5 {
		t.Errorf("a +30%% bump from 30 h to 36 h of 48 h that recovered: failed %.1f%%, flagged %.1f%%, want 0 and <= 5%%", f, fl)
	}
}

// ar is a level times 1 + noise of standard deviation s whose neighbours
// correlate at rho: a latency that wanders.
func ar(r *rand.Rand, level func(time.Duration) float64, rho, s float64) func(time.Duration) float64 {
	e := 0.0
	return func(x time.Duration) float64 {
		e = rho*e + math.Sqrt(1-rho*rho)*s*r.NormFloat64()
		return level(x) * (1 + e)
	}
}

// A steady latency that wanders for minutes (its 15-s samples correlated
// at 0.97: about 8 minutes) is not a trend: failing asks the running
// median's trend with its variance widened by the wander's persistence
// (persistenceRatio). Before, 2–2.5 % of such 2-hour runs failed (1,000
// runs: 2.5 % at 10 % noise, 3.9 % at 20 %; now 0.2 %); a +25 % ramp is
// flagged as often as before.
func TestDrift_WanderIsNoTrend(t *testing.T) {
	n, most := 400, 0.5
	if raceEnabled {
		n, most = 200, 1
	}
	steady := func(time.Duration) float64 { return 100 }
	ramp := func(x time.Duration) float64 { return 100 * (1 + 0.25*x.Hours()/2) }
	wander := func(level func(time.Duration) float64, rho, s float64) func(r *rand.Rand) []Point {
		return func(r *rand.Rand) []Point { return sample(2*time.Hour, 15*time.Second, ar(r, level, rho, s)) }
	}
	if f, _ := driftRates(n, 31, wander(steady, 0.97, 0.2)); f > most {
		t.Errorf("steady, 20%% noise correlated at 0.97: failed %.2f%% of %d, want <= %g%%", f, n, most)
	}
	if f, _ := driftRates(n, 32, wander(steady, 0.97, 0.1)); f > most {
		t.Errorf("steady, 10%% noise correlated at 0.97: failed %.2f%% of %d, want <= %g%%", f, n, most)
	}
	if _, fl := driftRates(200, 33, wander(ramp, 0.8, 0.1)); fl < 90 {
		t.Errorf("+25%% ramp, 10%% noise correlated at 0.8: flagged %.1f%%, want >= 90%%", fl)
	}
}
