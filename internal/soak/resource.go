package soak

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Kind is the resource a series measures, for the resource checks.
type ResourceKind string

// Resource kinds. Memory series keep the memory leak check (Leak); the
// others are counts (or bytes, for disk) judged by the same lasting-growth
// test with verdicts in their own units.
const (
	ResNone        ResourceKind = ""
	ResMemory      ResourceKind = "memory"
	ResFDs         ResourceKind = "open fds"
	ResGoroutines  ResourceKind = "goroutines"
	ResThreads     ResourceKind = "threads"
	ResConnections ResourceKind = "open connections"
	ResPool        ResourceKind = "pool slots in use"
	ResDisk        ResourceKind = "disk used"
	// ResDiskFree is free disk space: judged as the space used since the
	// start (its fall), with the limit at no space left.
	ResDiskFree ResourceKind = "disk free"
)

// Unit is what a count of kind k counts, for the growth test's reasons.
func (k ResourceKind) Unit() Unit {
	switch k {
	case ResFDs:
		return "fds"
	case ResPool:
		return "slots"
	case ResConnections:
		return "connections"
	case ResNone:
		return ""
	}
	return Unit(k)
}

// Bytes reports whether the kind's values are bytes.
func (k ResourceKind) Bytes() bool { return k == ResMemory || k == ResDisk || k == ResDiskFree }

// Classify tells what a series measures from its metric (a scraped
// metric's name, or a query's name or text): the resource, or a limit of
// one. Standard names first (process_open_fds, process_max_fds,
// go_goroutines, go_threads, node_filesystem_avail_bytes,
// kube_pod_container_resource_limits), then words a name holds: "fds",
// "goroutines", "threads", "connections", "pool", "disk"; a name with
// "limit" or ending in "_max" (or starting "max_") is the limit of the
// resource its other words name.
func ClassifyResource(metric string) (k ResourceKind, isLimit bool) {
	m := strings.ToLower(metric)
	switch {
	case m == "process_max_fds" || strings.Contains(m, "max_fds") || strings.Contains(m, "fds_limit") || strings.Contains(m, "fd_limit"):
		return ResFDs, true
	case strings.Contains(m, "kube_pod_container_resource_limits"):
		return ResMemory, true
	case strings.Contains(m, "filesystem_avail") || strings.Contains(m, "filesystem_free") || strings.Contains(m, "disk_free") || strings.Contains(m, "disk_avail"):
		return ResDiskFree, false
	case strings.Contains(m, "replicas"):
		return ResNone, false
	}
	isLimit = strings.Contains(m, "limit") || strings.HasSuffix(m, "_max") || strings.HasPrefix(m, "max_") || strings.Contains(m, "_max_") || strings.Contains(m, "capacity")
	switch {
	case strings.Contains(m, "open_fds") || strings.Contains(m, "fds") || strings.Contains(m, "file_descriptors"):
		k = ResFDs
	case strings.Contains(m, "goroutines"):
		k = ResGoroutines
	case strings.Contains(m, "threads"):
		k = ResThreads
	case strings.Contains(m, "connections") || strings.Contains(m, "conns"):
		k = ResConnections
	case strings.Contains(m, "pool"):
		k = ResPool
	case strings.Contains(m, "disk") || strings.Contains(m, "filesystem"):
		k = ResDisk
	case strings.Contains(m, "memory") || strings.Contains(m, "rss"):
		k = ResMemory
	}
	if k == ResNone {
		return ResNone, false
	}
	return k, isLimit
}

// ResourceResult is the verdict on one resource series: the lasting-growth
// test of Leak on its level, said in the resource's own units, and when
// it has a limit, when it runs out.
type ResourceResult struct {
	Name     string
	Kind     ResourceKind
	Status   Status
	Reason   string
	Growth   LeakResult // the lasting-growth test
	Start    float64    // fitted level at the window's start
	End      float64    // fitted level at its end
	PerMin   float64    // lasting growth per minute, in the series' unit
	Limit    float64    // 0: none known
	Forecast *Forecast  // nil: no limit, or nothing to forecast
	// NoForecast says why there is no forecast when there is a limit
	// (bounded growth, no growth).
	NoForecast string
}

// MarshalJSON writes snake_case names.
func (r ResourceResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		verdictJSON
		Kind       ResourceKind `json:"kind"`
		Start      float64      `json:"start"`
		End        float64      `json:"end"`
		PerMin     float64      `json:"per_min"`
		Limit      float64      `json:"limit,omitempty"`
		Forecast   *Forecast    `json:"forecast,omitempty"`
		NoForecast string       `json:"no_forecast,omitempty"`
		Growth     LeakResult   `json:"growth"`
	}{verdictJSON{r.Name, r.Status, r.Reason}, r.Kind, jf(r.Start), jf(r.End), jf(r.PerMin), jf(r.Limit), r.Forecast, r.NoForecast, r.Growth})
}

// ResourceOptions tune Resource.
type ResourceOptions struct {
	Leak LeakOptions // the lasting-growth test; Limit is ignored (Limit below)
	// Limit is the resource's limit (0: none): a number, or the last value
	// of a limit series (LimitOf).
	Limit float64
	// Soon fails a check whose forecast reaches the limit within it,
	// whatever the growth test said (default DefaultSoon).
	Soon time.Duration
	Z    float64 // the forecast interval's normal quantile; default DefaultForecastZ
}

// MinCountGrowth is the least change of a count over a window that
// can warn or be inconclusive: a count that moved by a unit or two (one
// more thread) is steady.
const MinCountGrowth = 3

// DefaultSoon is how close exhaustion fails a resource check by itself:
// a resource that runs out within a day fails even when it grew less than
// the growth test's threshold.
const DefaultSoon = 24 * time.Hour

// Resource judges a resource series of kind k: Leak's lasting-growth test
// (cleaning, restarts, warm-up, trend, levelling off), with a verdict in
// the resource's units ("open fds +3.1/min, 41 → 226 over 1m0s: a leak")
// and, where there is a limit and lasting growth, a forecast of when it
// runs out. Growth that levels off has no forecast, and says so.
func Resource(name string, k ResourceKind, pts []Point, o ResourceOptions) ResourceResult {
	if o.Soon <= 0 {
		o.Soon = DefaultSoon
	}
	r := ResourceResult{Name: name, Kind: k, Limit: o.Limit}
	if k == ResDiskFree {
		// Free space falls as disk fills: judge the space used since the
		// start, above a base of the first free space, so its growth is
		// in % of what was free; no space left is the limit.
		pts, _ = Clean(pts)
		if len(pts) > 0 {
			first := pts[0].V
			used := make([]Point, len(pts))
			for i, p := range pts {
				used[i] = Point{T: p.T, V: 2*first - p.V}
			}
			pts, r.Limit = used, 2*first
			if !(first > 0) {
				r.Limit = 0
			}
		}
	}
	lo := o.Leak
	lo.Limit = 0
	if k.Bytes() {
		if lo.Kind == KindUnknown || lo.Kind == KindCount {
			lo.Kind = KindOS
		}
		lo.Unit = UnitBytes
	} else {
		lo.Kind, lo.Unit = KindCount, k.Unit()
	}
	l := Leak(name, pts, lo)
	r.Growth, r.Status = l, l.Status
	r.Start = l.Baseline
	r.End = l.Baseline + l.Fit.SlopePerSec*l.Window.Seconds()
	if l.Fit.IsZero() {
		r.End = l.Baseline + l.SlopePerSec*l.Window.Seconds()
	}
	r.PerMin = l.SlopePerSec * 60
	format := formatter(k)
	if k == ResDiskFree {
		// Back to free space.
		first := r.Limit / 2
		r.Start, r.End = 2*first-r.Start, 2*first-r.End
	}
	w := round(l.Window)
	unit := string(k)
	if !k.Bytes() && k != ResNone && (l.Status == Warn || l.Status == Inconclusive) && l.Restarts == 0 &&
		math.Abs(r.End-r.Start) < MinCountGrowth && l.Window > 0 {
		// A count that moved by a unit or two (a thread more, a
		// connection) is no trend, whatever its share of a small number.
		r.Status = Pass
		r.Reason = fmt.Sprintf("%s steady: %s → %s over %s (a change under %d is no trend)", unit, format(r.Start), format(r.End), w, MinCountGrowth)
		l.Status = Pass
		r.Growth.Status = Pass
	}
	switch {
	case l.Status == Fail && l.Restarts > 0:
		r.Reason = fmt.Sprintf("%s: %s", unit, rename(l.Reason, k))
	case l.Status == Fail || l.Status == Warn:
		verdict := "a leak"
		if l.Status == Warn {
			verdict = "below the failing threshold but rising"
		}
		r.Reason = fmt.Sprintf("%s %s/min, %s → %s over %s (trend p=%.2g): %s", unit, signed(r.PerMin, k), format(r.Start), format(r.End), w, l.P, verdict)
		if k == ResDiskFree {
			r.Reason = fmt.Sprintf("disk free %s/min, %s → %s over %s (trend p=%.2g): %s", signed(-r.PerMin, k), format(r.Start), format(r.End), w, l.P, "filling")
		}
	case r.Reason != "":
	case l.Status == Pass && !l.Levelled && l.StepPct == 0 && l.Window > 0:
		r.Reason = fmt.Sprintf("%s steady: %s → %s over %s (%s/min, p=%.2g)", unit, format(r.Start), format(r.End), w, signed(r.PerMin, k), l.P)
	default:
		r.Reason = fmt.Sprintf("%s: %s", unit, rename(l.Reason, k))
	}
	if r.Limit > 0 {
		bounded := l.Levelled || l.StepPct != 0
		f, ok := ForecastLimit(pts, l.Warmup, l.RestartTimes, r.Limit, o.Z)
		growing := l.Status == Fail || l.Status == Warn || (l.FloorPoints > 0 && l.P < DefaultLeakAlpha && l.SlopePerSec > 0)
		switch {
		case ok && f.Reached:
			r.Forecast = &f
		case bounded:
			r.NoForecast = "bounded growth: no forecast"
		case ok && growing:
			r.Forecast = &f
		default:
			r.NoForecast = "no lasting growth: no forecast"
		}
		switch {
		case r.Forecast != nil && k == ResDiskFree:
			if r.Forecast.Reached {
				r.Reason += "; no disk space left"
			} else {
				hi := HumanDuration(r.Forecast.Hi)
				if r.Forecast.HiNever {
					hi = "never"
				}
				r.Reason += fmt.Sprintf("; the disk fills in %s (%s – %s)", HumanDuration(r.Forecast.In), HumanDuration(r.Forecast.Lo), hi)
			}
		case r.Forecast != nil:
			r.Reason += "; " + r.Forecast.Phrase(format)
		case r.NoForecast != "":
			r.Reason += "; " + r.NoForecast
		}
		if r.Forecast != nil && (r.Forecast.Reached || r.Forecast.In < o.Soon) && r.Status != Fail {
			r.Status = Fail
			if r.Forecast.Reached {
				r.Reason += ": exhausted"
			} else {
				r.Reason += fmt.Sprintf(": runs out within %s", HumanDuration(o.Soon))
			}
		}
	}
	return r
}

// rename says a Leak reason in the resource's words.
func rename(reason string, k ResourceKind) string {
	n := string(k)
	for _, old := range []string{"memory floor", "memory's median", "memory's 25th percentile", "memory's 5th percentile", "memory's 0th percentile",
		"count floor", "count's median", "count's 25th percentile", "count's 5th percentile", "count's 0th percentile"} {
		reason = strings.ReplaceAll(reason, old, n)
	}
	reason = strings.ReplaceAll(reason, "a heap growing to its steady size", "a process reaching its steady level")
	reason = strings.ReplaceAll(reason, "a heap still growing to its size", "a process still reaching its level")
	reason = strings.ReplaceAll(reason, "GC cycles", "cycles")
	return reason
}

// formatter writes a value of kind k: bytes in IEC units, counts as
// integers with thousands separators.
func formatter(k ResourceKind) func(float64) string {
	if k.Bytes() {
		return FormatBytes
	}
	return FormatCount
}

func signed(v float64, k ResourceKind) string {
	if k.Bytes() {
		if v < 0 {
			return "-" + FormatBytes(-v)
		}
		return "+" + FormatBytes(v)
	}
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%+.0f", v)
	case a >= 1:
		return fmt.Sprintf("%+.1f", v)
	default:
		return fmt.Sprintf("%+.2g", v)
	}
}

// FormatCount writes a count: 1,024; fractions (a fitted level) rounded.
func FormatCount(v float64) string {
	if !isFinite(v) {
		return fmt.Sprint(v)
	}
	neg := v < 0
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// FormatBytes writes bytes in IEC units: 512 MiB, 1.5 GiB.
func FormatBytes(v float64) string {
	if !isFinite(v) {
		return fmt.Sprint(v)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	a, i := math.Abs(v), 0
	for a >= 1024 && i < len(units)-1 {
		a /= 1024
		i++
	}
	sign := ""
	if v < 0 {
		sign = "-"
	}
	if a == math.Trunc(a) || a >= 100 {
		return fmt.Sprintf("%s%.0f %s", sign, a, units[i])
	}
	return fmt.Sprintf("%s%.3g %s", sign, a, units[i])
}
