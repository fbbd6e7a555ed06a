package run

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// Recorded is the run's configuration as recorded in its file (run.config).
type Recorded struct {
	Command      string             `json:"command"` // run or master
	ScenarioFile string             `json:"scenario_file"`
	Host         string             `json:"host"`
	Users        int                `json:"users"`
	SpawnRate    float64            `json:"spawn_rate"`
	RunTimeS     float64            `json:"run_time_s"`
	Headless     bool               `json:"headless"`
	Open         bool               `json:"open"`
	Thresholds   []string           `json:"thresholds"`
	WarmupS      float64            `json:"warmup_s"`
	Classes      []report.ClassInfo `json:"classes"`
}

// recorder writes a run into its file: a tick per master tick, the end
// and the verdicts in finish.
type recorder struct {
	st        *store.Store
	mon       *monitor.Monitor
	log       *slog.Logger
	last      map[string]time.Time // the last sample recorded per target series
	warned    bool
	cp        *master.Checkpoint // the master's checkpoint for the next tick
	every     time.Duration      // --runs-interval: write a tick this often
	hist      []stats.Tick       // history points not yet written (every one, whatever --runs-interval says)
	histReset bool               // the history was reset since the last written tick
	monErrs   map[string]string  // the monitor errors already logged, by source
	lastWrite time.Time
	finished  bool            // finish was called
	minutes   []*stats.Minute // completed minutes, for the next written tick
	pending   *stats.Interval // the ticks' intervals (no histograms) since the last written tick
}

// openRunFile creates the run's file in RunsDir (or reopens the unfinished
// run it resumes) and tells where it is.
func (r *runner) openRunFile(ctx context.Context) error {
	c := r.cfg
	if c.Resume {
		if ok, err := r.resumeRunFile(ctx); ok || err != nil {
			return err
		}
	} else {
		r.log.Debug("--resume is off (or HORDE_RESUME=false): not looking for an unfinished run", "runs_dir", c.RunsDir)
	}
	rc := Recorded{
		Command: c.Command, ScenarioFile: c.ScenarioFile, Host: c.Spec.Host, Users: c.Spec.Users, SpawnRate: c.Spec.SpawnRate,
		RunTimeS: c.Spec.RunTime.Seconds(), Headless: c.Headless, Open: c.Load.Open, WarmupS: c.Warmup.Seconds(),
		Classes: ClassInfo(c.Plan, c.Classes, c.Spec.Users),
	}
	for _, t := range c.Thresholds {
		rc.Thresholds = append(rc.Thresholds, t.Text)
	}
	b, err := json.Marshal(rc)
	if err != nil {
		return broken(err)
	}
	st, err := store.Create(ctx, c.RunsDir, store.Run{Config: b, Scenario: string(c.Scenario)})
	if err != nil {
		return badInput("--runs-dir: %v", err)
	}
	r.out.rec = newRecorder(st, r.mon, r.log, c.RunsInterval)
	r.cleanups = append(r.cleanups, func() { st.Close(context.Background()) })
	fmt.Fprintf(r.stdout, "run file: %s\n", st.Path())
	return nil
}

// newRecorder records a run into st, a tick every interval.
func newRecorder(st *store.Store, mon *monitor.Monitor, log *slog.Logger, every time.Duration) *recorder {
	return &recorder{st: st, mon: mon, log: log, last: map[string]time.Time{}, every: every}
}

// samples returns the monitor's samples not yet recorded.
func (r *recorder) samples() []store.Sample {
	if r.mon == nil {
		return nil
	}
	var out []store.Sample
	for _, s := range r.mon.Series() {
		last := r.last[s.Name]
		for _, p := range s.Points {
			if p.T.After(last) {
				out = append(out, store.Sample{Series: s.Name, Metric: s.Metric, Memory: s.Memory, T: p.T, V: p.V})
				last = p.T
			}
		}
		r.last[s.Name] = last
	}
	return out
}

func (r *recorder) warn(what string, err error) {
	if err != nil && !r.warned {
		r.warned = true // once: a full disk would say so every second
		r.log.Warn("recording the run", "file", r.st.Path(), "what", what, "err", err)
	}
}

// tick records one tick (called on the master's tick, under outputs.mu).
// A tick not written (--runs-interval) keeps its interval for the next
// written one, which stores the sum.
func (r *recorder) tick(tk master.Tick) {
	ctx := context.Background()
	s := tk.Snapshot
	if r.pending == nil {
		r.pending = &stats.Interval{}
	}
	r.pending.Merge(tk.Interval)
	if tk.HistoryReset {
		r.hist, r.histReset = r.hist[:0], true
	}
	if tk.History != nil {
		r.hist = append(r.hist, *tk.History)
	}
	final := r.cp != nil && r.cp.Final
	if r.every > 0 && !r.lastWrite.IsZero() && s.Time.Sub(r.lastWrite) < r.every-r.every/4 && !final {
		r.cp = nil // not this tick: the state goes with the statistics it describes
		return
	}
	r.lastWrite = s.Time
	cp := r.cp
	err := r.st.Tick(ctx, store.Tick{Snapshot: s, Interval: r.pending, Load: store.Load{Users: tk.Users, Target: tk.Target, Open: tk.Open, SchedDelayMs: float64(tk.SchedDelay) / float64(time.Millisecond)},
		Samples: r.samples(), State: r.state(), Minutes: r.minutes, History: r.hist, HistoryReset: r.histReset})
	if err == nil {
		r.minutes, r.pending = nil, nil // else kept for the next tick
		r.hist, r.histReset = r.hist[:0], false
	}
	r.warn("tick", err)
	if cp != nil && cp.Written != nil {
		// Stored (or the disk failed, and the counts live in memory only):
		// the master acknowledges the reports the checkpoint holds.
		cp.Written()
	}
	r.logMonitorErrors()
}

// logMonitorErrors logs each monitor source's error once (again when it
// changes): a scrape or PromQL query that fails records nothing.
func (r *recorder) logMonitorErrors() {
	if r.mon == nil {
		return
	}
	if r.monErrs == nil {
		r.monErrs = map[string]string{}
	}
	for src, msg := range r.mon.Errors() {
		if r.monErrs[src] != msg {
			r.monErrs[src] = msg
			r.log.Warn("monitor: a source records nothing", "source", src, "err", msg)
		}
	}
}

// finish records the end of the run, its verdicts and exit code.
func (r *recorder) finish(end time.Time, code int, final *stats.Snapshot, verdicts []soak.Verdict, exceptions []stats.Exception) {
	if end.IsZero() {
		end = time.Now()
	}
	// The last counts and minutes, which a skipped tick may not have written.
	if final != nil {
		r.warn("tick", r.st.Tick(context.Background(), store.Tick{Snapshot: final, Interval: r.pending, Minutes: r.minutes,
			History: r.hist, HistoryReset: r.histReset}))
	} else {
		for _, m := range r.minutes {
			r.warn("minute", r.st.Minute(context.Background(), m))
		}
	}
	r.minutes, r.pending, r.hist, r.histReset = nil, nil, nil, false
	r.finished = true
	status := store.StatusPassed
	switch code {
	case ExitOK:
	case ExitBroken:
		status = store.StatusBroken
	default:
		status = store.StatusFailed
	}
	f := store.Final{End: end, Status: status, ExitCode: code, Snapshot: final, Verdicts: verdicts, Samples: r.samples(), Exceptions: exceptions}
	if err := r.st.Finish(context.Background(), f); err != nil {
		r.log.Warn("recording the end of the run", "file", r.st.Path(), "err", err)
	}
}

// minute records a completed minute's histograms.
func (o *outputs) minute(m *stats.Minute) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rec != nil {
		// Written with the next written tick, in its transaction: with the
		// checkpoint that no longer holds it as the minute in progress.
		o.rec.minutes = append(o.rec.minutes, m)
	}
}

func (o *outputs) checkpoint(cp master.Checkpoint) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rec == nil {
		// Not recording (between runs): nothing to wait for.
		if cp.Written != nil {
			cp.Written()
		}
		return
	}
	o.rec.cp = &cp
}

// event records something the master saw happen.
func (o *outputs) event(e stats.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rec != nil {
		o.rec.warn("event", o.rec.st.Event(context.Background(), e.T, e.Kind, e.Detail))
	}
}

// state turns a kept checkpoint into the store's resume state (nil when
// there is none).
func (r *recorder) state() *store.State {
	cp := r.cp
	r.cp = nil
	if cp == nil {
		return nil
	}
	b, err := json.Marshal(cp)
	if err != nil {
		r.warn("checkpoint", err)
		return nil
	}
	return &store.State{Stats: cp.Stats, Master: b}
}
