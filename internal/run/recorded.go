package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/series"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// File is a run file read back: what `horde analyze` and `horde report`
// work on.
type File struct {
	Path       string
	Run        store.Run
	Config     Recorded
	Snapshot   *stats.Snapshot // the last recorded statistics
	History    []stats.Tick
	Series     []series.Series // the target's
	Events     []stats.Event
	Verdicts   []soak.Verdict    // recorded at the end of the run
	Exceptions []stats.Exception // recorded at the end of the run
}

// Resolve finds RUN: a file, or a run id under the runs directory dir.
func Resolve(arg, dir string) string {
	if _, err := os.Stat(arg); err == nil {
		return arg
	}
	for _, p := range []string{filepath.Join(dir, arg), filepath.Join(dir, arg+store.Ext)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return arg
}

// Open reads the run file at path.
func Open(ctx context.Context, path string) (*File, error) {
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, badInput("%v", err)
	}
	defer st.Close(ctx)
	rf := &File{Path: path}
	fail := func(err error) (*File, error) { return nil, badInput("%s: %v", path, err) }
	if rf.Run, err = st.Run(ctx); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(rf.Run.Config, &rf.Config); err != nil {
		return fail(fmt.Errorf("config: %w", err))
	}
	if rf.Snapshot, err = st.Latest(ctx); err != nil {
		return fail(err)
	}
	if rf.Snapshot == nil {
		rf.Snapshot = &stats.Snapshot{Start: rf.Run.Started, Time: rf.Run.Started, Total: stats.Entry{Name: stats.AggregatedName}}
	}
	if rf.History, err = st.History(ctx); err != nil {
		return fail(err)
	}
	if rf.Series, err = st.Series(ctx); err != nil {
		return fail(err)
	}
	if rf.Events, err = st.Events(ctx); err != nil {
		return fail(err)
	}
	if rf.Verdicts, err = st.Verdicts(ctx); err != nil {
		return fail(err)
	}
	if rf.Exceptions, err = st.Exceptions(ctx); err != nil {
		return fail(err)
	}
	return rf, nil
}

// Info describes the recorded run for the report writers. An unfinished
// run (killed) reports exit code 3: it did not end.
func (rf *File) Info(verdicts []soak.Verdict) report.Info {
	c := rf.Config
	info := report.Info{
		Title: "horde load test report", ScenarioFile: c.ScenarioFile, Host: c.Host,
		Start: rf.Run.Started, End: rf.Run.Ended, Users: c.Users, SpawnRate: c.SpawnRate,
		RunTime: time.Duration(c.RunTimeS * float64(time.Second)), Classes: c.Classes,
		ExitCode: rf.Run.ExitCode, Verdicts: verdicts, Exceptions: rf.Exceptions,
	}
	if rf.Run.Ended.IsZero() {
		info.Title += " (unfinished run)"
		info.End = rf.Snapshot.Time
		info.ExitCode = ExitBroken
	}
	return info
}

// warmup is the warm-up the run's checks used, unless set.
func (rf *File) warmup(d time.Duration, set bool) time.Duration {
	if set {
		return d
	}
	return time.Duration(rf.Config.WarmupS * float64(time.Second))
}

// Analyze judges the recorded run as the end of a run does: the run's
// thresholds plus extra, the drift checks and the leak checks, with the
// run's warm-up unless warmupSet. Its checks decide the outcome.
func (rf *File) Analyze(extra []string, warmup time.Duration, warmupSet bool) (*Outcome, error) {
	return rf.AnalyzeLimits(extra, nil, warmup, warmupSet)
}

// AnalyzeLimits is Analyze with limits given as numbers (--limit), by
// metric, for the resource checks' forecasts.
func (rf *File) AnalyzeLimits(extra []string, limits map[string]float64, warmup time.Duration, warmupSet bool) (*Outcome, error) {
	texts := append(append([]string{}, rf.Config.Thresholds...), extra...)
	ths, err := Thresholds(nil, texts)
	if err != nil {
		return nil, err
	}
	target := rf.judgedSeries()
	if len(limits) > 0 {
		var from, to time.Time
		for _, s := range target {
			for _, p := range s.Points {
				if from.IsZero() || p.T.Before(from) {
					from = p.T
				}
				if p.T.After(to) {
					to = p.T
				}
			}
		}
		target = append(append([]series.Series{}, target...), LimitSeries(limits, from, to)...)
	}
	vs := Judge(ths, rf.Snapshot, rf.LiveHistory(), target, rf.warmup(warmup, warmupSet))
	oc := &Outcome{Verdicts: vs, Thresholds: len(ths), ChecksDecide: true}
	oc.Differs = rf.differs(vs, extra, warmup, warmupSet)
	return oc, nil
}

// differs compares verdicts judged now with those the run recorded at its
// end: the same data and options give the same verdicts, so each
// difference is said with its reason (an option given to analyze, a
// threshold added, a run without a recorded verdict).
func (rf *File) differs(now []soak.Verdict, extra []string, warmup time.Duration, warmupSet bool) []string {
	if rf.Run.Ended.IsZero() || len(rf.Verdicts) == 0 {
		return []string{"the run recorded no verdict (it did not finish): judged from what it recorded"}
	}
	recorded := map[string]soak.Verdict{}
	for _, v := range rf.Verdicts {
		recorded[v.Kind+"\x00"+v.Name] = v
	}
	why := "the same data and options: a difference comes from another version of horde's checks"
	if n := len(rf.History); n >= 2 {
		if step := rf.History[n-1].Time.Sub(rf.History[0].Time) / time.Duration(n-1); step > 1500*time.Millisecond {
			// A file of before horde kept every point of the history
			// (schema 5) has one every --runs-interval.
			why = fmt.Sprintf("this run file, of an older horde, kept the statistics every %s (--runs-interval), where the run judged its history of a tick a second", step.Round(time.Second))
		}
	}
	runWarm := time.Duration(rf.Config.WarmupS * float64(time.Second))
	if warmupSet && warmup != runWarm {
		why = fmt.Sprintf("--warmup %s differs from the run's warm-up (%s)", warmup, runWarm)
	}
	var out []string
	for _, v := range now {
		r, ok := recorded[v.Kind+"\x00"+v.Name]
		switch {
		case !ok && v.Kind == "threshold" && slices.Contains(extra, v.Name):
			out = append(out, fmt.Sprintf("threshold %s: added by --threshold, not judged by the run", v.Name))
		case !ok:
			out = append(out, fmt.Sprintf("%s %s: %s now, not among the run's verdicts (%s)", v.Kind, v.Name, v.Status, why))
		case r.Status != v.Status:
			out = append(out, fmt.Sprintf("%s %s: %s now, %s when the run ended (%s)", v.Kind, v.Name, v.Status, r.Status, why))
		}
	}
	return out
}

// Charts adds the report's charts of the recorded run to info (AddCharts,
// with the run's warm-up).
func (rf *File) Charts(info *report.Info) {
	AddCharts(info, rf.Snapshot, rf.LiveHistory(), rf.judgedSeries(), rf.Events, rf.warmup(0, false))
}

// judgedSeries is the target's series as the live run held them when it
// judged itself: every sample its file kept, thinned as its monitor did.
func (rf *File) judgedSeries() []series.Series {
	out := make([]series.Series, len(rf.Series))
	for i, s := range rf.Series {
		s.Points = monitor.Thin(s.Points, 0)
		out[i] = s
	}
	return out
}

// LiveHistory is the history the run held when it judged itself and
// wrote its reports: the points its file kept, thinned as the live run's
// history was (stats.History).
func (rf *File) LiveHistory() []stats.Tick {
	return stats.Thin(rf.History, stats.DefaultHistoryMax)
}
