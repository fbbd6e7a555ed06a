package run

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
)

// finish judges the master's last run, writes its summary and result files
// and records its end.
func (r *runner) finish(m *master.Master) (*Outcome, error) {
	spec := m.Spec()
	final := m.Snapshot()
	info := report.LiveInfo(m, r.cfg.ScenarioFile, ClassInfo(r.cfg.Plan, r.cfg.Classes, spec.Users))
	end, exceptions := info.End, info.Exceptions
	r.mon.Sample(context.Background(), time.Now()) // the last word on the target's state
	info.Verdicts = Judge(r.cfg.Thresholds, final, m.History(), r.targetSeries(), r.cfg.Warmup)
	reg, summary := r.regressions(info, final)
	info.Verdicts = withRegressions(info.Verdicts, reg)
	info.Baseline = summary
	r.out.mu.Lock()
	aborted := r.out.aborted
	r.out.mu.Unlock()
	if aborted != "" {
		info.Verdicts = append([]soak.Verdict{{Kind: "threshold", Name: "abort_on_fail", Status: soak.Fail,
			Reason: "run aborted early: " + aborted}}, info.Verdicts...)
	}
	oc := r.outcome(final, info.Verdicts, exceptions)
	info.ExitCode = oc.ExitCode()
	if rec := r.out.rec; rec != nil {
		rec.finish(end, info.ExitCode, final, info.Verdicts, exceptions)
	}
	r.reportExtras(&info, m)
	if err := r.out.finish(final, m.Users(), m.History(), info); err != nil {
		return nil, broken(err)
	}
	r.printFiles()
	return oc, nil
}

// printFiles ends a run's output with where its files are and the next
// commands to read them.
func (r *runner) printFiles() {
	o := r.cfg.Output
	var lines [][2]string
	if p := o.CSVPrefix; p != "" {
		csvs := []string{p + "_stats.csv", p + "_failures.csv", p + "_exceptions.csv", p + "_stats_history.csv"}
		lines = append(lines, [2]string{"CSV", strings.Join(csvs, ", ")})
	}
	for _, f := range [][2]string{{"HTML", o.HTML}, {"JSON", o.JSON}, {"JUnit", o.JUnit}} {
		if f[1] != "" {
			lines = append(lines, f)
		}
	}
	rec := r.out.rec
	if rec != nil {
		lines = append(lines, [2]string{"run file", rec.st.Path()})
	}
	if len(lines) == 0 {
		return
	}
	w := r.stdout
	fmt.Fprintln(w, "\nFiles:")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-9s %s\n", l[0], l[1])
	}
	if rec == nil {
		return
	}
	id, runsDir := rec.st.ID(), ""
	if d := filepath.Clean(r.cfg.RunsDir); d != DefaultRunsDir {
		runsDir = " --runs-dir " + d
	}
	next := [][2]string{
		{"horde report " + id + runsDir + " -o report.html", "the HTML report with every chart"},
		{"horde analyze " + id + runsDir, "judge the run again (thresholds, soak checks)"},
		{"horde runs" + runsDir, "every recorded run"},
	}
	fmt.Fprintln(w, "Next:")
	for _, n := range next {
		fmt.Fprintf(w, "  %-*s  # %s\n", len(next[0][0]), n[0], n[1])
	}
}

// regressions judges the regression thresholds against the baseline
// (--baseline): their verdicts, and the run against the baseline for the
// report (nil without a baseline).
func (r *runner) regressions(info report.Info, final *stats.Snapshot) ([]soak.Verdict, *compare.Summary) {
	if !slices.ContainsFunc(r.cfg.Thresholds, compare.IsRegression) && r.cfg.Baseline == nil {
		return nil, nil
	}
	r.out.mu.Lock()
	rec := r.out.rec
	r.out.mu.Unlock()
	fail := func(err error) ([]soak.Verdict, *compare.Summary) {
		return []soak.Verdict{{Kind: "threshold", Name: "baseline", Status: soak.Fail,
			Reason: "the baseline could not be read: " + err.Error()}}, nil
	}
	if rec == nil {
		return fail(fmt.Errorf("the run is not recorded"))
	}
	ctx := context.Background()
	run, err := rec.st.Run(ctx)
	if err != nil {
		return fail(err)
	}
	setup := setupOf(rec.st.Path(), run)
	end := info.End
	if end.IsZero() {
		end = time.Now()
	}
	setup.Duration = end.Sub(info.Start)
	cur, err := currentRun(ctx, rec, setup, final, info.Verdicts)
	if err != nil {
		return fail(err)
	}
	base, reg, err := judgeRegressions(ctx, r.cfg.Thresholds, r.cfg.Baseline, r.cfg.RunsDir, cur)
	if err != nil {
		return fail(err)
	}
	return reg, compare.Against(cur, base)
}

// liveRegressions are the regressions of the run so far, for the web UI:
// judged again at most every liveEvery (reading the run file's intervals).
func (r *runner) liveRegressions(info report.Info, snap *stats.Snapshot) ([]soak.Verdict, *compare.Summary) {
	const liveEvery = 30 * time.Second
	r.live.mu.Lock()
	defer r.live.mu.Unlock()
	if r.live.at.IsZero() || time.Since(r.live.at) >= liveEvery {
		r.live.verdicts, r.live.summary = r.regressions(info, snap)
		r.live.at = time.Now()
	}
	return r.live.verdicts, r.live.summary
}

// outcome is the run's outcome so far, with verdicts.
func (r *runner) outcome(s *stats.Snapshot, verdicts []soak.Verdict, exceptions []stats.Exception) *Outcome {
	return &Outcome{
		Verdicts: verdicts, Thresholds: len(r.cfg.Thresholds), Requests: s.Total.Requests, Failures: s.Total.Failures,
		Exceptions: len(exceptions), ExitCodeOnError: r.cfg.ExitCodeOnError,
	}
}

// targetSeries are the monitor's series, after those a resumed run had
// recorded before its restart.
func (r *runner) targetSeries() []series.Series {
	return r.mon.Series()
}

// reportExtras adds to a report what the run's recording knows beyond the
// statistics: the open model's figures, the target's series with the
// checks' fitted trends, and the events (for --html at the end, and the web
// UI's /stats/report during the run).
func (r *runner) reportExtras(info *report.Info, m *master.Master) {
	if r.cfg.Load.Open {
		op := m.Open()
		info.Open = &report.OpenInfo{Iterations: op.Iterations, Dropped: op.Dropped, LagMean: op.LagMean, LagMax: op.LagMax}
	}
	var events []stats.Event
	r.out.mu.Lock()
	rec := r.out.rec
	r.out.mu.Unlock()
	if rec != nil {
		events, _ = rec.st.Events(context.Background()) // only the charts miss them on error
	}
	AddCharts(info, m.Snapshot(), m.History(), r.targetSeries(), events, r.cfg.Warmup)
}

// ClassInfo describes the classes for the report's ratio table, with the
// users each class gets of the run's user count.
func ClassInfo(plan *scenario.Plan, classes []horde.Class, users int) []report.ClassInfo {
	running, _ := cluster.Counts(classes, users)
	out := make([]report.ClassInfo, 0, len(classes))
	for i, c := range classes {
		ci := report.ClassInfo{Name: c.Name, Weight: c.Weight}
		if i < len(running) {
			ci.Users = running[i]
		}
		if plan != nil && i < len(plan.Classes) {
			seen := map[string]int{}
			for _, t := range plan.Classes[i].Tasks {
				name := taskName(t)
				if seen[name]++; seen[name] > 1 {
					name = fmt.Sprintf("%s (%d)", name, seen[name]) // the ratio tables are keyed by name
				}
				ci.Tasks = append(ci.Tasks, report.TaskInfo{Name: name, Weight: t.Weight})
			}
		}
		out = append(out, ci)
	}
	return out
}

// taskName names a task for the ratio tables: "METHOD name" for a
// one-request task (as its statistics row), the task's own name otherwise.
func taskName(t *scenario.Task) string {
	if len(t.Steps) == 1 {
		s := t.Steps[0]
		if s.Name != "" {
			return s.Method + " " + s.Name
		}
		if u, ok := s.URL.Static(); ok {
			return s.Method + " " + u
		}
	}
	if t.Name != "" {
		return t.Name
	}
	return "task"
}

// liveJudgement caches the regressions the web UI shows during a run.
type liveJudgement struct {
	mu       sync.Mutex
	at       time.Time
	verdicts []soak.Verdict
	summary  *compare.Summary
}
