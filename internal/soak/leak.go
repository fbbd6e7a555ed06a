package soak

import (
	"fmt"
	"time"
)

// Status is a check's outcome.
type Status string

// Outcomes, from best to worst.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Defaults of LeakOptions.
const (
	DefaultWarmupFraction = 0.10
	DefaultWarmupMax      = 5 * time.Minute
	DefaultAlpha          = 0.01
	DefaultMinGrowth      = 2.0  // % over the window: below it a trend is noise
	DefaultFailGrowth     = 10.0 // % over the window (the seed analyser's threshold)
	DefaultFailPerHour    = 5.0  // % per hour
	envelopeBuckets       = 40
	envelopeQuantile      = 0.10
)

// LeakOptions tune Leak. Zero values take the defaults.
type LeakOptions struct {
	// Warmup is cut from the start; default the smaller of 10 % of the
	// series and 5 minutes.
	Warmup      time.Duration
	Alpha       float64 // significance of the Mann–Kendall test
	MinGrowth   float64 // % over the window to call a significant trend a leak (warn)
	FailGrowth  float64 // % over the window that fails
	FailPerHour float64 // % per hour that fails
	Limit       float64 // a known limit (a container's memory limit), for the time to reach it; 0: unknown
}

// LeakResult is the verdict on one memory series.
type LeakResult struct {
	Name   string
	Status Status
	Reason string // one sentence

	Points      int           // after warm-up
	Window      time.Duration // after warm-up
	Baseline    float64       // fitted floor at the start of the window
	SlopePerSec float64       // of the fitted floor
	GrowthPct   float64       // over the window
	PerHourPct  float64
	P           float64       // Mann–Kendall p-value of the floor's trend
	TimeToLimit time.Duration // 0 when no limit or no growth
	FitStart    time.Time     // the fitted line: Baseline at FitStart, SlopePerSec after
	// Fit is the Theil–Sen line of the floor over the window judged (after
	// the warm-up), for drawing; zero when there were too few samples.
	Fit Line
}

// Leak judges whether a memory series grows. It cuts the warm-up, reduces
// the series to its lower envelope (the 10th percentile of each of 40 time
// buckets: the floor a garbage collector returns to, so a GC sawtooth
// without a leak stays flat), tests the floor for a monotonic trend with
// Mann–Kendall and measures it with a Theil–Sen line. A significant upward
// trend of at least MinGrowth % warns; FailGrowth % over the window fails,
// and so does FailPerHour % per hour once the window spans an hour (over
// minutes, a per-hour rate extrapolates noise).
func Leak(name string, pts []Point, o LeakOptions) LeakResult {
	o = o.withDefaults()
	r := LeakResult{Name: name, Status: Pass}
	if len(pts) < 2 {
		r.Reason = "not enough samples to judge"
		return r
	}
	pts, warm := cutWarmup(pts, o.Warmup)
	r.Points = len(pts)
	if len(pts) < 8 {
		r.Reason = fmt.Sprintf("only %d samples after the %s warm-up: not enough to judge", len(pts), warm)
		return r
	}
	r.FitStart = pts[0].T
	r.Window = pts[len(pts)-1].T.Sub(pts[0].T)
	xs, ys := envelope(pts, envelopeBuckets, envelopeQuantile)
	slope, icept := TheilSen(xs, ys)
	r.Fit = fitLine(pts[0].T, pts[0].T, pts[len(pts)-1].T, xs, ys)
	s, _, p := MannKendall(ys)
	r.SlopePerSec, r.Baseline, r.P = slope, icept, p
	if icept > 0 {
		r.GrowthPct = slope * r.Window.Seconds() / icept * 100
		r.PerHourPct = slope * 3600 / icept * 100
	}
	if o.Limit > 0 && slope > 0 {
		now := icept + slope*r.Window.Seconds()
		if now < o.Limit {
			r.TimeToLimit = time.Duration((o.Limit - now) / slope * float64(time.Second))
		}
	}
	significant := p < o.Alpha && s > 0
	switch {
	case significant && (r.GrowthPct >= o.FailGrowth || (r.PerHourPct >= o.FailPerHour && r.Window >= time.Hour)):
		r.Status = Fail
		r.Reason = fmt.Sprintf("memory floor grew %.1f%% over %s (%.2f%%/h, trend p=%.2g): a leak", r.GrowthPct, round(r.Window), r.PerHourPct, p)
	case significant && r.GrowthPct >= o.MinGrowth:
		r.Status = Warn
		r.Reason = fmt.Sprintf("memory floor grew %.1f%% over %s (%.2f%%/h, trend p=%.2g): below the failing threshold but rising", r.GrowthPct, round(r.Window), r.PerHourPct, p)
	default:
		r.Reason = fmt.Sprintf("memory floor changed %+.1f%% over %s with no significant upward trend (p=%.2g)", r.GrowthPct, round(r.Window), p)
	}
	if r.TimeToLimit > 0 && r.Status != Pass {
		r.Reason += fmt.Sprintf("; at this rate it reaches the limit in %s", round(r.TimeToLimit))
	}
	return r
}

// cutWarmup drops the warm-up from the start of pts: warm, or by default
// the smaller of 10 % of the series and 5 minutes. It returns the warm-up used.
func cutWarmup(pts []Point, warm time.Duration) ([]Point, time.Duration) {
	if len(pts) < 2 {
		return pts, 0
	}
	if warm == 0 {
		span := pts[len(pts)-1].T.Sub(pts[0].T)
		warm = min(time.Duration(float64(span)*DefaultWarmupFraction), DefaultWarmupMax)
	}
	cut := pts[0].T.Add(warm)
	i := 0
	for i < len(pts) && pts[i].T.Before(cut) {
		i++
	}
	return pts[i:], warm
}

func (o LeakOptions) withDefaults() LeakOptions {
	if o.Alpha <= 0 {
		o.Alpha = DefaultAlpha
	}
	if o.MinGrowth <= 0 {
		o.MinGrowth = DefaultMinGrowth
	}
	if o.FailGrowth <= 0 {
		o.FailGrowth = DefaultFailGrowth
	}
	if o.FailPerHour <= 0 {
		o.FailPerHour = DefaultFailPerHour
	}
	return o
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Hour:
		return d.Round(time.Minute)
	case d >= time.Minute:
		return d.Round(time.Second)
	default:
		return d.Round(time.Millisecond)
	}
}
