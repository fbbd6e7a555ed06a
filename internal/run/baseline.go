package run

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// setupOf is a recorded run's setup.
func setupOf(path string, r store.Run) compare.Setup {
	var c Recorded
	_ = json.Unmarshal(r.Config, &c) // a file without a config compares as an empty setup
	s := compare.Setup{
		ID: r.ID, File: path, Started: r.Started, Ended: r.Ended, Status: r.Status, ExitCode: r.ExitCode,
		Command: c.Command, ScenarioFile: c.ScenarioFile, ScenarioHash: compare.HashScenario(r.Scenario), Host: c.Host,
		Users: c.Users, SpawnRate: c.SpawnRate, RunTime: secs(c.RunTimeS), Open: c.Open, Warmup: secs(c.WarmupS),
	}
	if !r.Ended.IsZero() {
		s.Duration = r.Ended.Sub(r.Started)
	}
	return s
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// targetFigures are the target figures of a run's checks (an
// inconclusive check gives no value):
//   - memory_growth: each memory series' lasting growth in %/h
//     (soak.LeakResult.PerHourPct);
//   - cpu_per_request: the target's CPU per request in ms at the end of the
//     steady window (soak.CPUCheck's median of its last third);
//   - open_fds_growth, goroutines_growth, threads_growth,
//     open_connections_growth, pool_slots_growth, disk_growth: each
//     resource series' lasting growth in %/h (soak.Resource);
//   - time_to_exhaustion: a resource's forecast time to its limit, in
//     hours (0 when reached), when it has a limit and grows.
func targetFigures(vs []soak.Verdict) []compare.Target {
	var out []compare.Target
	for _, v := range vs {
		if l := v.Leak; l != nil {
			t := compare.Target{Name: "memory_growth", Series: l.Name, Unit: "%/h", Value: l.PerHourPct, Status: string(l.Status),
				Valid: l.Status != soak.Inconclusive}
			if !t.Valid {
				t.Note = l.Reason
			}
			out = append(out, t)
		}
		if d := v.Drift; d != nil && strings.HasPrefix(v.Name, "cpu per request") {
			t := compare.Target{Name: "cpu_per_request", Series: strings.TrimSpace(strings.TrimPrefix(v.Name, "cpu per request:")),
				Unit: "ms", Value: d.Last, Status: string(d.Status), Valid: d.Status != soak.Inconclusive}
			if !t.Valid {
				t.Note = d.Reason
			}
			out = append(out, t)
		}
		if r := v.Resource; r != nil {
			if r.Kind != soak.ResMemory { // memory's growth is memory_growth, above
				t := compare.Target{Name: resourceFigure(r.Kind), Series: r.Name, Unit: "%/h", Value: r.Growth.PerHourPct,
					Status: string(r.Status), Valid: r.Growth.Status != soak.Inconclusive}
				if !t.Valid {
					t.Note = r.Reason
				}
				out = append(out, t)
			}
			if f := r.Forecast; f != nil {
				h := f.In.Hours()
				if f.Reached {
					h = 0
				}
				out = append(out, compare.Target{Name: "time_to_exhaustion", Series: r.Name, Unit: "h", Value: h,
					Status: string(r.Status), Valid: true})
			}
		}
	}
	return out
}

// resourceFigure names the growth figure of a resource kind.
func resourceFigure(k soak.ResourceKind) string {
	switch k {
	case soak.ResFDs:
		return "open_fds_growth"
	case soak.ResPool:
		return "pool_slots_growth"
	case soak.ResDisk, soak.ResDiskFree:
		return "disk_growth"
	}
	return strings.ReplaceAll(string(k), " ", "_") + "_growth"
}

// LoadCompared reads the run file at path with its figures for comparing:
// the statistics, the periods, and the target figures of its checks
// (judged again, as `horde analyze` does, with the run's warm-up).
func LoadCompared(ctx context.Context, path string) (*compare.Run, error) {
	rf, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	oc, err := rf.Analyze(nil, 0, false)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, badInput("%v", err)
	}
	defer st.Close(ctx)
	ivs, err := st.Intervals(ctx)
	if err != nil {
		return nil, badInput("%s: %v", path, err)
	}
	setup := setupOf(path, rf.Run)
	if setup.Duration == 0 {
		setup.Duration = rf.Snapshot.Time.Sub(rf.Run.Started)
	}
	cr, err := compare.Build(ctx, setup, rf.Snapshot, ivs, st, stopTime(rf.Events))
	if err != nil {
		return nil, badInput("%s: %v", path, err)
	}
	cr.Target = targetFigures(oc.Verdicts)
	return cr, nil
}

// ParseBaseline checks a --baseline: "last:N" or run ids or files that
// exist under dir (bad input otherwise).
func ParseBaseline(s, dir string) (compare.Spec, error) {
	sp, err := compare.ParseSpec(s)
	if err != nil {
		return sp, badInput("--baseline: %v", err)
	}
	for i, r := range sp.Runs {
		p := Resolve(r, dir)
		if _, err := store.Open(context.Background(), p); err != nil {
			return sp, badInput("--baseline %s: %v", r, err)
		}
		sp.Runs[i] = p
	}
	return sp, nil
}

// LoadBaseline finds and reads the baseline runs of cur under dir: the
// runs named, or the last N that fit (compare.Select; the note says why
// none, or fewer, fit).
func LoadBaseline(ctx context.Context, sp compare.Spec, dir string, cur compare.Setup) (*compare.Baseline, error) {
	b := &compare.Baseline{Spec: sp}
	paths := sp.Runs
	if sp.Last > 0 {
		sums, err := store.List(ctx, dir)
		if err != nil {
			return nil, badInput("--runs-dir: %v", err)
		}
		var cands []compare.Setup
		for _, s := range sums {
			if s.Err == nil {
				cands = append(cands, setupOf(s.Path, s.Run))
			}
		}
		var chosen []compare.Setup
		chosen, b.Note = compare.Select(cands, cur, sp.Last)
		paths = nil
		for _, c := range chosen {
			paths = append(paths, c.File)
		}
	}
	for _, p := range paths {
		r, err := LoadCompared(ctx, p)
		if err != nil {
			return nil, err
		}
		b.Runs = append(b.Runs, r)
	}
	return b, nil
}

// withRegressions inserts the regression verdicts after the thresholds'.
func withRegressions(vs, reg []soak.Verdict) []soak.Verdict {
	if len(reg) == 0 {
		return vs
	}
	i := 0
	for i < len(vs) && vs[i].Kind == "threshold" {
		i++
	}
	return slices.Insert(slices.Clone(vs), i, reg...)
}

// judgeRegressions judges the regression thresholds of ths on cur against
// the baseline sp (nil: none given).
func judgeRegressions(ctx context.Context, ths []*scenario.Threshold, sp *compare.Spec, dir string, cur *compare.Run) (*compare.Baseline, []soak.Verdict, error) {
	var base *compare.Baseline
	if sp != nil {
		var err error
		if base, err = LoadBaseline(ctx, *sp, dir, cur.Setup); err != nil {
			return nil, nil, err
		}
	}
	return base, compare.Regressions(ths, cur, base), nil
}

// AnalyzeAgainst judges the recorded run as AnalyzeLimits does (limits: --limit), with its
// regression thresholds against the baseline sp (nil: none) under dir.
// The summary is the run against the baseline (nil without one).
func (rf *File) AnalyzeAgainst(ctx context.Context, extra []string, limits map[string]float64, warmup time.Duration, warmupSet bool, sp *compare.Spec, dir string) (*Outcome, *compare.Summary, error) {
	oc, err := rf.AnalyzeLimits(extra, limits, warmup, warmupSet)
	if err != nil {
		return nil, nil, err
	}
	ths, _ := Thresholds(nil, append(append([]string{}, rf.Config.Thresholds...), extra...)) // parsed once by Analyze
	if !slices.ContainsFunc(ths, compare.IsRegression) && sp == nil {
		return oc, nil, nil
	}
	cur, err := LoadCompared(ctx, rf.Path)
	if err != nil {
		return nil, nil, err
	}
	cur.Target = targetFigures(oc.Verdicts)
	base, reg, err := judgeRegressions(ctx, ths, sp, dir, cur)
	if err != nil {
		return nil, nil, err
	}
	oc.Verdicts = withRegressions(oc.Verdicts, reg)
	return oc, compare.Against(cur, base), nil
}

// currentRun is the figures of the run in progress, for its regression
// thresholds at the end: its final statistics, the periods recorded in its
// file so far, the target figures of its checks.
func currentRun(ctx context.Context, rec *recorder, setup compare.Setup, final *stats.Snapshot, vs []soak.Verdict) (*compare.Run, error) {
	ivs, err := rec.st.Intervals(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the run's intervals: %w", err)
	}
	events, err := rec.st.Events(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the run's events: %w", err)
	}
	cr, err := compare.Build(ctx, setup, final, ivs, rec.st, stopTime(events))
	if err != nil {
		return nil, err
	}
	cr.Target = targetFigures(vs)
	return cr, nil
}

// stopTime is when the run began to stop (its first "stopping" event;
// zero if none).
func stopTime(events []stats.Event) time.Time {
	for _, e := range events {
		if e.Kind == "stopping" {
			return e.T
		}
	}
	return time.Time{}
}

// Against is the recorded run against the baseline sp under dir, for its
// report ("compared with the last N runs").
func (rf *File) Against(ctx context.Context, sp compare.Spec, dir string) (*compare.Summary, error) {
	cur, err := LoadCompared(ctx, rf.Path)
	if err != nil {
		return nil, err
	}
	base, err := LoadBaseline(ctx, sp, dir, cur.Setup)
	if err != nil {
		return nil, err
	}
	return compare.Against(cur, base), nil
}
