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
