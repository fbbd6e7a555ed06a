package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A gauge of the live set, set at each major collection (every 1–10 min)
// and held between, is no sawtooth: its falls are its measurement's noise,
// not collections. Read as one (its median step is 0, so every fall of
// 2 % counted), a 2-hour run held "only 5 GC cycles" and was inconclusive,
// and a 5 %/h leak was flagged in 83.5 % of 200 runs (91 % now).
func TestLeak_HeldLiveSetGaugeIsNoSawtooth(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 1))
	flagged, cycles := 0, 0
	const n = 60
	for range n {
		pts := sample(2*time.Hour, 15*time.Second, liveAfterGC(r, leakF(100*mb, 5, 0), 60, 600))
		if _, p := gcCycles(pts); p > 0 {
			cycles++
		}
		if res := Leak("jvm_gc_live_data_size_bytes", pts, LeakOptions{Kind: KindHeap}); res.Status == Fail || res.Status == Warn {
			flagged++
		}
	}
	if cycles > 0 {
		t.Errorf("a GC cycle found in %d of %d held gauges", cycles, n)
	}
	if flagged < n*85/100 {
		t.Errorf("a 5%%/h leak flagged in %d of %d runs, want 85%% or more", flagged, n)
	}
	// A Go heap's sawtooth whose value changes only at some samples (a
	// heap scraped faster than it moves) keeps its cycles: it rises in
	// many steps and falls in few.
	g := goHeap(r, leakF(100*mb, 0, 0), 0)
	var pts []Point
	for i := range 2000 {
		v := g(time.Duration(i/3*15) * time.Second)
		pts = append(pts, Point{T: t0.Add(time.Duration(i*5) * time.Second), V: v})
	}
	if heldGauge(pts) {
		t.Error("a sawtooth sampled three times a value read as a held gauge")
	}
	if _, p := gcCycles(pts); p == 0 {
		t.Error("a sawtooth sampled three times a value lost its cycles")
	}
}
