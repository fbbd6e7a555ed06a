package soak

import (
	"math"
	"slices"
	"time"
)

// Clean returns pts without what the estimators cannot use: samples whose
// value is NaN or ±Inf (Prometheus returns "NaN" for a failed division) or
// whose time is zero, in time order (a stable sort, so equal times keep
// their order), with one sample per timestamp (the last one given). It
// does not change pts and returns how many samples it dropped. Gaps are
// kept: the estimators work on time, not on sample indices.
func Clean(pts []Point) (out []Point, dropped int) {
	out = make([]Point, 0, len(pts))
	for _, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.T.IsZero() {
			continue
		}
		out = append(out, p)
	}
	if !slices.IsSortedFunc(out, cmpPointT) {
		slices.SortStableFunc(out, cmpPointT)
	}
	w := 0
	for i, p := range out {
		if i+1 < len(out) && out[i+1].T.Equal(p.T) {
			continue // a later sample at the same time wins
		}
		out[w] = p
		w++
	}
	out = out[:w]
	return out, len(pts) - len(out)
}

func cmpPointT(a, b Point) int { return a.T.Compare(b.T) }

// finite drops non-finite values from ys.
func finite(ys []float64) []float64 {
	for _, y := range ys {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			out := make([]float64, 0, len(ys))
			for _, y := range ys {
				if !math.IsNaN(y) && !math.IsInf(y, 0) {
					out = append(out, y)
				}
			}
			return out
		}
	}
	return ys
}

// medianStep is the median time between consecutive samples (pts in time
// order), or 0 with fewer than two.
func medianStep(pts []Point) time.Duration {
	if len(pts) < 2 {
		return 0
	}
	// A sample of the steps is enough, and bounded.
	stride := max(1, (len(pts)-1)/1000)
	var d []float64
	for i := stride; i < len(pts); i += stride {
		d = append(d, float64(pts[i].T.Sub(pts[i-stride].T))/float64(stride))
	}
	return time.Duration(median(d))
}

// FromRangeQuery undoes what a Prometheus range query at a step finer than
// the series' scrape interval does to it: every sample is repeated at each
// step until the next one (and up to the 5-minute lookback into a gap), so
// a 15-second scrape read at a 7.2-second step (the step `horde analyze
// --prometheus` takes for 2 hours) shows each value two or three times,
// and a 30-second one read at 21.6 s (6 hours) every other value twice.
// The repeats are not observations: they make a trend test count more
// samples than it has, and fill a scrape gap with a flat line.
//
// Such a series is told from one whose value truly held still (an idle
// process's RSS, a high-water mark) by the regularity of its runs of
// equal values: at a step finer than the scrapes every run is ⌊ρ⌋ or ⌈ρ⌉
// points long (ρ, the scrape interval over the step, is the mean run
// length), where a value that holds still makes runs of any length. When
// the mean run is 1.2 points or more and fewer than one run in twenty is
// longer than ⌊ρ⌋+1 (a run that a gap ends aside: the lookback's fill),
// each run keeps its first point (the first step that saw the sample) and,
// in a longer run, a point every ρ steps; a run that a gap ends keeps only
// its first. Otherwise pts is returned as it is. step is the query's step;
// every is the scrape interval found (0 when pts is returned as it is).
func FromRangeQuery(pts []Point, step time.Duration) (kept []Point, every time.Duration) {
	if len(pts) < 20 || step <= 0 {
		return pts, 0
	}
	type run struct {
		from, n int
		fill    bool // a gap in the returned points ends it
	}
	var runs []run
	for i := 0; i < len(pts); {
		j := i
		for j+1 < len(pts) && pts[j+1].V == pts[i].V {
			j++
		}
		fill := j > i && j+1 < len(pts) && pts[j+1].T.Sub(pts[j].T) > step*3/2
		runs = append(runs, run{i, j - i + 1, fill})
		i = j + 1
	}
	points, counted := 0, 0
	for _, r := range runs {
		if !r.fill {
			points += r.n
			counted++
		}
	}
	if counted < 10 {
		return pts, 0
	}
	rho := float64(points) / float64(counted)
	if rho < 1.2 {
		return pts, 0
	}
	longest := int(rho) + 1
	long := 0
	for _, r := range runs {
		if !r.fill && r.n > longest {
			long++
		}
	}
	if long*20 > counted {
		return pts, 0
	}
	every = time.Duration(rho * float64(step))
	kept = make([]Point, 0, int(float64(len(pts))/rho)+1)
	for _, r := range runs {
		kept = append(kept, pts[r.from])
		if r.fill {
			continue
		}
		for k := r.from + 1; k < r.from+r.n; k++ {
			if pts[k].T.Sub(kept[len(kept)-1].T) >= every*3/2 {
				kept = append(kept, pts[k])
			}
		}
	}
	return kept, every
}
