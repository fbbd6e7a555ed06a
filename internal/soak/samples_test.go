package soak

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// sweepSeries is the n-th series (from 0) of a stream of JVM heaps with a
// live set of 100 MB leaking perHour % an hour, span long, sampled every
// step: the stream the scrape-interval sweep of issue #25 judged.
func sweepSeries(span, step time.Duration, perHour float64, n int) []Point {
	r := rand.New(rand.NewPCG(uint64(step)+uint64(span), 99))
	var pts []Point
	for range n + 1 {
		pts = sample(span, step, jvmHeap(r, leakF(100*mb, perHour, 0), 0.01))
	}
	return pts
}

// A flat JVM heap scraped every 60 s whose floor of 9–13 points wandered
// up at 1.0–1.1 %/h over 6 h (trend p = 0.01–0.03): the rule before
// samplesAgree failed it as a leak; its samples as a whole did not grow
// at the failing rate, so it warns, or passes where they did not grow
// after the window's first third either (grewOnlyEarly).
func TestSamplesAgree_FlatJVMHeapAt60sIsNoLongLeak(t *testing.T) {
	for _, n := range []int{120, 325} {
		pts := sweepSeries(6*time.Hour, time.Minute, 0, n)
		o := LeakOptions{Kind: KindHeap}
		if old := leak("heap", pts, o.withDefaults()); old.Status != Fail {
			t.Fatalf("series %d: the rule before samplesAgree gave %s (%s), want fail (the case this guards)", n, old.Status, old.Reason)
		}
		r := Leak("heap", pts, o)
		if (r.Status != Warn && r.Status != Pass) || !strings.Contains(r.Reason, "its samples as a whole grew") {
			t.Errorf("series %d: %s: %s; want a warning or a pass saying what the samples as a whole did", n, r.Status, r.Reason)
		}
	}
}

// A 5 %/h leak of a JVM heap over 2 h scraped every 30 s whose floor's
// trend was not significant: its samples as a whole climb significantly
// past half the failing growth, which the rule before samplesAgree let
// pass.
func TestSamplesAgree_JVMLeakAt30sWarns(t *testing.T) {
	guarded := 0
	for _, n := range []int{2, 4} {
		pts := sweepSeries(2*time.Hour, 30*time.Second, 5, n)
		o := LeakOptions{Kind: KindHeap}
		old := leak("heap", pts, o.withDefaults())
		r := Leak("heap", pts, o)
		if r.Status != Warn && r.Status != Fail {
			t.Errorf("series %d: %s: %s; want the leak flagged", n, r.Status, r.Reason)
		}
		if old.Status != Pass {
			continue // flagged by the floor's own rules (splitMissed found series 2's missed collections)
		}
		guarded++
		if r.Status != Warn || !strings.Contains(r.Reason, "its samples as a whole climbed") || !strings.Contains(r.Reason, "MB/h") {
			t.Errorf("series %d: %s: %s; want a warning quoting the samples' climb in MB/h", n, r.Status, r.Reason)
		}
	}
	if guarded == 0 {
		t.Error("no series the rule before samplesAgree passed: the test guards nothing")
	}
}

// Flat heaps stay quiet: no flat JVM or Go heap of 2 h scraped every 30 s
// among the first 40 of the stream is flagged by samplesAgree where the
// rule before it was not. (trendsAgree, after it, warns one of the 80:
// Go heap 37, its mid-range +6.0 % at p = 0.005 and its samples +5.6 %
// at p = 0.13; its own rate on flat heaps is TestLeak_HeapTrendsAgreeAt30s's.)
func TestSamplesAgree_FlatHeapsNotRaised(t *testing.T) {
	for _, g := range []func(*rand.Rand) gen{
		func(r *rand.Rand) gen { return jvmHeap(r, leakF(100*mb, 0, 0), 0.01) },
		func(r *rand.Rand) gen { return goHeap(r, leakF(100*mb, 0, 0), 0.01) },
	} {
		r := rand.New(rand.NewPCG(uint64(30*time.Second)+uint64(2*time.Hour), 99))
		for i := range 40 {
			pts := sample(2*time.Hour, 30*time.Second, g(r))
			o := LeakOptions{Kind: KindHeap}
			old := leak("heap", pts, o.withDefaults())
			now := samplesAgree(old, pts, o.withDefaults())
			if now.Status != old.Status && (now.Status == Warn || now.Status == Fail) {
				t.Errorf("series %d: %s before, %s now: %s", i, old.Status, now.Status, now.Reason)
			}
		}
	}
}

// lateDetectable raises the power a window under LongWindow states to
// what its last half's own test can show: a last half of a few noisy
// points cannot fail a growth the whole window's line would.
func TestLateDetectable(t *testing.T) {
	xs := []float64{3600, 4200, 4800, 5400, 6000, 6600}
	ys := []float64{100, 104, 99, 105, 98, 103}
	d := lateDetectable(1e-6, xs, ys, xs, ys)
	if !(d > 1e-3) {
		t.Errorf("lateDetectable = %g units/s, want the last half's noise to raise it past 1e-3", d)
	}
	if got := lateDetectable(1, xs, ys, xs, ys); got != 1 {
		t.Errorf("lateDetectable never lowers the power: got %g, want 1", got)
	}
	// Four points in the last half: no finite interval of their own, the
	// whole floor's scaled by 2√2.
	all := []float64{100, 101, 99, 102, 100, 103, 99, 101, 100, 102}
	at := []float64{0, 600, 1200, 1800, 2400, 3000, 3600, 4200, 4800, 5400}
	if d := lateDetectable(1e-9, at, all, at[6:], all[6:]); !(d > 1e-4) {
		t.Errorf("lateDetectable with a 4-point last half = %g, want the whole floor's noise scaled up", d)
	}
}
