// Package soak judges long runs: is memory leaking, is latency degrading,
// are errors or throughput drifting? It is pure analysis — series in,
// verdicts out, no I/O — so every detector is tested on generated series
// with a known truth.
package soak

import (
	"math"
	"slices"
	"time"

	tseries "github.com/horde-load/horde/internal/series"
)

// Point is one sample of a series (series.Point, named here for the
// analysis' own signatures).
type Point = tseries.Point

// Line is a fitted straight line over From..To: V0 at From, changing by
// SlopePerSec. Leak and Drift return the Theil–Sen line they judged, so a
// report can draw it over the series. The zero Line means no fit.
type Line struct {
	From, To    time.Time
	V0          float64
	SlopePerSec float64
}

// At returns the line's value at t (also outside From..To).
func (l Line) At(t time.Time) float64 {
	return l.V0 + l.SlopePerSec*t.Sub(l.From).Seconds()
}

// IsZero reports whether l is no fit.
func (l Line) IsZero() bool { return l.From.IsZero() && l.To.IsZero() }

// fitLine is the Theil–Sen line of (xs, ys), xs in seconds since t0, as a
// Line over from..to.
func fitLine(t0, from, to time.Time, xs, ys []float64) Line {
	slope, icept := TheilSen(xs, ys) // icept is the value at xs[0]
	x0 := 0.0
	if len(xs) > 0 {
		x0 = xs[0]
	}
	l := Line{From: from, To: to, SlopePerSec: slope}
	l.V0 = icept + slope*(from.Sub(t0).Seconds()-x0)
	return l
}

// maxPoints bounds the points the O(n²) estimators see; longer series are
// reduced bucket by bucket first.
const maxPoints = 600

// TheilSen returns the median of the slopes between every pair of points
// (per second) and the intercept at xs[0]: a line fit that ignores up to 29 %
// of outliers, unlike least squares.
func TheilSen(xs, ys []float64) (slope, intercept float64) {
	n := len(xs)
	if n < 2 {
		if n == 1 {
			return 0, ys[0]
		}
		return 0, 0
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dx := xs[j] - xs[i]; dx != 0 {
				slopes = append(slopes, (ys[j]-ys[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return 0, median(ys)
	}
	slope = median(slopes)
	res := make([]float64, n)
	for i := range xs {
		res[i] = ys[i] - slope*(xs[i]-xs[0])
	}
	return slope, median(res)
}

// MannKendall tests ys (in time order) for a monotonic trend. It returns
// Kendall's S, the normal score Z (with the tie correction) and the
// two-sided p-value. A small p means a trend; the sign of S its direction.
func MannKendall(ys []float64) (s float64, z float64, p float64) {
	n := len(ys)
	if n < 3 {
		return 0, 0, 1
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch d := ys[j] - ys[i]; {
			case d > 0:
				s++
			case d < 0:
				s--
			}
		}
	}
	// Variance with ties: n(n-1)(2n+5) - Σ t(t-1)(2t+5), over 18.
	sorted := slices.Clone(ys)
	slices.Sort(sorted)
	ties := 0.0
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			ties += t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	nf := float64(n)
	v := (nf*(nf-1)*(2*nf+5) - ties) / 18
	if v <= 0 {
		return s, 0, 1
	}
	switch {
	case s > 0:
		z = (s - 1) / math.Sqrt(v)
	case s < 0:
		z = (s + 1) / math.Sqrt(v)
	}
	p = math.Erfc(math.Abs(z) / math.Sqrt2)
	return s, z, p
}

// envelope reduces a series to at most buckets points, each the q-quantile
// of its time bucket (q = 0.1: the lower envelope, which follows the floor
// a garbage collector returns to and ignores its sawtooth; q = 0.5: a
// running median). Buckets without points are skipped. xs are seconds
// since the first point.
func envelope(pts []Point, buckets int, q float64) (xs, ys []float64) {
	if len(pts) == 0 || buckets <= 0 {
		return nil, nil
	}
	t0, t1 := pts[0].T, pts[len(pts)-1].T
	span := t1.Sub(t0)
	if span <= 0 || len(pts) <= buckets {
		for _, p := range pts {
			xs = append(xs, p.T.Sub(t0).Seconds())
			ys = append(ys, p.V)
		}
		return xs, ys
	}
	width := span / time.Duration(buckets)
	var cur []float64
	var curT []float64
	flush := func() {
		if len(cur) == 0 {
			return
		}
		xs = append(xs, median(curT))
		ys = append(ys, quantile(cur, q))
		cur, curT = cur[:0], curT[:0]
	}
	b := 0
	for _, p := range pts {
		i := min(int(p.T.Sub(t0)/width), buckets-1)
		if i != b {
			flush()
			b = i
		}
		cur = append(cur, p.V)
		curT = append(curT, p.T.Sub(t0).Seconds())
	}
	flush()
	return xs, ys
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// quantile returns the q-quantile of v (linear interpolation), without
// changing v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return s[lo]
	}
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}
