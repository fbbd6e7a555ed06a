package run

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// LimitMetricPrefix marks a series that records a limit given as a number
// (a monitor query's `limit:`, `horde analyze --limit`): its Metric is
// this prefix and the metric (or query name) it limits.
const LimitMetricPrefix = monitor.LimitPrefix

// role is what a target series is to the resource checks.
type role struct {
	kind     soak.ResourceKind
	limit    bool   // a limit of kind (or of limitOf)
	limitOf  string // the metric an explicit limit series limits
	replicas bool   // a replica count
	maxRepl  bool   // a maximum of replicas
	cpu      bool   // a cumulative CPU seconds series
}

// roleOf tells what a series measures: from its metric (a scraped
// metric's name, or a query's name), else its name (a query's text).
func roleOf(s series.Series) role {
	if m, ok := strings.CutPrefix(s.Metric, LimitMetricPrefix); ok {
		return role{limit: true, limitOf: m}
	}
	for _, m := range []string{s.Metric, s.Name} {
		if r, mx := soak.IsReplicas(m); r {
			return role{replicas: !mx, maxRepl: mx}
		}
	}
	k, lim := soak.ClassifyResource(s.Metric)
	if k == soak.ResNone {
		k, lim = soak.ClassifyResource(s.Name)
	}
	if lim {
		// A memory limit is no memory to judge, whatever its name says.
		return role{kind: k, limit: true}
	}
	if s.Memory {
		return role{kind: soak.ResMemory}
	}
	if m := strings.ToLower(s.Metric); m == "process_cpu_seconds_total" || strings.HasSuffix(m, "cpu_seconds_total") {
		return role{cpu: true}
	}
	return role{kind: k}
}

// leakSeries reports whether s gets the memory leak check: a memory
// series that is not a limit.
func leakSeries(s series.Series) bool {
	return s.Memory && roleOf(s).kind == soak.ResMemory && !roleOf(s).limit
}

// lastValue is the median of the last few finite values of pts: what a
// limit is now.
func lastValue(pts []series.Point) float64 {
	var vs []float64
	for i := len(pts) - 1; i >= 0 && len(vs) < 5; i-- {
		if v := pts[i].V; !math.IsNaN(v) && !math.IsInf(v, 0) && v > 0 {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0
	}
	// A few values: the middle one.
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			if vs[j] < vs[i] {
				vs[i], vs[j] = vs[j], vs[i]
			}
		}
	}
	return vs[len(vs)/2]
}

// limitFor finds the limit of s among the limit series: an explicit one
// for its metric, else one of its kind from the same source (a scrape's
// URL, a query's labels, a PID), else the only one of its kind.
func limitFor(s series.Series, k soak.ResourceKind, limits []series.Series) float64 {
	for _, l := range limits {
		if of, ok := strings.CutPrefix(l.Metric, LimitMetricPrefix); ok && (of == s.Metric || of == s.Name) {
			return lastValue(l.Points)
		}
	}
	var same []series.Series
	for _, l := range limits {
		if roleOf(l).kind == k && !strings.HasPrefix(l.Metric, LimitMetricPrefix) {
			same = append(same, l)
		}
	}
	for _, l := range same {
		if sameSource(l, s) {
			return lastValue(l.Points)
		}
	}
	if p := podLabel.FindStringSubmatch(s.Name); p != nil {
		for _, l := range same {
			if q := podLabel.FindStringSubmatch(l.Name); q != nil && q[1] == p[1] {
				return lastValue(l.Points)
			}
		}
	}
	if len(same) == 1 {
		return lastValue(same[0].Points)
	}
	return 0
}

// sameSource reports whether two series come from the same place: the
// same source (a scrape's URL, a PID), or the same label set of a query's
// series whatever the metric or the query's name (a monitor query named
// replicas and one named max_replicas, both on the HPA "web").
func sameSource(a, b series.Series) bool {
	if source(a) == source(b) {
		return true
	}
	la, lb := labelSet(a.Name), labelSet(b.Name)
	return la != "" && la == lb
}

// labelSet is the {labels} a series' name ends in, or "".
func labelSet(name string) string {
	if i := strings.Index(name, "{"); i >= 0 && strings.HasSuffix(name, "}") {
		return name[i:]
	}
	return ""
}

// resourceJudgement is what the resource checks found on a run's target
// series.
type resourceJudgement struct {
	verdicts []soak.Verdict
	results  []soak.ResourceResult // with their series, for charts
	// exhaustion is the shortest forecast (time_to_exhaustion) and the
	// resource it names; ok is false without any forecast.
	exhaustion time.Duration
	exhausting string
	ok         bool
}

// judgeResources judges every resource series of target (memory series
// excepted: their leak check is leaks, whose verdicts it extends with the
// forecast where a memory limit is known), the replica counts, and the
// CPU per request when rps (the load side's throughput) is given, against
// the load generator's own CPU use (load, stats.Tick.LoadCPUPct) where it
// was measured. warmup is the growth tests' (0: their default),
// driftWarmup the CPU check's.
func judgeResources(target, markers []series.Series, leaks map[string]*soak.Verdict, rps, load []series.Point, warmup, driftWarmup time.Duration) resourceJudgement {
	var j resourceJudgement
	var limits []series.Series
	for _, s := range target {
		if r := roleOf(s); r.limit {
			limits = append(limits, s)
		}
	}
	var maxReplicas []series.Series
	for _, s := range target {
		if roleOf(s).maxRepl {
			maxReplicas = append(maxReplicas, s)
		}
	}
	note := func(name string, f *soak.Forecast) {
		if f == nil {
			return
		}
		in := f.In
		if f.Reached {
			in = 0
		}
		if !j.ok || in < j.exhaustion {
			j.exhaustion, j.exhausting, j.ok = in, name, true
		}
	}
	for _, s := range target {
		r := roleOf(s)
		switch {
		case r.limit || r.maxRepl:
			continue
		case r.replicas:
			lim := 0.0
			for _, m := range maxReplicas {
				if sameSource(m, s) || len(maxReplicas) == 1 {
					lim = lastValue(m.Points)
				}
			}
			rr := soak.Replicas(s.Name, s.Points, lim)
			j.verdicts = append(j.verdicts, soak.Verdict{Kind: "check", Name: "replicas: " + s.Name, Status: rr.Status, Reason: "replicas (" + s.Name + "): " + rr.Reason, Replicas: &rr})
		case r.cpu:
			if len(rps) == 0 {
				continue
			}
			d := soak.CPUCheckAgainst("cpu per request (ms)", s.Points, rps, load, driftWarmup)
			if d.Points == 0 {
				continue
			}
			j.verdicts = append(j.verdicts, soak.Verdict{Kind: "check", Name: "cpu per request: " + s.Name, Status: d.Status, Reason: d.Reason + " (" + s.Name + ")", Drift: &d})
		case r.kind == soak.ResMemory:
			lim := limitFor(s, soak.ResMemory, limits)
			v := leaks[s.Name]
			if lim <= 0 || v == nil {
				continue
			}
			rr := soak.Resource(s.Name, soak.ResMemory, s.Points, soak.ResourceOptions{Leak: leakOptions(s, target, markers, warmup), Limit: lim})
			switch {
			case rr.Forecast != nil:
				v.Reason += "; " + rr.Forecast.Phrase(soak.FormatBytes)
			case rr.NoForecast != "":
				v.Reason += "; limit " + soak.FormatBytes(lim) + ": " + rr.NoForecast
			}
			if rr.Status == soak.Fail && v.Status != soak.Fail {
				v.Status = soak.Fail
				v.Reason += ": runs out within " + soak.HumanDuration(soak.DefaultSoon)
			}
			v.Resource = &rr
			j.results = append(j.results, rr)
			note("memory ("+s.Name+")", rr.Forecast)
		case r.kind != soak.ResNone:
			lim := limitFor(s, r.kind, limits)
			rr := soak.Resource(s.Name, r.kind, s.Points, soak.ResourceOptions{Leak: leakOptions(s, target, markers, warmup), Limit: lim})
			j.verdicts = append(j.verdicts, soak.Verdict{Kind: "check", Name: string(r.kind) + ": " + s.Name, Status: rr.Status, Reason: rr.Reason + " (" + s.Name + ")", Resource: &rr})
			j.results = append(j.results, rr)
			note(string(r.kind)+" ("+s.Name+")", rr.Forecast)
		}
	}
	return j
}

// exhaustionInputs adds target.time_to_exhaustion (ms, the shortest
// forecast) and the resource it names to in.
func exhaustionInputs(j resourceJudgement, in *soak.Inputs) {
	if in.Target == nil {
		in.Target = map[string]float64{}
	}
	if j.ok {
		in.Target["time_to_exhaustion"] = float64(j.exhaustion) / float64(time.Millisecond)
		in.Exhausting = j.exhausting
	}
}

// resourceChart sets what the report draws of a resource series: its
// check's fitted line, its limit and the forecast towards it.
func resourceChart(ts *report.TargetSeries, r soak.ResourceResult) {
	ts.Resource, ts.Limit, ts.Bytes = string(r.Kind), r.Limit, r.Kind.Bytes()
	if r.Kind == soak.ResDiskFree {
		ts.Limit = 0 // no space left: the axis
	}
	l := r.Growth
	if r.Kind != soak.ResDiskFree {
		ts.Trend = reportTrend(l.Fit, fmt.Sprintf("%s, %s/min", r.Status, strconvG(r.PerMin)))
	}
	if f := r.Forecast; f != nil && !f.Reached && f.SlopePerSec > 0 && r.Kind != soak.ResDiskFree {
		note := "forecast: " + f.Phrase(formatOf(r.Kind))
		ts.Forecast = &report.Trend{From: f.At, To: f.At.Add(f.In), Start: f.Level, SlopePerSec: f.SlopePerSec, Note: note}
	}
}

func formatOf(k soak.ResourceKind) func(float64) string {
	if k.Bytes() {
		return soak.FormatBytes
	}
	return soak.FormatCount
}

func strconvG(v float64) string { return fmt.Sprintf("%+.3g", v) }

// LimitSeries records limits given as numbers (a scenario's monitor:
// limits:, analyze's --limit) as series over from..to, named as the
// monitor names them (LimitMetricPrefix and the metric).
func LimitSeries(limits map[string]float64, from, to time.Time) []series.Series {
	names := make([]string, 0, len(limits))
	for k := range limits {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []series.Series
	for _, k := range names {
		pts := []series.Point{{T: from, V: limits[k]}, {T: to, V: limits[k]}}
		out = append(out, series.Series{Name: LimitMetricPrefix + k, Metric: LimitMetricPrefix + k, Points: pts})
	}
	return out
}

// ParseLimits reads --limit NAME=VALUE flags (VALUE a number, or a size
// such as 512MiB).
func ParseLimits(flags []string) (map[string]float64, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]float64{}
	for _, f := range flags {
		name, v, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, badInput("--limit %q: want METRIC=VALUE, e.g. process_resident_memory_bytes=512MiB", f)
		}
		x, err := scenario.ParseLimit(v)
		if err != nil {
			return nil, badInput("--limit %s: %v", name, err)
		}
		out[name] = x
	}
	return out, nil
}
