package soak

import (
	"fmt"
	"math"
	"time"
)

// DriftOptions tune Drift. Zero values take the defaults.
type DriftOptions struct {
	// Worse is the direction that is bad: +1 when a rise is bad (latency,
	// error rate), -1 when a fall is (throughput).
	Worse int
	// FailPct is the change, last quarter against first quarter, that fails
	// when the trend is significant (the seed's degradation rule: 20 %).
	FailPct float64
	// Absolute compares in absolute units instead of percent (error rates
	// start at 0, where a relative change means nothing): FailPct is then
	// in the series' own units (for an error ratio in %, points of %).
	Absolute bool
	Warmup   time.Duration // cut from the start; default as LeakOptions
	Alpha    float64
}

// DefaultDegradationPct is the seed analyser's rule: the last quarter's
// p95 more than 20 % above the first quarter's.
const DefaultDegradationPct = 20

// DriftResult is the verdict on one series.
type DriftResult struct {
	Name        string
	Status      Status
	Reason      string
	First, Last float64 // medians of the first and last quarters
	ChangePct   float64 // Last vs First, in % (or units when Absolute)
	SlopePerSec float64 // Theil–Sen slope of the running median
	P           float64 // Mann–Kendall p-value
	Points      int
	// Fit is the Theil–Sen line of the running median over the window
	// judged (after the warm-up), for drawing; zero when there were too
	// few samples.
	Fit Line
}

// Drift judges whether a series got worse over a run: it compares the
// median of the last quarter with the first (after the warm-up) and tests
// the running median (40 buckets) for a monotonic trend. A change past
// FailPct in the bad direction fails when the trend is significant and
// warns when it is not (a jump that did not last); half of it with a
// significant trend warns.
func Drift(name string, pts []Point, o DriftOptions) DriftResult {
	if o.Worse == 0 {
		o.Worse = 1
	}
	if o.FailPct <= 0 {
		o.FailPct = DefaultDegradationPct
	}
	if o.Alpha <= 0 {
		o.Alpha = DefaultAlpha
	}
	r := DriftResult{Name: name, Status: Pass}
	pts, _ = cutWarmup(pts, o.Warmup)
	var vals []float64
	var kept []Point
	for _, p := range pts {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			vals = append(vals, p.V)
			kept = append(kept, p)
		}
	}
	r.Points = len(vals)
	if len(vals) < 8 {
		r.Reason = fmt.Sprintf("%s: only %d samples after the warm-up, not enough to judge", name, len(vals))
		return r
	}
	q := len(vals) / 4
	r.First, r.Last = median(vals[:q]), median(vals[len(vals)-q:])
	switch {
	case o.Absolute:
		r.ChangePct = r.Last - r.First
	case r.First != 0:
		r.ChangePct = (r.Last - r.First) / math.Abs(r.First) * 100
	}
	xs, ys := envelope(kept, envelopeBuckets, 0.5)
	r.SlopePerSec, _ = TheilSen(xs, ys)
	r.Fit = fitLine(kept[0].T, kept[0].T, kept[len(kept)-1].T, xs, ys)
	s, _, p := MannKendall(ys)
	r.P = p
	worse := float64(o.Worse) * r.ChangePct
	trendWorse := p < o.Alpha && float64(o.Worse)*s > 0
	unit := "%"
	if o.Absolute {
		unit = " points"
	}
	switch {
	case worse >= o.FailPct && trendWorse:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%s, last quarter vs first) with a significant trend (p=%.2g)", name, r.First, r.Last, r.ChangePct, unit, p)
	case worse >= o.FailPct:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%s) but without a steady trend (p=%.2g): a jump, not a drift", name, r.First, r.Last, r.ChangePct, unit, p)
	case worse >= o.FailPct/2 && trendWorse:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s drifts (%+.1f%s, p=%.2g), below the %.0f%s that fails", name, r.ChangePct, unit, p, o.FailPct, unit)
	default:
		r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%s, last quarter vs first)", name, r.First, r.Last, r.ChangePct, unit)
	}
	return r
}
