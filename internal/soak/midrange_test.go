package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// A Go heap (GOGC=100) scraped every 15 s, slower than it collects
// (every 10 s to 2 min): its samples spread evenly between the live set
// and twice it. A 5 %/h leak of the live set over 2 h must be flagged,
// judged by its name (a heap) and without a kind; the same heap without
// a leak must not fail. The bucket minimum alone (the old level) left
// 8–13 floor points whose trend missed p < 0.05 in about one run in ten.
func TestGoHeapLeakMidRange(t *testing.T) {
	const runs = 40
	for _, kind := range []Kind{KindHeap, KindUnknown} {
		flagged, mid, flatFlagged, flatFailed := 0, 0, 0, 0
		for seed := range uint64(runs) {
			r := rand.New(rand.NewPCG(seed, 25))
			pts := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 5, 0), 0.01))
			res := Leak("go_memstats_heap_inuse_bytes", pts, LeakOptions{Kind: kind})
			if res.Status == Warn || res.Status == Fail {
				flagged++
			} else {
				t.Logf("%s seed %d: %s: %s", kind, seed, res.Status, res.Reason)
			}
			if res.LevelQuantile == MidRange {
				mid++
			}
			flat := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
			switch Leak("go_memstats_heap_inuse_bytes", flat, LeakOptions{Kind: kind}).Status {
			case Fail:
				flatFailed++
				flatFlagged++
			case Warn:
				flatFlagged++
			}
		}
		if flagged < runs-1 {
			t.Errorf("%s: a 5 %%/h Go heap leak over 2 h flagged in %d of %d runs, want %d or more", kind, flagged, runs, runs-1)
		}
		if mid < runs/2 {
			t.Errorf("%s: the mid-range judged in %d of %d leaking Go heaps, want most", kind, mid, runs)
		}
		if got, want := levelName(MidRange, kind), map[Kind]string{KindHeap: "heap's mid-range", KindUnknown: "memory's mid-range"}[kind]; got != want {
			t.Errorf("levelName(MidRange, %s) = %q, want %q", kind, got, want)
		}
		if flatFailed > 0 || flatFlagged > 2 {
			t.Errorf("%s: a flat Go heap flagged in %d of %d runs (failed %d), want at most 2 (none)", kind, flatFlagged, runs, flatFailed)
		}
	}
}

// The mid-range is asked only of a cycle paced by the live set: a Go
// heap's (peaks twice the floor), not a heap whose young generation is a
// fixed size over a larger old one (peaks 25 % over the floor), nor a
// running maximum.
func TestSpansGoal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 25))
	goPts := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 5, 0), 0.01))
	young := jsaw(r, 20*time.Second)
	g1 := sample(2*time.Hour, 15*time.Second, func(t time.Duration) float64 {
		return leakF(100*mb, 5, 0)(t) + 25*mb*young(t) + r.NormFloat64()*mb
	})
	hw := 0.0
	runMax := sample(2*time.Hour, 15*time.Second, func(time.Duration) float64 {
		hw = max(hw, 100*mb*(1+r.Float64()))
		return hw
	})
	for _, c := range []struct {
		name string
		pts  []Point
		want bool
	}{{"Go heap", goPts, true}, {"young generation of a fixed size", g1, false}, {"running maximum", runMax, false}} {
		if got := spansGoal(c.pts, envelopeBuckets); got != c.want {
			t.Errorf("%s: spansGoal = %v, want %v", c.name, got, c.want)
		}
		if _, _, q := preciseLevel(c.pts, envelopeBuckets); !c.want && q == MidRange {
			t.Errorf("%s: preciseLevel chose the mid-range", c.name)
		}
	}
}
