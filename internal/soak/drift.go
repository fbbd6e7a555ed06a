package soak

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DriftOptions tune Drift. Zero values take the defaults.
type DriftOptions struct {
	// Worse is the direction that is bad: +1 when a rise is bad (latency,
	// error rate), -1 when a fall is (throughput).
	Worse int
	// FailPct is the change that fails when the trend is significant (the
	// seed's degradation rule: 20 %), last quarter against first quarter
	// or along the robust slope over the window, whichever is worse.
	FailPct float64
	// Absolute compares in absolute units instead of percent (error rates
	// start at 0, where a relative change means nothing): FailPct is then
	// in the series' own units (for an error ratio in %, points of %).
	Absolute bool
	Warmup   time.Duration // cut from the start; default as LeakOptions
	Alpha    float64
	// MinAbs is the smallest change, in the series' units, that can warn
	// or fail: a latency's wobble of a fraction of a millisecond is no
	// degradation whatever its percent (1 ms for latencies in ms, or the
	// histogram's resolution when coarser). 0: none.
	MinAbs float64
	// Resolution is the series' relative resolution (a histogram of 3
	// significant digits: 0.001): changes below Resolution × the level
	// are below what was measured, and neither warn nor fail.
	Resolution float64
	// CountWindow, for a rate counted over sliding windows of this length
	// (a tick's requests a second over the last stats.WindowSeconds), is
	// the counting noise's scale: a quarter's median of such a rate rests
	// on about r × (quarter + window) events, so the first and last
	// quarters differ by √(r₁/T + r₂/T) (T = quarter + window) from
	// counting alone; changes below 4 of those neither warn nor fail
	// (5 requests a second over a 45-s window: about ±2.8 req/s; see
	// countingNoise). 0: not a counted series.
	CountWindow time.Duration
	// Trials, with CountWindow, makes the series a proportion in percent
	// (failures of requests) counted over the same windows from Trials
	// events a second: its counting noise is binomial, p(1−p)/(Trials·t).
	// 0: the series is a rate.
	Trials float64
	// Quantile and QuantileSlope, with CountWindow and Trials, make the
	// series a quantile (0.95 for a p95) of the Trials samples a second of
	// each window, and QuantileSlope the distribution's quantile function's
	// slope there (the series' units per unit of probability: for a p95,
	// about (p99 − p95)/0.04): a sample quantile of n values varies by
	// q(1−q)/n × slope², so a p95 of few requests a second over a 10-s
	// window wanders by tens of percent from sampling alone.
	Quantile, QuantileSlope float64
	// Generator is the load generator's own scheduling delay over the same
	// run, in the series' units (ms for latencies; stats.Tick.SchedDelayMs):
	// a generator starved of CPU stamps responses late, so a rise of the
	// series that the generator's delay rose with as much is not laid on
	// the service (see Drift). nil: not measured, or not a latency.
	Generator []Point

	// withoutDaily judges the series with its daily cycle taken out (set
	// by Drift for its second reading of a long run).
	withoutDaily bool
}

// DefaultDegradationPct is the seed analyser's rule: the last quarter's
// p95 more than 20 % above the first quarter's.
const DefaultDegradationPct = 20

// Incident is a stretch where a series was far worse than its usual level
// and then came back.
type Incident struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Peak float64   `json:"peak"` // the worst running median in it
}

// DriftResult is the verdict on one series. MarshalJSON writes snake_case
// names and the window in seconds.
type DriftResult struct {
	Name        string
	Status      Status
	Reason      string
	First, Last float64 // medians of the first and last quarters
	ChangePct   float64 // Last vs First, in % (or units when Absolute)
	// SlopeChangePct is the change along the Theil–Sen line of the running
	// median over the window, in % of the line's start (or units when
	// Absolute): a steady ramp measured end to end, which the quarters'
	// medians underestimate (a +25 % ramp shows +18.75 % between them).
	SlopeChangePct float64
	SlopePerSec    float64 // Theil–Sen slope of the running median
	P              float64 // Mann–Kendall p-value (Hamed–Rao corrected), incidents left out
	Points         int
	Dropped        int // samples Clean removed
	Window         time.Duration
	Warmup         time.Duration
	// Incidents are the transient excursions that recovered: reported, and
	// left out of the trend, so an incident is not taken for degradation.
	Incidents []Incident
	// Fit is the Theil–Sen line of the running median over the window
	// judged (after the warm-up), for drawing; zero when there were too
	// few samples.
	Fit Line
	// GeneratorFirst and GeneratorLast are the load generator's own
	// scheduling delay (ms), the medians over the first and last quarters
	// judged; both 0 when it was not measured.
	GeneratorFirst, GeneratorLast float64
	// GeneratorCPUChangePct is, for the CPU per request check, the load
	// generator's own CPU per request change over the same window (first
	// third to last, %), where it was measured.
	GeneratorCPUChangePct float64
	// DecideAfter is, for an inconclusive result, the run length that
	// would decide (0: unknown).
	DecideAfter time.Duration
	// FailsFrom is the smallest lasting change along the trend, in the
	// bad direction, this run could have failed (in % of the first
	// quarter's level, or in units when Absolute): FailPct, or more where
	// the floor of what was measured (MinAbs, Resolution, counting noise)
	// is above it. 0 when the check did not judge.
	FailsFrom float64
	// Daily is whether a daily cycle was taken out before judging (runs
	// of DailyCycleMin or longer, see withoutDaily).
	Daily bool
}

// verdictJSON is the head of every check's JSON: what was judged, the
// verdict and why.
type verdictJSON struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

// MarshalJSON writes the result with snake_case names, durations in
// seconds, and non-finite figures as 0.
func (r DriftResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		verdictJSON
		First          float64    `json:"first"`
		Last           float64    `json:"last"`
		ChangePct      float64    `json:"change_pct"`
		SlopeChangePct float64    `json:"slope_change_pct"`
		SlopePerSec    float64    `json:"slope_per_sec"`
		P              float64    `json:"p"`
		Points         int        `json:"points"`
		Dropped        int        `json:"dropped"`
		WindowS        float64    `json:"window_s"`
		WarmupS        float64    `json:"warmup_s"`
		Incidents      []Incident `json:"incidents,omitempty"`
		Fit            *Line      `json:"fit,omitempty"`
		GeneratorFirst float64    `json:"generator_delay_first_ms,omitempty"`
		GeneratorLast  float64    `json:"generator_delay_last_ms,omitempty"`
		GeneratorCPU   float64    `json:"generator_cpu_change_pct,omitempty"`
		DecideAfterS   float64    `json:"decide_after_s,omitempty"`
		FailsFrom      float64    `json:"fails_from,omitempty"`
		Daily          bool       `json:"daily_cycle_removed,omitempty"`
	}{verdictJSON{r.Name, r.Status, r.Reason}, jf(r.First), jf(r.Last), jf(r.ChangePct), jf(r.SlopeChangePct), jf(r.SlopePerSec),
		jf(r.P), r.Points, r.Dropped, r.Window.Seconds(), r.Warmup.Seconds(), r.Incidents, linePtr(r.Fit),
		jf(r.GeneratorFirst), jf(r.GeneratorLast), jf(r.GeneratorCPUChangePct), r.DecideAfter.Seconds(), jf(r.FailsFrom), r.Daily})
}

// failAlpha is the significance a drift's trend needs to fail: a tenth of
// the warning's (0.001 for the default 0.01), so that a steady series,
// which crosses α in one run of 1/α, does not fail on a noisy change.
func failAlpha(alpha float64) float64 { return alpha / 10 }

// MinDriftPoints is the fewest samples after the warm-up Drift judges;
// with fewer it is inconclusive.
const MinDriftPoints = 8

// Drift judges whether a series got worse over a run. After cleaning and
// the warm-up it measures the change two ways: the median of the last
// quarter against the first (the seed's rule), and along the Theil–Sen
// line of the running median (40 buckets) over the whole window. Buckets
// far worse than the usual level (past FailPct and 4 robust deviations)
// that come back before the end are incidents: reported, and left out of
// the trend. The running median is tested for a monotonic trend with
// Mann–Kendall (Hamed–Rao corrected). A change past FailPct in the bad
// direction fails when the trend is significant and warns when it is not
// (a jump that did not last); half of it with a significant trend warns;
// recovered incidents warn when they recur (3 or more) or take more than
// a tenth of the window, and are only reported otherwise. A rise the load
// generator's own delay explains (Generator) is inconclusive, not the
// service's: see generatorExplains. A window of DailyCycleMin or more is
// read a second time with its daily cycle taken out (withoutDaily), and
// flagged only as far as both readings flag it.
func Drift(name string, pts []Point, o DriftOptions) DriftResult {
	r := drift(name, pts, o)
	if r.Window < DailyCycleMin || r.Status == Pass {
		return r
	}
	// A run of a day or more is read twice: as sampled, and with its daily
	// cycle taken out (withoutDaily). One cycle cannot be told from a
	// change (a latency that follows the day rises for twelve hours), and
	// taking a 24 h harmonic out of a series that has none moves other
	// shapes (a six-hour bump, a 12 h cycle) into a trend: so only what
	// both readings flag is flagged, each at its milder verdict.
	o.withoutDaily = true
	d := drift(name, pts, o)
	if !d.Daily || !milder(d.Status, r.Status) {
		return r
	}
	d.Reason += fmt.Sprintf("; judged with its daily cycle taken out (a 24 h harmonic fitted with a line to the running median): as sampled it would %s (%+.1f%s last quarter vs first), a change one day's cycle can make",
		driftVerb(r.Status), r.ChangePct, map[bool]string{true: " points", false: "%"}[o.Absolute])
	return d
}

// driftRank orders verdicts from the mildest (see milder).
func driftRank(s Status) int {
	switch s {
	case Pass:
		return 0
	case Inconclusive:
		return 1
	case Warn:
		return 2
	}
	return 3
}

func driftVerb(s Status) string {
	switch s {
	case Fail:
		return "fail"
	case Warn:
		return "warn"
	case Inconclusive:
		return "be inconclusive"
	}
	return "pass"
}

// drift is Drift's reading of pts, with the daily cycle taken out where
// o.withoutDaily is set.
func drift(name string, pts []Point, o DriftOptions) DriftResult {
	if o.Worse == 0 {
		o.Worse = 1
	}
	if o.Worse > 0 {
		o.Worse = 1
	} else {
		o.Worse = -1
	}
	positiveOr(&o.FailPct, DefaultDegradationPct)
	positiveOr(&o.Alpha, DefaultAlpha)
	r := DriftResult{Name: name, Status: Pass, P: 1}
	pts, r.Dropped = Clean(pts)
	kept, warm := cutWarmup(pts, o.Warmup)
	r.Warmup = warm
	r.Points = len(kept)
	if len(kept) < MinDriftPoints {
		// The same word in every view: the data cannot tell.
		r.Status = Inconclusive
		r.Reason = fmt.Sprintf("%s: only %d samples after the warm-up, not enough to judge", name, len(kept))
		return r
	}
	r.Window = kept[len(kept)-1].T.Sub(kept[0].T)
	if o.withoutDaily {
		kept, r.Daily = withoutDaily(kept)
	}
	vals := vals(kept)
	q := len(vals) / 4
	r.First, r.Last = median(vals[:q]), median(vals[len(vals)-q:])
	r.ChangePct = change(r.First, r.Last, o.Absolute)
	xs, ys := envelope(kept, envelopeBuckets, 0.5)
	v := o.countVariance(r.First, r.Last)
	oneWindow := 0.0 // 4 standard deviations of one window's counting
	if o.CountWindow > 0 && v > 0 {
		oneWindow = 4 * math.Sqrt(v/o.CountWindow.Seconds())
	}
	step := 0.0 // the series' own resolution, when its values are few
	if !o.Absolute {
		step = valueStep(vals)
	}
	xs, ys, r.Incidents = incidents(kept[0].T, xs, ys, o, max(oneWindow, step))
	r.SlopePerSec, _ = TheilSen(xs, ys)
	r.Fit = fitLine(kept[0].T, kept[0].T, kept[len(kept)-1].T, xs, ys)
	r.SlopeChangePct = change(r.Fit.V0, r.Fit.At(r.Fit.To), o.Absolute)
	s, _, p, _ := MannKendallHR(ys)
	// Failing asks the running median's trend (robust to a burst, each
	// point a bucket of samples); a warning asks either it or the samples'
	// own (samplesTrend), whichever is the more significant.
	failP, failS := p, s
	if len(ys) >= 10 {
		// Failing also asks the trend against a wander's persistence,
		// which 40 bucket medians do not show significant lag by lag; as
		// an AR(1) only where the buckets do not share a counting
		// window's samples (a 2-minute run's 2.5-s buckets of 10-s
		// windows: a moving average, whose correlation ends).
		ar := o.CountWindow <= 0 || r.Window >= 2*envelopeBuckets*o.CountWindow
		if v := mkVariance(ys) * persistenceRatio(ys, ar); v > 0 {
			if _, pp := mkZ(failS, v); pp > failP {
				failP = pp
			}
		}
	}
	if sa, pa, ok := samplesTrend(kept, r.Incidents, r.Window); ok && pa < p {
		s, p = sa, pa
	}
	r.P = p
	trendWorse := p < o.Alpha && float64(o.Worse)*s > 0
	failTrend := failP < failAlpha(o.Alpha) && float64(o.Worse)*failS > 0
	// Changes below what matters or what was measured neither warn nor
	// fail: each measure's absolute change (quarters, and along the
	// trend) against max(MinAbs, Resolution × level) and, for a counted
	// rate, the counting noise of that measure.
	// (A change of one step between the values a quantised series takes
	// is below what it measured: only more than one counts.)
	base := max(o.MinAbs, o.Resolution*math.Abs(r.First), step*(1+1e-9))
	countQ, countT := countingNoise(v, r.Window, o.CountWindow)
	absQ := float64(o.Worse) * (r.Last - r.First)
	absT := float64(o.Worse) * (r.Fit.At(r.Fit.To) - r.Fit.V0)
	absWorse := max(absQ, absT)
	worse, noise := math.Inf(-1), ""
	for _, m := range []struct{ pct, abs, floor, count float64 }{
		{float64(o.Worse) * r.ChangePct, absQ, max(base, countQ), countQ},
		{float64(o.Worse) * r.SlopeChangePct, absT, max(base, countT), countT},
	} {
		if m.floor > 0 && !(m.abs >= m.floor) {
			if m.pct >= o.FailPct/2 && m.count == m.floor && noise == "" {
				noise = fmt.Sprintf(", within the ±%.3g that counting %.3g a second over these windows leaves", m.count, (r.First+r.Last)/2)
				switch {
				case o.Trials > 0 && o.Quantile > 0:
					noise = fmt.Sprintf(", within the ±%.3g that sampling %.3g requests a second over these windows leaves", m.count, o.Trials)
				case o.Trials > 0:
					noise = fmt.Sprintf(", within the ±%.3g that counting %.3g failing of %.3g a second over these windows leaves", m.count, math.Max(r.First, r.Last)*o.Trials/100, o.Trials)
				}
			}
			m.pct = math.Min(m.pct, 0)
		}
		worse = max(worse, m.pct)
	}
	unit := "%"
	onIncidents := false // the verdict is on recovered incidents, not on a change
	if o.Absolute {
		unit = " points"
	}
	// The smallest lasting change the trend measure could fail on.
	floorT := max(base, countT)
	r.FailsFrom = o.FailPct
	switch {
	case o.Absolute:
		r.FailsFrom = max(o.FailPct, floorT)
	case r.First != 0:
		r.FailsFrom = max(o.FailPct, floorT/math.Abs(r.First)*100)
	}
	power := ""
	if r.FailsFrom > o.FailPct*1.05 {
		dir, sign := "rise", "+"
		if o.Worse < 0 {
			dir, sign = "fall", "-"
		}
		why := "what counting alone moves over this run"
		switch {
		case base >= countT:
			why = "the check's floor (its resolution, or 1 ms for a latency)"
		case o.Trials > 0 && o.Quantile > 0:
			why = "what sampling alone moves over this run"
		}
		noise = "" // said below, with what it means
		if o.Absolute {
			power = fmt.Sprintf("; it could have failed only a lasting %s of %s%.3g points or more: smaller changes are within %s", dir, sign, r.FailsFrom, why)
		} else {
			u := ""
			if i := strings.LastIndexByte(name, '('); i >= 0 && strings.HasSuffix(name, ")") {
				u = " " + name[i+1:len(name)-1]
			}
			power = fmt.Sprintf("; it could have failed only a lasting %s of %s%.0f%% (%s%.3g%s) or more: smaller changes are within %s", dir, sign, r.FailsFrom, sign, floorT, u, why)
		}
	}
	switch {
	case worse >= o.FailPct && trendWorse && !failTrend:
		// A trend significant at α but not at the failing level: a
		// steady series crosses α once in a hundred runs, and a noisy
		// one's change along such a trend easily reaches FailPct (a p95
		// of 20 % noise over an hour at 30 s: 2 in 100 steady runs
		// failed). Failing asks ten times the evidence.
		r.Status = Warn
		r.DecideAfter = 2 * r.Window
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%s last quarter vs first, %+.1f%s along the trend over %s), a trend (p=%.2g) too weak to fail on this series' noise (its running median's p=%.2g; p < %.2g fails): a %s run would decide", name, r.First, r.Last, r.ChangePct, unit, r.SlopeChangePct, unit, round(r.Window), p, failP, failAlpha(o.Alpha), round(r.DecideAfter))
	case worse >= o.FailPct && trendWorse:
		r.Status = Fail
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%s last quarter vs first, %+.1f%s along the trend over %s) with a significant trend (p=%.2g)", name, r.First, r.Last, r.ChangePct, unit, r.SlopeChangePct, unit, round(r.Window), p)
	case worse >= o.FailPct && len(r.Incidents) == 0:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s went from %.4g to %.4g (%+.1f%s) but without a steady trend (p=%.2g): a jump, not a drift", name, r.First, r.Last, r.ChangePct, unit, p)
	case worse >= o.FailPct/2 && trendWorse:
		r.Status = Warn
		r.Reason = fmt.Sprintf("%s drifts (%+.1f%s along the trend, %+.1f%s last quarter vs first, p=%.2g), below the %.0f%s that fails", name, r.SlopeChangePct, unit, r.ChangePct, unit, p, o.FailPct, unit)
	case len(r.Incidents) > 0:
		onIncidents = true
		// An incident that recovered is reported; it warns only when they
		// recur (3 or more) or take more than a tenth of the window: one
		// short spike (a collection, a neighbour on the machine) is what a
		// healthy service shows, and a warning on it would be ignored.
		// One that starts at the window's first bucket is the tail of the
		// ramp the warm-up did not cover: reported, never a warning alone.
		if incidentsWarn(r.inside(kept[0].T, r.Incidents), r.Window) {
			r.Status = Warn
		}
		in := r.Incidents[0]
		span := fmt.Sprintf("from %s to %s", round(in.From.Sub(kept[0].T)), round(in.To.Sub(kept[0].T)))
		if !in.To.After(in.From) {
			span = fmt.Sprintf("one bucket at %s", round(in.From.Sub(kept[0].T)))
		}
		// A fall is bad for throughput: its incident is a dip to a lowest
		// point; a rise (latency, errors) is a spike to a peak.
		what, worst := "incident(s)", "peak"
		if o.Worse < 0 {
			what, worst = "dip(s)", "lowest"
		}
		r.Reason = fmt.Sprintf("%s had %d %s that recovered (the first %s, %s %.4g against a usual %.4g); otherwise steady (%+.1f%s along the trend): an incident, not degradation",
			name, len(r.Incidents), what, span, worst, in.Peak, median(ys), r.SlopeChangePct, unit)
	default:
		r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%s last quarter vs first, %+.1f%s along the trend%s)%s", name, r.First, r.Last, r.ChangePct, unit, r.SlopeChangePct, unit, noise, power)
	}
	r.generatorExplains(kept, q, absWorse, median(ys), onIncidents, o)
	return r
}

// countVariance is the variance a second of a counted series (see
// DriftOptions.CountWindow) at the levels first and last: its estimate
// over t seconds varies by countVariance/t from counting alone.
func (o DriftOptions) countVariance(first, last float64) float64 {
	switch {
	case o.Trials > 0 && o.Quantile > 0:
		// A quantile of Trials samples a second: the sample quantile's
		// variance, q(1−q)/n × Q'(q)².
		return o.Quantile * (1 - o.Quantile) / o.Trials * o.QuantileSlope * o.QuantileSlope
	case o.Trials > 0:
		// A proportion in %: binomial at the worse of the two levels.
		pr := math.Min(math.Max(first, last)/100, 1)
		return pr * (1 - pr) / o.Trials * 1e4
	}
	return (first + last) / 2 // a rate: Poisson
}

// countingNoise is, for a series counted over sliding windows of length
// window (0: not counted) whose estimate over t seconds has variance v/t
// (a rate r: v = r, Poisson; a proportion p of r trials a second:
// v = p(1−p)/r), 4 standard deviations of what counting alone moves each
// measure of Drift over a judged span: the quarters' medians (each resting
// on about span/4 + window seconds of events) and the trend line's
// end-to-end change (a line through the span's k = span/window + 1
// independent windows: 12(k−1)/(k(k+1)) × v/window). Four, not three:
// Drift measures medians and a Theil–Sen line of a running median of
// overlapping windows, noisier than the independent counts modelled here;
// at 3 a steady 5/s over 60 s still warned in 1.5 % of runs
// (TestDrift_CountingNoise), at 4 in none of 200.
func countingNoise(v float64, span, window time.Duration) (quarters, trend float64) {
	if window <= 0 || !(v > 0) || span <= 0 {
		return 0, 0
	}
	quarters = 4 * math.Sqrt(2*v/(span/4+window).Seconds())
	k := span.Seconds()/window.Seconds() + 1
	trend = 4 * math.Sqrt(12*(k-1)/(k*(k+1))*v/window.Seconds())
	return quarters, trend
}

// generatorExplains weighs a rise of the series against the load
// generator's own scheduling delay over the same times (o.Generator, in
// the series' units). A latency is the time from sending a request to
// stamping its response, so a generator that gets the CPU late adds its
// delay to every latency it measures: a rise the generator's delay rose
// with by at least half as much may be the load machine's, not the
// service's, and a verdict cannot tell them apart. A jump or a drift it
// explains becomes inconclusive, saying so; a recovered incident it
// explains (the generator's delay in the incident at least half the
// incident's excess over the usual level) no longer counts toward a
// warning. The generator's delay is compared as a tail (the worst of each
// second) against the series' tail (p95), so "half" leaves room for a
// delay that hit only some requests.
func (r *DriftResult) generatorExplains(kept []Point, q int, rise, usual float64, onIncidents bool, o DriftOptions) {
	if len(o.Generator) == 0 || o.Worse < 0 || q == 0 {
		return
	}
	gen := func(from, to time.Time) []float64 {
		var v []float64
		for _, p := range o.Generator {
			if !p.T.Before(from) && !p.T.After(to) && isFinite(p.V) {
				v = append(v, p.V)
			}
		}
		return v
	}
	first, last := gen(kept[0].T, kept[q-1].T), gen(kept[len(kept)-q].T, kept[len(kept)-1].T)
	if len(first) == 0 || len(last) == 0 {
		return
	}
	r.GeneratorFirst, r.GeneratorLast = median(first), median(last)
	switch {
	case r.Status == Pass || r.Status == Inconclusive:
		return
	case !onIncidents:
		// A jump or a drift.
		if genRise := r.GeneratorLast - r.GeneratorFirst; genRise > 0 && genRise >= rise/2 {
			r.Status = Inconclusive
			r.Reason = fmt.Sprintf("%s rose from %.4g to %.4g, but the load generator's own scheduling delay rose from %.3g to %.3g ms over the same time: the rise may be the load machine's, not the service's (give the generator more CPU, or more workers, and run again)",
				r.Name, r.First, r.Last, r.GeneratorFirst, r.GeneratorLast)
		}
	default:
		// Recovered incidents: those the generator's delay explains do not
		// count toward a warning.
		base := median(gen(kept[0].T, kept[len(kept)-1].T))
		bucket := r.Window / envelopeBuckets
		var own []Incident
		explained := 0.0
		for _, in := range r.Incidents {
			worst := 0.0
			for _, v := range gen(in.From.Add(-bucket), in.To.Add(bucket)) {
				worst = max(worst, v)
			}
			if in.Peak > usual && worst-base >= (in.Peak-usual)/2 {
				explained = max(explained, worst)
				continue
			}
			own = append(own, in)
		}
		if len(own) < len(r.Incidents) {
			if !incidentsWarn(r.inside(kept[0].T, own), r.Window) {
				r.Status = Pass
			}
			r.Reason += fmt.Sprintf("; %d of them while the load generator itself was delayed as much (its scheduling delay up to %.3g ms), not counted", len(r.Incidents)-len(own), explained)
		}
	}
}

func change(from, to float64, absolute bool) float64 {
	switch {
	case absolute:
		return to - from
	case from != 0 && isFinite(from) && isFinite(to):
		return (to - from) / math.Abs(from) * 100
	}
	return 0
}

// incidents finds the runs of buckets (xs, ys: the running median, xs in
// seconds from t0) worse than the median bucket by FailPct and by 4
// robust deviations, that end before the last two buckets (they
// recovered). It returns the buckets without them, and the incidents.
func incidents(t0 time.Time, xs, ys []float64, o DriftOptions, noise float64) ([]float64, []float64, []Incident) {
	n := len(ys)
	if n < minBuckets {
		return xs, ys, nil
	}
	m := median(ys)
	dev := make([]float64, n)
	for i, y := range ys {
		dev[i] = math.Abs(y - m)
	}
	mad := 1.4826 * median(dev)
	limit := o.FailPct
	if !o.Absolute {
		limit = o.FailPct / 100 * math.Abs(m)
	}
	limit = max(limit, 4*mad, o.MinAbs, o.Resolution*math.Abs(m), noise)
	bad := make([]bool, n)
	for i, y := range ys {
		bad[i] = float64(o.Worse)*(y-m) > limit
	}
	var out []Incident
	skip := make([]bool, n)
	for i := 0; i < n; {
		if !bad[i] {
			i++
			continue
		}
		j := i
		for j < n && bad[j] {
			j++
		}
		// Recovered: two good buckets follow; and short: under a quarter
		// of the window (longer is a level shift, judged as drift).
		if j+2 <= n && !bad[j] && !bad[j+1] && j-i <= n/4 {
			peak := ys[i]
			for k := i; k < j; k++ {
				if float64(o.Worse)*(ys[k]-peak) > 0 {
					peak = ys[k]
				}
				skip[k] = true
			}
			out = append(out, Incident{From: t0.Add(secs(xs[i])), To: t0.Add(secs(xs[j-1])), Peak: peak})
		}
		i = j
	}
	if len(out) == 0 {
		return xs, ys, nil
	}
	var kx, ky []float64
	for i := range xs {
		if !skip[i] {
			kx, ky = append(kx, xs[i]), append(ky, ys[i])
		}
	}
	return kx, ky, out
}

// inside are the incidents that start after the window's first bucket.
func (r *DriftResult) inside(t0 time.Time, ins []Incident) []Incident {
	var out []Incident
	for _, in := range ins {
		if in.From.Sub(t0) > r.Window/envelopeBuckets {
			out = append(out, in)
		}
	}
	return out
}

// incidentsWarn is the incidents' rule: they warn when they recur (3 or
// more) or take more than a tenth of the window. Their length is
// counted in the running median's buckets (a fortieth of the window),
// the resolution it was measured at: a bucket's centre is the median of
// its samples' times, so the same incident measured from samples taken
// a few seconds apart (the raw scrapes, or a Prometheus range query's
// steps) would otherwise land a second either side of a tenth of the
// window, exactly four buckets, and warn in one view and not the other.
func incidentsWarn(inside []Incident, window time.Duration) bool {
	return len(inside) >= 3 || incidentBuckets(inside, window) > envelopeBuckets/10
}

// incidentBuckets is how long the incidents lasted in all, in buckets of
// a fortieth of the window, each incident rounded to whole buckets (an
// incident of one bucket counts as none).
func incidentBuckets(in []Incident, window time.Duration) int {
	width := float64(window) / envelopeBuckets
	if width <= 0 {
		return 0
	}
	n := 0
	for _, i := range in {
		n += int(math.Round(float64(i.To.Sub(i.From)) / width))
	}
	return n
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// samplesTrend is the Mann–Kendall trend (Hamed–Rao corrected) of the
// samples themselves, in time order, those within a bucket of an
// incident left out (more than maxPoints, 600, are first reduced to the
// medians of 600 runs: Theil–Sen, inside the Hamed–Rao correction, costs
// the square of their number). The running median of 40 buckets that Drift tests keeps
// a burst out of the trend, but it throws away what many noisy samples
// say together: a +25 % ramp over 2 h, sampled every 15 s with 30 %
// noise (or 10 % noise whose neighbours correlate at 0.9), made the
// running median's trend significant at 1 % in three runs of four and
// the samples' own in 19 of 20 (issue #25's twenty-seventh part).
func samplesTrend(kept []Point, in []Incident, window time.Duration) (s, p float64, ok bool) {
	w := time.Duration(float64(window) / envelopeBuckets)
	inside := func(t time.Time) bool {
		for _, inc := range in {
			if !t.Before(inc.From.Add(-w)) && !t.After(inc.To.Add(w)) {
				return true
			}
		}
		return false
	}
	n := len(kept)
	k := min(n, maxPoints)
	ys := make([]float64, 0, k)
	var run []float64
	for b := range k {
		run = run[:0]
		for _, pt := range kept[b*n/k : (b+1)*n/k] {
			if !inside(pt.T) {
				run = append(run, pt.V)
			}
		}
		switch len(run) {
		case 0:
		case 1:
			ys = append(ys, run[0])
		default:
			slices.Sort(run)
			ys = append(ys, sortedQuantile(run, 0.5))
		}
	}
	if len(ys) < MinDriftPoints {
		return 0, 1, false
	}
	s, _, p, _ = MannKendallHR(ys)
	return s, p, true
}

// valueStep is the resolution of a series that takes few distinct values
// (a quantile read off a histogram's bucket bounds; a latency rounded as
// Locust rounds it, to 10 ms from 100 ms and to 100 ms from 1 s): the
// median gap between its adjacent distinct values, when it takes 16 or
// fewer and each four times or more on average; else 0. Such a series
// flips between two neighbouring values on noise alone, its quarters'
// medians and its buckets' with it: a steady p95 near a bucket bound read
// "+25 %, a jump" or as recurring incidents in 63 of 200 runs of 2 hours
// (issue #25's twenty-seventh part).
func valueStep(v []float64) float64 {
	seen := make(map[float64]bool, 17)
	for _, x := range v {
		seen[x] = true
		if len(seen) > 16 {
			return 0
		}
	}
	if len(seen) < 2 || len(v) < 4*len(seen) {
		return 0
	}
	levels := make([]float64, 0, len(seen))
	for x := range seen {
		levels = append(levels, x)
	}
	slices.Sort(levels)
	gaps := make([]float64, len(levels)-1)
	for i := 1; i < len(levels); i++ {
		gaps[i-1] = levels[i] - levels[i-1]
	}
	return median(gaps)
}

// withoutDaily returns pts without their daily cycle: a line and a 24 h
// harmonic are fitted to the running median (robust to a burst) and the
// harmonic alone is taken out of every sample, so a steady series whose
// level follows the day (a cluster's neighbours, a daily batch) is not
// judged worse in its last quarter for being read at another hour, while a
// lasting change stays (the line keeps it). ok is false, and pts
// unchanged, when the fit is singular.
func withoutDaily(pts []Point) ([]Point, bool) {
	xs, ys := envelope(pts, envelopeBuckets, 0.5)
	t0 := float64(pts[0].T.UnixNano()) / 1e9
	for i := range xs {
		xs[i] += t0
	}
	bs, bc, ok := dailyHarmonic(xs, ys)
	if !ok {
		return pts, false
	}
	out := make([]Point, len(pts))
	for i, p := range pts {
		out[i] = Point{T: p.T, V: p.V - daily(bs, bc, float64(p.T.UnixNano())/1e9)}
	}
	return out, true
}
