// Package master runs load tests: it starts, edits and stops runs of the
// engine, turns what the users record into statistics once per tick, keeps
// the run's history, and owns the run's state. A standalone process uses it
// in process, driven by the CLI (headless) or the web UI and HTTP API.
package master

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// DefaultTick is how often recorded samples become statistics.
const DefaultTick = time.Second

// State is the master's phase, with Locust's names.
type State string

// States, as Locust's /stats/requests reports them.
const (
	StateReady    State = "ready"
	StateSpawning State = "spawning"
	StateRunning  State = "running"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
)

// ErrStopping is returned by Start while the previous run is still stopping.
var ErrStopping = errors.New("the previous run is still stopping")

// Config is what every run of a master shares.
type Config struct {
	Classes     []horde.Class
	Host        string // default host; a RunSpec may override it
	StopTimeout time.Duration
	HTTP        httpload.Options
	ResetStats  bool // reset statistics once all users are spawned (Locust's --reset-stats)
	Tick        time.Duration
	HistoryMax  int // points kept in the history (report.DefaultHistoryMax when 0)
	// Shape, PreAllocatedVUs and MaxVUs select load shapes and the open
	// model (see engine.Config); RunSpec.Users and SpawnRate still apply to
	// a constant closed-model shape.
	Shape           shape.Shape
	PreAllocatedVUs int
	MaxVUs          int
	Logger          *slog.Logger
	// OnTick, if set, is called after each tick with a fresh snapshot and
	// the running user count. It runs on the master's goroutine: keep it short.
	OnTick func(snap *stats.Snapshot, users int)
}

// RunSpec is what a start (or an edit of a running test) asks for.
type RunSpec struct {
	Users     int
	SpawnRate float64
	Host      string        // "" keeps the configured host
	RunTime   time.Duration // 0: until stopped
}

// Master runs tests, one at a time.
type Master struct {
	cfg Config
	rec *stats.Recorder
	log *slog.Logger

	mu        sync.Mutex
	state     State
	spec      RunSpec
	eng       *engine.Engine
	cancelRun context.CancelFunc
	runDone   chan struct{} // closed when the current run has stopped
	stopTimer *time.Timer
	st        *stats.Stats
	hist      *report.History
	last      time.Time // end of the last flushed interval
	resetWant bool
	start     time.Time
	end       time.Time
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
	now := time.Now()
	done := make(chan struct{})
	close(done)
	return &Master{
		cfg:     cfg,
		rec:     stats.NewRecorder(0),
		log:     log,
		state:   StateReady,
		runDone: done,
		st:      stats.New(now),
		hist:    &report.History{Max: cfg.HistoryMax},
		last:    now,
	}, nil
}

// Serve ticks the statistics until ctx is done; then it stops any run and
// returns once it has stopped.
func (m *Master) Serve(ctx context.Context) error {
	ticker := time.NewTicker(m.cfg.Tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			m.Stop()
			<-m.RunDone()
			return nil
		case t := <-ticker.C:
			m.tick(t)
		}
	}
}

// Start starts a run, or edits the running one: a new user count and spawn
// rate take effect at once (users are added or removed at the new rate)
// without clearing the statistics, as Locust's /swarm does. A new run clears
// the statistics of the last one.
func (m *Master) Start(spec RunSpec) error {
	if spec.Users < 0 {
		return errors.New("users: must be >= 0")
	}
	if spec.SpawnRate <= 0 {
		return errors.New("spawn rate: must be > 0")
	}
	if spec.RunTime < 0 {
		return errors.New("run time: must be >= 0")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case StateStopping:
		return ErrStopping
	case StateSpawning, StateRunning:
		m.eng.SetTarget(spec.Users, spec.SpawnRate)
		if spec.Host == "" {
			spec.Host = m.spec.Host
		}
		m.spec = spec
		m.scheduleStopLocked(spec.RunTime)
		m.log.Info("run edited", "users", spec.Users, "spawn_rate", spec.SpawnRate)
		return nil
	}

	if spec.Host == "" {
		spec.Host = m.cfg.Host
	}
	eng, err := engine.New(engine.Config{
		Classes:     m.cfg.Classes,
		Host:        spec.Host,
		Users:       spec.Users,
		SpawnRate:   spec.SpawnRate,
		StopTimeout: m.cfg.StopTimeout,
		HTTP:        m.cfg.HTTP,
		Recorder:    m.rec,
		Logger:      m.log,
		OnRampDone:  m.rampDone,

		Shape:           m.cfg.Shape,
		PreAllocatedVUs: m.cfg.PreAllocatedVUs,
		MaxVUs:          m.cfg.MaxVUs,
	})
	if err != nil {
		return err
	}
	now := time.Now()
	m.rec.Flush(m.last, now) // nothing from before the start counts
	m.st.Reset(now)
	m.hist.Reset()
	m.last, m.start, m.end = now, now, time.Time{}
	m.resetWant = false
	m.spec = spec
	m.eng = eng
	m.state = StateSpawning
	ctx, cancel := context.WithCancel(context.Background())
	m.cancelRun = cancel
	done := make(chan struct{})
	m.runDone = done
	m.scheduleStopLocked(spec.RunTime)
	m.log.Info("run started", "users", spec.Users, "spawn_rate", spec.SpawnRate, "host", spec.Host, "run_time", spec.RunTime.String())
	go func() {
		if err := eng.Run(ctx); err != nil {
			m.log.Error("engine", "err", err)
		}
		m.runEnded(done)
	}()
	return nil
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

func (m *Master) rampDone(users int) {
	m.mu.Lock()
	if m.state == StateSpawning {
		m.state = StateRunning
	}
	if m.cfg.ResetStats {
		m.resetWant = true
	}
	m.mu.Unlock()
	m.log.Info("all users spawned", "users", users)
}

// Stop stops the running test: users end their tasks (within the stop
// timeout) and run on_stop; the state is stopping until they are all done.
// It does not wait; RunDone does.
func (m *Master) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != StateSpawning && m.state != StateRunning {
		return
	}
	m.state = StateStopping
	if m.stopTimer != nil {
		m.stopTimer.Stop()
		m.stopTimer = nil
	}
	m.cancelRun()
	m.log.Info("stopping")
}

func (m *Master) runEnded(done chan struct{}) {
	m.tick(time.Now()) // the final statistics include every on_stop request
	m.mu.Lock()
	m.state = StateStopped
	m.end = time.Now()
	m.mu.Unlock()
	close(done)
	m.log.Info("run stopped")
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
	m.rec.Flush(m.last, now)
	m.st.Reset(now)
	m.hist.Reset()
	m.last = now
}

// tick moves recorded samples into the statistics.
func (m *Master) tick(now time.Time) {
	m.mu.Lock()
	if m.resetWant {
		m.resetWant = false
		m.rec.Flush(m.last, now) // drop what the ramp-up recorded
		m.st.Reset(now)
		m.hist.Reset()
		m.last = now
		m.log.Info("statistics reset after ramp-up")
	}
	if now.Before(m.last) {
		now = m.last
	}
	iv := m.rec.Flush(m.last, now)
	m.last = now
	m.st.Add(iv)
	snap := m.st.Snapshot(now)
	users := 0
	if m.eng != nil {
		users = m.eng.Users()
	}
	if m.state != StateReady {
		m.hist.Add(report.NewPoint(snap, users))
	}
	m.mu.Unlock()
	if m.cfg.OnTick != nil {
		m.cfg.OnTick(snap, users)
	}
}

// State returns the master's phase.
func (m *Master) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Spec returns what the current (or last) run was asked for.
func (m *Master) Spec() RunSpec {
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

// History returns the run's points over time (one per tick, thinned to
// HistoryMax), oldest first.
func (m *Master) History() []report.Point {
	return m.hist.Points()
}

// Users returns the running user count.
func (m *Master) Users() int {
	m.mu.Lock()
	eng := m.eng
	m.mu.Unlock()
	if eng == nil {
		return 0
	}
	return eng.Users()
}

// ClassUsers returns the running users per class (in Config.Classes order).
func (m *Master) ClassUsers() []int {
	m.mu.Lock()
	eng := m.eng
	m.mu.Unlock()
	if eng == nil {
		return make([]int, len(m.cfg.Classes))
	}
	return eng.ClassUsers()
}

// Classes returns the user classes.
func (m *Master) Classes() []horde.Class { return m.cfg.Classes }

// Exceptions returns the errors raised by user code in the current run.
func (m *Master) Exceptions() []engine.Exception {
	m.mu.Lock()
	eng := m.eng
	m.mu.Unlock()
	if eng == nil {
		return nil
	}
	return eng.Exceptions()
}

// Open returns the open model's counters of the current run.
func (m *Master) Open() engine.OpenStats {
	m.mu.Lock()
	eng := m.eng
	m.mu.Unlock()
	if eng == nil {
		return engine.OpenStats{}
	}
	return eng.Open()
}

// Times returns when the current run started and ended (zero until it has).
func (m *Master) Times() (start, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.start, m.end
}
