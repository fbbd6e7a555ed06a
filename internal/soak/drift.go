package soak

import (
	"encoding/json"
	"fmt"
	"math"
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
	}{verdictJSON{r.Name, r.Status, r.Reason}, jf(r.First), jf(r.Last), jf(r.ChangePct), jf(r.SlopeChangePct), jf(r.SlopePerSec),
		jf(r.P), r.Points, r.Dropped, r.Window.Seconds(), r.Warmup.Seconds(), r.Incidents, linePtr(r.Fit)})
}

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
// a tenth of the window, and are only reported otherwise.
func Drift(name string, pts []Point, o DriftOptions) DriftResult {
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
	if len(kept) < 8 {
		// The same word in every view: the data cannot tell.
		r.Status = Inconclusive
		r.Reason = fmt.Sprintf("%s: only %d samples after the warm-up, not enough to judge", name, len(kept))
		return r
	}
	r.Window = kept[len(kept)-1].T.Sub(kept[0].T)
	vals := vals(kept)
	q := len(vals) / 4
	r.First, r.Last = median(vals[:q]), median(vals[len(vals)-q:])
	r.ChangePct = change(r.First, r.Last, o.Absolute)
	xs, ys := envelope(kept, envelopeBuckets, 0.5)
	xs, ys, r.Incidents = incidents(kept[0].T, xs, ys, o)
	r.SlopePerSec, _ = TheilSen(xs, ys)
	r.Fit = fitLine(kept[0].T, kept[0].T, kept[len(kept)-1].T, xs, ys)
	r.SlopeChangePct = change(r.Fit.V0, r.Fit.At(r.Fit.To), o.Absolute)
	s, _, p, _ := MannKendallHR(ys)
	r.P = p
	worse := max(float64(o.Worse)*r.ChangePct, float64(o.Worse)*r.SlopeChangePct)
	trendWorse := p < o.Alpha && float64(o.Worse)*s > 0
	// Changes below what matters or what was measured neither warn nor
	// fail: the absolute change (quarters, and along the trend) against
	// max(MinAbs, Resolution × level).
	floor := max(o.MinAbs, o.Resolution*math.Abs(r.First))
	absWorse := max(float64(o.Worse)*(r.Last-r.First), float64(o.Worse)*(r.Fit.At(r.Fit.To)-r.Fit.V0))
	if floor > 0 && !(absWorse >= floor) {
		worse = math.Min(worse, 0)
	}
	unit := "%"
	if o.Absolute {
		unit = " points"
	}
	switch {
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
		// An incident that recovered is reported; it warns only when they
		// recur (3 or more) or take more than a tenth of the window: one
		// short spike (a collection, a neighbour on the machine) is what a
		// healthy service shows, and a warning on it would be ignored.
		// One that starts at the window's first bucket is the tail of the
		// ramp the warm-up did not cover: reported, never a warning alone.
		var inside []Incident
		for _, in := range r.Incidents {
			if in.From.Sub(kept[0].T) > r.Window/envelopeBuckets {
				inside = append(inside, in)
			}
		}
		if len(inside) >= 3 || incidentTime(inside) > r.Window/10 {
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
		r.Reason = fmt.Sprintf("%s steady: %.4g to %.4g (%+.1f%s last quarter vs first, %+.1f%s along the trend)", name, r.First, r.Last, r.ChangePct, unit, r.SlopeChangePct, unit)
	}
	return r
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
func incidents(t0 time.Time, xs, ys []float64, o DriftOptions) ([]float64, []float64, []Incident) {
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
	limit = max(limit, 4*mad, o.MinAbs, o.Resolution*math.Abs(m))
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

// incidentTime is how long the incidents lasted in all (an incident of one
// bucket counts as none).
func incidentTime(in []Incident) time.Duration {
	var d time.Duration
	for _, i := range in {
		d += i.To.Sub(i.From)
	}
	return d
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
