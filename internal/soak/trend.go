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
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	V0          float64   `json:"v0"`
	SlopePerSec float64   `json:"slope_per_sec"`
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
// of outliers, unlike least squares. Pairs with a non-finite value are
// skipped. It costs O(n²): more than 2,000 points are first reduced to 600
// (the medians of consecutive runs of points), so any n is answered in
// milliseconds.
func TheilSen(xs, ys []float64) (slope, intercept float64) {
	xs, ys = pairsToFit(xs, ys)
	n := len(xs)
	if n < 2 {
		if n == 1 && isFinite(ys[0]) {
			return 0, ys[0]
		}
		return 0, 0
	}
	slopes := pairSlopes(xs, ys)
	if len(slopes) == 0 {
		if m := median(finite(ys)); isFinite(m) {
			return 0, m
		}
		return 0, 0
	}
	slope = median(slopes)
	res := make([]float64, 0, n)
	for i := range xs {
		if v := ys[i] - slope*(xs[i]-xs[0]); isFinite(v) {
			res = append(res, v)
		}
	}
	if len(res) == 0 {
		return slope, 0
	}
	return slope, median(res)
}

// pairsToFit cuts xs and ys to the same length and reduces more than 2,000
// points to maxPoints, for the O(n²) slope estimates.
func pairsToFit(xs, ys []float64) ([]float64, []float64) {
	n := min(len(xs), len(ys))
	xs, ys = xs[:n], ys[:n]
	if n > 2000 {
		xs, ys = reduceXY(xs, ys, maxPoints)
	}
	return xs, ys
}

// pairSlopes are the finite slopes between every two points of (xs, ys)
// with different xs.
func pairSlopes(xs, ys []float64) []float64 {
	n := len(xs)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if dx := xs[j] - xs[i]; dx != 0 {
				if s := (ys[j] - ys[i]) / dx; isFinite(s) {
					slopes = append(slopes, s)
				}
			}
		}
	}
	return slopes
}

// reduceXY replaces runs of consecutive points by their medians, to at
// most k points.
func reduceXY(xs, ys []float64, k int) (rx, ry []float64) {
	n := len(xs)
	for b := 0; b < k; b++ {
		lo, hi := b*n/k, (b+1)*n/k
		if hi <= lo {
			continue
		}
		mx, my := median(finite(xs[lo:hi])), median(finite(ys[lo:hi]))
		if isFinite(mx) && isFinite(my) {
			rx, ry = append(rx, mx), append(ry, my)
		}
	}
	return rx, ry
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// MannKendall tests ys (in time order) for a monotonic trend. It returns
// Kendall's S, the normal score Z (with the tie correction) and the
// two-sided p-value. A small p means a trend; the sign of S its direction.
// Non-finite values are left out. It counts S in O(n log n) (by merge
// sort), so a million values take well under a second.
func MannKendall(ys []float64) (s float64, z float64, p float64) {
	ys = finite(ys)
	n := len(ys)
	if n < 3 {
		return 0, 0, 1
	}
	s = kendallS(ys)
	v := mkVariance(ys)
	if v <= 0 {
		return s, 0, 1
	}
	z, p = mkZ(s, v)
	return s, z, p
}

func mkZ(s, v float64) (z, p float64) {
	switch {
	case s > 0:
		z = (s - 1) / math.Sqrt(v)
	case s < 0:
		z = (s + 1) / math.Sqrt(v)
	}
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}

// mkVariance is Var(S) with ties: n(n-1)(2n+5) - Σ t(t-1)(2t+5), over 18.
func mkVariance(ys []float64) float64 {
	n := len(ys)
	sorted := slices.Clone(ys)
	slices.Sort(sorted)
	ties := 0.0
	for i := 0; i < n; {
		j := i + 1 // always advances, whatever the values
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		if t := float64(j - i); t > 1 {
			ties += t * (t - 1) * (2*t + 5)
		}
		i = j
	}
	nf := float64(n)
	return (nf*(nf-1)*(2*nf+5) - ties) / 18
}

// kendallS is Σ_{i<j} sign(ys[j]-ys[i]) for finite ys: the pairs minus
// the tied pairs minus twice the strictly decreasing pairs (inversions,
// counted while merge-sorting).
func kendallS(ys []float64) float64 {
	n := len(ys)
	a := slices.Clone(ys)
	buf := make([]float64, n)
	inv := 0.0
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n-width; lo += 2 * width {
			mid, hi := lo+width, min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if a[i] <= a[j] {
					buf[k] = a[i]
					i++
				} else {
					inv += float64(mid - i) // every left value left is > a[j]
					buf[k] = a[j]
					j++
				}
				k++
			}
			k += copy(buf[k:], a[i:mid])
			copy(buf[k:], a[j:hi])
			copy(a[lo:hi], buf[lo:hi])
		}
	}
	tied := 0.0
	for i := 0; i < n; {
		j := i + 1
		for j < n && a[j] == a[i] {
			j++
		}
		t := float64(j - i)
		tied += t * (t - 1) / 2
		i = j
	}
	nf := float64(n)
	return nf*(nf-1)/2 - tied - 2*inv
}

// MannKendallHR is MannKendall with Hamed and Rao's (1998) correction for
// autocorrelation: the variance of S is inflated by n/n*, computed from the
// significant (5 %) autocorrelations of the ranks of the detrended series
// (Theil–Sen). A series whose neighbours resemble each other (a slow
// wave, a saturating curve) carries fewer independent samples than it has
// points; without the correction the test is over-confident. nEff is n*,
// the effective number of samples (n when there is no correction).
func MannKendallHR(ys []float64) (s, z, p, nEff float64) {
	ys = finite(ys)
	n := len(ys)
	if n < 3 {
		return 0, 0, 1, float64(n)
	}
	s = kendallS(ys)
	v := mkVariance(ys)
	nf := float64(n)
	nEff = nf
	if n >= 10 {
		ratio := hamedRaoRatio(ys)
		v *= ratio
		nEff = nf / ratio
	}
	if v <= 0 {
		return s, 0, 1, nEff
	}
	z, p = mkZ(s, v)
	return s, z, p, nEff
}

// hamedRaoRatio is n/n* = 1 + 2/(n(n-1)(n-2)) Σ_k (n-k)(n-k-1)(n-k-2) ρ_k
// over the significant lag-k autocorrelations ρ_k of the ranks of the
// detrended ys (lags up to n/3, at most 200; series longer than 2,000 are
// reduced first). Never below 1: the correction only widens.
func hamedRaoRatio(ys []float64) float64 {
	hr, _, _ := varianceRatios(ys)
	return hr
}

// persistenceRatio is n/n* for a series whose neighbours correlate over
// more lags than 40 or so points can show significant (a latency that
// wanders for minutes, read as 40 bucket medians: its lags of 0.6, 0.4,
// 0.25, ... fall below ±1.96/√40, and Hamed–Rao counts only the first):
// the sum over every lag up to the first autocorrelation that is not
// positive (the initial positive sequence, Geyer 1992), each lag raised by
// the bias an estimated mean leaves in it (about n*/n, iterated to a fixed
// point). With ar, the larger of that and the ratio of an AR(1) process
// with the lag-1 autocorrelation corrected for its small-sample bias of
// −(1+4ρ)/n (Marriott and Pope 1954): right for a wander, too wide where
// neighbouring points share their samples (a moving average's
// autocorrelation ends, an AR(1)'s does not).
func persistenceRatio(ys []float64, ar bool) float64 {
	_, ips, ar1 := varianceRatios(ys)
	if ar {
		return max(ips, ar1)
	}
	return ips
}

// varianceRatios computes hamedRaoRatio (hr) and persistenceRatio's two
// (ips, ar1) from one set of autocorrelations.
func varianceRatios(ys []float64) (hr, ips, ar1 float64) {
	if len(ys) > 2000 {
		xs := make([]float64, len(ys))
		for i := range xs {
			xs[i] = float64(i)
		}
		_, ys = reduceXY(xs, ys, maxPoints)
	}
	n := len(ys)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	slope, _ := TheilSen(xs, ys)
	res := make([]float64, n)
	for i := range ys {
		res[i] = ys[i] - slope*float64(i)
	}
	r := ranks(res)
	mean := (float64(n) + 1) / 2
	var den float64
	for _, v := range r {
		den += (v - mean) * (v - mean)
	}
	if den == 0 {
		return 1, 1, 1
	}
	nf := float64(n)
	weight := func(k float64) float64 { return (nf - k) * (nf - k - 1) * (nf - k - 2) }
	ratio := func(sum float64) float64 {
		v := 1 + 2/(nf*(nf-1)*(nf-2))*sum
		if !isFinite(v) || v < 1 {
			return 1
		}
		return v
	}
	bound := 1.96 / math.Sqrt(nf)
	lags := min(n/3, 200)
	rhos := make([]float64, lags+1)
	var sig float64
	for k := 1; k <= lags; k++ {
		var num float64
		for i := 0; i+k < n; i++ {
			num += (r[i] - mean) * (r[i+k] - mean)
		}
		rhos[k] = num / den
		if math.Abs(rhos[k]) > bound {
			sig += weight(float64(k)) * rhos[k]
		}
	}
	ips = 1
	for range 4 {
		bias, run := ips/nf, 0.0
		for k := 1; k <= lags && rhos[k]+bias > 0; k++ {
			run += weight(float64(k)) * (rhos[k] + bias)
		}
		ips = ratio(run)
	}
	ar1 = 1
	if lags >= 1 {
		if rc := min(rhos[1]+(1+4*rhos[1])/nf, 0.95); rc > 0 {
			var sum float64
			for j, pow := 1, rc; j < n-2; j, pow = j+1, pow*rc {
				sum += weight(float64(j)) * pow
			}
			ar1 = ratio(sum)
		}
	}
	return ratio(sig), ips, ar1
}

// ranks returns the rank of each value (1..n, ties averaged).
func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && v[idx[j]] == v[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // the mean of ranks i+1..j
		for k := i; k < j; k++ {
			out[idx[k]] = r
		}
		i = j
	}
	return out
}

// envelope reduces a series to at most buckets points, each the q-quantile
// of its time bucket (q = 0.1: the lower envelope, which follows the floor
// a garbage collector returns to and ignores its sawtooth; q = 0.5: a
// running median). Buckets without points are skipped. xs are seconds
// since the first point.
func envelope(pts []Point, buckets int, q float64) (xs, ys []float64) {
	xs, yss := envelopes(pts, buckets, []float64{q})
	if yss == nil {
		return xs, nil
	}
	return xs, yss[0]
}

// envelopes is envelope at several quantiles qs at once, each bucket
// sorted once: yss[i] holds quantile qs[i] of each bucket.
func envelopes(pts []Point, buckets int, qs []float64) (xs []float64, yss [][]float64) {
	if len(pts) == 0 || buckets <= 0 {
		return nil, nil
	}
	yss = make([][]float64, len(qs))
	t0, t1 := pts[0].T, pts[len(pts)-1].T
	span := t1.Sub(t0)
	if span <= 0 || len(pts) <= buckets {
		for _, p := range pts {
			xs = append(xs, p.T.Sub(t0).Seconds())
			for i := range qs {
				yss[i] = append(yss[i], p.V)
			}
		}
		return xs, yss
	}
	width := span / time.Duration(buckets)
	if width <= 0 {
		width = 1
	}
	var cur []float64
	var curT []float64
	flush := func() {
		if len(cur) == 0 {
			return
		}
		xs = append(xs, median(curT))
		slices.Sort(cur)
		for i, q := range qs {
			yss[i] = append(yss[i], sortedQuantile(cur, q))
		}
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
	return xs, yss
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
	return sortedQuantile(s, q)
}

// sortedQuantile is quantile of s, sorted and not empty.
func sortedQuantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return s[lo]
	}
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Day is the period of the daily cycle Leak removes from windows of
// DailyCycleMin or longer.
const (
	Day           = 24 * time.Hour
	DailyCycleMin = 20 * time.Hour
)

// removeDaily returns ys without its daily cycle: a line and a 24 h
// harmonic (sine and cosine) are fitted together by least squares, and
// the harmonic alone is subtracted, so a trend stays and a diurnal load
// cycle seen over a day or two is not mistaken for one (Cleveland et al.
// 1990 decompose by season the same way, with loess). It returns ys
// unchanged when the fit is singular.
func removeDaily(xs, ys []float64) []float64 {
	bs, bc, ok := dailyHarmonic(xs, ys)
	if !ok {
		return ys
	}
	out := make([]float64, len(xs))
	for i := range xs {
		out[i] = ys[i] - daily(bs, bc, xs[i])
	}
	return out
}

// daily is the 24 h harmonic with coefficients bs (sine) and bc (cosine)
// at x seconds since the epoch.
func daily(bs, bc, x float64) float64 {
	w := 2 * math.Pi / Day.Seconds()
	return bs*math.Sin(w*x) + bc*math.Cos(w*x)
}

// dailyHarmonic fits a line and a 24 h harmonic to ys at xs (seconds since
// the epoch) together by least squares and returns the harmonic's sine
// and cosine coefficients; ok is false when the fit is singular.
func dailyHarmonic(xs, ys []float64) (bs, bc float64, ok bool) {
	n := len(xs)
	if n < 8 {
		return 0, 0, false
	}
	w := 2 * math.Pi / Day.Seconds()
	var a [4][5]float64 // normal equations, augmented
	for i := range xs {
		row := [4]float64{1, xs[i] - xs[0], math.Sin(w * xs[i]), math.Cos(w * xs[i])}
		for r := range 4 {
			for c := range 4 {
				a[r][c] += row[r] * row[c]
			}
			a[r][4] += row[r] * ys[i]
		}
	}
	// Gauss–Jordan with partial pivoting.
	for c := range 4 {
		p := c
		for r := c + 1; r < 4; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12*(1+math.Abs(a[c][c])) {
			return 0, 0, false
		}
		a[c], a[p] = a[p], a[c]
		for r := range 4 {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 5; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	bs, bc = a[2][4]/a[2][2], a[3][4]/a[3][3]
	if !isFinite(bs) || !isFinite(bc) {
		return 0, 0, false
	}
	return bs, bc, true
}

// saturating fits ys ≈ a − b·exp(−(x−x0)/τ) (growth that approaches a
// level) against a straight line, by least squares, τ searched on a log
// grid from a fiftieth of the span to half of it. It reports whether the
// saturating curve is the better model by the Bayesian information
// criterion (Schwarz 1978) by more than 6 (strong evidence, Kass and
// Raftery 1995) with b > 0 (rising to a level), and the curve's slope at
// the last point: what growth is left.
func saturating(xs, ys []float64) (better bool, endSlope, tau float64) {
	n := len(xs)
	if n < 6 {
		return false, 0, 0
	}
	span := xs[n-1] - xs[0]
	if !(span > 0) {
		return false, 0, 0
	}
	fit2 := func(f []float64) (sse, a, b float64) {
		// ys ≈ a + b·f by least squares.
		var sf, sy, sff, sfy float64
		for i := range f {
			sf += f[i]
			sy += ys[i]
			sff += f[i] * f[i]
			sfy += f[i] * ys[i]
		}
		nf := float64(n)
		den := nf*sff - sf*sf
		if den == 0 {
			return math.Inf(1), 0, 0
		}
		b = (nf*sfy - sf*sy) / den
		a = (sy - b*sf) / nf
		for i := range f {
			r := ys[i] - a - b*f[i]
			sse += r * r
		}
		return sse, a, b
	}
	lin := make([]float64, n)
	for i := range xs {
		lin[i] = xs[i] - xs[0]
	}
	sseLin, _, _ := fit2(lin)
	best, bestTau, bestB := math.Inf(1), 0.0, 0.0
	e := make([]float64, n)
	for k := 0; k <= 24; k++ {
		tau := span / 50 * math.Pow(25, float64(k)/24) // span/50 .. span/2
		for i := range xs {
			e[i] = -math.Exp(-(xs[i] - xs[0]) / tau)
		}
		sse, _, b := fit2(e)
		if sse < best {
			best, bestTau, bestB = sse, tau, b
		}
	}
	if !(best < sseLin) || !(bestB > 0) {
		return false, 0, 0
	}
	nf := float64(n)
	floor := 1e-12 * (1 + sseLin)
	bic := func(sse float64, k float64) float64 { return nf*math.Log(max(sse, floor)/nf) + k*math.Log(nf) }
	if bic(best, 3) >= bic(sseLin, 2)-6 {
		return false, 0, 0
	}
	return true, bestB / bestTau * math.Exp(-span/bestTau), bestTau
}

// SenInterval is the confidence interval of the Theil–Sen slope of
// (xs, ys) at two-sided normal quantile z (Sen 1968; Gilbert 1987,
// §16.5): the pairwise slopes ranked, and the interval between ranks
// (N − C)/2 and (N + C)/2 + 1, where N is the number of slopes and
// C = z·√Var(S) is Mann–Kendall's S at that level, its variance widened
// for autocorrelation as MannKendallHR does. With fewer than three
// points it is (−Inf, +Inf).
func SenInterval(xs, ys []float64, z float64) (lo, hi float64) {
	xs, ys = pairsToFit(xs, ys)
	n := len(xs)
	if n < 3 {
		return math.Inf(-1), math.Inf(1)
	}
	slopes := pairSlopes(xs, ys)
	if len(slopes) < 3 {
		return math.Inf(-1), math.Inf(1)
	}
	slices.Sort(slopes)
	v := mkVariance(ys)
	if n >= 10 {
		v *= hamedRaoRatio(ys)
	}
	c := z * math.Sqrt(max(v, 0))
	nn := float64(len(slopes))
	l := int(math.Floor((nn - c) / 2))
	u := int(math.Ceil((nn+c)/2)) + 1
	lo, hi = math.Inf(-1), math.Inf(1)
	if l >= 1 {
		lo = slopes[l-1]
	}
	if u <= len(slopes) {
		hi = slopes[u-1]
	}
	return lo, hi
}
