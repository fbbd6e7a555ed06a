package soak

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// Growth that stopped in a 6-hour run's first hour or two is no leak
// (grewOnlyEarly, issue #25's twenty-sixth part): JVM heaps whose cache
// fills over 20–30 minutes were flagged in 9.5 % of these 200 runs
// without it (failed in 8 of 200 of another sweep), their level after
// each major collection wandering with the young generation's phase; a
// lasting leak still fails, and one below the failing rate still warns.
func TestLeak_GrowthOnlyEarly(t *testing.T) {
	const n = 200
	fill := func(r *rand.Rand, tauMin, tauMax, perHour float64) gen {
		tau := (tauMin + (tauMax-tauMin)*r.Float64()) * 60
		grow := 0.3 + 0.6*r.Float64()
		return func(t time.Duration) float64 {
			return 100 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau)) + perHour/100*t.Hours())
		}
	}
	cases := []struct {
		name string
		o    LeakOptions
		g    func(r *rand.Rand) []Point
		ok   func(c counts) bool
		want string
	}{
		{"JVM heap, cache filling over 20–30 min, 6 h", LeakOptions{Kind: KindHeap}, func(r *rand.Rand) []Point {
			return sample(6*time.Hour, 30*time.Second, jvmHeap(r, fill(r, 20, 30, 0), 0.01))
		}, func(c counts) bool { return c.failed() <= 1 && c.flagged() <= 5 }, "failed <= 1%, flagged <= 5% (flagged 9.5% without grewOnlyEarly)"},
		{"Go heap, cache filling over 20–30 min, 6 h", LeakOptions{Kind: KindHeap}, func(r *rand.Rand) []Point {
			return sample(6*time.Hour, 30*time.Second, goHeap(r, fill(r, 20, 30, 0), 0.01))
		}, func(c counts) bool { return c.failed() <= 1 && c.flagged() <= 5 }, "failed <= 1%, flagged <= 5%"},
		{"JVM heap, leak 2%/h, 6 h", LeakOptions{Kind: KindHeap}, func(r *rand.Rand) []Point {
			return sample(6*time.Hour, 30*time.Second, jvmHeap(r, leakF(100*mb, 2, 0), 0.01))
		}, func(c counts) bool { return c.failed() >= 95 }, "failed >= 95%"},
		{"RSS, leak 0.5%/h (below the failing rate), 6 h", LeakOptions{Kind: KindOS}, func(r *rand.Rand) []Point {
			return sample(6*time.Hour, 30*time.Second, sawtooth(r, leakF(100*mb, 0.5, 0), 0.01))
		}, func(c counts) bool { return c.flagged() >= 70 }, "flagged >= 70% (a warning; 86% without grewOnlyEarly)"},
	}
	for _, c := range cases {
		r := rand.New(rand.NewPCG(2626, 3))
		cnt := counts{n: n}
		for range n {
			switch Leak("memory", c.g(r), c.o).Status {
			case Fail:
				cnt.fail++
			case Warn:
				cnt.warn++
			}
		}
		t.Logf("%s: failed %.1f%%, flagged %.1f%%", c.name, cnt.failed(), cnt.flagged())
		if !c.ok(cnt) {
			t.Errorf("%s: failed %.0f%%, flagged %.0f%%, want %s", c.name, cnt.failed(), cnt.flagged(), c.want)
		}
	}
}

// The verdict says why it passed: the whole window's growth, and what the
// last two-thirds did. The series is the first of the JVM caches above
// (seed 2626) that the rule passes.
func TestLeak_GrowthOnlyEarlySaysWhy(t *testing.T) {
	r := rand.New(rand.NewPCG(2626, 3))
	for i := range 100 {
		tau := (20 + 10*r.Float64()) * 60
		grow := 0.3 + 0.6*r.Float64()
		live := func(t time.Duration) float64 { return 100 * mb * (1 + grow*(1-math.Exp(-t.Seconds()/tau))) }
		pts := sample(6*time.Hour, 30*time.Second, jvmHeap(r, live, 0.01))
		res := Leak("memory", pts, LeakOptions{Kind: KindHeap})
		if !strings.Contains(res.Reason, "not lastingly") {
			continue
		}
		if res.Status != Pass || !res.Levelled {
			t.Errorf("series %d: %s (levelled %v), want pass, levelled: %s", i, res.Status, res.Levelled, res.Reason)
		}
		for _, want := range []string{"heap", "after the first third of the window", "%/h that fails", "this run would have failed a lasting growth of"} {
			if !strings.Contains(res.Reason, want) {
				t.Errorf("series %d: reason %q does not say %q", i, res.Reason, want)
			}
		}
		t.Logf("series %d: %s", i, res.Reason)
		return
	}
	t.Fatal("no JVM cache of 100 was passed as growth that stopped early")
}

// TestCacheSweep is the sweep issue #25's twenty-sixth part was measured
// on (docs/soak.md): caches of +30–90 % of the live set filling with a
// time constant of 0.2–4 h (±20 %) and leaks of 1 and 2 %/h of the filled
// level after a 10–20-minute fill, 200 series each, 6 hours every 30 s,
// on a JVM heap, a Go heap (both by their names) and an RSS. A
// measurement, not a check: it runs with HORDE_SOAK_SWEEP=1 (and
// HORDE_SOAK_SEED, HORDE_SOAK_VIEW as TestCorpus) and logs failed
// (flagged) counts of 200.
func TestCacheSweep(t *testing.T) {
	if os.Getenv("HORDE_SOAK_SWEEP") == "" {
		t.Skip("a measurement: HORDE_SOAK_SWEEP=1 runs it")
	}
	shapes := []struct {
		name string
		o    LeakOptions
		g    func(*rand.Rand, gen) gen
	}{
		{"JVM heap", LeakOptions{Kind: KindHeap}, func(r *rand.Rand, l gen) gen { return jvmHeap(r, l, 0.01) }},
		{"Go heap", LeakOptions{Kind: KindHeap}, func(r *rand.Rand, l gen) gen { return goHeap(r, l, 0.01) }},
		{"RSS", LeakOptions{Kind: KindOS}, func(r *rand.Rand, l gen) gen { return sawtooth(r, l, 0.01) }},
	}
	judge := func(r *rand.Rand, o LeakOptions, draw func() gen, g func(*rand.Rand, gen) gen) string {
		fail, warn := 0, 0
		for range 200 {
			pts := sample(6*time.Hour, 30*time.Second, g(r, draw()))
			if promView {
				pts = promRange(pts)
			}
			switch Leak("memory", pts, o).Status {
			case Fail:
				fail++
			case Warn:
				warn++
			}
		}
		return fmt.Sprintf("%d (%d)", fail, fail+warn)
	}
	for si, s := range shapes {
		line := s.name + ", caches by τ:"
		for ti, tau := range []float64{0.2, 0.4, 0.8, 1.6, 3, 4} {
			r := rand.New(rand.NewPCG(uint64(100*si+ti)+seedBase, 77))
			line += fmt.Sprintf(" %.1fh %s", tau, judge(r, s.o, func() gen {
				tt := tau * (0.8 + 0.4*r.Float64()) * 3600
				grow := 0.3 + 0.6*r.Float64()
				return func(x time.Duration) float64 { return 100 * mb * (1 + grow*(1-math.Exp(-x.Seconds()/tt))) }
			}, s.g))
		}
		for _, pc := range []float64{1, 2} {
			r := rand.New(rand.NewPCG(uint64(100*si+50)+seedBase+uint64(pc), 77))
			line += fmt.Sprintf(" | leak %.0f%%/h after a fill %s", pc, judge(r, s.o, func() gen {
				tt := float64(10+r.IntN(11)) * 60
				grow := 0.3 + 0.6*r.Float64()
				return func(x time.Duration) float64 {
					return 100 * mb * (1 + grow*(1-math.Exp(-x.Seconds()/tt)) + (1+grow)*pc/100*x.Hours())
				}
			}, s.g))
		}
		t.Log(line)
	}
}

// A heap of a fixed size whose live set leaks 3 %/h: it collects at the
// same occupancy every time, so between collections it sits near its
// capacity and its samples as a whole hardly grow, while the level after
// each collection (its floor, the live set) climbs. Real recordings do
// this (java-parallel-leak-slow, node-leak-slow at ×90: samples after the
// first third +1.10 and +0.08 %/h where the floor climbs 8.45 and
// 3.68 %/h): grewOnlyEarly must not pass such a fail on the samples
// alone. A unit test of the rule: the verdict before it, a fail on a
// floor climbing 3 %/h, and samples that do not grow.
func TestGrewOnlyEarly_AsksTheFloor(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := rand.New(rand.NewPCG(40, 1))
	var pts []Point
	for i := range 720 { // 6 h every 30 s
		pts = append(pts, Point{T: t0.Add(time.Duration(i) * 30 * time.Second), V: 300 * mb * (1 + 0.01*r.NormFloat64())})
	}
	warm := 5 * time.Minute
	res := LeakResult{Name: "heap", Status: Fail, Kind: KindHeap, Window: 6*time.Hour - 30*time.Second - warm, Warmup: warm,
		Baseline: 100 * mb, P: 1e-9, FloorPoints: 44, LevelQuantile: envelopeQuantile,
		Fit: Line{From: t0.Add(warm), To: t0.Add(6 * time.Hour), V0: 100 * mb, SlopePerSec: 0.03 * 100 * mb / 3600}}
	for k := range 44 { // the live set after each collection, every 8 min
		x := float64(k) * 480
		res.floorX = append(res.floorX, x)
		res.floorY = append(res.floorY, 100*mb*(1+0.03*x/3600)*(1+0.005*r.NormFloat64()))
	}
	res.SlopePerSec, res.TotalGrowthPct = res.Fit.SlopePerSec, 0.03*res.Window.Hours()*100
	got := grewOnlyEarly(res, pts, LeakOptions{Kind: KindHeap}.withDefaults())
	if got.Status != Fail {
		t.Errorf("a floor climbing 3%%/h under flat samples: %s, want the fail kept: %s", got.Status, got.Reason)
	}
	// The same floor flat after its first third (a fill): passed.
	for k, x := range res.floorX {
		res.floorY[k] = 100 * mb * (1 + 0.03*min(x, 7200)/3600) * (1 + 0.005*r.NormFloat64())
	}
	if got := grewOnlyEarly(res, pts, LeakOptions{Kind: KindHeap}.withDefaults()); got.Status != Pass {
		t.Errorf("a floor that stopped after its first two hours, flat samples: %s, want pass: %s", got.Status, got.Reason)
	}
}
