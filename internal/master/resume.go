package master

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/stats"
)

// Checkpoint is what a restarted master needs to go on with a run, taken
// at every tick (Config.OnCheckpoint) together with the cumulative
// statistics of the same tick.
type Checkpoint struct {
	RunID      string           `json:"run_id"`
	Generation uint64           `json:"generation"`
	State      cluster.State    `json:"state"`
	Start      time.Time        `json:"start"`
	Users      int              `json:"users"`
	SpawnRate  float64          `json:"spawn_rate"`
	Host       string           `json:"host"`
	RunTime    time.Duration    `json:"run_time_ns"`
	Iterations int              `json:"iterations,omitempty"`
	Classes    []string         `json:"classes,omitempty"` // the classes the run is limited to
	Exceptions map[string]int64 `json:"exceptions,omitempty"`
	// Workers are the workers the master knew, with the highest report of
	// each counted in Stats: a master resuming the checkpoint acknowledges
	// the reports a worker resends up to it and counts the ones after it,
	// each once, and keeps the members' shares for them while they
	// reconnect.
	Workers []WorkerCheckpoint `json:"workers,omitempty"`
	// Leases are the run's shared data: which unique rows are used, and
	// the counters (lease.go).
	Leases *LeaseCheckpoint `json:"leases,omitempty"`
	// Vars are what the run's setup captured.
	Vars map[string]string `json:"vars,omitempty"`

	// Stats is the stats.State of the tick (stored beside, not in, the JSON).
	Stats []byte `json:"-"`
	// Written is called by whoever stores the checkpoint once it is stored
	// (or failed to be): only then are the workers' reports it counts
	// acknowledged, so a report is either in the stored checkpoint or
	// still held by its worker, which resends it to the next master. A
	// checkpoint that is dropped unwritten is not acknowledged; the next
	// written one covers its reports.
	Written func() `json:"-"`
	// Final marks the checkpoint of a run's last tick, which is always
	// stored: its workers are told to quit after it.
	Final bool `json:"-"`
}

// WorkerCheckpoint is what a checkpoint keeps of a worker.
type WorkerCheckpoint struct {
	ID     string `json:"id"`
	Host   string `json:"host,omitempty"`
	Index  int    `json:"index"`
	Seq    uint64 `json:"seq"`    // its highest report counted
	Member bool   `json:"member"` // it held a share of the users (not missing)
}

// resumeGrace is how long a resumed master keeps the shares of the workers
// its checkpoint knew while they reconnect (their backoff reaches 5 s), before
// it gives their users to the workers that are back. Meanwhile the workers
// keep running their users: the first to come back is not given them all.
const resumeGrace = 10 * time.Second

// generationGap is added to a checkpoint's generation on resume: the old
// master may have dispatched a few times after its last checkpoint, and a
// worker ignores an assignment of its run older than the one it has.
const generationGap = 1 << 20

// checkpointLocked takes the checkpoint of the tick just added. On an
// error, the checkpoint's Written still acknowledges its reports.
func (m *Master) checkpointLocked() (Checkpoint, error) {
	b, err := m.st.MarshalState()
	cp := Checkpoint{
		RunID: m.runID, Generation: m.gen, State: m.state, Start: m.start,
		Users: m.spec.Users, SpawnRate: m.spec.SpawnRate, Host: m.spec.Host, RunTime: m.spec.RunTime,
		Iterations: m.spec.Iterations, Classes: m.spec.Classes,
		Stats: b, Workers: make([]WorkerCheckpoint, 0, len(m.workers)),
	}
	seqs := make(map[string]uint64, len(m.workers))
	for id, w := range m.workers {
		cp.Workers = append(cp.Workers, WorkerCheckpoint{ID: id, Host: w.host, Index: w.index, Seq: w.lastSeq, Member: w.member()})
		seqs[id] = w.lastSeq
	}
	slices.SortFunc(cp.Workers, func(a, b WorkerCheckpoint) int { return cmp.Compare(a.Index, b.Index) })
	cp.Leases = m.leases.checkpoint()
	cp.Vars = m.vars
	cp.Written = func() { m.acknowledge(seqs) }
	if err != nil {
		return cp, err
	}
	if len(m.exc) > 0 {
		cp.Exceptions = make(map[string]int64, len(m.exc))
		for k, v := range m.exc {
			cp.Exceptions[k] = v
		}
	}
	return cp, nil
}

// acknowledge tells each connected worker that its reports up to seqs[id]
// are in a written checkpoint.
func (m *Master) acknowledge(seqs map[string]uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.detached {
		return // the next master acknowledges them
	}
	for id, seq := range seqs {
		w := m.workers[id]
		if w == nil || seq <= w.durableSeq {
			continue
		}
		w.durableSeq = seq
		if w.sess != nil {
			m.sendLocked(w, &cluster.MasterMessage{Ack: &cluster.Ack{Seq: seq}})
		}
	}
}

// Resume goes on with the run of a checkpoint taken by a master that
// died: same run id, the cumulative statistics and history restored, and
// the run ends when it would have (Start + RunTime, or the end of the
// shape's stages) however long the master was away. Workers that still
// run its users rejoin and get their shares again; the reports they kept
// while the master was away are counted. It must be called on a new
// master, before Serve.
func (m *Master) Resume(cp Checkpoint, hist []stats.Tick) error {
	if cp.RunID == "" || cp.Start.IsZero() {
		return errors.New("resume: checkpoint without a run")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != cluster.StateReady {
		return fmt.Errorf("resume: the master is %s, not ready", m.state)
	}
	if err := m.st.RestoreState(cp.Stats); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	now := time.Now()
	m.runID, m.gen = cp.RunID, cp.Generation+generationGap
	m.spec = cluster.RunSpec{Users: cp.Users, SpawnRate: cp.SpawnRate, Host: cp.Host, RunTime: cp.RunTime, Iterations: cp.Iterations, Classes: cp.Classes}
	if m.spec.SpawnRate <= 0 {
		m.spec.SpawnRate = 1
	}
	m.start, m.end, m.last = cp.Start, time.Time{}, now
	m.pending = nil
	clear(m.exc)
	for k, v := range cp.Exceptions {
		m.exc[k] = v
	}
	// The workers it knew: their reports up to Seq are counted (acknowledged
	// when resent, never counted again); the members keep their shares for
	// resumeGrace while they reconnect.
	clear(m.workers)
	m.nextIndex = 0
	for _, wc := range cp.Workers {
		if m.cfg.isLocal() {
			// A standalone run's in-process worker died with the process
			// that ran it; the new one takes the users up at once.
			break
		}
		w := &workerRec{id: wc.ID, host: wc.Host, index: wc.Index, local: m.cfg.isLocal(),
			lastSeq: wc.Seq, durableSeq: wc.Seq, state: cluster.WorkerMissing, lostAt: now, graceUntil: now.Add(resumeGrace)}
		if wc.Member {
			w.state = cluster.WorkerDisconnected
			w.inRun = cp.RunID // it runs the run's users: its final report is awaited
		}
		m.workers[wc.ID] = w
		m.nextIndex = max(m.nextIndex, wc.Index+1)
	}
	m.hist.Reset()
	for _, p := range hist {
		m.hist.Add(p)
	}
	m.resetLeasesLocked()
	m.leases.restore(cp.Leases)
	for _, p := range m.leases.pools {
		p.syncWait, p.syncUntil = map[string]bool{}, now.Add(resumeGrace)
		for _, wc := range cp.Workers {
			if wc.Member {
				p.syncWait[wc.ID] = true
			}
		}
	}
	m.vars = cp.Vars
	m.resetWant, m.ending = false, false
	switch cp.State {
	case cluster.StateSpawning, cluster.StateRunning, cluster.StateStopping:
	default:
		// The run had stopped; only its results were not written yet.
		m.state = cluster.StateStopped
		m.end = now
		m.log.Info("run restored (it had stopped)", "run", m.runID)
		return nil
	}
	m.state = cluster.StateSpawning
	if cp.State == cluster.StateRunning {
		m.state = cluster.StateRunning // its ramp (and --reset-stats) are behind it
	}
	m.runDone = make(chan struct{})
	deadline := func(d time.Duration) time.Duration {
		if d <= 0 {
			return 0
		}
		return max(cp.Start.Add(d).Sub(now), time.Millisecond)
	}
	m.scheduleStopLocked(deadline(m.spec.RunTime))
	sh := m.cfg.Shape
	switch {
	case sh.Open:
		if d := sh.Duration(); d > 0 && (m.spec.RunTime == 0 || d < m.spec.RunTime) {
			m.scheduleStopLocked(deadline(d))
		}
	case sh.Dynamic():
		m.spec.Users = shapeUsers(sh, now.Sub(cp.Start))
		go m.followShape(m.runID, cp.Start, m.runDone)
	}
	if cp.State == cluster.StateStopping {
		time.AfterFunc(0, m.Stop) // it was stopping: finish the stop
	}
	m.eventLocked("run resumed", fmt.Sprintf("%d users, %s left", m.spec.Users, remaining(cp.Start, m.spec.RunTime, now)))
	m.log.Info("run resumed", "run", m.runID, "started", cp.Start.Format(time.RFC3339), "users", m.spec.Users,
		"remaining", remaining(cp.Start, m.spec.RunTime, now))
	return nil
}

// Detach makes Serve, when its context ends, leave the run as it is for a
// master that resumes it (Resume) instead of stopping it: workers are not
// told to quit (they keep their users for their master lost timeout and
// reconnect), no report is counted or acknowledged from then on (the
// workers resend those to the next master), and a last tick takes the
// checkpoint of everything counted. For a master whose pod is deleted.
func (m *Master) Detach() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.detached = true
}

// detachSessions ends every worker session if Detach was called, and
// reports whether it was.
func (m *Master) detachSessions() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.detached {
		return false
	}
	for _, w := range m.workers {
		if w.sess != nil {
			w.sess.cancel()
		}
	}
	m.eventLocked("handed over", "the master stopped with the run going on; a master resuming it takes over")
	m.log.Info("handing the run over: the workers keep their users and reconnect to the next master", "run", m.runID)
	return true
}

// remaining describes the run time left, for the log.
func remaining(start time.Time, runTime time.Duration, now time.Time) string {
	if runTime <= 0 {
		return "until stopped"
	}
	return max(start.Add(runTime).Sub(now), 0).Round(time.Second).String()
}
