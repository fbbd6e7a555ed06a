package soak

import (
	"math"
	"time"
)

// collectorLookback is how many of the major collections before a drop
// collectorDrop compares it with, and collectorLeast the fewest.
const (
	collectorLookback = 8
	collectorLeast    = 4
)

// withoutCollections drops from resets (the restarts detectRestarts found
// in pts, clean and in time order) those a garbage collector's major
// collection explains (collectorDrop). It is asked of a series whose kind
// its name does not tell (KindUnknown): it may be a heap, whose full
// collections drop it as far as a restart would, and a restart is
// inferred only from evidence (issue #25), never from a drop a heap
// makes at every collection.
func withoutCollections(pts []Point, resets []int, o LeakOptions) []int {
	var kept []int
	a := 0
	for _, i := range resets {
		if collectorDrop(pts, a, i, o.MinRestartEvery) {
			continue
		}
		kept = append(kept, i)
		a = i
	}
	return kept
}

// collectorDrop reports whether the drop at pts[i] (pts[a:] the segment
// it ends, from the last restart kept) is one more of the series' major
// collections rather than a restart: the segment holds collectorLeast or
// more earlier drops of its lower envelope as large as half the largest
// (majorDrops: a sawtooth of major collections), and the lowest samples
// after this drop lie within the scatter of the lows after the last of
// them (collectorLookback): no more than three robust standard
// deviations of their residuals below their Theil–Sen line, carried to
// this drop.
//
// A major collection (a JVM's full GC) takes the heap back to its live
// set, what the program holds: where the collections before it left it,
// plus what a leak added since, give or take the young generation's
// phase. A restart takes the process back to what it held when it
// started, below the live set it had built up (warm caches, pools, a
// leak's garbage): under the line of the lows before it, by more than
// their scatter (an OOM-killed container back at its baseline; one of
// several pods restarting, the sum's lows climbing steadily until then;
// a deploy whose fresh process warms up again).
func collectorDrop(pts []Point, a, i int, every time.Duration) bool {
	low, line, sigma, n, gap := landing(pts, a, i)
	return n >= collectorLeast && gap < every && low >= line-3*sigma
}

// landing is where the drop at pts[i] landed (the lowest of the
// majorDropSpan samples from i on), and the line of where the last
// collectorLookback major collections before it in pts[a:] landed,
// carried to it, with their residuals' robust standard deviation (1.4826
// times their median absolute deviation) and how many there were.
func landing(pts []Point, a, i int) (low, line, sigma float64, n int, gap time.Duration) {
	end := min(len(pts), i+majorDropSpan)
	seg := pts[a:end]
	at, _ := majorDrops(seg)
	var xs, ys []float64
	for _, j := range at {
		if a+j > i-majorDropSpan {
			break // this drop, or one merged with it
		}
		xs = append(xs, seg[j].T.Sub(pts[i].T).Seconds())
		ys = append(ys, lowAfter(seg, j))
	}
	low = lowAfter(seg, i-a)
	if len(xs) < 2 {
		return low, 0, 0, len(xs), 0
	}
	k := max(0, len(xs)-collectorLookback)
	xs, ys = xs[k:], ys[k:]
	gaps := make([]float64, len(xs))
	for j := range xs {
		next := 0.0 // the drop's own time
		if j+1 < len(xs) {
			next = xs[j+1]
		}
		gaps[j] = next - xs[j]
	}
	slope, icept := TheilSen(xs, ys) // icept: the line at xs[0]; the drop is at x = 0
	res := make([]float64, len(xs))
	for j := range xs {
		res[j] = math.Abs(ys[j] - (icept + slope*(xs[j]-xs[0])))
	}
	return low, icept - slope*xs[0], 1.4826 * median(res), len(xs), time.Duration(median(gaps) * float64(time.Second))
}

// lowAfter is the lowest of the majorDropSpan samples of pts from j on:
// where a drop at j landed.
func lowAfter(pts []Point, j int) float64 {
	low := pts[j].V
	for _, p := range pts[j:min(len(pts), j+majorDropSpan)] {
		low = min(low, p.V)
	}
	return low
}
