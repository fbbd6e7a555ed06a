package run

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// Judge evaluates the thresholds and runs the built-in checks on a run:
// latency degradation (the seed's rule), error-rate and throughput drift,
// and a leak check on every memory series of the target. Only thresholds
// decide a run's exit code; checks inform (see Outcome).
func Judge(ths []*scenario.Threshold, snap *stats.Snapshot, hist []stats.Tick, target []series.Series, warmup time.Duration) []soak.Verdict {
	var leaks []soak.LeakResult
	full, given := hist, warmup
	hist, leakWarm, warmup := judgedRun(hist, warmup)
	if len(hist) > 0 {
		target = cutSeries(target, hist[len(hist)-1].Time)
	}
	target, markers := splitMarkers(target)
	for _, s := range target {
		if leakSeries(s) {
			leaks = append(leaks, soak.Leak(s.Name, s.Points, leakOptions(s, target, markers, leakWarm)))
		}
	}
	hs := historySeries(hist)
	in := soak.Inputs{Snapshot: snap, Series: hs, Warmup: warmup}
	in.Target, in.TargetNotes = memoryFigures(leaks)
	leakVs := leakVerdicts(leaks)
	res := judgeResources(target, markers, leakVs.byName, hs["rps"], hs["load_cpu"], leakWarm, warmup)
	exhaustionInputs(res, &in)
	var out []soak.Verdict
	out = append(out, thresholdVerdicts(ths, in)...)
	checks := []soak.DriftResult{
		soak.Drift("latency p95 (ms)", hs["p95"], latencyOptions(warmup, hs, snap)),
		soak.Drift("error rate (%)", hs["error_rate"], soak.DriftOptions{Absolute: true, FailPct: 1, Warmup: warmup,
			CountWindow: stats.WindowSeconds * time.Second, Trials: medianRate(hs["rps"], warmup)}),
		soak.Drift("throughput (req/s)", hs["rps"], soak.DriftOptions{Worse: -1, Warmup: warmup, CountWindow: stats.WindowSeconds * time.Second}),
	}
	for _, c := range checks {
		if c.Status == soak.Inconclusive && c.Points < soak.MinDriftPoints {
			hint, l := decideHint(full, given, warmup)
			c.Reason += hint
			c.DecideAfter = l
		}
		out = append(out, driftVerdict(c.Name, c))
	}
	out = append(out, leakVs.list...)
	return append(out, res.verdicts...)
}

// leakVerdictList is the leak checks' verdicts, in order and by series
// name (the resource checks add a memory limit's forecast to them).
type leakVerdictList struct {
	list   []soak.Verdict
	byName map[string]*soak.Verdict
}

func leakVerdicts(leaks []soak.LeakResult) leakVerdictList {
	l := leakVerdictList{byName: map[string]*soak.Verdict{}}
	for _, r := range leaks {
		l.list = append(l.list, leakVerdict(r))
	}
	for i := range l.list {
		l.byName[l.list[i].Leak.Name] = &l.list[i]
	}
	return l
}

// latencyOptions are the latency check's: a change below 1 ms, or below
// the histogram's resolution (3 significant digits), neither warns nor
// fails; a rise the load generator's own scheduling delay explains is
// not the service's (hs["sched_delay"], see soak.DriftOptions.Generator).
//
// A tick's p95 is that of the requests of the last stats.WindowSeconds, so
// at a few requests a second it is the second or third largest of a few
// dozen and wanders by tens of percent from sampling alone: changes within
// that noise (soak.DriftOptions.Quantile, from the run's median request
// rate and the slope of its latency distribution at the p95, read off the
// whole run's exact p90 and p98) neither warn nor fail.
func latencyOptions(warmup time.Duration, hs map[string][]series.Point, snap *stats.Snapshot) soak.DriftOptions {
	o := soak.DriftOptions{Warmup: warmup, MinAbs: 1, Resolution: 0.001, Generator: hs["sched_delay"]}
	if snap != nil {
		lo, hi := snap.Total.Percentile(0.90), snap.Total.Percentile(0.98)
		if rate := medianRate(hs["rps"], warmup); rate > 0 && hi > lo {
			o.CountWindow, o.Trials = stats.WindowSeconds*time.Second, rate
			o.Quantile, o.QuantileSlope = 0.95, (hi-lo)/0.08
		}
	}
	return o
}

// runWindow is the part of a run's history its checks judge, and the
// warm-up to cut from it: from the first tick to the last with every user
// running (judging stops when the users stop: the web UI's stop,
// --autoquit's idle time, -i's users finishing), and a warm-up that covers
// the spawn ramp (until the users first reach their most) and the first
// full statistics window after it, and the given or default warm-up of
// what is left. In the open model (--rate) the
// window ends at the last tick that asked for iterations.
func runWindow(hist []stats.Tick, warmup time.Duration) ([]stats.Tick, time.Duration) {
	if len(hist) == 0 {
		return hist, warmup
	}
	most, open := 0, false
	for _, t := range hist {
		most = max(most, t.Users)
		open = open || t.Open
	}
	first, last := -1, -1
	for i, t := range hist {
		running := t.Users >= most && most > 0
		if open {
			running = t.Target > 0 || (t.Target == 0 && t.Users > 0)
		}
		if running {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if last < 0 {
		return hist, warmup
	}
	out := hist[:last+1]
	ramp := hist[first].Time.Sub(hist[0].Time)
	if warmup <= 0 {
		// The default of the checks, over what is judged after the ramp.
		span := out[len(out)-1].Time.Sub(hist[first].Time)
		warmup = ramp + min(time.Duration(float64(span)*soak.DefaultWarmupFraction), soak.DefaultWarmupMax)
	}
	// The rates and percentiles of a tick are those of the last
	// stats.WindowSeconds: the first full window after the ramp is the
	// first that shows the load as it runs (all users starting at once
	// make a burst of logins and first tasks that the window averages
	// for its length).
	return out, max(warmup, ramp+stats.WindowSeconds*time.Second)
}

// medianRate is the median of a rate series after the warm-up from its
// first point (0 when none is left).
func medianRate(pts []series.Point, warmup time.Duration) float64 {
	if len(pts) == 0 {
		return 0
	}
	var v []float64
	for _, p := range pts {
		if p.T.Sub(pts[0].T) >= warmup && p.V > 0 {
			v = append(v, p.V)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// decideHint says, for a run too short for the drift checks, what the
// warm-up was and how long a run of the same shape (its spawn ramp, its
// tick) would have to be for them to judge: MinDriftPoints ticks after
// runWindow's warm-up.
func decideHint(hist []stats.Tick, given, warm time.Duration) (string, time.Duration) {
	if len(hist) < 2 {
		return "", 0
	}
	most := 0
	for _, t := range hist {
		most = max(most, t.Users)
	}
	start, ramp := hist[0].Time, time.Duration(0)
	for _, t := range hist {
		if t.Users >= most {
			ramp = t.Time.Sub(start)
			break
		}
	}
	// A run that ended before its users had all started (a ramp longer
	// than -t) has a ramp of its own shape that a longer run would go
	// through whole: extrapolated at the pace the users started.
	cut, planned := ramp, float64(0)
	for _, t := range hist {
		if !t.Open {
			planned = max(planned, t.Target)
		}
	}
	if planned > float64(most) {
		// The pace from the first tick with users (a first batch may
		// start at once) to the first with the most.
		i := slices.IndexFunc(hist, func(t stats.Tick) bool { return t.Users > 0 })
		if i >= 0 && most > hist[i].Users {
			from := hist[i].Time.Sub(start)
			if pace := float64(most-hist[i].Users) / float64(ramp-from); pace > 0 {
				ramp += time.Duration((planned - float64(most)) / pace)
			}
		}
	}
	gaps := make([]time.Duration, 0, len(hist)-1)
	for i := 1; i < len(hist); i++ {
		gaps = append(gaps, hist[i].Time.Sub(hist[i-1].Time))
	}
	slices.Sort(gaps)
	tick := max(gaps[len(gaps)/2], time.Second)
	window := stats.WindowSeconds * time.Second
	warmAt := func(l time.Duration) time.Duration {
		w := given
		if w <= 0 {
			w = ramp + min(time.Duration(float64(l-ramp)*soak.DefaultWarmupFraction), soak.DefaultWarmupMax)
		}
		return max(w, ramp+window)
	}
	need := time.Duration(soak.MinDriftPoints) * tick
	l := ramp + window + need
	for l-warmAt(l) < need {
		l += tick
	}
	what := "the first full " + window.String() + " statistics window"
	switch {
	case ramp > cut:
		what = fmt.Sprintf("the spawn ramp, cut short at %s of about %s (the run ended before its %g users had all started), and %s",
			cut.Round(time.Second), ramp.Round(time.Second), planned, what)
	case ramp > 0:
		what = "the spawn ramp of " + ramp.Round(time.Second).String() + " and " + what
	}
	if given > 0 && given > ramp+window {
		what = "--warmup"
	}
	l = l.Round(time.Second)
	return fmt.Sprintf(" (the warm-up was %s: %s); a run of %s or more would decide", warm.Round(time.Second), what, l), l
}

// judgedRun is runWindow's history and warm-up for the drift checks, and
// the leak checks' warm-up: the one given, else their own default
// (soak.LeakWarmup, 0 here) unless the spawn ramp is longer.
func judgedRun(hist []stats.Tick, warmup time.Duration) ([]stats.Tick, time.Duration, time.Duration) {
	cut, driftWarm := runWindow(hist, warmup)
	leakWarm := warmup
	if leakWarm <= 0 && len(cut) > 0 {
		ramp := time.Duration(0)
		most := 0
		for _, t := range cut {
			most = max(most, t.Users)
		}
		for _, t := range cut {
			if t.Users >= most {
				ramp = t.Time.Sub(cut[0].Time)
				break
			}
		}
		if ramp > soak.LeakWarmup(cut[len(cut)-1].Time.Sub(cut[0].Time)) {
			leakWarm = ramp
		}
	}
	return cut, leakWarm, driftWarm
}

// cutSeries drops the samples of ss after end.
func cutSeries(ss []series.Series, end time.Time) []series.Series {
	out := make([]series.Series, len(ss))
	for i, s := range ss {
		out[i] = s
		j := len(s.Points)
		for j > 0 && s.Points[j-1].T.After(end) {
			j--
		}
		out[i].Points = s.Points[:j]
	}
	return out
}

// memoryFigures are the target.* values the leak checks give:
// memory_growth is the largest lasting growth of the memory series whose
// check decided; when every check was inconclusive there is none, and the
// note says why (a threshold on it then passes with a warning).
func memoryFigures(leaks []soak.LeakResult) (map[string]float64, map[string]string) {
	figures, notes := map[string]float64{}, map[string]string{}
	for _, l := range leaks {
		if l.Status == soak.Inconclusive {
			if _, ok := notes["memory_growth"]; !ok {
				notes["memory_growth"] = l.Name + ": " + l.Reason
			}
			continue
		}
		if g, ok := figures["memory_growth"]; !ok || l.GrowthPct > g {
			figures["memory_growth"] = l.GrowthPct
		}
	}
	return figures, notes
}

// thresholdVerdicts judges ths on in, but for the regression thresholds,
// which need the baseline runs (judgeRegressions).
func thresholdVerdicts(ths []*scenario.Threshold, in soak.Inputs) []soak.Verdict {
	var out []soak.Verdict
	ths = slices.DeleteFunc(slices.Clone(ths), compare.IsRegression)
	for _, r := range soak.EvaluateThresholds(ths, in) {
		v := soak.Verdict{Kind: "threshold", Name: r.Threshold.Text, Status: soak.Pass, Reason: r.Reason}
		if !r.Pass {
			v.Status = soak.Fail
		} else if r.NoData {
			// Held because nothing could be measured: the data could not
			// tell, in the one word every view uses.
			v.Status = soak.Inconclusive
		}
		if !r.NoData {
			actual := r.Actual
			v.Actual = &actual
		}
		out = append(out, v)
	}
	return out
}

func leakVerdict(l soak.LeakResult) soak.Verdict {
	return soak.Verdict{Kind: "check", Name: "memory leak: " + l.Name, Status: l.Status, Reason: "memory leak (" + l.Name + "): " + l.Reason, Leak: &l}
}

func driftVerdict(name string, d soak.DriftResult) soak.Verdict {
	return soak.Verdict{Kind: "check", Name: name, Status: d.Status, Reason: d.Reason, Drift: &d}
}

// historySeries are the run's series over time that thresholds and the
// drift checks judge: p50/p95/p99 of the windows with requests, rps and
// error_rate (%) from the first request on; sched_delay, the load
// generator's own scheduling delay (ms), and load_cpu, its own CPU use
// (its workers' CPU %), where they were measured.
func historySeries(hist []stats.Tick) map[string][]series.Point {
	out := map[string][]series.Point{}
	measured := slices.ContainsFunc(hist, func(p stats.Tick) bool { return p.SchedDelayMs > 0 })
	cpuMeasured := slices.ContainsFunc(hist, func(p stats.Tick) bool { return p.LoadCPUPct > 0 })
	for _, p := range hist {
		if measured {
			out["sched_delay"] = append(out["sched_delay"], series.Point{T: p.Time, V: p.SchedDelayMs})
		}
		if cpuMeasured {
			out["load_cpu"] = append(out["load_cpu"], series.Point{T: p.Time, V: p.LoadCPUPct})
		}
		if p.Requests == 0 {
			continue
		}
		if p.P50Ms > 0 {
			out["p50"] = append(out["p50"], series.Point{T: p.Time, V: p.P50Ms})
			out["p95"] = append(out["p95"], series.Point{T: p.Time, V: p.P95Ms})
			out["p99"] = append(out["p99"], series.Point{T: p.Time, V: p.P99Ms})
		}
		out["rps"] = append(out["rps"], series.Point{T: p.Time, V: p.RPS})
		rate := 0.0
		if p.RPS > 0 {
			rate = p.FailPerSec / p.RPS * 100
		}
		out["error_rate"] = append(out["error_rate"], series.Point{T: p.Time, V: rate})
	}
	return out
}

// AddCharts adds to info what the HTML report draws beside the request
// statistics: the target's series, each memory series with the fitted floor
// of its leak check; the fitted p95 trend of the degradation check; and
// the events. The fits are those the checks judge (the same series and
// warm-up), recomputed: the checks are pure and cheap.
func AddCharts(info *report.Info, snap *stats.Snapshot, hist []stats.Tick, target []series.Series, events []stats.Event, warmup time.Duration) {
	hist, leakWarm, driftWarm := judgedRun(hist, warmup)
	judged, markers := splitMarkers(target)
	var end time.Time
	if len(hist) > 0 {
		end = hist[len(hist)-1].Time
	}
	ctarget := cutJudged(target, end)
	var leaks []soak.LeakResult
	for _, s := range ctarget {
		if leakSeries(s) {
			leaks = append(leaks, soak.Leak(s.Name, s.Points, leakOptions(s, cutJudged(judged, end), markers, leakWarm)))
		}
	}
	res := judgeResources(cutJudged(judged, end), markers, leakVerdicts(leaks).byName, nil, nil, leakWarm, driftWarm)
	byName := map[string]soak.ResourceResult{}
	for _, r := range res.results {
		byName[r.Name] = r
	}
	for _, s := range target {
		ts := report.TargetSeries{Series: s}
		if r, ok := byName[s.Name]; ok {
			resourceChart(&ts, r)
			info.Target = append(info.Target, ts)
			continue
		}
		if s.Memory {
			// The fit of the check: the same cut and options as Judge.
			pts := s.Points
			if !end.IsZero() {
				pts = cutSeries([]series.Series{s}, end)[0].Points
			}
			l := soak.Leak(s.Name, pts, leakOptions(s, cutJudged(judged, end), markers, leakWarm))
			ts.Trend = reportTrend(l.Fit, fmt.Sprintf("%s, %s", l.Status, soak.FormatRate(l.SlopePerSec, l.Unit, l.Window)))
		}
		info.Target = append(info.Target, ts)
	}
	hs := historySeries(hist)
	d := soak.Drift("latency p95 (ms)", hs["p95"], latencyOptions(driftWarm, hs, snap))
	info.P95Trend = reportTrend(d.Fit, fmt.Sprintf("%s, %+.1f%% last quarter vs first", d.Status, d.ChangePct))
	info.Events = events
}

func cutJudged(ss []series.Series, end time.Time) []series.Series {
	if end.IsZero() {
		return ss
	}
	return cutSeries(ss, end)
}

func reportTrend(l soak.Line, note string) *report.Trend {
	if l.IsZero() {
		return nil
	}
	return &report.Trend{From: l.From, To: l.To, Start: l.V0, SlopePerSec: l.SlopePerSec, Note: note}
}

// Thresholds returns the plan's thresholds and those of texts (--threshold),
// parsed; a bad one is bad input naming it.
func Thresholds(plan *scenario.Plan, texts []string) ([]*scenario.Threshold, error) {
	var out []*scenario.Threshold
	if plan != nil {
		out = append(out, plan.Thresholds...)
	}
	for _, f := range texts {
		t, err := scenario.ParseThreshold(f)
		if err != nil {
			return nil, badInput("--threshold: %v", err)
		}
		if t.Stat == "target" && !slices.Contains(scenario.TargetMetrics, t.Target) {
			return nil, badInput("--threshold %q: unknown target metric %q (known: %s)", f, t.Target, strings.Join(scenario.TargetMetrics, ", "))
		}
		if t.Stat == "regression" && t.Of == "target" && !slices.Contains(scenario.RegressionTargets, t.Target) {
			return nil, badInput("--threshold %q: unknown target metric %q (known: %s)", f, t.Target, strings.Join(scenario.RegressionTargets, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// MonitorSources are the command line's additions to the scenario's
// monitor: section.
type MonitorSources struct {
	Scrapes []string // --scrape URL
	PromURL string   // --prometheus-url (overrides the scenario's)
	PromQL  []string // --promql NAME=QUERY
	PIDs    []int    // --pid PID
	Limits  []string // --limit METRIC=VALUE
}

// MonitorConfig builds the monitor's configuration from the scenario's
// monitor: section and the command line.
func MonitorConfig(plan *scenario.Plan, src MonitorSources) (monitor.Config, error) {
	var cfg monitor.Config
	promURL := src.PromURL
	if plan != nil {
		cfg.Interval = plan.Monitor.Interval
		for _, s := range plan.Monitor.Scrapes {
			cfg.Scrapes = append(cfg.Scrapes, monitor.Scrape{URL: s.URL, Metrics: s.Metrics})
		}
		if promURL == "" {
			promURL = plan.Monitor.Prometheus.URL
		}
		for _, q := range plan.Monitor.Prometheus.Queries {
			cfg.Queries = append(cfg.Queries, monitor.Query{URL: promURL, Name: q.Name, Query: q.Query, Memory: q.Memory, Kind: q.Kind})
		}
		cfg.Processes = plan.Monitor.Processes
		cfg.Limits = plan.Monitor.Limits
	}
	for _, u := range src.Scrapes {
		cfg.Scrapes = append(cfg.Scrapes, monitor.Scrape{URL: u})
	}
	for _, pid := range src.PIDs {
		if pid <= 0 {
			return cfg, badInput("--pid %d: not a PID", pid)
		}
		cfg.Processes = append(cfg.Processes, pid)
	}
	if len(src.Limits) > 0 {
		lims, err := ParseLimits(src.Limits)
		if err != nil {
			return cfg, err
		}
		if cfg.Limits == nil {
			cfg.Limits = map[string]float64{}
		}
		for k, v := range lims {
			cfg.Limits[k] = v
		}
	}
	for _, nq := range src.PromQL {
		name, q, ok := strings.Cut(nq, "=")
		if !ok || name == "" || strings.TrimSpace(q) == "" {
			return cfg, badInput("--promql %q: want NAME=PROMQL", nq)
		}
		if promURL == "" {
			return cfg, badInput("--promql %s: no Prometheus server: add --prometheus-url or the scenario's monitor: prometheus: url", name)
		}
		cfg.Queries = append(cfg.Queries, monitor.Query{URL: promURL, Name: name, Query: q})
	}
	return cfg, nil
}
