package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// sleeper's task takes d.
type sleeper struct {
	d       time.Duration
	started *atomic.Int64
}

func (s sleeper) OnStart(ctx context.Context, vu horde.VU) error {
	s.started.Add(1)
	return nil
}
func (s sleeper) OnStop(ctx context.Context, vu horde.VU) error { return nil }
func (s sleeper) Task(ctx context.Context, vu horde.VU) error {
	t0 := time.Now()
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	vu.Record(horde.Sample{Method: "GET", Name: "/sleep", Duration: time.Since(t0)})
	return nil
}

func openEngine(t *testing.T, rate float64, task time.Duration, pre, maxVUs int) (*Engine, *stats.Recorder, *atomic.Int64) {
	t.Helper()
	var started atomic.Int64
	rec := stats.NewRecorder(0)
	e, err := New(Config{
		Classes:         []horde.Class{{Name: "s", Weight: 1, New: func() horde.User { return sleeper{d: task, started: &started} }}},
		Recorder:        rec,
		Shape:           shape.Shape{Open: true, Start: rate},
		PreAllocatedVUs: pre,
		MaxVUs:          maxVUs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, rec, &started
}

// Iterations start on schedule whatever the users do; the pool grows to
// keep up; nothing is dropped while it can.
func TestOpen_KeepsTheRate(t *testing.T) {
	// 200/s of 50 ms tasks needs about 10 users in flight; start with 2.
	e, _, started := openEngine(t, 200, 50*time.Millisecond, 2, 100)
	t0 := time.Now()
	runFor(t, e, time.Second)
	// On schedule: 200 per second of the time it ran (the stop comes a
	// little after the second on a loaded machine), never more.
	ran := time.Since(t0).Seconds()
	o := e.Open()
	if o.Iterations < 180 || float64(o.Iterations) > 200*ran+1 {
		t.Errorf("iterations in %.3f s at 200/s: %d", ran, o.Iterations)
	}
	if o.Dropped != 0 {
		t.Errorf("dropped %d with room to grow", o.Dropped)
	}
	if got := started.Load(); got < 8 {
		t.Errorf("pool grew to %d users; 200/s of 50 ms tasks needs about 10", got)
	}
}

// With the pool capped, iterations that find no free user are dropped and
// counted, never delayed.
func TestOpen_DropsWhenThePoolIsFull(t *testing.T) {
	e, _, started := openEngine(t, 100, 500*time.Millisecond, 2, 2)
	runFor(t, e, time.Second)
	o := e.Open()
	if got := started.Load(); got != 2 {
		t.Errorf("users: %d, want the cap of 2", got)
	}
	// 2 users × 2 iterations of 500 ms fit in 1 s; the other ~96 are dropped.
	if o.Dropped < 80 {
		t.Errorf("dropped %d of %d, want most", o.Dropped, o.Iterations)
	}
}

// A request that starts late is timed from when it should have started.
func TestOpen_LatencyFromIntendedStart(t *testing.T) {
	// One user, 20/s of 100 ms tasks: each iteration waits for the user, so
	// the queue builds and corrected latency grows far above 100 ms.
	e, rec, _ := openEngine(t, 20, 100*time.Millisecond, 1, 1)
	runFor(t, e, time.Second)
	now := time.Now()
	st := stats.New(now.Add(-time.Second))
	st.Add(rec.Flush(now.Add(-time.Second), now))
	snap := st.Snapshot(now)
	if len(snap.Entries) != 1 {
		t.Fatalf("entries: %+v", snap.Entries)
	}
	en := snap.Entries[0]
	if en.Uncorrected == nil {
		t.Fatal("no uncorrected figures in the open model")
	}
	// A 100 ms task never takes less (an upper bound would be a timed
	// assertion that a loaded machine breaks).
	if en.Uncorrected.MinMs < 100 {
		t.Errorf("uncorrected min %v ms, want at least the task's 100", en.Uncorrected.MinMs)
	}
	// dropped iterations are not queued, so the lag is bounded by one task
	if en.MaxMs < en.Uncorrected.MaxMs {
		t.Errorf("corrected max %v < uncorrected max %v", en.MaxMs, en.Uncorrected.MaxMs)
	}
}

// The pool hands an iteration to the user that became idle last, and a
// stopping user leaves it unless an iteration reached it first.
func TestOpenPool_MostRecentlyIdleFirst(t *testing.T) {
	var p openPool
	a, b, c := make(chan time.Time, 1), make(chan time.Time, 1), make(chan time.Time, 1)
	p.wait(a)
	p.wait(b)
	p.wait(c)
	t0 := time.Unix(1000, 0)
	for i, want := range []chan time.Time{c, b} {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		if !p.hand(at) {
			t.Fatalf("hand %d: no idle user", i)
		}
		select {
		case got := <-want:
			if !got.Equal(at) {
				t.Errorf("hand %d: intended %v, want %v", i, got, at)
			}
		default:
			t.Fatalf("hand %d went to the wrong user", i)
		}
	}
	p.wait(c) // c finished its iteration: it is on top again
	if !p.hand(t0) || len(c) != 1 {
		t.Fatal("the user idle last did not take the iteration")
	}
	<-c
	if !p.leave(a) {
		t.Error("an idle user could not leave")
	}
	if p.hand(t0) {
		t.Error("an iteration was handed to a user that left")
	}
	p.wait(b)
	p.hand(t0)
	if p.leave(b) {
		t.Error("a user handed an iteration left as if it had none")
	}
	if len(a)+len(b)+len(c) != 1 || len(b) != 1 {
		t.Errorf("pending iterations a=%d b=%d c=%d, want only b's", len(a), len(b), len(c))
	}
}

// userCounter's task records which user ran it.
type userCounter struct {
	mu   *sync.Mutex
	seen map[int]int
}

func (u userCounter) OnStart(ctx context.Context, vu horde.VU) error { return nil }
func (u userCounter) OnStop(ctx context.Context, vu horde.VU) error  { return nil }
func (u userCounter) Task(ctx context.Context, vu horde.VU) error {
	u.mu.Lock()
	u.seen[vu.ID()]++
	u.mu.Unlock()
	return nil
}

// At a rate that needs one user at a time, a large pool does not pass the
// iterations round: the user that finished last takes the next one, so a
// few users (and their connections) do the work and the rest stay idle.
func TestOpen_FewUsersServeASparseRate(t *testing.T) {
	c := userCounter{mu: new(sync.Mutex), seen: map[int]int{}}
	e, err := New(Config{
		Classes:         []horde.Class{{Name: "c", Weight: 1, New: func() horde.User { return c }}},
		Recorder:        stats.NewRecorder(0),
		Shape:           shape.Shape{Open: true, Start: 50},
		PreAllocatedVUs: 40,
		MaxVUs:          40,
	})
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, e, time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.seen {
		n += k
	}
	// 50 iterations 20 ms apart, each over in microseconds: handed out in
	// turn, they would reach all 40 users; the most recently idle first,
	// one or two (more only if a finished user waited 20 ms for a core,
	// again and again).
	if n < 30 || len(c.seen) > 10 {
		t.Errorf("%d iterations ran on %d of 40 users: %v", n, len(c.seen), c.seen)
	}
}
