package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/stats"
)

// fakeUser counts its calls; task runs for taskTime unless its context ends.
type fakeUser struct {
	c        *calls
	taskTime time.Duration
	panicky  bool
}

type calls struct {
	starts, tasks, stops, cut, finished atomic.Int64
}

func (u *fakeUser) OnStart(ctx context.Context, vu horde.VU) error {
	u.c.starts.Add(1)
	return nil
}

func (u *fakeUser) Task(ctx context.Context, vu horde.VU) error {
	u.c.tasks.Add(1)
	if u.panicky {
		panic("boom")
	}
	vu.Record(horde.Sample{Method: "RUN", Name: "task", Duration: time.Millisecond})
	if u.taskTime == 0 {
		return nil
	}
	select {
	case <-time.After(u.taskTime):
		u.c.finished.Add(1)
		return nil
	case <-ctx.Done():
		u.c.cut.Add(1)
		return ctx.Err()
	}
}

func (u *fakeUser) OnStop(ctx context.Context, vu horde.VU) error {
	u.c.stops.Add(1)
	return errors.New("on_stop complaint")
}

func class(name string, weight int, c *calls, taskTime time.Duration, wait horde.Wait) horde.Class {
	return horde.Class{Name: name, Weight: weight, Wait: wait, New: func() horde.User {
		return &fakeUser{c: c, taskTime: taskTime}
	}}
}

func runFor(t *testing.T, e *Engine, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEngine_SpawnsByWeightAndStopsEveryone(t *testing.T) {
	var a, b calls
	rec := stats.NewRecorder(0)
	e, err := New(Config{
		Classes:   []horde.Class{class("a", 3, &a, 0, horde.Constant(10*time.Millisecond)), class("b", 1, &b, 0, horde.Constant(10*time.Millisecond))},
		Users:     8,
		SpawnRate: 200,
		Recorder:  rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, e, 500*time.Millisecond)
	if got, want := a.starts.Load(), int64(6); got != want {
		t.Errorf("class a users: got %d, want %d", got, want)
	}
	if got, want := b.starts.Load(), int64(2); got != want {
		t.Errorf("class b users: got %d, want %d", got, want)
	}
	if a.stops.Load() != a.starts.Load() || b.stops.Load() != b.starts.Load() {
		t.Errorf("on_stop: a %d/%d, b %d/%d", a.stops.Load(), a.starts.Load(), b.stops.Load(), b.starts.Load())
	}
	if e.userCount() != 0 {
		t.Errorf("users after Run: %d", e.userCount())
	}
	iv := rec.Flush(time.Now(), time.Now())
	tasks := a.tasks.Load() + b.tasks.Load()
	if got := iv.Entries[stats.Key{Method: "RUN", Name: "task"}].Count; got != tasks {
		t.Errorf("recorded %d samples, ran %d tasks", got, tasks)
	}
	ex := e.Exceptions()
	if len(ex) != 1 || ex[0].Message != "on_stop complaint" || ex[0].Count != 8 {
		t.Errorf("exceptions: got %+v, want one on_stop complaint ×8", ex)
	}
}

func TestEngine_SpawnRatePaces(t *testing.T) {
	var c calls
	e, err := New(Config{
		Classes:   []horde.Class{class("a", 1, &c, 0, horde.Constant(time.Hour))},
		Users:     100,
		SpawnRate: 20,
		Recorder:  stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, e, 520*time.Millisecond)
	// 20 users/s for ~0.5 s: about 11 (one at t=0, then every 50 ms), never all 100.
	if got := c.starts.Load(); got < 5 || got > 20 {
		t.Errorf("users started in 0.5 s at 20/s: got %d, want about 11", got)
	}
}

func TestEngine_StopTimeout(t *testing.T) {
	for _, tt := range []struct {
		name        string
		stopTimeout time.Duration
		wantCut     bool
	}{
		{"cut off at once", 0, true},
		{"allowed to finish", 2 * time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c calls
			e, err := New(Config{
				Classes:     []horde.Class{class("a", 1, &c, 400*time.Millisecond, horde.Wait{})},
				Users:       2,
				SpawnRate:   100,
				StopTimeout: tt.stopTimeout,
				Recorder:    stats.NewRecorder(0),
			})
			if err != nil {
				t.Fatal(err)
			}
			// Stop once both users are in their 400 ms task (not after a
			// fixed time: on a loaded machine they may not have begun).
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				for deadline := time.Now().Add(10 * time.Second); c.tasks.Load() < 2 && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}()
			if err := e.Run(ctx); err != nil {
				t.Fatal(err)
			}
			t.Logf("starts %d tasks %d cut %d finished %d stops %d", c.starts.Load(), c.tasks.Load(), c.cut.Load(), c.finished.Load(), c.stops.Load())
			if tt.wantCut && (c.cut.Load() != 2 || c.finished.Load() != 0) {
				t.Errorf("cut %d, finished %d; want 2 cut", c.cut.Load(), c.finished.Load())
			}
			if !tt.wantCut && (c.finished.Load() != 2 || c.cut.Load() != 0) {
				t.Errorf("cut %d, finished %d; want 2 finished", c.cut.Load(), c.finished.Load())
			}
			if c.stops.Load() != 2 {
				t.Errorf("on_stop ran %d times, want 2", c.stops.Load())
			}
		})
	}
}

func TestEngine_SetTargetRampsDownLastFirst(t *testing.T) {
	var c calls
	e, err := New(Config{
		Classes:   []horde.Class{class("a", 1, &c, 0, horde.Constant(20*time.Millisecond))},
		Users:     6,
		SpawnRate: 1000,
		Recorder:  stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, func() bool { return e.userCount() == 6 })
	e.setTarget(2, 1000)
	waitFor(t, func() bool { return e.userCount() == 2 })
	if got := c.stops.Load(); got != 4 {
		t.Errorf("on_stop after ramp-down: got %d, want 4", got)
	}
	e.mu.Lock()
	ids := []int{e.users[0].id, e.users[1].id}
	e.mu.Unlock()
	if ids[0] != 1 || ids[1] != 2 {
		t.Errorf("remaining users %v, want the first two [1 2]", ids)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestEngine_PanicIsAnException(t *testing.T) {
	var c calls
	e, err := New(Config{
		Classes: []horde.Class{{Name: "p", Weight: 1, Wait: horde.Constant(50 * time.Millisecond), New: func() horde.User {
			return &fakeUser{c: &c, panicky: true}
		}}},
		Users:     1,
		SpawnRate: 10,
		Recorder:  stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, e, 300*time.Millisecond)
	var found bool
	for _, ex := range e.Exceptions() {
		if ex.Message == "panic: boom" && ex.Count >= 2 {
			found = true
		}
	}
	if !found {
		t.Errorf("exceptions %+v: want repeated \"panic: boom\" (the user keeps running)", e.Exceptions())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Users in a long wait hold no goroutine (they are parked on a timer): a
// ramp-down or the end of the run still ends each one once, at once, with
// its on_stop, and users with waits above parkAfter keep iterating.
func TestEngine_ParkedUsersResumeAndStop(t *testing.T) {
	var long, short calls
	e, err := New(Config{
		Classes: []horde.Class{
			class("long", 1, &long, 0, horde.Constant(time.Hour)),
			class("short", 1, &short, 0, horde.Constant(parkAfter+5*time.Millisecond)),
		},
		ClassUsers: []int{20, 5},
		SpawnRate:  0,
		Recorder:   stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	// Each short user resumes from its park several times.
	waitFor(t, func() bool { return short.tasks.Load() >= 5*4 && long.tasks.Load() == 20 })
	e.SetClassTargets([]int{8, 5}, 0)
	waitFor(t, func() bool { return long.stops.Load() == 12 })
	if got := e.ClassUsers(); got[0] != 8 || got[1] != 5 {
		t.Errorf("users per class after the ramp-down: %v, want [8 5]", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: a parked user was not ended")
	}
	if got := long.stops.Load(); got != 20 {
		t.Errorf("on_stop of the long-waiting users: %d, want 20 (once each)", got)
	}
	if got := short.stops.Load(); got != 5 {
		t.Errorf("on_stop of the short-waiting users: %d, want 5", got)
	}
	if got := long.tasks.Load(); got != 20 {
		t.Errorf("tasks of the long-waiting users: %d, want 20 (one each, then the wait)", got)
	}
	if n := e.userCount(); n != 0 {
		t.Errorf("%d users still counted as running", n)
	}
}
