package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// resumeRunFile looks in RunsDir for an unfinished run of the same command
// (horde master or horde run) with the same scenario that no live process writes, and reopens it (docs/runs.md,
// "Resume"). It reports false when there is none: the caller starts a new
// run. Unfinished runs of another scenario are left alone, with a warning.
func (r *runner) resumeRunFile(ctx context.Context) (bool, error) {
	cands, err := store.Unfinished(ctx, r.cfg.RunsDir)
	if err != nil {
		return false, badInput("--runs-dir: %v", err)
	}
	r.log.Debug("looking for an unfinished run to resume", "runs_dir", r.cfg.RunsDir, "candidates", len(cands))
	for i := len(cands) - 1; i >= 0; i-- { // the newest first
		c := cands[i]
		var rc Recorded
		if json.Unmarshal(c.Run.Config, &rc) != nil || rc.Command != r.cfg.Command {
			r.log.Debug("an unfinished run of another command; not resuming it", "file", c.Path, "run", c.Run.ID)
			continue
		}
		if c.Run.Scenario != string(r.cfg.Scenario) {
			r.log.Warn("an unfinished run has another scenario; not resuming it", "file", c.Path, "run", c.Run.ID)
			continue
		}
		ok, err := r.reopenRun(ctx, c.Path)
		if err != nil {
			r.log.Warn("cannot resume an unfinished run; starting a new one", "file", c.Path, "err", err)
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
func (r *runner) reopenRun(ctx context.Context, path string) (bool, error) {
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
		r.log.Debug("an unfinished run has no checkpoint (killed before its first tick); not resuming it", "file", path, "run", st.ID())
		return fail(nil)
	}
	var cp master.Checkpoint
	if err := json.Unmarshal(state.Master, &cp); err != nil {
		return fail(fmt.Errorf("checkpoint: %w", err))
	}
	cp.Stats = state.Stats
	if cp.RunID == "" { // no test had started: nothing to go on with (a run file of before runs were finished when they never started)
		r.log.Info("an unfinished run never started load; not resuming it", "file", path, "run", st.ID())
		return fail(nil)
	}
	if cp.RunID != "" && cp.RunTime > 0 && time.Now().After(cp.Start.Add(cp.RunTime)) {
		r.log.Info("an unfinished run would have ended while no master ran; not resuming it", "file", path, "run", st.ID())
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
	rec := newRecorder(st, r.mon, r.log, r.cfg.RunsInterval)
	for _, s := range prior {
		if n := len(s.Points); n > 0 {
			rec.last[s.Name] = s.Points[n-1].T
		}
	}
	r.out.rec = rec
	r.cleanups = append(r.cleanups, func() { st.Close(context.Background()) })
	r.mon.Restore(prior)
	r.resumed = &resumed{cp: cp, hist: hist}
	fmt.Fprintf(r.stdout, "run file: %s (resumed run %s: %s)\n", st.Path(), st.ID(), gap)
	r.log.Info("resuming an unfinished run", "file", st.Path(), "run", st.ID(), "gap", now.Sub(last).Round(time.Millisecond).String())
	return true, nil
}

// handover, once ctx has ended, leaves the run to the next master when
// SIGTERM ended it and --sigterm is handover (a pod deleted): no stop, no
// final files; the last tick and checkpoint are written as Serve ends.
func (r *runner) handover(ctx context.Context, m *master.Master) bool {
	if !r.cfg.Handover || !sigterm(ctx) || r.out.rec == nil {
		return false
	}
	r.log.Info("SIGTERM: handing the run over to the next master on this runs dir; the workers keep their users",
		"file", r.out.rec.st.Path())
	r.out.mu.Lock()
	r.out.rec.lastWrite = time.Time{} // the last tick is written whatever --runs-interval says
	r.out.mu.Unlock()
	m.Detach()
	return true
}

// unstarted deals with the run file of a run that ended in err before it
// recorded anything: a bad input found once the file was made (a port in
// use, a certificate that does not load) leaves no file behind, which
// `horde runs` would list as running for ever; any other cause (a setup
// that failed) ends it with the reason, as notStarted. A file that holds a
// tick, one already ended, or a resumed run's is left as it is.
func (r *runner) unstarted(err error) {
	rec := r.out.rec
	if rec == nil || rec.finished || r.resumed != nil {
		return
	}
	if t, e := rec.st.LastTick(context.Background()); e != nil || !t.IsZero() {
		return
	}
	code := ExitBroken
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	if code != ExitBadInput {
		now := time.Now()
		rec.warn("event", rec.st.Event(context.Background(), now, "not started", err.Error()))
		rec.finish(now, code, nil, nil, nil)
		return
	}
	if e := rec.st.Discard(); e != nil {
		r.log.Warn("removing the run file of a run that did not start", "file", rec.st.Path(), "err", e)
		return
	}
	fmt.Fprintf(r.stdout, "run file %s removed: the run did not start\n", rec.st.Path())
}

// notStarted ends the run file of a run that never started load (a master
// that gave up waiting for its workers) as broken, with the reason as an
// event, so that it is neither "unfinished" nor resumed by the next master.
func (r *runner) notStarted(why error) {
	rec := r.out.rec
	if rec == nil {
		return
	}
	now := time.Now()
	rec.warn("event", rec.st.Event(context.Background(), now, "not started", why.Error()))
	rec.finish(now, ExitBroken, nil, nil, nil)
}
