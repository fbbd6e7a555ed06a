package master

import (
	"context"
	"testing"
	"time"

	"github.com/horde-load/horde"
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return m
}

func waitState(t *testing.T, m *Master, want State) {
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
	if got := m.State(); got != StateReady {
		t.Fatalf("initial state %s", got)
	}
	if err := m.Start(RunSpec{Users: 4, SpawnRate: 100}); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, StateRunning)
	if got := m.Users(); got != 4 {
		t.Errorf("users %d, want 4", got)
	}
	// Edit the running test: no new run, statistics kept.
	time.Sleep(150 * time.Millisecond)
	before := m.Snapshot().Total.Requests
	if err := m.Start(RunSpec{Users: 2, SpawnRate: 100}); err != nil {
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
	if got := m.State(); got != StateStopped {
		t.Errorf("state after stop %s", got)
	}
	final := m.Snapshot().Total.Requests
	if len(m.History()) == 0 {
		t.Error("no history points")
	}

	// A new run starts from zero.
	if err := m.Start(RunSpec{Users: 1, SpawnRate: 10, RunTime: 200 * time.Millisecond}); err != nil {
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
	for _, spec := range []RunSpec{{Users: -1, SpawnRate: 1}, {Users: 1, SpawnRate: 0}, {Users: 1, SpawnRate: 1, RunTime: -time.Second}} {
		if err := m.Start(spec); err == nil {
			t.Errorf("Start(%+v): no error", spec)
		}
	}
}
