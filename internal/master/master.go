// Package master runs load tests: it starts, edits and stops runs, splits
// the users over its workers, merges what they report into statistics once
// per tick, keeps the run's history, and owns the run's state.
//
// There is one code path. A standalone process (horde run) has one worker
// in process, joined through a cluster.Pipe; a distributed master (horde
// master) has none of its own, and workers join over the network through
// Accept (served by internal/cluster/rpc). Either way the master only sees
// Join, Report and Heartbeat messages and sends Assignments.
package master

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// DefaultTick is how often recorded samples become statistics.
const DefaultTick = time.Second

// ErrStopping is returned by Start while the previous run is still stopping.
var ErrStopping = errors.New("the previous run is still stopping")

// reconnectGrace is how long a worker whose connection broke keeps its
// share before it is marked missing (a worker killed outright is seen at
// once by its closed connection; this absorbs a blip).
const reconnectGrace = time.Second

// CPUWarnPercent is the worker CPU use above which the master warns that
// the worker's numbers are not trustworthy.
const CPUWarnPercent = 90

// Config is what every run of a master shares.
type Config struct {
	Classes        []horde.Class
	Host           string // default host; a cluster.RunSpec may override it
	StopTimeout    time.Duration
	RequestTimeout time.Duration // of a request, when its scenario sets none (0: the worker's default)
	ResetStats     bool          // reset statistics once all users are spawned (Locust's --reset-stats)
	Tick           time.Duration
	HistoryMax     int // points kept in the history (stats.DefaultHistoryMax when 0)
	Logger         *slog.Logger
	// OnTick, if set, is called after each tick with the tick's interval,
	// a fresh snapshot and the load. It runs on the master's goroutine:
	// keep it short.
	OnTick func(Tick)
	// OnCheckpoint, if set, is called before OnTick (on the same goroutine)
	// with what a restarted master needs to resume the run at this tick
	// (see Resume). Taking it costs an encoding of every histogram.
	OnCheckpoint func(cp Checkpoint)
	// OnEvent, if set, is called with what happened since the last tick
	// (a run started or edited, workers joined, went missing or
	// disconnected, the run stopping), before OnCheckpoint and on the same
	// goroutine. Events keep the time they happened at.
	OnEvent func(stats.Event)
	// OnMinute, if set, is called with the per-minute histograms of every
	// name (stats.Minute) once a minute is over, and at the end of a run
	// with the minute in progress; before OnTick, on the same goroutine.
	OnMinute func(*stats.Minute)
	// Shape, when dynamic (stages, cycle, spike), drives the user count
	// instead of cluster.RunSpec.Users: the master follows it and splits each new
	// count over the workers. When Open, it is a rate of iterations per
	// second, split over the workers in proportion (each runs its share of
	// the shape with a share of the PreAllocatedVUs and MaxVUs pool). A
	// shape with stages ends the run when its stages end.
	Shape           shape.Shape
	PreAllocatedVUs int
	MaxVUs          int
	// Cluster, if set, makes a distributed master: no users run in this
	// process; workers join through Accept.
	Cluster *ClusterConfig
	// Feeders are the scenario's unique and sequential feeders: in a
	// distributed run the master owns their rows and leases them to the
	// workers (lease.go).
	Feeders map[string]cluster.FeederInfo
	// Setup, if set, runs once before each new run's users start, on the
	// master (host is the run's): what it returns becomes every user's
	// variables, and its requests' statistics are the run's first. An
	// error stops the start (Start returns a *SetupError).
	Setup func(ctx context.Context, host string) (vars map[string]string, iv *stats.Interval, err error)
	// Teardown, if set, runs once after the last user of a run stopped,
	// before its final statistics, with the setup's variables.
	Teardown func(ctx context.Context, host string, vars map[string]string) (*stats.Interval, error)
}

// Tick is what a tick hands to Config.OnTick.
type Tick struct {
	// Interval is exactly what the workers reported since the previous
	// tick (merged, timed by the master's clock; empty after a reset of
	// the statistics), without its histograms: the integers of the tick.
	Interval *stats.Interval
	// Snapshot is the cumulative statistics after the interval was added.
	Snapshot *stats.Snapshot
	Users    int     // users running
	Target   float64 // what the load shape asks for: users, or iterations per second when Open
	Open     bool
	// SchedDelay is the worst scheduling delay the run's workers report
	// (see cluster.Status.SchedDelay).
	SchedDelay time.Duration
	// LoadCPU is the sum of the run's workers' CPU use, each in % of its
	// cores (cluster.Status.CPUPercent).
	LoadCPU float64
	// History is the point this tick added to the run's history (nil when
	// it added none: no test running); HistoryReset says the history was
	// reset since the previous tick (a new test, a reset of the
	// statistics). A run file keeps every point, so the history the run
	// was judged on can be rebuilt (stats.Thin).
	History      *stats.Tick
	HistoryReset bool
}

// SetupError is a run's setup that failed: the run does not start.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return "setup failed: " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// ClusterConfig configures a distributed master.
type ClusterConfig struct {
	// Scenario is shipped to each worker when it joins; nil means the
	// workers use the classes built into their binary (Go users), which
	// must have Config.Classes' names.
	Scenario          *cluster.Scenario
	Version           string // horde's version; workers must match it
	ReportInterval    time.Duration
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
}

// Master runs tests, one at a time.
type Master struct {
	cfg      Config
	log      *slog.Logger
	id       string
	version  string
	names    []string
	reportIv time.Duration
	hbIv     time.Duration
	hbTO     time.Duration

	sessions sync.WaitGroup

	mu          sync.Mutex
	state       cluster.State
	spec        cluster.RunSpec
	runSeq      int
	runID       string
	gen         uint64
	stopTimer   *time.Timer
	stopGuard   *time.Timer
	runDone     chan struct{}
	ending      bool
	quitSent    bool // quitWorkers told the workers to quit: their disconnects are expected
	st          *stats.Stats
	hist        *stats.History
	histReset   bool            // the history was reset since the last tick (Tick.HistoryReset)
	pending     *stats.Interval // merged reports since the last tick
	exc         map[string]int64
	excTrace    map[string]string // a traceback per message, when a worker sent one
	last        time.Time         // end of the last tick
	resetWant   bool
	start, end  time.Time
	workers     map[string]*workerRec
	nextIndex   int
	discarded   int64              // reports of another run, acknowledged and dropped
	events      []stats.Event      // since the last tick
	detached    bool               // Detach: serving ends without ending the run
	leases      leases             // the run's shared data (lease.go)
	vars        map[string]string  // the run's setup captures
	settingUp   bool               // a Start runs the setup
	setupCancel context.CancelFunc // cuts the running setup short (Stop)
	run         *runContext        // the current run's setup and teardown context
	hooks       sync.WaitGroup     // the teardown and final tick of a run ending
}

// eventLocked queues an event for the next tick's OnEvent.
func (m *Master) eventLocked(kind, detail string) {
	if m.cfg.OnEvent != nil {
		m.events = append(m.events, stats.Event{T: time.Now(), Kind: kind, Detail: detail})
	}
}

type workerRec struct {
	id, host, addr string
	index          int
	local          bool
	sess           *session // nil when disconnected
	state          cluster.State
	status         cluster.Status
	lastSeen       time.Time
	lostAt         time.Time // when the connection broke
	graceUntil     time.Time // a worker of a resumed run: a member until then without a session
	lastSeq        uint64    // highest report counted
	durableSeq     uint64    // highest report in a written checkpoint, and acknowledged (OnCheckpoint)
	assigned       []int
	assignedGen    uint64
	assignment     *cluster.Assignment // the last dispatched to it
	open           cluster.OpenStats   // of openRun
	openRun        string
	finalRun       string // run whose final report arrived
	inRun          string // run it was given users of (its final report is awaited when it stops)
	cpuHigh        int    // consecutive heartbeats above CPUWarnPercent
	cpuWarned      time.Time
}

// member reports whether w takes part in the split: connected, or in the
// grace period after its connection broke.
func (w *workerRec) member() bool { return !w.state.Gone() }

type session struct {
	out    chan *cluster.MasterMessage
	cancel context.CancelFunc
}

// New returns a master in state ready.
func New(cfg Config) (*Master, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if len(cfg.Classes) == 0 {
		return nil, errors.New("no user classes")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := cluster.Counts(cfg.Classes, 0); err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	now := time.Now()
	done := make(chan struct{})
	close(done)
	m := &Master{
		cfg:      cfg,
		log:      log,
		id:       hex.EncodeToString(b[:]),
		version:  "local",
		reportIv: cfg.Tick,
		hbIv:     cluster.DefaultHeartbeatInterval,
		hbTO:     cluster.DefaultHeartbeatTimeout,
		state:    cluster.StateReady,
		runDone:  done,
		st:       stats.New(now),
		hist:     &stats.History{Max: cfg.HistoryMax},
		exc:      map[string]int64{},
		excTrace: map[string]string{},
		last:     now,
		workers:  map[string]*workerRec{},
	}
	for _, c := range cfg.Classes {
		m.names = append(m.names, c.Name)
	}
	if cfg.OnMinute != nil {
		m.st.KeepMinutes()
	}
	if cc := cfg.Cluster; cc != nil {
		m.version = cc.Version
		m.reportIv = orDefault(cc.ReportInterval, cluster.DefaultReportInterval)
		m.hbIv = orDefault(cc.HeartbeatInterval, cluster.DefaultHeartbeatInterval)
		m.hbTO = orDefault(cc.HeartbeatTimeout, cluster.DefaultHeartbeatTimeout)
	}
	return m, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ID returns the master's id (new for every process).
func (m *Master) ID() string { return m.id }

// Serve ticks the statistics and watches the workers' heartbeats until ctx
// is done; then it stops any run, tells the workers to quit, and returns
// once the run has stopped. A standalone master's in-process worker is
// started by its caller (worker.Run with a cluster.LocalDialer on m) and
// stopped after Serve returns.
func (m *Master) Serve(ctx context.Context) error {
	ticker := time.NewTicker(m.cfg.Tick)
	defer ticker.Stop()
	watch := time.NewTicker(min(m.hbIv, 250*time.Millisecond))
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			if m.detachSessions() {
				// Handed over: the last reports counted go into a last
				// tick (and checkpoint); the run is left running.
				m.tick(time.Now(), true)
				cluster.WaitOrForce(m.sessions.Wait, 2*time.Second, nil)
				return nil
			}
			m.Stop()
			<-m.RunDone()
			m.hooks.Wait()
			m.quitWorkers("the master is shutting down")
			cluster.WaitOrForce(m.sessions.Wait, 2*time.Second, nil)
			return nil
		case t := <-ticker.C:
			m.tick(t, false)
		case t := <-watch.C:
			m.watch(t)
		}
	}
}

// quitWorkers tells every connected worker to quit.
func (m *Master) quitWorkers(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.quitSent = true
	for _, w := range m.workers {
		if w.sess != nil && !w.local {
			m.sendLocked(w, &cluster.MasterMessage{Quit: &cluster.Quit{Reason: reason}})
		}
	}
}

// Start starts a run, or edits the running one: a new user count and spawn
// rate take effect at once (users are added or removed at the new rate)
// without clearing the statistics, as Locust's /swarm does. A new run clears
// the statistics of the last one.
func (m *Master) Start(spec cluster.RunSpec) error {
	if spec.Users < 0 {
		return errors.New("users: must be >= 0")
	}
	if spec.SpawnRate <= 0 {
		return errors.New("spawn rate: must be > 0")
	}
	if spec.RunTime < 0 {
		return errors.New("run time: must be >= 0")
	}
	if spec.Iterations < 0 {
		return errors.New("iterations: must be >= 0")
	}
	if spec.Iterations > 0 && m.cfg.Shape.Open {
		return errors.New("iterations: a count per user needs the closed model (the open model starts iterations at --rate)")
	}
	if err := m.checkClasses(spec.Classes); err != nil {
		return err
	}
	vars, setupIv, ctx, err := m.setup(spec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.startLocked(spec, vars, setupIv, ctx)
}

// setup runs Config.Setup when spec starts a new run, with no lock held,
// under the new run's context (which Stop cancels while the setup runs):
// it returns the setup's variables and requests, and that context.
func (m *Master) setup(spec cluster.RunSpec) (map[string]string, *stats.Interval, *runContext, error) {
	rc, host, err := m.beginSetup(spec)
	if rc == nil {
		return nil, nil, nil, err
	}
	m.log.Info("setup running", "host", host)
	vars, iv, err := m.cfg.Setup(rc.ctx, host)
	m.endSetup()
	if err != nil {
		rc.cancel()
		m.log.Error("setup failed: the run does not start", "err", err)
		return nil, nil, nil, &SetupError{Err: err}
	}
	m.log.Info("setup done", "vars", len(vars))
	return vars, iv, rc, nil
}

// beginSetup marks a setup running and returns the new run's context and
// host; the context is nil when no setup is to run, and err says why when
// the start must not go on.
func (m *Master) beginSetup(spec cluster.RunSpec) (*runContext, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settingUp {
		return nil, "", errors.New("the setup of the next run is running")
	}
	if m.cfg.Setup == nil || (m.state != cluster.StateReady && m.state != cluster.StateStopped) {
		return nil, "", nil
	}
	host := spec.Host
	if host == "" {
		host = m.cfg.Host
	}
	rc := newRunContext()
	m.settingUp, m.setupCancel = true, rc.cancel
	return rc, host, nil
}

// endSetup marks the setup over.
func (m *Master) endSetup() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settingUp, m.setupCancel = false, nil
}

// runContext is the context of a run's setup and teardown: it ends when
// the run has stopped (after its teardown), or when Stop cuts a setup short.
type runContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newRunContext() *runContext {
	ctx, cancel := context.WithCancel(context.Background())
	return &runContext{ctx: ctx, cancel: cancel}
}

// startLocked starts a run with the setup's results (rc nil: no setup
// ran), or edits the running one.
func (m *Master) startLocked(spec cluster.RunSpec, vars map[string]string, setupIv *stats.Interval, rc *runContext) error {
	if rc != nil && m.state != cluster.StateReady && m.state != cluster.StateStopped {
		rc.cancel() // a run started meanwhile: this setup's run does not
		rc = nil
	}
	switch m.state {
	case cluster.StateStopping:
		return ErrStopping
	case cluster.StateSpawning, cluster.StateRunning:
		if spec.Host == "" {
			spec.Host = m.spec.Host
		}
		// The stop time set at the start stands; an edit that gives a run
		// time sets a new one, counted from the start (as Locust's).
		if spec.Iterations == 0 {
			spec.Iterations = m.spec.Iterations
		}
		if spec.Classes == nil {
			spec.Classes = m.spec.Classes
		}
		if spec.RunTime == 0 {
			spec.RunTime = m.spec.RunTime
		} else {
			m.scheduleStopLocked(max(time.Until(m.start.Add(spec.RunTime)), time.Nanosecond))
		}
		m.spec = spec
		m.dispatchLocked(false)
		m.log.Info("run edited", "users", spec.Users, "spawn_rate", spec.SpawnRate)
		m.eventLocked("users changed", fmt.Sprintf("%d users at %g/s", spec.Users, spec.SpawnRate))
		return nil
	}

	if spec.Host == "" {
		spec.Host = m.cfg.Host
	}
	now := time.Now()
	m.runSeq++
	m.runID = fmt.Sprintf("%s-%d", m.id, m.runSeq)
	m.st.Reset(now)
	m.hist.Reset()
	m.histReset = true
	m.pending = nil
	clear(m.exc)
	clear(m.excTrace)
	m.last, m.start, m.end = now, now, time.Time{}
	m.resetWant = false
	m.ending = false
	m.resetLeasesLocked()
	m.vars = vars
	if rc == nil {
		rc = newRunContext()
	}
	m.run = rc
	m.pending = setupIv // the setup's requests are the run's first
	m.spec = spec
	m.state = cluster.StateSpawning
	m.runDone = make(chan struct{})
	m.scheduleStopLocked(spec.RunTime)
	attrs := []any{"users", spec.Users, "spawn_rate", spec.SpawnRate, "host", spec.Host, "run_time", spec.RunTime.String()}
	if !m.cfg.isLocal() {
		attrs = append(attrs, "workers", len(m.membersLocked()))
	}
	m.log.Info("run started", attrs...)
	m.eventLocked("run started", fmt.Sprintf("%d users at %g/s, host %s, run time %v", spec.Users, spec.SpawnRate, spec.Host, spec.RunTime))
	sh := m.cfg.Shape
	switch {
	case sh.Open:
		if d := sh.Duration(); d > 0 && (spec.RunTime == 0 || d < spec.RunTime) {
			m.scheduleStopLocked(d) // the stages end the run
		}
	case sh.Dynamic():
		m.spec.Users = shapeUsers(sh, 0)
		go m.followShape(m.runID, now, m.runDone)
	}
	m.dispatchLocked(false)
	return nil
}

func shapeUsers(s shape.Shape, t time.Duration) int {
	v, _ := s.At(t)
	return int(math.Round(v))
}

// shapeStep is how often a closed-model shape updates the user count.
const shapeStep = 100 * time.Millisecond

// followShape sets the run's user count from the shape until the run
// ends, and stops the run when the shape's stages are over.
func (m *Master) followShape(runID string, start time.Time, done <-chan struct{}) {
	t := time.NewTicker(shapeStep)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		v, ended := m.cfg.Shape.At(time.Since(start))
		if ended {
			m.Stop()
			return
		}
		if !m.setShapeUsers(runID, int(math.Round(v))) {
			return
		}
	}
}

// setShapeUsers sets run runID's user count to what its shape asks for; it
// reports false when that run is no longer spawning or running.
func (m *Master) setShapeUsers(runID string, users int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runID != runID || (m.state != cluster.StateSpawning && m.state != cluster.StateRunning) {
		return false
	}
	if users != m.spec.Users {
		m.spec.Users = users
		m.dispatchLocked(true) // the shape is the ramp: no spawn-rate limit
	}
	return true
}

func (m *Master) scheduleStopLocked(d time.Duration) {
	if m.stopTimer != nil {
		m.stopTimer.Stop()
		m.stopTimer = nil
	}
	if d > 0 {
		m.stopTimer = time.AfterFunc(d, m.Stop)
	}
}

// Stop stops the running test: users end their tasks (within the stop
// timeout) and run on_stop; the state is stopping until every worker has
// sent its final report. It does not wait; RunDone does.
func (m *Master) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.setupCancel != nil {
		m.setupCancel() // the run it prepares does not start
	}
	m.stopLocked()
}

func (m *Master) stopLocked() {
	if m.state != cluster.StateSpawning && m.state != cluster.StateRunning {
		return
	}
	m.state = cluster.StateStopping
	if m.stopTimer != nil {
		m.stopTimer.Stop()
		m.stopTimer = nil
	}
	m.gen++
	for _, w := range m.workers {
		if w.sess != nil {
			m.sendLocked(w, &cluster.MasterMessage{Assignment: m.idleAssignment()})
		}
	}
	// A worker that never answers must not hold the run in stopping.
	limit := max(m.cfg.StopTimeout, 0) + cluster.OnStopGrace + time.Second + m.hbTO + 2*m.reportIv
	m.stopGuard = time.AfterFunc(limit, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.state == cluster.StateStopping && !m.ending {
			m.log.Warn("not every worker sent its final report; ending the run without it", "waited", limit)
			m.endRunLocked()
		}
	})
	m.log.Info("stopping")
	m.eventLocked("stopping", "")
	m.checkStoppedLocked()
}

// idleAssignment stops whatever a worker runs.
func (m *Master) idleAssignment() *cluster.Assignment {
	return &cluster.Assignment{RunID: m.runID, Generation: m.gen, Running: false}
}

// checkStoppedLocked ends the run once every member has sent its final
// report of it.
func (m *Master) checkStoppedLocked() {
	if m.state != cluster.StateStopping || m.ending {
		return
	}
	for _, w := range m.workers {
		// A worker that joined while the run was stopping never ran it:
		// no final report of it will come.
		if w.member() && w.inRun == m.runID && w.finalRun != m.runID {
			return
		}
	}
	m.endRunLocked()
}

func (m *Master) endRunLocked() {
	m.ending = true
	if m.stopGuard != nil {
		m.stopGuard.Stop()
	}
	done := m.runDone
	vars, host, rc := m.vars, m.spec.Host, m.run
	if rc == nil {
		rc = newRunContext()
	}
	m.hooks.Add(1) // Serve waits for the teardown and the final tick
	go m.finishRun(done, rc, host, vars)
}

// finishRun runs the ending run's teardown under the run's context, takes
// the final tick and marks the run stopped (closing done); it runs with no
// lock held, as every hook does.
func (m *Master) finishRun(done chan struct{}, rc *runContext, host string, vars map[string]string) {
	defer m.hooks.Done()
	defer rc.cancel()
	if td := m.cfg.Teardown; td != nil {
		m.log.Info("teardown running")
		iv, err := td(rc.ctx, host, vars)
		if err != nil {
			m.log.Error("teardown failed", "err", err)
		}
		m.teardownDone(iv, err)
	}
	m.tick(time.Now(), true) // the final statistics include every on_stop request
	m.markStopped()
	close(done)
	m.log.Info("run stopped")
}

// teardownDone counts the teardown's requests into the next tick.
func (m *Master) teardownDone(iv *stats.Interval, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.eventLocked("teardown", errText(err))
	if iv != nil {
		if m.pending == nil {
			m.pending = &stats.Interval{}
		}
		m.pending.Merge(iv)
	}
}

// markStopped ends the run's phase.
func (m *Master) markStopped() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = cluster.StateStopped
	m.end = time.Now()
}

// RunDone returns a channel closed when the current (or last) run has
// stopped; before the first run it is closed already.
func (m *Master) RunDone() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runDone
}

// ResetStats clears the statistics, errors and history (Locust's /stats/reset).
func (m *Master) ResetStats() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.pending = nil
	m.st.Reset(now)
	m.hist.Reset()
	m.histReset = true
	m.last = now
}

// tick moves the reports merged since the last tick into the statistics,
// as one interval timed by the master's clock.
func (m *Master) tick(now time.Time, final bool) {
	out := m.takeTick(now, final)
	for _, e := range out.events {
		m.cfg.OnEvent(e)
	}
	for _, mn := range out.mins {
		m.cfg.OnMinute(mn)
	}
	cp := out.cp
	if out.cpErr != nil {
		m.log.Warn("checkpoint for resume", "err", out.cpErr)
		cp.Written() // the counts live in memory only; the workers need not keep them
	} else if m.cfg.OnCheckpoint != nil {
		m.cfg.OnCheckpoint(cp)
	}
	if m.cfg.OnTick != nil {
		m.cfg.OnTick(out.tk)
	}
}

// tickOut is what a tick takes under the lock and hands to the hooks
// after it.
type tickOut struct {
	tk     Tick
	events []stats.Event
	mins   []*stats.Minute
	cp     Checkpoint
	cpErr  error
}

// takeTick closes the tick's interval and takes what the hooks get.
func (m *Master) takeTick(now time.Time, final bool) tickOut {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.resetWant {
		m.resetWant = false
		m.pending = nil // drop what the ramp-up recorded
		m.st.Reset(now)
		m.hist.Reset()
		m.histReset = true
		m.last = now
		m.log.Info("statistics reset after ramp-up")
	}
	if now.Before(m.last) {
		now = m.last
	}
	iv := m.pending
	if iv == nil {
		iv = &stats.Interval{}
	}
	m.pending = nil
	iv.Start, iv.End = m.last, now
	m.last = now
	m.st.Add(iv)
	tk := Tick{Snapshot: m.st.Snapshot(now), Users: m.usersLocked(), SchedDelay: m.schedDelayLocked(), LoadCPU: m.loadCPULocked()}
	if m.cfg.OnTick != nil {
		tk.Interval = iv.WithoutHistograms()
	}
	if m.state != cluster.StateReady {
		p := stats.NewTick(tk.Snapshot, tk.Users)
		// To the millisecond, as the run file keeps it: the run and
		// `horde analyze` cut the same warm-up from the same points.
		p.Time = p.Time.Truncate(time.Millisecond)
		p.Target, p.Open = m.targetLocked(now)
		p.SchedDelayMs = float64(tk.SchedDelay) / float64(time.Millisecond)
		p.LoadCPUPct = tk.LoadCPU
		tk.Target, tk.Open = p.Target, p.Open
		m.hist.Add(p)
		tk.History = &p
	}
	tk.HistoryReset, m.histReset = m.histReset, false
	// The completed minutes leave the statistics before the checkpoint is
	// taken: the checkpoint holds the minute in progress, and the minutes
	// handed to OnMinute are stored with it (the run recorder writes both
	// in the tick's transaction), so none is lost or stored twice.
	mins := m.st.TakeMinutes(now, final)
	var cp Checkpoint
	var cpErr error
	if m.cfg.OnCheckpoint != nil {
		cp, cpErr = m.checkpointLocked()
		cp.Final = final
	}
	events := m.events
	m.events = nil
	return tickOut{tk: tk, events: events, mins: mins, cp: cp, cpErr: cpErr}
}

// targetLocked is what the load shape asks for at now, for the history:
// iterations per second in the open model, users in the closed one (the
// shape's value, or cluster.RunSpec.Users when the shape is constant); 0 once the
// run is stopping.
func (m *Master) targetLocked(now time.Time) (float64, bool) {
	sh := m.cfg.Shape
	switch {
	case m.state == cluster.StateStopping || m.state == cluster.StateStopped:
		return 0, sh.Open
	case sh.Open || sh.Dynamic():
		v, _ := sh.At(now.Sub(m.start))
		return v, sh.Open
	default:
		return float64(m.spec.Users), false
	}
}

// State returns the master's phase.
func (m *Master) State() cluster.State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Spec returns what the current (or last) run was asked for.
func (m *Master) Spec() cluster.RunSpec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.spec
}

// Snapshot returns the statistics as of the last tick (the current window
// ends now, so rates fall when traffic stops).
func (m *Master) Snapshot() *stats.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Snapshot(time.Now())
}

// Buckets returns each key's cumulative response times counted into
// Prometheus histogram buckets (see stats.Stats.Buckets), read from the
// histograms the workers reported: nothing more is recorded per request.
func (m *Master) Buckets(bounds []float64, schema int32) []stats.Buckets {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Buckets(bounds, schema)
}

// History returns the run's points over time (one per tick, thinned to
// HistoryMax), oldest first.
func (m *Master) History() []stats.Tick {
	return m.hist.Ticks()
}

// Users returns the running user count, as the workers last reported it.
func (m *Master) Users() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usersLocked()
}

func (m *Master) usersLocked() int {
	n := 0
	for _, w := range m.workers {
		if w.member() {
			n += w.status.Users()
		}
	}
	return n
}

// schedDelayLocked is the worst scheduling delay the run's workers report
// (see cluster.Status.SchedDelay).
func (m *Master) schedDelayLocked() time.Duration {
	var d time.Duration
	for _, w := range m.workers {
		if w.member() {
			d = max(d, w.status.SchedDelay)
		}
	}
	return d
}

// loadCPULocked is the sum of the run's workers' CPU use, each in % of
// its cores (see cluster.Status.CPUPercent).
func (m *Master) loadCPULocked() float64 {
	var pct float64
	for _, w := range m.workers {
		if w.member() {
			pct += w.status.CPUPercent
		}
	}
	return pct
}

// ClassUsers returns the running users per class (in Config.Classes order).
func (m *Master) ClassUsers() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int, len(m.cfg.Classes))
	for _, w := range m.workers {
		if !w.member() {
			continue
		}
		for i, u := range w.status.ClassUsers {
			if i < len(out) {
				out[i] += u
			}
		}
	}
	return out
}

// Classes returns the user classes.
func (m *Master) Classes() []horde.Class { return m.cfg.Classes }

// Exceptions returns the errors raised by user code in the current run, on
// every worker, most frequent first (Nodes "local", as Locust's local runner).
func (m *Master) Exceptions() []stats.Exception {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]stats.Exception, 0, len(m.exc))
	for msg, n := range m.exc {
		out = append(out, stats.Exception{Message: msg, Count: n, Traceback: m.excTrace[msg], Nodes: "local"})
	}
	stats.SortExceptions(out)
	return out
}

// Open returns the open model's counters of the current (or last) run,
// over every worker (zero in the closed model).
func (m *Master) Open() cluster.OpenStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var o cluster.OpenStats
	var lagSum float64
	for _, w := range m.workers {
		s := w.open
		if w.openRun != m.runID {
			continue
		}
		o.Iterations += s.Iterations
		o.Dropped += s.Dropped
		o.LagMax = max(o.LagMax, s.LagMax)
		lagSum += float64(s.LagMean) * float64(s.Iterations)
	}
	if o.Iterations > 0 {
		o.LagMean = time.Duration(lagSum / float64(o.Iterations))
	}
	return o
}

// Times returns when the current run started and ended (zero until it has).
func (m *Master) Times() (start, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.start, m.end
}

// Workers returns the workers the master knows, in join order, missing
// ones included.
func (m *Master) Workers() []cluster.WorkerInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]cluster.WorkerInfo, 0, len(m.workers))
	for _, w := range m.workers {
		out = append(out, cluster.WorkerInfo{
			ID: w.id, Host: w.host, Addr: w.addr, Index: w.index, State: w.state,
			Users: w.status.Users(), ClassUsers: append([]int(nil), w.status.ClassUsers...),
			CPUPercent: w.status.CPUPercent, MemoryBytes: w.status.MemoryBytes,
			LastHeartbeat: w.lastSeen, Local: w.local,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// membersLocked returns the workers that take part in the split, in
// join order.
func (m *Master) membersLocked() []*workerRec {
	var out []*workerRec
	for _, w := range m.workers {
		if w.member() {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// dispatchLocked gives every member its share of the run. instant (a
// worker joined or was lost while the run is past its ramp) starts the
// share at once; otherwise at the member's share of the spawn rate.
func (m *Master) dispatchLocked(instant bool) {
	if m.state != cluster.StateSpawning && m.state != cluster.StateRunning {
		return
	}
	counts := m.classCountsLocked()
	members := m.membersLocked()
	m.gen++
	for i, w := range members {
		share := cluster.Share(counts, len(members), i)
		a := &cluster.Assignment{
			RunID:          m.runID,
			Generation:     m.gen,
			Running:        true,
			ClassUsers:     share,
			SpawnRate:      cluster.ShareRate(m.spec.SpawnRate, sum(share), m.spec.Users),
			Host:           m.spec.Host,
			StopTimeout:    m.cfg.StopTimeout,
			RequestTimeout: m.cfg.RequestTimeout,
			Iterations:     m.spec.Iterations,
			Vars:           m.vars,
		}
		if instant {
			a.SpawnRate = 0
		}
		if sh := m.cfg.Shape; sh.Open {
			n := len(members)
			a.OpenShape = sh.Scale(1 / float64(n))
			a.OpenElapsed = time.Since(m.start)
			pool := cluster.Share([]int{m.cfg.PreAllocatedVUs, m.cfg.MaxVUs}, n, i)
			a.PreAllocatedVUs, a.MaxVUs = pool[0], pool[1]
			if m.cfg.PreAllocatedVUs > 0 {
				a.PreAllocatedVUs = max(a.PreAllocatedVUs, 1)
			}
			if m.cfg.MaxVUs > 0 {
				a.MaxVUs = max(a.MaxVUs, a.PreAllocatedVUs, 1)
			}
		}
		w.assigned, w.assignedGen = share, m.gen
		w.assignment = a
		w.inRun = m.runID
		if w.sess != nil {
			m.sendLocked(w, &cluster.MasterMessage{Assignment: a})
		}
	}
	if len(members) > 0 && !m.cfg.isLocal() {
		shares := make([]int, len(members))
		for i, w := range members {
			shares[i] = sum(w.assigned)
		}
		m.log.Info("users dispatched", "users", m.spec.Users, "workers", len(members), "per_worker", shares, "at_once", instant)
	}
}

func errText(err error) string {
	if err == nil {
		return "done"
	}
	return "failed: " + err.Error()
}

// classCountsLocked spreads the run's users over its classes: all of
// them, or only those the run names (the CLI's class arguments, the web
// UI's class picker), by weight and fixed count as Locust does.
func (m *Master) classCountsLocked() []int {
	if len(m.spec.Classes) == 0 {
		counts, _ := cluster.Counts(m.cfg.Classes, m.spec.Users)
		return counts
	}
	var sub []horde.Class
	var idx []int
	for i, c := range m.cfg.Classes {
		if slices.Contains(m.spec.Classes, c.Name) {
			sub = append(sub, c)
			idx = append(idx, i)
		}
	}
	out := make([]int, len(m.cfg.Classes))
	counts, _ := cluster.Counts(sub, m.spec.Users)
	for j, n := range counts {
		out[idx[j]] = n
	}
	return out
}

// checkClasses returns an error naming the first of names that is not one
// of the run's classes.
func (m *Master) checkClasses(names []string) error {
	known := make([]string, len(m.cfg.Classes))
	for i, c := range m.cfg.Classes {
		known[i] = c.Name
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return fmt.Errorf("user class %q: no such class (the run has %s)", n, strings.Join(known, ", "))
		}
	}
	if len(names) > 0 && m.cfg.Shape.Open {
		return errors.New("user classes: choosing classes needs the closed model (the open model runs every class)")
	}
	return nil
}

// checkIterationsLocked stops a run with an iteration limit (-i) once
// every member has started its share and every user has run its
// iterations.
func (m *Master) checkIterationsLocked() {
	if m.spec.Iterations <= 0 || m.state != cluster.StateRunning {
		return
	}
	members := m.membersLocked()
	if len(members) == 0 {
		return
	}
	for _, w := range members {
		st := &w.status
		if st.RunID != m.runID || st.Generation != w.assignedGen || !st.RampDone || st.UsersDone < sum(w.assigned) {
			return
		}
	}
	m.log.Info("every user ran its iterations", "iterations", m.spec.Iterations, "users", m.spec.Users)
	m.eventLocked("iterations done", fmt.Sprintf("%d users × %d iterations", m.spec.Users, m.spec.Iterations))
	m.stopLocked()
}

func (c *Config) isLocal() bool { return c.Cluster == nil }

// Standalone reports whether the master runs its users in a worker of its
// own (no cluster listener): its runs are never distributed, before that
// worker has joined as after.
func (m *Master) Standalone() bool { return m.cfg.isLocal() }

func sum(v []int) int {
	n := 0
	for _, x := range v {
		n += x
	}
	return n
}

// sendLocked queues msg for w's session; a worker too slow to take its
// messages loses its session (and rejoins).
func (m *Master) sendLocked(w *workerRec, msg *cluster.MasterMessage) {
	if w.sess == nil {
		return
	}
	select {
	case w.sess.out <- msg:
	default:
		m.log.Warn("worker not keeping up with the master's messages; dropping its session", "worker", w.id)
		w.sess.cancel()
	}
}

// watch marks workers missing: silent for the heartbeat timeout, or
// disconnected for longer than the reconnect grace. Their users go to the
// remaining workers at once.
func (m *Master) watch(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	lost := false
	for _, w := range m.workers {
		switch {
		case w.state.Gone():
		case w.sess != nil && now.Sub(w.lastSeen) > m.hbTO:
			m.log.Warn("worker lost: no heartbeat", "worker", w.id, "silent_for", now.Sub(w.lastSeen).Round(time.Millisecond), "users", w.status.Users())
			w.sess.cancel()
			w.sess = nil
			m.markMissingLocked(w)
			lost = true
		case w.sess == nil && now.Sub(w.lostAt) > reconnectGrace && now.After(w.graceUntil):
			m.log.Warn("worker lost: connection lost", "worker", w.id, "users", w.status.Users())
			m.markMissingLocked(w)
			lost = true
		}
	}
	m.leaseWatchLocked(now)
	if lost {
		m.afterMembershipChangeLocked()
	}
}

// leftLocked takes w, which said goodbye, out of the run: its users go to
// the remaining workers at once (it stopped its own before leaving).
func (m *Master) leftLocked(w *workerRec, reason string) {
	m.log.Info("worker left", "worker", w.id, "reason", reason)
	m.eventLocked("worker left", fmt.Sprintf("%s (%s)", w.host, w.id))
	w.state = cluster.WorkerLeft
	w.status.ClassUsers = nil
	w.status.RampDone = false
	m.lostLocked(w)
	m.afterMembershipChangeLocked()
}

func (m *Master) markMissingLocked(w *workerRec) {
	m.eventLocked("worker lost", fmt.Sprintf("%s (%s), %d users", w.host, w.id, w.status.Users()))
	w.state = cluster.WorkerMissing
	w.status.ClassUsers = nil
	w.status.RampDone = false
	m.lostLocked(w)
}

func (m *Master) afterMembershipChangeLocked() {
	switch m.state {
	case cluster.StateSpawning, cluster.StateRunning:
		if len(m.membersLocked()) == 0 {
			m.log.Warn("no workers left: the run goes on with 0 users until one joins")
		}
		m.dispatchLocked(m.state == cluster.StateRunning)
		m.checkRampLocked()
	case cluster.StateStopping:
		m.checkStoppedLocked()
	}
}

// Accept serves one worker session until it ends: the worker's Join is
// checked (version, protocol; the token is checked by the transport,
// internal/cluster/rpc), it gets the scenario and its share,
// then its reports are counted (each sequence number once) and
// acknowledged. It implements cluster.Acceptor.
func (m *Master) Accept(ctx context.Context, conn cluster.MasterConn) error {
	if !m.cfg.isLocal() {
		// Serve waits for the remote sessions; an in-process worker's
		// ends when its caller stops it, after Serve.
		m.sessions.Add(1)
		defer m.sessions.Done()
	}
	j, err := m.checkJoin(conn)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{out: make(chan *cluster.MasterMessage, 256), cancel: cancel}
	w := m.join(j, conn.Peer(), s)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer cancel()
		m.write(sctx, conn, s)
	}()
	readErr := make(chan error, 1)
	go func() { readErr <- m.read(conn, w, s) }()
	select {
	case <-sctx.Done():
	case err = <-readErr:
	}
	cancel()
	<-writerDone
	m.leave(w, s, err)
	return nil
}

// checkJoin reads the worker's first message, a Join, and refuses a worker
// of another version or protocol.
func (m *Master) checkJoin(conn cluster.MasterConn) (*cluster.Join, error) {
	first, err := recvTimeout(conn, 15*time.Second)
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", conn.Peer(), err)
	}
	j := first.Join
	if j == nil {
		return nil, fmt.Errorf("worker %s: first message is not a join", conn.Peer())
	}
	if reason := cluster.CheckJoin(j, m.version, cluster.Protocol); reason != "" {
		m.log.Error("worker refused", "worker", j.WorkerID, "addr", conn.Peer(), "reason", reason)
		ref := cluster.Refusal{Reason: reason, MasterVersion: m.version, MasterProtocol: cluster.Protocol}
		conn.Send(&cluster.MasterMessage{Refusal: &ref})
		return nil, &cluster.RefusedError{Refusal: ref}
	}
	return j, nil
}

// join makes s the session of the worker of j: it is welcomed and given
// its share of a run under way (the same share when it is back within the
// grace period).
func (m *Master) join(j *cluster.Join, peer string, s *session) *workerRec {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.workers[j.WorkerID]
	rejoin := w != nil
	if w == nil {
		w = &workerRec{id: j.WorkerID, index: m.nextIndex, local: m.cfg.isLocal()}
		m.nextIndex++
		m.workers[j.WorkerID] = w
	} else if w.sess != nil {
		w.sess.cancel() // a stale session of the same worker
	}
	wasMember := rejoin && w.member()
	w.host, w.addr, w.sess, w.state, w.lastSeen = j.Hostname, peer, s, cluster.StateReady, time.Now()
	welcome := &cluster.Welcome{
		Index: w.index, MasterID: m.id, MasterVersion: m.version, Classes: m.names,
		ReportInterval: m.reportIv, HeartbeatInterval: m.hbIv, HeartbeatTimeout: m.hbTO,
	}
	if m.cfg.Cluster != nil {
		welcome.Scenario = m.cfg.Cluster.Scenario
	}
	m.sendLocked(w, &cluster.MasterMessage{Welcome: welcome})
	switch m.state {
	case cluster.StateSpawning, cluster.StateRunning:
		if wasMember && w.assignment != nil {
			// Back within the grace period: its share is unchanged.
			a := *w.assignment
			if a.OpenShape.Open {
				a.OpenElapsed = time.Since(m.start)
			}
			m.sendLocked(w, &cluster.MasterMessage{Assignment: &a})
		} else {
			// New, back after it was missing, or back to a resumed run
			// (whose workers' shares this master has not dispatched yet).
			m.dispatchLocked(m.state == cluster.StateRunning)
		}
	default:
		m.sendLocked(w, &cluster.MasterMessage{Assignment: m.idleAssignment()})
	}
	if !w.local {
		m.log.Info("worker joined", "worker", w.id, "host", w.host, "addr", w.addr, "index", w.index, "rejoined", rejoin,
			"workers", len(m.membersLocked()))
		m.eventLocked("worker joined", fmt.Sprintf("%s (%s), %d workers", w.host, w.id, len(m.membersLocked())))
	}
	return w
}

// write sends everything queued for the session's worker, and a heartbeat
// every heartbeat interval, until ctx is done, a send fails or a Quit is sent.
func (m *Master) write(ctx context.Context, conn cluster.MasterConn, s *session) {
	hb := time.NewTicker(m.hbIv)
	defer hb.Stop()
	beat := &cluster.MasterMessage{Heartbeat: &cluster.Heartbeat{}}
	for {
		var msg *cluster.MasterMessage
		select {
		case <-ctx.Done():
			return
		case msg = <-s.out:
		case <-hb.C:
			msg = beat
		}
		if err := conn.Send(msg); err != nil || msg.Quit != nil {
			return
		}
	}
}

// read handles the worker's messages until the connection fails (its
// error) or the session is over (nil).
func (m *Master) read(conn cluster.MasterConn, w *workerRec, s *session) error {
	for {
		msg, err := conn.Recv()
		if err != nil {
			return err
		}
		if !m.handle(w, s, msg) {
			return nil
		}
	}
}

// leave ends session s of w: w is disconnected (and keeps its share for
// the reconnect grace) unless a newer session replaced s.
func (m *Master) leave(w *workerRec, s *session, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.sess != s {
		return
	}
	w.sess = nil
	w.lostAt = time.Now()
	if w.state == cluster.WorkerLeft {
		return // it said goodbye: "worker left" is logged
	}
	if w.state != cluster.WorkerMissing {
		w.state = cluster.WorkerDisconnected
	}
	switch {
	case w.local:
	case m.quitSent:
		// The master told it to quit (shutting down): no warning.
		m.log.Info("worker quit", "worker", w.id)
	default:
		m.log.Warn("worker disconnected", "worker", w.id, "err", err)
		m.eventLocked("worker disconnected", fmt.Sprintf("%s (%s)", w.host, w.id))
	}
}

func recvTimeout(conn cluster.MasterConn, d time.Duration) (*cluster.WorkerMessage, error) {
	type res struct {
		m   *cluster.WorkerMessage
		err error
	}
	c := make(chan res, 1)
	go func() {
		m, err := conn.Recv()
		c <- res{m, err}
	}()
	select {
	case r := <-c:
		return r.m, r.err
	case <-time.After(d):
		return nil, fmt.Errorf("no join within %v", d)
	}
}

// handle processes one message of w's session s; false ends the session.
func (m *Master) handle(w *workerRec, s *session, msg *cluster.WorkerMessage) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w.sess != s || m.detached {
		return false // replaced by a newer session, marked missing, or handed over
	}
	w.lastSeen = time.Now()
	switch {
	case msg.Heartbeat != nil:
		m.statusLocked(w, &msg.Heartbeat.Status)
	case msg.Lease != nil:
		m.leaseLocked(w, msg.Lease)
	case msg.Return != nil:
		m.returnLocked(w, msg.Return)
	case msg.Goodbye != nil:
		if w.local {
			// A standalone run's in-process worker ends with the run: its
			// session's end says as much.
			return true
		}
		m.leftLocked(w, msg.Goodbye.Reason)
		return false
	case msg.Report != nil:
		r := msg.Report
		if r.Seq > w.lastSeq {
			w.lastSeq = r.Seq
			m.countLocked(w, r)
		}
		switch {
		case m.cfg.OnCheckpoint == nil:
			m.sendLocked(w, &cluster.MasterMessage{Ack: &cluster.Ack{Seq: w.lastSeq}})
		case r.Seq <= w.durableSeq:
			// Resent after a reconnect, and already in a written checkpoint.
			m.sendLocked(w, &cluster.MasterMessage{Ack: &cluster.Ack{Seq: w.durableSeq}})
		}
		// Otherwise the acknowledgement waits for the checkpoint that
		// holds the report to be written (Checkpoint.Written).
		m.statusLocked(w, &r.Status)
		if r.Final && r.RunID == m.runID {
			w.finalRun = r.RunID
			m.checkStoppedLocked()
		}
	}
	return true
}

// countLocked merges a report into the statistics of the current run; a
// report of another run (from before a restart of the master, or a late
// one of the previous run) is dropped.
func (m *Master) countLocked(w *workerRec, r *cluster.Report) {
	if r.RunID != m.runID || (m.state != cluster.StateSpawning && m.state != cluster.StateRunning && m.state != cluster.StateStopping) {
		m.discarded++
		m.log.Debug("report of another run dropped", "worker", w.id, "seq", r.Seq, "run", r.RunID)
		return
	}
	if m.pending == nil {
		m.pending = &stats.Interval{}
	}
	if err := r.MergeInto(m.pending); err != nil {
		m.log.Error("bad report from worker", "worker", w.id, "seq", r.Seq, "err", err)
	}
	m.usedLocked(w, r.Used)
	for _, e := range r.Exceptions {
		m.exc[e.Message] += e.Count
		if e.Traceback != "" && m.excTrace[e.Message] == "" {
			m.excTrace[e.Message] = e.Traceback
		}
	}
}

func (m *Master) statusLocked(w *workerRec, st *cluster.Status) {
	if st.State == "" {
		return
	}
	w.status = *st
	if w.finalRun != "" && st.RunID == w.finalRun && (st.State == cluster.StateSpawning || st.State == cluster.StateRunning) {
		// It runs the run again: the final report it sent was of users it
		// stopped when it lost the master, not of a stop.
		w.finalRun = ""
	}
	if st.RunID != "" {
		w.open, w.openRun = st.Open, st.RunID
	}
	if !w.state.Gone() {
		w.state = st.State
	}
	if st.CPUPercent > CPUWarnPercent {
		w.cpuHigh++
		if w.cpuHigh >= 3 && time.Since(w.cpuWarned) > time.Minute {
			w.cpuWarned = time.Now()
			m.log.Warn("worker CPU above 90%: its response times are not trustworthy; add workers",
				"worker", w.id, "cpu_percent", fmt.Sprintf("%.0f", st.CPUPercent))
		}
	} else {
		w.cpuHigh = 0
	}
	m.checkRampLocked()
	m.checkIterationsLocked()
}

// checkRampLocked moves spawning to running once every member has reached
// its share.
func (m *Master) checkRampLocked() {
	if m.state != cluster.StateSpawning {
		return
	}
	members := m.membersLocked()
	if len(members) == 0 {
		return
	}
	for _, w := range members {
		if !w.status.RampDone || w.status.RunID != m.runID || w.status.Generation != w.assignedGen {
			return
		}
	}
	m.state = cluster.StateRunning
	if m.cfg.ResetStats {
		m.resetWant = true
	}
	m.log.Info("all users spawned", "users", m.usersLocked())
	m.eventLocked("spawn complete", fmt.Sprintf("%d users", m.usersLocked()))
}
