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
	target, markers := splitMarkers(target)
	for _, s := range target {
		if s.Memory {
			leaks = append(leaks, soak.Leak(s.Name, s.Points, soak.LeakOptions{Warmup: warmup, Restarts: restartsFor(s, markers)}))
		}
	}
	hs := historySeries(hist)
	in := soak.Inputs{Snapshot: snap, Series: hs, Warmup: warmup}
	in.Target, in.TargetNotes = memoryFigures(leaks)
	var out []soak.Verdict
	out = append(out, thresholdVerdicts(ths, in)...)
	checks := []soak.DriftResult{
		soak.Drift("latency p95 (ms)", hs["p95"], soak.DriftOptions{Warmup: warmup}),
		soak.Drift("error rate (%)", hs["error_rate"], soak.DriftOptions{Absolute: true, FailPct: 1, Warmup: warmup}),
		soak.Drift("throughput (req/s)", hs["rps"], soak.DriftOptions{Worse: -1, Warmup: warmup}),
	}
	for _, c := range checks {
		out = append(out, driftVerdict(c.Name, c))
	}
	for _, l := range leaks {
		out = append(out, leakVerdict(l))
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
// error_rate (%) from the first request on.
func historySeries(hist []stats.Tick) map[string][]series.Point {
	out := map[string][]series.Point{}
	for _, p := range hist {
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
func AddCharts(info *report.Info, hist []stats.Tick, target []series.Series, events []stats.Event, warmup time.Duration) {
	_, markers := splitMarkers(target)
	for _, s := range target {
		ts := report.TargetSeries{Series: s}
		if s.Memory {
			l := soak.Leak(s.Name, s.Points, soak.LeakOptions{Warmup: warmup, Restarts: restartsFor(s, markers)})
			ts.Trend = reportTrend(l.Fit, fmt.Sprintf("%s, floor %+.1f%% over %s", l.Status, l.GrowthPct, l.Window.Round(time.Second)))
		}
		info.Target = append(info.Target, ts)
	}
	d := soak.Drift("latency p95 (ms)", historySeries(hist)["p95"], soak.DriftOptions{Warmup: warmup})
	info.P95Trend = reportTrend(d.Fit, fmt.Sprintf("%s, %+.1f%% last quarter vs first", d.Status, d.ChangePct))
	info.Events = events
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
		if (t.Stat == "target" || t.Stat == "regression" && t.Of == "target") && !slices.Contains(scenario.TargetMetrics, t.Target) {
			return nil, badInput("--threshold %q: unknown target metric %q (known: %s)", f, t.Target, strings.Join(scenario.TargetMetrics, ", "))
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
			cfg.Queries = append(cfg.Queries, monitor.Query{URL: promURL, Name: q.Name, Query: q.Query, Memory: q.Memory})
		}
		cfg.Processes = plan.Monitor.Processes
	}
	for _, u := range src.Scrapes {
		cfg.Scrapes = append(cfg.Scrapes, monitor.Scrape{URL: u})
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
