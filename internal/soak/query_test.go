package soak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// asQueried is pts read back at step with the 5-minute lookback, as a
// Prometheus range query returns it.
func asQueried(pts []Point, step time.Duration) []Point {
	var out []Point
	j := 0
	for t := pts[0].T; !t.After(pts[len(pts)-1].T); t = t.Add(step) {
		for j+1 < len(pts) && !pts[j+1].T.After(t) {
			j++
		}
		if t.Sub(pts[j].T) <= 5*time.Minute {
			out = append(out, Point{T: t, V: pts[j].V})
		}
	}
	return out
}

func TestFromRangeQuery_EachSampleOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	raw := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
	q := asQueried(raw, 7200*time.Millisecond) // 2 h / 1000
	got := firstOf(FromRangeQuery(q, 7200*time.Millisecond))
	if len(got) != len(raw) {
		t.Fatalf("kept %d of %d points, want the %d samples", len(got), len(q), len(raw))
	}
	for i, p := range got {
		if p.V != raw[i].V || p.T.Before(raw[i].T) || p.T.Sub(raw[i].T) >= 7200*time.Millisecond {
			t.Fatalf("point %d: %v at %v, want the sample %v at %v (within a step after)", i, p.V, p.T, raw[i].V, raw[i].T)
		}
	}
	// 30-second samples at a 21.6-second step (6 hours): every other
	// value twice.
	raw = sample(6*time.Hour, 30*time.Second, jvmHeap(r, leakF(100*mb, 2, 0), 0.01))
	if got := firstOf(FromRangeQuery(asQueried(raw, 21600*time.Millisecond), 21600*time.Millisecond)); len(got) != len(raw) {
		t.Fatalf("6 h: kept %d points, want the %d samples", len(got), len(raw))
	}
}

func TestFromRangeQuery_KeepsWhatHeldAndNativeSeries(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// A series at its own rate is returned as it is.
	raw := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
	if got := firstOf(FromRangeQuery(raw, 15*time.Second)); len(got) != len(raw) {
		t.Fatalf("native series: kept %d of %d", len(got), len(raw))
	}
	// A high-water mark holds its value for many scrapes: the hold keeps
	// its length (a point about every scrape), not one point.
	var hw []Point
	t0 := time.Unix(1e9, 0)
	v := 100 * mb
	for i := 0; i <= 480; i++ { // 2 h at 15 s
		if i < 120 || i%60 == 0 {
			v += mb * r.Float64()
		}
		hw = append(hw, Point{T: t0.Add(time.Duration(i) * 15 * time.Second), V: v})
	}
	got := firstOf(FromRangeQuery(asQueried(hw, 7200*time.Millisecond), 7200*time.Millisecond))
	if len(got) < len(hw)/3 {
		t.Fatalf("high-water mark: kept %d points of %d samples: its holds were collapsed", len(got), len(hw))
	}
	last := got[len(got)-1].T
	if hw[len(hw)-1].T.Sub(last) > 30*time.Second {
		t.Fatalf("high-water mark: the last point is at %v, the series ends at %v", last, hw[len(hw)-1].T)
	}
}

func TestFromRangeQuery_GapFillIsOnePoint(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	raw := sample(2*time.Hour, 15*time.Second, goHeap(r, leakF(100*mb, 0, 0), 0.01))
	// A 10-minute scrape gap in the middle.
	var gapped []Point
	for _, p := range raw {
		if d := p.T.Sub(raw[0].T); d < time.Hour || d >= time.Hour+10*time.Minute {
			gapped = append(gapped, p)
		}
	}
	got := firstOf(FromRangeQuery(asQueried(gapped, 7200*time.Millisecond), 7200*time.Millisecond))
	if len(got) != len(gapped) {
		t.Fatalf("kept %d points, want the %d samples (the lookback's 5 minutes of fill as one)", len(got), len(gapped))
	}
}

// A 6-hour soak's samples span a little under 6 hours (a range query's
// grid, the first scrape after the start): it is judged as a 6-hour run.
var sixSpan = 6*time.Hour - 90*time.Second

func TestLeak_SixHourRunEndingShortOfSixHours(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	failed := 0
	const n = 100
	for range n {
		pts := sample(sixSpan, 30*time.Second, jvmHeap(r, leakF(100*mb, 2, 0), 0.01))
		if Leak("memory", pts, LeakOptions{}).Status == Fail {
			failed++
		}
	}
	if failed < n*9/10 {
		t.Fatalf("a 2 %%/h leak over 5h58m30s failed in %d of %d runs, want 9 in 10 or more (as over 6 h)", failed, n)
	}
}

func firstOf(pts []Point, _ time.Duration) []Point { return pts }

// An idle process's RSS repeats its value at its own scrapes, in runs of
// any length: not a step finer than the scrapes, left as it is.
func TestFromRangeQuery_TrueRepeatsLeft(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var pts []Point
	t0 := time.Unix(1e9, 0)
	v := 50 * mb
	for i := range 600 {
		if r.Float64() > 0.4 {
			v += 4096 * float64(r.IntN(3)-1)
		}
		pts = append(pts, Point{T: t0.Add(time.Duration(i) * time.Second), V: v})
	}
	if got, every := FromRangeQuery(pts, time.Second); len(got) != len(pts) || every != 0 {
		t.Fatalf("kept %d of %d points (scrape interval %v): true repeats were taken for a fine step", len(got), len(pts), every)
	}
}
