package run

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
)

// MaxPromPoints is the most points Prometheus returns per series of a
// range query (its query.max-samples aside): a finer step is refused with
// "exceeded maximum resolution of 11,000 points per timeseries".
const MaxPromPoints = 11000

// PromAnalysis is `horde analyze --prometheus`: series queried from a
// Prometheus server over a range, judged as the seed's analyser does.
type PromAnalysis struct {
	URL        string
	Queries    []string
	Start, End time.Time
	Step       time.Duration // 0: the range / 1000, at least 1 s
	Warmup     time.Duration
	// MemoryQueries are queries whose series get the leak check whatever
	// their metric's name (--memory-query); they are judged with Queries.
	MemoryQueries []string
	// Limits are numbers given for series (--limit NAME=VALUE): NAME is a
	// metric the series carry, or a query's text.
	Limits map[string]float64
	// Kind overrides the kind of every memory series (--kind): heap, os
	// or count; KindUnknown: told by the metric names (soak.KindOf).
	Kind soak.Kind
	// Thresholds are judged on what the series give: target.* thresholds
	// (target.memory_growth: the largest growth of a memory series).
	Thresholds []*scenario.Threshold
}

// PromOutcome is the outcome of a Prometheus analysis, with the step the
// queries were run at and what was adjusted.
type PromOutcome struct {
	*Outcome
	Step  time.Duration
	Notes []string // e.g. the step raised to Prometheus's point limit
}

// AnalyzePrometheus judges each query's series: memory series get the
// leak check, others the drift check, and the thresholds what the series
// give. Its checks decide the outcome. A query that returns no data is bad
// input naming it.
func AnalyzePrometheus(ctx context.Context, p PromAnalysis) (*PromOutcome, error) {
	queries := append(append([]string{}, p.Queries...), p.MemoryQueries...)
	if len(queries) == 0 {
		return nil, badInput("--prometheus needs at least one --query or --memory-query")
	}
	if !p.End.After(p.Start) {
		return nil, badInput("--end must be after --start")
	}
	for _, t := range p.Thresholds {
		if t.Stat != "target" {
			return nil, badInput("--threshold %q: with --prometheus only target.* thresholds apply (%v); request statistics come from a run file", t.Text, scenario.TargetMetrics)
		}
	}
	out := &PromOutcome{Outcome: &Outcome{ChecksDecide: true, Thresholds: len(p.Thresholds)}}
	step := p.Step
	if step <= 0 {
		step = max(p.End.Sub(p.Start)/1000, time.Second)
	}
	if least := ceilDiv(p.End.Sub(p.Start), MaxPromPoints-1); step < least {
		least = least.Round(time.Second) + time.Second
		out.Notes = append(out.Notes, fmt.Sprintf("step raised from %v to %v: Prometheus returns at most %d points per series", step, least, MaxPromPoints))
		step = least
	}
	out.Step = step
	var leaks []soak.LeakResult
	var vs []soak.Verdict
	var results [][]series.Series
	var markers []series.Series
	queryOf := map[string]string{} // the query that returned each series, by name
	for _, q := range queries {
		got, err := monitor.QueryRange(ctx, nil, p.URL, q, p.Start, p.End, step)
		if err != nil {
			return nil, badInput("--query %q: %v", q, err)
		}
		if len(got) == 0 {
			return nil, badInput("--query %q: no data from %s to %s (check the query in Prometheus's UI, and the range)",
				q, p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339))
		}
		memory := slices.Contains(p.MemoryQueries, q)
		for i := range got {
			queryOf[got[i].Name] = q
			got[i].Memory = got[i].Memory || memory
			switch {
			case p.Kind != soak.KindUnknown:
				got[i].Kind = string(p.Kind)
			case soak.KindOf(got[i].Metric) == soak.KindUnknown:
				// A sum or a rate has no metric name: the query's text
				// tells what it measures.
				got[i].Kind = string(soak.KindOf(q))
			}
		}
		// A query of restarts (process_start_time_seconds, *restarts_total)
		// is not judged: it tells the leak check where the process restarted.
		judged, m := splitMarkers(got)
		markers = append(markers, m...)
		results = append(results, judged)
	}
	var all []series.Series
	for _, got := range results {
		all = append(all, got...)
	}
	for i, s := range all {
		if !leakSeries(s) && !driftSeries(s) {
			continue
		}
		// A step finer than the scrape interval repeats each sample:
		// the leak and drift checks judge the samples, once each.
		if kept, every := soak.FromRangeQuery(s.Points, step); len(kept) < len(s.Points) {
			out.Notes = append(out.Notes, fmt.Sprintf("%s: %d of its %d points repeated the sample before (the %v step is finer than its scrape interval, about %v): judged on its %d samples",
				s.Name, len(s.Points)-len(kept), len(s.Points), step, every.Round(100*time.Millisecond), len(kept)))
			all[i].Points = kept
		}
	}
	all = append(all, LimitSeries(p.Limits, p.Start, p.End)...)
	starts, notes := lookedUpStarts(ctx, p, step, all, markers, queryOf)
	out.Notes = append(out.Notes, notes...)
	for _, s := range all {
		if leakSeries(s) {
			o, looked := withLookedUpStart(leakOptions(s, all, markers, p.Warmup), s, markers, starts, queryOf[s.Name])
			if looked {
				out.Notes = append(out.Notes, fmt.Sprintf("%s: restarts from %s (looked up; %d in the range)", s.Name, o.RestartEvidence, len(o.Restarts)))
			}
			leaks = append(leaks, soak.Leak(s.Name, s.Points, o))
		}
	}
	leakVs := leakVerdicts(leaks)
	// Resource series (open fds, goroutines, pools, disk, replicas) get
	// their own checks; limits are not judged; other series drift.
	res := judgeResources(all, markers, leakVs.byName, nil, nil, p.Warmup, p.Warmup)
	i := 0
	for _, s := range all {
		switch {
		case leakSeries(s):
			vs = append(vs, leakVs.list[i])
			i++
		case driftSeries(s):
			vs = append(vs, driftVerdict("drift: "+s.Name, soak.Drift(s.Name, s.Points, soak.DriftOptions{Warmup: p.Warmup})))
		}
	}
	vs = append(vs, res.verdicts...)
	in := soak.Inputs{Warmup: p.Warmup}
	in.Target, in.TargetNotes = memoryFigures(leaks)
	exhaustionInputs(res, &in)
	out.Verdicts = append(thresholdVerdicts(p.Thresholds, in), vs...)
	return out, nil
}

// driftSeries tells the series judged by the drift check: neither memory
// nor a resource, a limit or a replica count.
func driftSeries(s series.Series) bool {
	if leakSeries(s) {
		return false
	}
	r := roleOf(s)
	return r.kind == soak.ResNone && !r.limit && !r.replicas && !r.maxRepl
}

func ceilDiv(d time.Duration, n int) time.Duration {
	return (d + time.Duration(n) - 1) / time.Duration(n)
}
