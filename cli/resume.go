package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// resumed is an unfinished run a restarted master goes on with.
type resumed struct {
	cp   master.Checkpoint
	hist []stats.Tick
}

// resumeRunFile looks in dir for an unfinished run of a master with the
// same scenario that no live process writes, and reopens it (docs/runs.md,
// "Resume"). It reports false when there is none: the caller starts a new
// run. Unfinished runs of another scenario are left alone, with a warning.
func resumeRunFile(ctx context.Context, rs *runSetup, o *runOptions, dir string) (bool, error) {
	cands, err := store.Unfinished(ctx, dir)
	if err != nil {
		return false, &exitError{code: ExitBadInput, err: fmt.Errorf("--runs-dir: %w", err)}
	}
	var text []byte
	if rs.file != "" {
		text, _ = os.ReadFile(rs.file)
	}
	for i := len(cands) - 1; i >= 0; i-- { // the newest first
		c := cands[i]
		var cfg runConfig
		if json.Unmarshal(c.Run.Config, &cfg) != nil || cfg.Command != "master" {
			continue
		}
		if c.Run.Scenario != string(text) {
			rs.log.Warn("an unfinished run has another scenario; not resuming it", "file", c.Path, "run", c.Run.ID)
			continue
		}
		ok, err := reopenRun(ctx, rs, o, c.Path)
		if err != nil {
			rs.log.Warn("cannot resume an unfinished run; starting a new one", "file", c.Path, "err", err)
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// reopenRun reopens the run file at path and reads what the master needs
// to resume; false when the file holds no checkpoint (killed before its
// first tick).
func reopenRun(ctx context.Context, rs *runSetup, o *runOptions, path string) (bool, error) {
	st, err := store.Reopen(ctx, path)
	if err != nil {
		return false, err
	}
	fail := func(err error) (bool, error) {
		st.Close(ctx)
		return false, err
	}
	state, err := st.State(ctx)
	if err != nil {
		return fail(err)
	}
	if state == nil {
		return fail(nil)
	}
	var cp master.Checkpoint
	if err := json.Unmarshal(state.Master, &cp); err != nil {
		return fail(fmt.Errorf("checkpoint: %w", err))
	}
	cp.Stats = state.Stats
	if cp.RunID != "" && cp.RunTime > 0 && time.Now().After(cp.Start.Add(cp.RunTime)) {
		rs.log.Info("an unfinished run would have ended while no master ran; not resuming it", "file", path, "run", st.ID())
		return fail(nil)
	}
	hist, err := st.History(ctx)
	if err != nil {
		return fail(err)
	}
	prior, err := st.Series(ctx)
	if err != nil {
		return fail(err)
	}
	last, err := st.LastTick(ctx)
	if err != nil {
		return fail(err)
	}
	if last.IsZero() || state.T.After(last) {
		last = state.T
	}
	now := time.Now()
	gap := fmt.Sprintf("no master from %s to %s (%s); the run goes on", last.UTC().Format("15:04:05.000"),
		now.UTC().Format("15:04:05.000"), now.Sub(last).Round(100*time.Millisecond))
	if err := st.Event(ctx, now, "gap", gap); err != nil {
		return fail(err)
	}
	rec := newRunRecorder(st, rs, o)
	for _, s := range prior {
		if n := len(s.Points); n > 0 {
			rec.last[s.Name] = s.Points[n-1].T
		}
	}
	rs.out.rec = rec
	rs.cleanups = append(rs.cleanups, func() { st.Close(context.Background()) })
	o.priorSeries = prior
	if cp.RunID != "" {
		rs.resumed = &resumed{cp: cp, hist: hist}
	} // else no test had started: the master starts afresh, into the same file
	fmt.Fprintf(rs.stdout, "run file: %s (resumed run %s: %s)\n", st.Path(), st.ID(), gap)
	rs.log.Info("resuming an unfinished run", "file", st.Path(), "run", st.ID(), "gap", now.Sub(last).Round(time.Millisecond).String())
	return true, nil
}

// handover, once ctx has ended, leaves the run to the next master when
// SIGTERM ended it and --sigterm is handover (a pod deleted): no stop, no
// final files; the last tick and checkpoint are written as Serve ends.
func (rs *runSetup) handover(ctx context.Context, m *master.Master, o *runOptions) bool {
	if o.onSigterm != "handover" || !sigterm(ctx) || rs.out.rec == nil {
		return false
	}
	rs.log.Info("SIGTERM: handing the run over to the next master on this runs dir; the workers keep their users",
		"file", rs.out.rec.st.Path())
	rs.out.mu.Lock()
	rs.out.rec.lastWrite = time.Time{} // the last tick is written whatever --runs-interval says
	rs.out.mu.Unlock()
	m.Detach()
	return true
}

// checkpoint keeps the master's checkpoint for the tick that follows it.
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
func (r *runRecorder) state() *store.State {
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
