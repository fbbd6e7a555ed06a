package engine

import (
	"context"
	"math"
	"time"

	"github.com/horde-load/horde/internal/shape"
)

// preciseWait is the longest wait the open model's scheduler sleeps
// through precisely (waiter), without watching for a stop.
const preciseWait = 2 * time.Millisecond

// minWake is the least time between two wake-ups of the open model's
// scheduler: above 1/minWake iterations a second (4,000/s) it wakes once
// per minWake and releases every iteration due by then, instead of once per
// iteration (each wake-up is a timerfd set and read, a few system calls).
// The iterations released late start up to minWake after their intended
// time, and that lag is counted in their latency (coordinated omission).
const minWake = 250 * time.Microsecond

// Defaults of the open model's user pool.
const (
	defaultMaxVUs = 1000
)

// runOpen is the open-model executor: iterations start on a schedule set by
// the rate, whether or not earlier ones have finished, like k6's
// arrival-rate executors. Each iteration is one task of one user; an idle
// user takes it, else a new user is started (up to MaxVUs), else the
// iteration is dropped and counted, never delayed. Every request is timed
// from the intended start of its iteration as well as from its send, so a
// stalled server cannot hide behind coordinated omission.
func (e *Engine) runOpen(ctx context.Context) error {
	base, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	e.base, e.root = base, context.WithoutCancel(base)

	pre, maxVUs := e.poolSize()
	// A send on work succeeds only when a user is idle and waiting for it.
	work := make(chan time.Time)
	for range pre {
		e.spawnOpen(work, time.Time{})
	}
	if e.cfg.OnRampDone != nil {
		e.cfg.OnRampDone(pre)
	}

	start := time.Now().Add(-e.cfg.ShapeElapsed)
	sched := shape.NewScheduleAt(e.cfg.Shape, e.cfg.ShapeElapsed)
	e.mu.Lock()
	e.openStart = start
	e.reached = e.gen
	e.mu.Unlock()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	precise := newWaiter()
	defer precise.close()
	var woke time.Time // the scheduler's last precise wake-up
loop:
	for {
		at, ended := sched.Next()
		if ended {
			break
		}
		intended := start.Add(at)
		if d := time.Until(intended); d > preciseWait {
			// Long waits on Go's timer (interruptible), ending a little early;
			// the rest precisely, below.
			timer.Reset(d - preciseWait/2)
			select {
			case <-ctx.Done():
				e.stopAll(cancelAll)
				return nil
			case <-e.retarget:
				timer.Stop()
				// A new shape: the iteration pending under the old one is
				// dropped from the schedule, which carries on under the new
				// shape from the time it was set at.
				e.mu.Lock()
				if e.newShape != nil {
					sched = shape.NewScheduleAt(*e.newShape, e.newShapeAt)
					e.newShape = nil
				}
				if e.newMaxVUs > 0 {
					maxVUs, e.newMaxVUs = e.newMaxVUs, 0
				}
				e.mu.Unlock()
				continue loop
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			break
		}
		if d := time.Until(intended); d > 0 {
			// Batched: not sooner than minWake after the last wake-up;
			// the loop then releases every iteration due without sleeping.
			if w := minWake - time.Since(woke); w > d {
				d = w
			}
			precise.sleep(d)
			woke = time.Now()
		}
		e.iterations.Add(1)
		select {
		case work <- intended:
		default:
			if int(e.running.Load()) < maxVUs {
				e.spawnOpen(work, intended)
			} else {
				e.dropped.Add(1)
			}
		}
	}
	e.stopAll(cancelAll)
	return nil
}

// SetShape swaps the open model's rate shape while running, keeping the
// time origin: from now on iterations follow s from the time elapsed since
// the start of the run (as of now), so a shape with stages carries on at the
// same point of its stages. maxVUs > 0 also changes the most users the pool
// may grow to (users above it are not stopped; no new ones start). A closed
// model engine ignores it.
func (e *Engine) SetShape(s shape.Shape, elapsed time.Duration, maxVUs int) {
	e.mu.Lock()
	e.newShape, e.newShapeAt, e.newMaxVUs = &s, max(elapsed, 0), maxVUs
	e.mu.Unlock()
	select {
	case e.retarget <- struct{}{}:
	default:
	}
}

// elapsed returns the time since the open model's schedule began (with
// Config.ShapeElapsed counted in), or 0 before it has.
func (e *Engine) elapsed() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.openStart.IsZero() {
		return 0
	}
	return time.Since(e.openStart)
}

// poolSize returns the pre-allocated and maximum users of the open model.
// By default the pool starts with enough users for 100 ms of iterations at
// the peak rate (at least 1) and may grow to defaultMaxVUs.
func (e *Engine) poolSize() (pre, maxVUs int) {
	pre, maxVUs = e.cfg.PreAllocatedVUs, e.cfg.MaxVUs
	if pre <= 0 {
		pre = max(1, int(math.Ceil(e.cfg.Shape.Max()/10)))
	}
	if maxVUs <= 0 {
		maxVUs = max(pre, defaultMaxVUs)
	}
	return min(pre, maxVUs), maxVUs
}

// spawnOpen starts one open-model user, with a first iteration when first
// is not zero.
func (e *Engine) spawnOpen(work <-chan time.Time, first time.Time) {
	u := e.addUser(true, -1)
	go e.runOpenUser(u, work, first)
}

// runOpenUser runs u's on_start, then iterations handed to it until it is
// stopped, then ends it (on_stop).
func (e *Engine) runOpenUser(u *vuser, work <-chan time.Time, first time.Time) {
	e.start(u)
	next := first
	for !u.stopped() {
		if next.IsZero() {
			select {
			case next = <-work:
			case <-u.stop:
			}
			if next.IsZero() {
				break
			}
		}
		lag := max(time.Since(next), 0)
		e.noteLag(lag)
		u.lag = lag
		if err := e.call(func() error { return u.impl.Task(u.taskCtx, u) }); err != nil && !u.stopped() {
			e.exception(err)
		}
		u.lag = 0
		next = time.Time{}
	}
	e.end(u)
}

func (e *Engine) noteLag(lag time.Duration) {
	us := lag.Microseconds()
	e.lagSumUs.Add(us)
	for {
		cur := e.lagMaxUs.Load()
		if us <= cur || e.lagMaxUs.CompareAndSwap(cur, us) {
			return
		}
	}
}
