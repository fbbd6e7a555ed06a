package soak

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func latencies(r *rand.Rand, n int, base, growthPerStep, noise float64) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Point, n)
	for i := range out {
		out[i] = Point{T: t0.Add(time.Duration(i) * 2 * time.Second), V: base + growthPerStep*float64(i) + r.NormFloat64()*noise}
	}
	return out
}

func TestDrift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		pts  []Point
		o    DriftOptions
		want Status
	}{
		{"steady p95", latencies(r, 900, 100, 0, 5), DriftOptions{}, Pass},
		{"p95 grows 50%", latencies(r, 900, 100, 50.0/900, 5), DriftOptions{}, Fail},
		{"p95 grows 18%", latencies(r, 900, 100, 18.0/900, 2), DriftOptions{}, Warn},
		{"throughput falls 30%", latencies(r, 900, 1000, -300.0/900, 20), DriftOptions{Worse: -1}, Fail},
		{"throughput rises: fine", latencies(r, 900, 1000, 300.0/900, 20), DriftOptions{Worse: -1}, Pass},
		{"error rate 0 to 3 points", latencies(r, 900, 0, 3.0/900, 0.1), DriftOptions{Absolute: true, FailPct: 1}, Fail},
		{"too short", latencies(r, 5, 100, 10, 0), DriftOptions{}, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Drift("p95", tt.pts, tt.o)
			if got.Status != tt.want {
				t.Errorf("got %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
		})
	}
}

// stepped is a series of n points 2 s apart at base, base+jump from
// point from on (to point to, exclusive; to <= 0: to the end), with noise.
func stepped(r *rand.Rand, n int, base, jump float64, from, to int, noise float64) []Point {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if to <= 0 {
		to = n
	}
	out := make([]Point, n)
	for i := range out {
		v := base + r.NormFloat64()*noise
		if i >= from && i < to {
			v += jump
		}
		out[i] = Point{T: t0.Add(time.Duration(i) * 2 * time.Second), V: max(v, 0)}
	}
	return out
}

// A latency rise the load generator's own scheduling delay rose with is
// not laid on the service: a jump, a drift and recovered incidents that
// coincide with the generator's delay are inconclusive (or pass), the same
// series with a quiet generator warn or fail, and a delay that rose far
// less than the latency explains nothing.
func TestDrift_Generator(t *testing.T) {
	lat := DriftOptions{MinAbs: 1, Resolution: 0.001}
	with := func(gen []Point) DriftOptions { o := lat; o.Generator = gen; return o }
	r := rand.New(rand.NewPCG(3, 4))
	const n = 60 // a 2-minute run, ticks 2 s apart
	jump := stepped(r, n, 2, 5, 40, 0, 0.2)
	drift := latencies(r, n, 2, 6.0/n, 0.2)
	spikes := stepped(r, n, 2, 0, 0, 0, 0.1)
	for _, i := range []int{20, 30, 40, 50} { // four short spikes that recover
		spikes[i].V += 12
		spikes[i+1].V += 12
	}
	quiet := stepped(r, n, 0.1, 0, 0, 0, 0.02)
	tests := []struct {
		name string
		pts  []Point
		o    DriftOptions
		want Status
	}{
		{"jump, quiet generator", jump, with(quiet), Warn},
		{"jump, no generator measured", jump, lat, Warn},
		{"jump with the generator's delay", jump, with(stepped(r, n, 0.1, 6, 40, 0, 0.3)), Inconclusive},
		{"jump, the generator's delay rose a tenth as much", jump, with(stepped(r, n, 0.1, 0.5, 40, 0, 0.05)), Warn},
		{"drift, quiet generator", drift, with(quiet), Fail},
		{"drift with the generator's delay", drift, with(latencies(r, n, 0.1, 6.0/n, 0.1)), Inconclusive},
		{"spikes, quiet generator", spikes, with(quiet), Warn},
		{"spikes with the generator's delay", spikes, with(func() []Point {
			g := stepped(r, n, 0.1, 0, 0, 0, 0.02)
			for _, i := range []int{20, 30, 40, 50} {
				g[i].V += 10
			}
			return g
		}()), Pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Drift("latency p95 (ms)", tt.pts, tt.o)
			if got.Status != tt.want {
				t.Errorf("got %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
			if len(tt.o.Generator) > 0 && got.GeneratorLast == 0 {
				t.Errorf("no generator delay in the result: %+v", got)
			}
		})
	}
}

// windowedRate is a rate counted as a run's ticks count it: Poisson
// arrivals at rate(t) a second, each tick the requests a second over the
// last window.
func windowedRate(rng *rand.Rand, length, window time.Duration, rate func(s float64) float64) []Point {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	secs := int(length / time.Second)
	w := int(window / time.Second)
	counts := make([]int, secs)
	for s := range counts {
		// Poisson by inversion (rates here are small or moderate).
		l, k, p := math.Exp(-rate(float64(s))), 0, 1.0
		if rate(float64(s)) > 50 {
			counts[s] = int(math.Round(rate(float64(s)) + rng.NormFloat64()*math.Sqrt(rate(float64(s)))))
			continue
		}
		for {
			p *= rng.Float64()
			if p <= l {
				break
			}
			k++
		}
		counts[s] = k
	}
	var out []Point
	for s := w; s < secs; s++ {
		n := 0
		for _, c := range counts[s-w : s] {
			n += c
		}
		out = append(out, Point{T: t0.Add(time.Duration(s) * time.Second), V: float64(n) / float64(w)})
	}
	return out
}

// A throughput counted over 10-s windows at a few requests a second
// wanders by more than a tenth from counting alone: a short run at 5/s
// must not warn on it, while a real fall still fails, short or long.
func TestDrift_CountingNoise(t *testing.T) {
	window := 10 * time.Second
	o := DriftOptions{Worse: -1, Warmup: 10 * time.Second, CountWindow: window}
	for _, c := range []struct {
		rate   float64
		length time.Duration
	}{{2, 30 * time.Second}, {5, 60 * time.Second}, {20, 60 * time.Second}, {5, 10 * time.Minute}} {
		flagged := 0
		for seed := range 200 {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			r := Drift("throughput", windowedRate(rng, c.length, window, func(float64) float64 { return c.rate }), o)
			if r.Status == Warn || r.Status == Fail {
				flagged++
			}
		}
		if flagged > 2 {
			t.Errorf("steady %g/s over %s: %d of 200 flagged, want at most 2", c.rate, c.length, flagged)
		}
	}
	for _, c := range []struct {
		name   string
		length time.Duration
		rate   func(s float64) float64
	}{
		{"5/s halving over 2 min", 2 * time.Minute, func(s float64) float64 { return 5 * (1 - 0.5*s/120) }},
		{"5/s falling 25% over 2 h", 2 * time.Hour, func(s float64) float64 { return 5 * (1 - 0.25*s/7200) }},
		{"200/s falling 30% over 2 min", 2 * time.Minute, func(s float64) float64 { return 200 * (1 - 0.3*s/120) }},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		r := Drift("throughput", windowedRate(rng, c.length, window, c.rate), o)
		if r.Status != Fail {
			t.Errorf("%s: %s %s, want fail", c.name, r.Status, r.Reason)
		}
	}
	// Without the window (not a counted rate) the floor is not applied.
	if q, tr := countingNoise(5, 20*time.Second, 0); q != 0 || tr != 0 {
		t.Error("counting noise without a window")
	}
}

// windowedErrors is a failure ratio in % as a run's ticks count it: rps
// requests a second (Poisson), each failing with probability pct(s)/100,
// each tick the failures over the requests of the last window.
func windowedErrors(rng *rand.Rand, length, window time.Duration, rps float64, pct func(s float64) float64) []Point {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	secs, w := int(length/time.Second), int(window/time.Second)
	reqs, fails := make([]int, secs), make([]int, secs)
	for s := range reqs {
		n := max(0, int(math.Round(rps+rng.NormFloat64()*math.Sqrt(rps))))
		reqs[s] = n
		for range n {
			if rng.Float64() < pct(float64(s))/100 {
				fails[s]++
			}
		}
	}
	var out []Point
	for s := w; s < secs; s++ {
		n, f := 0, 0
		for i := s - w; i < s; i++ {
			n, f = n+reqs[i], f+fails[i]
		}
		if n > 0 {
			out = append(out, Point{T: t0.Add(time.Duration(s) * time.Second), V: float64(f) / float64(n) * 100})
		}
	}
	return out
}

// A steady error rate of a few percent among few requests wanders by more
// than the point that fails from counting alone; a real rise still fails.
func TestDrift_CountingNoiseErrors(t *testing.T) {
	window := 10 * time.Second
	for _, c := range []struct {
		rps, pct float64
		length   time.Duration
	}{{20, 2, 60 * time.Second}, {5, 5, 60 * time.Second}, {50, 1, 10 * time.Minute}} {
		o := DriftOptions{Absolute: true, FailPct: 1, Warmup: 10 * time.Second, CountWindow: window, Trials: c.rps}
		flagged := 0
		for seed := range 200 {
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			r := Drift("error rate", windowedErrors(rng, c.length, window, c.rps, func(float64) float64 { return c.pct }), o)
			if r.Status == Warn || r.Status == Fail {
				flagged++
			}
		}
		if flagged > 2 {
			t.Errorf("steady %g%% of %g/s over %s: %d of 200 flagged, want at most 2", c.pct, c.rps, c.length, flagged)
		}
	}
	for _, c := range []struct {
		name   string
		rps    float64
		length time.Duration
		pct    func(s float64) float64
	}{
		{"20/s, 0 to 10% over 2 min", 20, 2 * time.Minute, func(s float64) float64 { return 10 * s / 120 }},
		{"50/s, 1 to 4% over 2 h", 50, 2 * time.Hour, func(s float64) float64 { return 1 + 3*s/7200 }},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		o := DriftOptions{Absolute: true, FailPct: 1, Warmup: 10 * time.Second, CountWindow: window, Trials: c.rps}
		if r := Drift("error rate", windowedErrors(rng, c.length, window, c.rps, c.pct), o); r.Status != Fail {
			t.Errorf("%s: %s %s, want fail", c.name, r.Status, r.Reason)
		}
	}
}

// windowedP95 is a p95 as a run's ticks measure it: lognormal latencies
// (median ms, sigma) of rps requests a second growing by grow over the
// run, each tick the p95 of the last window's; and the slope of the whole
// run's quantile function at the p95, from its p90 and p98.
func windowedP95(rng *rand.Rand, length, window time.Duration, rps, median, sigma, grow float64) ([]Point, float64) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	secs, w := int(length/time.Second), int(window/time.Second)
	per := make([][]float64, secs)
	var all []float64
	for s := range per {
		n := max(0, int(math.Round(rps+rng.NormFloat64()*math.Sqrt(rps))))
		for range n {
			x := median * (1 + grow*float64(s)/float64(secs)) * math.Exp(sigma*rng.NormFloat64())
			per[s] = append(per[s], x)
			all = append(all, x)
		}
	}
	q := func(v []float64, p float64) float64 { return v[int(math.Ceil(p*float64(len(v))))-1] }
	var out []Point
	for s := w; s < secs; s++ {
		var v []float64
		for i := s - w; i < s; i++ {
			v = append(v, per[i]...)
		}
		if len(v) > 0 {
			slices.Sort(v)
			out = append(out, Point{T: t0.Add(time.Duration(s) * time.Second), V: q(v, 0.95)})
		}
	}
	slices.Sort(all)
	return out, (q(all, 0.98) - q(all, 0.90)) / 0.08
}

// A p95 of a few requests a second over 10-s windows wanders by tens of
// percent from sampling alone: a steady service must not warn on it, and a
// real ramp is still flagged.
func TestDrift_QuantileNoise(t *testing.T) {
	window := 10 * time.Second
	opts := func(rps, slope float64) DriftOptions {
		return DriftOptions{Warmup: 10 * time.Second, MinAbs: 1, Resolution: 0.001,
			CountWindow: window, Trials: rps, Quantile: 0.95, QuantileSlope: slope}
	}
	for _, c := range []struct {
		rps, allowed float64
	}{{2, 4}, {5, 2}, {20, 2}} {
		flagged, failed := 0, 0
		for seed := range 200 {
			rng := rand.New(rand.NewPCG(uint64(seed), 5))
			pts, slope := windowedP95(rng, time.Minute, window, c.rps, 50, 0.5, 0)
			switch Drift("p95", pts, opts(c.rps, slope)).Status {
			case Fail:
				failed++
				flagged++
			case Warn:
				flagged++
			}
		}
		if flagged > int(c.allowed) || failed > 1 {
			t.Errorf("steady p95 of %g/s over 60 s: %d of 200 flagged (%d failed), want at most %g (1)", c.rps, flagged, failed, c.allowed)
		}
	}
	flagged := 0
	for seed := range 10 {
		rng := rand.New(rand.NewPCG(uint64(seed), 6))
		pts, slope := windowedP95(rng, 2*time.Hour, window, 5, 50, 0.5, 0.25)
		if s := Drift("p95", pts, opts(5, slope)).Status; s == Warn || s == Fail {
			flagged++
		}
	}
	if flagged < 9 {
		t.Errorf("p95 +25%% over 2 h at 5/s: %d of 10 flagged, want 9 or more", flagged)
	}
}
