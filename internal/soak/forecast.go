package soak

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
)

// DefaultForecastZ is the two-sided normal quantile of a forecast's
// interval: 99 % for the slope, which leaves room for what the slope's
// interval does not hold (the level at the end, the rate's own wander in
// the future) and keeps the true time to exhaustion inside the interval in 9 runs of
// 10 at least (TestForecast_Coverage).
const DefaultForecastZ = 2.576

// maxForecast caps a forecast: past it "never" is as good an answer.
const maxForecast = 100 * 365 * 24 * time.Hour

// Forecast is when a growing series reaches its limit: the top's
// lasting Theil–Sen line extrapolated from its level at the end of the
// window, with an interval from the 99 % confidence interval of its slope
// (Sen 1968, widened for autocorrelation as the trend test is) turning
// about the data's centre, the rates of the window's quarters going on
// from its end, the level's standard error and the sampling step.
type Forecast struct {
	Limit float64   // the limit the series runs into
	Level float64   // the fitted level at the end of the window
	At    time.Time // the end of the window: the forecast counts from here
	// SlopePerSec is the lasting growth rate; SlopeLo and SlopeHi its
	// interval.
	SlopePerSec, SlopeLo, SlopeHi float64
	// In, Lo and Hi are the time from At to the limit at the slope, and at
	// the interval's ends; HiNever is set when the interval's slow end does
	// not grow at all (the limit may never be reached).
	In, Lo, Hi time.Duration
	HiNever    bool
	// Reached is set when the level is at or past the limit already.
	Reached bool
}

// MarshalJSON writes durations in seconds.
func (f Forecast) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Limit       float64   `json:"limit"`
		Level       float64   `json:"level"`
		At          time.Time `json:"at"`
		SlopePerSec float64   `json:"slope_per_sec"`
		SlopeLo     float64   `json:"slope_lo"`
		SlopeHi     float64   `json:"slope_hi"`
		InS         float64   `json:"in_s"`
		LoS         float64   `json:"lo_s"`
		HiS         float64   `json:"hi_s"`
		HiNever     bool      `json:"hi_never"`
		Reached     bool      `json:"reached"`
	}{jf(f.Limit), jf(f.Level), f.At, jf(f.SlopePerSec), jf(f.SlopeLo), jf(f.SlopeHi),
		f.In.Seconds(), f.Lo.Seconds(), f.Hi.Seconds(), f.HiNever, f.Reached})
}

// A forecast's interval holds the slopes of rateSegments parts of the
// window (or of its halves), each of minRateSegment buckets at least.
const (
	rateSegments   = 4
	minRateSegment = 3
)

// forecastQuantile is the level of each time bucket a forecast follows:
// near the top, where the limit is reached first.
const forecastQuantile = 0.95

// ForecastLimit forecasts when pts (a growing series: memory, open fds,
// pool slots in use, disk used) reaches limit. warmup is cut from the
// start (0: LeakWarmup), and only the part after the last restart counts.
// The level is the top of the series (the 95th percentile of each time
// bucket): the limit is reached when the peaks reach it, the top of a
// garbage collector's sawtooth or a count's busiest moment. ok is false when there is nothing to
// forecast: too few points, no limit, or no growth.
func ForecastLimit(pts []Point, warmup time.Duration, restarts []time.Time, limit float64, z float64) (f Forecast, ok bool) {
	if !(limit > 0) || !isFinite(limit) {
		return f, false
	}
	if !(z > 0) {
		z = DefaultForecastZ
	}
	pts, _ = Clean(pts)
	if len(pts) < minSamples {
		return f, false
	}
	if n := len(restarts); n > 0 {
		last := slices.MaxFunc(restarts, func(a, b time.Time) int { return a.Compare(b) })
		i, _ := slices.BinarySearchFunc(pts, last, func(p Point, t time.Time) int { return p.T.Compare(t) })
		if len(pts)-i >= minSamples {
			pts = pts[i:]
		}
	}
	if warmup <= 0 {
		warmup = LeakWarmup(pts[len(pts)-1].T.Sub(pts[0].T))
	}
	pts, _ = cutWarmup(pts, warmup)
	if len(pts) < minSamples {
		return f, false
	}
	// The peaks run out first: a process dies when its count (or a
	// collector's sawtooth at its top) reaches the limit, not its floor.
	buckets := min(envelopeBuckets, max(minBuckets, len(pts)/3))
	xs, ys := topsAtMiddles(pts, buckets, forecastQuantile)
	if len(xs) < minSamples {
		return f, false
	}
	slope, icept := TheilSen(xs, ys)
	// Two kinds of uncertainty in the rate, each around its own pivot.
	// The slope's confidence interval (Sen 1968, widened for the
	// residuals' autocorrelation) is the line's estimate: a steeper or
	// flatter line through the data turns about the data's centre, so the
	// level it has at the window's end moves with it, and the crossing
	// with the distance from the centre to the limit, not from the end.
	slo, shi := SenInterval(xs, ys, z)
	// The rate may also go on at the pace of any quarter of the window (or
	// half, when quarters would be too short): a request rate that wanders
	// (a busy neighbour, a load that is not quite steady) moves the
	// crossing more than the slope's noise does. That wander is the
	// future's: it goes on from the level at the window's end.
	qlo, qhi := slope, slope
	for _, n := range []int{rateSegments, 2} {
		if len(xs)/n < minRateSegment {
			continue
		}
		for i := range n {
			a, b := i*len(xs)/n, (i+1)*len(xs)/n
			if si, _ := TheilSen(xs[a:b], ys[a:b]); isFinite(si) {
				qlo, qhi = min(qlo, si), max(qhi, si)
			}
		}
		break
	}
	// The level at the end of the window, At, not at the last bucket's
	// middle: the forecast counts from At.
	end := pts[len(pts)-1].T.Sub(pts[0].T).Seconds()
	f = Forecast{Limit: limit, At: pts[len(pts)-1].T, SlopePerSec: slope, SlopeLo: min(slo, qlo), SlopeHi: max(shi, qhi)}
	f.Level = icept + slope*(end-xs[0])
	// The centre the line turns about: the middle of the fitted buckets
	// (Theil–Sen's line goes through the median residual, the level there
	// known best), and its level.
	xc := median(xs)
	yc := icept + slope*(xc-xs[0])
	lever := max(end-xc, 0) // seconds from the centre to At
	// The level's own uncertainty: the residuals' spread, as the standard
	// error of a median (1.2533 σ/√n, σ from the MAD).
	res := make([]float64, len(xs))
	for i := range xs {
		res[i] = math.Abs(ys[i] - (icept + slope*(xs[i]-xs[0])))
	}
	levelErr := z * 1.2533 * 1.4826 * median(res) / math.Sqrt(float64(len(xs)))
	// The last point counts: a count that reached its limit is there.
	level := max(f.Level, ys[len(ys)-1])
	if level >= limit {
		f.Reached, f.Level = true, level
		return f, true
	}
	if !(slope > 0) {
		return f, false
	}
	left := limit - f.Level
	f.In = durationOf(left / slope)
	// The data cannot place the crossing better than its sampling step,
	// nor its samples in time better than a step: a scrape on a busy
	// machine answers up to a step late. Two steps each side.
	step := 2 * medianStep(pts).Seconds()
	// The early end: the steeper line through the centre, or the fastest
	// quarter's rate from the end, whichever reaches the limit first.
	early := max(left-levelErr, 0) / max(qhi, slope)
	if isFinite(shi) && shi > slope {
		early = min(early, max((limit-yc-levelErr)/shi-lever, 0))
	}
	f.Lo = durationOf(max(early-step, 0))
	// The late end: the flatter line through the centre, or the slowest
	// quarter's rate from the end; never when either does not grow.
	if !(qlo > 0) || !(slo > 0) || !isFinite(slo) {
		f.HiNever = true
		return f, true
	}
	late := max((left+levelErr)/qlo, (limit-yc+levelErr)/slo-lever)
	f.Hi = durationOf(late + step)
	return f, true
}

// topsAtMiddles is envelope at quantile q with each sample first moved
// along the series' trend to its bucket's middle, where the bucket is
// placed: the top of a growing series' bucket is otherwise its last
// samples, half a bucket of growth above the level at the middle, and the
// line through those tops reaches the limit early by half a bucket. The
// trend is the Theil–Sen slope of the buckets' medians, which a bucket's
// growth does not lean (a median sits at the middle). The peaks a top is
// for (a collector's sawtooth, a busy moment) stay.
func topsAtMiddles(pts []Point, buckets int, q float64) (xs, ys []float64) {
	mx, my := envelope(pts, buckets, 0.5)
	trend, _ := TheilSen(mx, my)
	if !isFinite(trend) {
		trend = 0
	}
	xs = mx // the buckets' middles
	t0, t1 := pts[0].T, pts[len(pts)-1].T
	span := t1.Sub(t0)
	if span <= 0 || len(pts) <= buckets {
		return envelope(pts, buckets, q)
	}
	width := span / time.Duration(buckets)
	if width <= 0 {
		width = 1
	}
	// The same buckets as envelope's, in order: one per non-empty slot.
	var cur []float64
	var curT []float64
	flush := func() {
		if len(cur) == 0 {
			return
		}
		mid := median(curT)
		for i := range cur {
			cur[i] -= trend * (curT[i] - mid)
		}
		slices.Sort(cur)
		ys = append(ys, sortedQuantile(cur, q))
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
	if len(ys) != len(xs) {
		return envelope(pts, buckets, q)
	}
	return xs, ys
}

func durationOf(sec float64) time.Duration {
	if !isFinite(sec) || sec*float64(time.Second) >= float64(maxForecast) {
		return maxForecast
	}
	return time.Duration(max(sec, 0) * float64(time.Second))
}

// String is the forecast as a verdict says it, e.g. "reach their limit of
// 1,024 in 5m12s (4m40s – 6m0s)". name is what runs out; format writes a
// value in the series' unit.
func (f Forecast) Phrase(format func(float64) string) string {
	if f.Reached {
		return fmt.Sprintf("at its limit of %s already", format(f.Limit))
	}
	hi := HumanDuration(f.Hi)
	if f.HiNever {
		hi = "never"
	}
	return fmt.Sprintf("reaches its limit of %s in %s (%s – %s)", format(f.Limit), HumanDuration(f.In), HumanDuration(f.Lo), hi)
}

// HumanDuration writes d the way a verdict reads it: "5m12s", "14h",
// "3d 4h", "over a year".
func HumanDuration(d time.Duration) string {
	switch {
	case d >= maxForecast:
		return "never"
	case d >= 365*24*time.Hour:
		return fmt.Sprintf("%.1f years", d.Hours()/24/365)
	case d >= 48*time.Hour:
		days := int(d / (24 * time.Hour))
		return fmt.Sprintf("%dd %dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
	case d >= 10*time.Hour:
		return fmt.Sprintf("%.0fh", d.Hours())
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	case d >= time.Minute:
		return d.Round(time.Second).String()
	default:
		return d.Round(100 * time.Millisecond).String()
	}
}
