package soak

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A leak whose pace falls but never stops, behind a start-up transient
// left in the window (a 6-hour soak whose process grew to its size in
// its first half hour): a saturating curve fits the transient and reads
// a level, while the last half still climbs at more than half the first
// half's pace (issue #25's tenth part; java-g1-leak-fast heap and
// go-leak-slow rss at ×90). It fails. A cache that fills with the same
// transient and then stays passes.
func TestSlowingLeakBehindTransient(t *testing.T) {
	const mb = 1e6
	gen := func(seed uint64, leak bool) []Point {
		r := rand.New(rand.NewPCG(seed, 7))
		var pts []Point
		for i := 0; i <= 6*60; i++ {
			at := time.Duration(i) * time.Minute
			h := at.Hours()
			v := 100 * mb * (1 + 0.15*(1-math.Exp(-at.Minutes()/15)))
			if leak {
				v += 100 * mb * 0.05 * math.Pow(h, 0.75) // +5 %/h at first, slowing
			}
			v *= 1 + 0.003*r.NormFloat64()
			pts = append(pts, Point{T: t0.Add(at), V: v})
		}
		return pts
	}
	failed := 0
	for seed := uint64(1); seed <= 20; seed++ {
		if res := Leak("leak", gen(seed, true), LeakOptions{Kind: KindOS, NoRestartDetection: true}); res.Status == Fail {
			failed++
		} else if seed == 1 {
			t.Logf("not failed: %s %s", res.Status, res.Reason)
		}
		if res := Leak("cache", gen(seed, false), LeakOptions{Kind: KindOS, NoRestartDetection: true}); res.Status == Fail || res.Status == Warn {
			t.Errorf("seed %d: a cache that filled and stayed was flagged: %s", seed, res.Reason)
		}
	}
	if failed < 19 {
		t.Errorf("a slowing leak behind a start-up transient failed in %d of 20, want 19 or more", failed)
	}
}
