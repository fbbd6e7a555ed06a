package engine

import (
	"context"
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
