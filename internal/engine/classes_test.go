package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

func listedUsers(e *Engine) (classes, ids []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range e.users {
		classes = append(classes, u.class)
		ids = append(ids, u.id)
	}
	return classes, ids
}

// One engine runs exact per-class counts: VU ids are unique over the
// classes, a new mix stops the newest users of the classes above their
// counts and starts the missing ones.
func TestEngine_ClassTargets(t *testing.T) {
	var a, b, c calls
	w := horde.Constant(20 * time.Millisecond)
	e, err := New(Config{
		Classes: []horde.Class{class("a", 1, &a, 0, w), class("b", 5, &b, 0, w), {
			Name: "c", Count: 1, New: func() horde.User { return &fakeUser{c: &c} }, Wait: w}},
		ClassUsers: []int{6, 2, 0},
		SpawnRate:  1000,
		Recorder:   stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	waitFor(t, func() bool { return e.RampDone() })
	if got := e.ClassUsers(); !slices.Equal(got, []int{6, 2, 0}) {
		t.Fatalf("class users %v, want [6 2 0] (weights and fixed counts are not applied again)", got)
	}
	cls, ids := listedUsers(e)
	sorted := slices.Sorted(slices.Values(ids))
	if !slices.Equal(sorted, []int{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("VU ids %v, want 1..8 once each over all classes", ids)
	}
	// 6:2 interleaved: b's two users are not both at the end.
	if cls[len(cls)-1] == 1 && cls[len(cls)-2] == 1 {
		t.Errorf("spawn order %v: classes not interleaved", cls)
	}
	oldA := []int{}
	for i, c := range cls {
		if c == 0 {
			oldA = append(oldA, ids[i])
		}
	}

	e.SetClassTargets([]int{2, 2, 3}, 1000)
	if e.RampDone() {
		t.Error("RampDone true right after a new target")
	}
	waitFor(t, func() bool { return e.RampDone() })
	waitFor(t, func() bool { return slices.Equal(e.ClassUsers(), []int{2, 2, 3}) })
	cls, ids = listedUsers(e)
	var keptA []int
	for i, c := range cls {
		if c == 0 {
			keptA = append(keptA, ids[i])
		}
	}
	if !slices.Equal(keptA, oldA[:2]) {
		t.Errorf("class a kept users %v, want its two oldest %v", keptA, oldA[:2])
	}
	if got := a.stops.Load(); got != 4 {
		t.Errorf("class a on_stop: %d, want 4", got)
	}
	if !slices.Equal(e.classTargets(), []int{2, 2, 3}) {
		t.Errorf("targets %v", e.classTargets())
	}

	// setTarget still maps through the spawn order: the fixed-count class
	// first, then 1:5 by weight.
	e.setTarget(7, 0)
	waitFor(t, func() bool { return e.RampDone() && slices.Equal(e.ClassUsers(), []int{1, 5, 1}) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// During a ramp the class furthest below its count (relative to it) starts
// next, so every prefix of the ramp is spread as the counts are.
func TestEngine_ClassTargetsInterleave(t *testing.T) {
	var x calls
	w := horde.Constant(time.Second)
	e, err := New(Config{
		Classes:    []horde.Class{class("a", 1, &x, 0, w), class("b", 1, &x, 0, w), class("c", 1, &x, 0, w)},
		ClassUsers: []int{30, 10, 20},
		Recorder:   stats.NewRecorder(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var seq []int
	for range 60 {
		c := e.nextClassLocked()
		e.listed[c]++
		seq = append(seq, c)
		n := len(seq)
		for k, want := range []int{30, 10, 20} {
			exact := float64(want) * float64(n) / 60
			if d := float64(e.listed[k]) - exact; d > 1 || d < -1 {
				t.Fatalf("after %d users class %d has %d, want about %.1f (order %v)", n, k, e.listed[k], exact, seq)
			}
		}
	}
	if got := e.nextClassLocked(); got != -1 {
		t.Errorf("next class with every count reached: %d, want -1", got)
	}
	if !slices.Equal(seq[:6], []int{0, 2, 1, 0, 2, 0}) {
		t.Errorf("first six: %v", seq[:6])
	}
}

// SetShape swaps the open model's rate while running, keeping the time
// origin.
func TestOpen_SetShape(t *testing.T) {
	e, _, _ := openEngine(t, 200, time.Millisecond, 5, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	time.Sleep(500 * time.Millisecond)
	before := e.Open().Iterations
	el := e.elapsed()
	if el < 450*time.Millisecond || el > time.Second {
		t.Errorf("elapsed %v after 500 ms", el)
	}
	e.SetShape(shape.Shape{Open: true, Start: 20}, el, 0)
	time.Sleep(time.Second)
	after := e.Open().Iterations - before
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if before < 80 || before > 110 {
		t.Errorf("iterations in 0.5 s at 200/s: %d", before)
	}
	if after < 12 || after > 30 {
		t.Errorf("iterations in 1 s after the rate became 20/s: %d", after)
	}
}

// A schedule taken up part-way through a staged shape starts where the
// stages are then, not at their beginning.
func TestOpen_ShapeElapsed(t *testing.T) {
	rec := stats.NewRecorder(0)
	e, err := New(Config{
		Classes:  []horde.Class{{Name: "s", Weight: 1, New: func() horde.User { return &fakeUser{c: &calls{}} }}},
		Recorder: rec,
		// 0/s for 10 s, then 100/s.
		Shape:        shape.Shape{Open: true, Stages: []shape.Stage{{Duration: 10 * time.Second, Target: 0}, {Duration: time.Nanosecond, Target: 100}, {Duration: time.Minute, Target: 100}}},
		ShapeElapsed: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	runFor(t, e, 500*time.Millisecond)
	// 100/s of the time it ran (on a loaded machine, a little over 0.5 s);
	// a shape not taken up at 10 s would start none.
	ran := time.Since(t0).Seconds()
	if n := e.Open().Iterations; n < 35 || float64(n) > 100*ran+5 {
		t.Errorf("iterations in %.3f s taken up at 10 s (100/s): %d", ran, n)
	}
}
