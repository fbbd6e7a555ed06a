// Package master runs a load test: it drives the engine, turns what the
// users record into statistics once per tick, and owns the run's state.
// A standalone run uses it in process; the cluster will use the same code.
package master

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/stats"
)

// DefaultTick is how often recorded samples become statistics.
const DefaultTick = time.Second

// Config is what a run needs.
type Config struct {
	Engine     engine.Config // Recorder is set by the master
	RunTime    time.Duration // 0: until the context is done
	ResetStats bool          // reset statistics once all users are spawned (Locust's --reset-stats)
	Tick       time.Duration
	Logger     *slog.Logger
	// OnTick, if set, is called after each tick with a fresh snapshot and
	// the running user count. It runs on the master's goroutine: keep it short.
	OnTick func(snap *stats.Snapshot, users int)
}

// Master runs one test.
type Master struct {
	cfg Config
	rec *stats.Recorder
	eng *engine.Engine
	log *slog.Logger

	mu        sync.Mutex
	st        *stats.Stats
	last      time.Time // end of the last flushed interval
	resetWant bool
	start     time.Time
	end       time.Time
}

// New prepares a run.
func New(cfg Config) (*Master, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Master{cfg: cfg, rec: stats.NewRecorder(0), log: log}
	ecfg := cfg.Engine
	ecfg.Recorder = m.rec
	ecfg.Logger = log
	userRamp := ecfg.OnRampDone
	ecfg.OnRampDone = func(n int) {
		if cfg.ResetStats {
			m.mu.Lock()
			m.resetWant = true
			m.mu.Unlock()
		}
		if userRamp != nil {
			userRamp(n)
		}
	}
	eng, err := engine.New(ecfg)
	if err != nil {
		return nil, err
	}
	m.eng = eng
	return m, nil
}

// Run starts the users and blocks until the run time is over or ctx is
// done, then stops the users gracefully and takes the final statistics.
func (m *Master) Run(ctx context.Context) error {
	now := time.Now()
	m.mu.Lock()
	m.start, m.last = now, now
	m.st = stats.New(now)
	m.mu.Unlock()

	runCtx := ctx
	if m.cfg.RunTime > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, m.cfg.RunTime)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- m.eng.Run(runCtx) }()

	ticker := time.NewTicker(m.cfg.Tick)
	defer ticker.Stop()
	for {
		select {
		case err := <-done:
			m.tick(time.Now())
			m.mu.Lock()
			m.end = time.Now()
			m.mu.Unlock()
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case t := <-ticker.C:
			m.tick(t)
		}
	}
}

// tick moves recorded samples into the statistics.
func (m *Master) tick(now time.Time) {
	m.mu.Lock()
	if m.resetWant {
		m.resetWant = false
		m.rec.Flush(m.last, now) // drop what the ramp-up recorded
		m.st.Reset(now)
		m.last = now
		m.log.Info("statistics reset after ramp-up")
	}
	iv := m.rec.Flush(m.last, now)
	m.last = now
	m.st.Add(iv)
	snap := m.st.Snapshot(now)
	m.mu.Unlock()
	if m.cfg.OnTick != nil {
		m.cfg.OnTick(snap, m.eng.Users())
	}
}

// Snapshot returns the statistics as of now (the last tick's data).
func (m *Master) Snapshot() *stats.Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return stats.New(time.Now()).Snapshot(time.Now())
	}
	return m.st.Snapshot(time.Now())
}

// Users returns the running user count.
func (m *Master) Users() int { return m.eng.Users() }

// ClassUsers returns the running users per class.
func (m *Master) ClassUsers() []int { return m.eng.ClassUsers() }

// Exceptions returns errors raised by user code.
func (m *Master) Exceptions() []engine.Exception { return m.eng.Exceptions() }

// Times returns when the run started and ended (zero until it has).
func (m *Master) Times() (start, end time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.start, m.end
}
