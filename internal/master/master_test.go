package master

import (
	"context"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/worker"
)

// pinger records one sample per task.
type pinger struct{}

func (pinger) OnStart(ctx context.Context, vu horde.VU) error { return nil }
func (pinger) OnStop(ctx context.Context, vu horde.VU) error  { return nil }
func (pinger) Task(ctx context.Context, vu horde.VU) error {
	vu.Record(horde.Sample{Method: "GET", Name: "/ping", Duration: 2 * time.Millisecond, Bytes: 10})
	return nil
}

func newMaster(t *testing.T) *Master {
	t.Helper()
	m, err := New(Config{
		Classes: []horde.Class{{Name: "p", Weight: 1, Wait: horde.Constant(5 * time.Millisecond), New: func() horde.User { return pinger{} }}},
		Tick:    50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Serve(ctx) }()
	// The in-process worker, as the run package starts it for a standalone run.
	wctx, stopWorker := context.WithCancel(context.Background())
	wdone := make(chan error)
	go func() { wdone <- worker.Local(wctx, m, m.cfg.Classes, httpload.Options{}, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		stopWorker()
		if err := <-wdone; err != nil {
			t.Error(err)
		}
	})
	return m
}

func waitState(t *testing.T, m *Master, want cluster.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %s, want %s", m.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMaster_Lifecycle(t *testing.T) {
	m := newMaster(t)
	if got := m.State(); got != cluster.StateReady {
		t.Fatalf("initial state %s", got)
	}
	if err := m.Start(cluster.RunSpec{Users: 4, SpawnRate: 100}); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, cluster.StateRunning)
	if got := m.Users(); got != 4 {
		t.Errorf("users %d, want 4", got)
	}
	// Edit the running test: no new run, statistics kept. Wait for the
	// first requests to be reported (a loaded machine may take longer than
	// any fixed pause).
	before := int64(0)
	for wait := time.Now().Add(5 * time.Second); before == 0 && time.Now().Before(wait); {
		time.Sleep(20 * time.Millisecond)
		before = m.Snapshot().Total.Requests
	}
	if err := m.Start(cluster.RunSpec{Users: 2, SpawnRate: 100}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Users() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := m.Users(); got != 2 {
		t.Errorf("users after edit %d, want 2", got)
	}
	if after := m.Snapshot().Total.Requests; after < before || before == 0 {
		t.Errorf("requests went from %d to %d across an edit; want kept and growing", before, after)
	}
	m.Stop()
	<-m.RunDone()
	if got := m.State(); got != cluster.StateStopped {
		t.Errorf("state after stop %s", got)
	}
	final := m.Snapshot().Total.Requests
	if len(m.History()) == 0 {
		t.Error("no history points")
	}
	// A constant closed run's target is the spec's user count: 4, then 2
	// after the edit (no tick may fall in between), and 0 once stopping.
	targets := map[float64]bool{}
	for _, p := range m.History() {
		if p.Open || (p.Target != 4 && p.Target != 2 && p.Target != 0) {
			t.Errorf("closed run of 4 then 2 users has point %+v", p)
		}
		targets[p.Target] = true
	}
	if !targets[4] {
		t.Errorf("no history point with target 4; targets %v", targets)
	}

	// A new run starts from zero.
	if err := m.Start(cluster.RunSpec{Users: 1, SpawnRate: 10, RunTime: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	<-m.RunDone()
	if got := m.Snapshot().Total.Requests; got >= final || got == 0 {
		t.Errorf("second run has %d requests (first had %d): want a fresh count", got, final)
	}
	m.ResetStats()
	if got := m.Snapshot().Total.Requests; got != 0 {
		t.Errorf("after reset: %d requests", got)
	}
}

func TestMaster_StartRejectsBadSpecs(t *testing.T) {
	m := newMaster(t)
	for _, spec := range []cluster.RunSpec{{Users: -1, SpawnRate: 1}, {Users: 1, SpawnRate: 0}, {Users: 1, SpawnRate: 1, RunTime: -time.Second}} {
		if err := m.Start(spec); err == nil {
			t.Errorf("Start(%+v): no error", spec)
		}
	}
}

func TestMaster_targetLocked(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ramp := []shape.Stage{{Duration: 10 * time.Second, Target: 100}}
	tests := []struct {
		name     string
		shape    shape.Shape
		state    cluster.State
		users    int
		at       time.Duration
		want     float64
		wantOpen bool
	}{
		{"closed constant: spec users", shape.Shape{}, cluster.StateRunning, 7, 3 * time.Second, 7, false},
		{"closed stages", shape.Shape{Stages: ramp}, cluster.StateRunning, 0, 5 * time.Second, 50, false},
		{"open constant rate", shape.Shape{Open: true, Start: 2000}, cluster.StateRunning, 0, time.Second, 2000, true},
		{"open stages", shape.Shape{Open: true, Start: 100, Stages: ramp}, cluster.StateSpawning, 0, 5 * time.Second, 100, true},
		{"open, stopping", shape.Shape{Open: true, Start: 2000}, cluster.StateStopping, 0, time.Second, 0, true},
		{"closed, stopped", shape.Shape{}, cluster.StateStopped, 7, time.Second, 0, false},
	}
	for _, tt := range tests {
		m := &Master{cfg: Config{Shape: tt.shape}, state: tt.state, start: start, spec: cluster.RunSpec{Users: tt.users}}
		got, open := m.targetLocked(start.Add(tt.at))
		if got != tt.want || open != tt.wantOpen {
			t.Errorf("%s: target %v, open %v; want %v, %v", tt.name, got, open, tt.want, tt.wantOpen)
		}
	}
}

// An edit changes users and rate only: the stop time set at the start
// stands; an edit with a run time sets a new one, counted from the start.
func TestMaster_EditKeepsTheStopTime(t *testing.T) {
	m := newMaster(t)
	start := time.Now()
	if err := m.Start(cluster.RunSpec{Users: 2, SpawnRate: 100, RunTime: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := m.Start(cluster.RunSpec{Users: 3, SpawnRate: 100}); err != nil {
		t.Fatal(err)
	}
	if got := m.Spec().RunTime; got != 1500*time.Millisecond {
		t.Errorf("run time after an edit without one: %v, want the start's 1.5s", got)
	}
	select {
	case <-m.RunDone():
	case <-time.After(10 * time.Second):
		t.Fatal("an edited run without a run time never ended")
	}
	if d := time.Since(start); d < 1400*time.Millisecond || d > 4*time.Second {
		t.Errorf("the run ended after %v, want about 1.5s (its stop time from the start)", d)
	}

	start = time.Now()
	if err := m.Start(cluster.RunSpec{Users: 2, SpawnRate: 100, RunTime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if err := m.Start(cluster.RunSpec{Users: 2, SpawnRate: 100, RunTime: time.Second}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.RunDone():
	case <-time.After(10 * time.Second):
		t.Fatal("an edit with a new run time did not end the run")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the run ended %v after its start, want about 1s: a new run time counts from the start", d)
	}
}
