package engine

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/horde-load/horde/internal/shape"
)

// preciseWait is the longest wait the open model's scheduler sleeps
// through precisely (waiter), without watching for a stop.
const preciseWait = 2 * time.Millisecond

// wakeSlack is the least time between two wake-ups of the open model's
// scheduler: when iterations are due more often than once per wakeSlack
// (above 1,000 a second), a wake-up releases every iteration due by then,
// so one wake-up (and the answers to the requests it sends, which come
// back together) serves several iterations instead of one each. A wake-up
// costs the generator more than the scheduling itself (about 20 µs of CPU
// on a virtual machine: the idle thread's epoll_pwait returns, a context
// switch, the timer's re-arming), and at 2,000/s it was the one cost per
// request where horde exceeded vegeta (docs/performance.md). The iterations
// released late start up to wakeSlack after their intended time, and that
// lag is counted in their corrected latency (coordinated omission): at
// 2,000/s every other iteration carries 0.5 ms. Sparser iterations are
// released at their intended time.
const wakeSlack = time.Millisecond

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
	pool := &openPool{}
	for range pre {
		e.spawnOpen(pool, time.Time{})
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
	e.openMaxVUs = maxVUs
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	precise := newWaiter()
	defer precise.close()
	clk := &runClock{ctx: ctx, retarget: e.retarget, timer: timer, precise: precise}
	e.schedule(clk, start, sched, func(intended time.Time) { e.release(pool, intended) })
	e.stopAll(cancelAll)
	return nil
}

// schedule runs the open model's schedule sched from start on clk: it calls
// release once for each iteration, in order, with its intended start time,
// until the shape ends or the run is stopped. An iteration is released at
// its intended time, or up to wakeSlack after it when iterations are due
// more often than that (one wake-up then serves all those due by it); one
// that is already due (the scheduler fell behind) is released at once. A
// new shape (SetShape) takes over while the scheduler waits; the iteration
// pending under the old one is dropped from the schedule, which carries on
// under the new shape from the time it was set at.
func (e *Engine) schedule(clk openClock, start time.Time, sched *shape.Schedule, release func(intended time.Time)) {
	var last time.Time // the target of the last wake-up
	for {
		at, ended := sched.Next()
		if ended {
			return
		}
		intended := start.Add(at)
		if now := clk.now(); intended.After(now) {
			// Not sooner than wakeSlack after the last wake-up: the loop
			// then releases every iteration due by this one without waiting.
			wake := intended
			if t := last.Add(wakeSlack); t.After(wake) {
				wake = t
			}
			if d := wake.Sub(now); d > preciseWait {
				// Long waits on Go's timer (interruptible), ending a little
				// early; the rest precisely, below.
				switch clk.wait(d - preciseWait/2) {
				case waitStopped:
					return
				case waitRetarget:
					sched = e.takeShape(sched)
					continue
				}
			}
			if d := wake.Sub(clk.now()); d > 0 {
				clk.sleep(d)
			}
			last = wake
		}
		if clk.stopped() {
			return
		}
		release(intended)
	}
}

// takeShape applies what SetShape set: the schedule under the new shape
// (or sched when only the pool's size changed) and the pool's new maximum.
func (e *Engine) takeShape(sched *shape.Schedule) *shape.Schedule {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.newShape != nil {
		sched = shape.NewScheduleAt(*e.newShape, e.newShapeAt)
		e.newShape = nil
	}
	if e.newMaxVUs > 0 {
		e.openMaxVUs, e.newMaxVUs = e.newMaxVUs, 0
	}
	return sched
}

// release hands the iteration intended at intended to the most recently
// idle user, or a new one (up to the pool's maximum), or drops and counts
// it.
func (e *Engine) release(pool *openPool, intended time.Time) {
	e.iterations.Add(1)
	if pool.hand(intended) {
		return
	}
	if int(e.running.Load()) < e.openMaxVUs {
		e.spawnOpen(pool, intended)
	} else {
		e.dropped.Add(1)
	}
}

// openPool holds the open model's idle users, the most recently idle on
// top, and hands each iteration to the top one: the user that finished
// last takes the next iteration. At a rate that needs few users at a time,
// the same few users then take every iteration, their goroutines' stacks
// and kept-alive connections warm and used again within the client's idle
// guard (which lets a request's write wait for its read), while the rest of
// the pool stays idle and never connects. Handing out in turn instead (a
// shared channel's queue of waiting receivers) passes every iteration to
// the user idle longest: at 20,000/s with the default pool of 2,000 users,
// each connection was used once every 100 ms, all 2,000 of them, and each
// request paid an extra read that found no answer.
type openPool struct {
	mu   sync.Mutex
	idle []chan time.Time // each idle user's own channel (capacity 1)
}

// wait puts the user whose channel is c on top of the pool.
func (p *openPool) wait(c chan time.Time) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// hand gives the iteration intended at intended to the user on top of the
// pool, and reports false when no user is idle.
func (p *openPool) hand(intended time.Time) bool {
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return false
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	p.mu.Unlock()
	c <- intended // taken off the pool, so empty: never blocks
	return true
}

// leave takes the user whose channel is c off the pool (it is stopping),
// and reports false when an iteration was handed to it first (it is in c,
// or on its way).
func (p *openPool) leave(c chan time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

// openClock is the open model's scheduler's time: runClock in a run, a
// simulated clock in tests.
type openClock interface {
	now() time.Time
	// sleep waits d (> 0, at most about preciseWait) precisely.
	sleep(d time.Duration)
	// wait waits about d (long waits), ending early on a stop or a new
	// shape, and says which ended it.
	wait(d time.Duration) waitEnd
	// stopped reports whether the run has been stopped.
	stopped() bool
}

type waitEnd int

const (
	waitDone waitEnd = iota
	waitStopped
	waitRetarget
)

// runClock is the real clock: precise short waits on a timerfd (waiter),
// long ones on a Go timer beside the run's context and SetShape's signal.
type runClock struct {
	ctx      context.Context
	retarget <-chan struct{}
	timer    *time.Timer
	precise  *waiter
}

func (c *runClock) now() time.Time        { return time.Now() }
func (c *runClock) sleep(d time.Duration) { c.precise.sleep(d) }
func (c *runClock) stopped() bool         { return c.ctx.Err() != nil }

func (c *runClock) wait(d time.Duration) waitEnd {
	c.timer.Reset(d)
	select {
	case <-c.ctx.Done():
		c.timer.Stop()
		return waitStopped
	case <-c.retarget:
		c.timer.Stop()
		return waitRetarget
	case <-c.timer.C:
		return waitDone
	}
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
func (e *Engine) spawnOpen(pool *openPool, first time.Time) {
	u := e.addUser(true, -1)
	go e.runOpenUser(u, pool, first)
}

// runOpenUser runs u's on_start, then iterations handed to it by pool until
// it is stopped, then ends it (on_stop).
func (e *Engine) runOpenUser(u *vuser, pool *openPool, first time.Time) {
	e.start(u)
	next := first
	work := make(chan time.Time, 1)
	for !u.stopped() {
		if next.IsZero() {
			pool.wait(work)
			select {
			case next = <-work:
			case <-u.stop:
				if !pool.leave(work) {
					// Handed an iteration while stopping: not run.
					<-work
					e.dropped.Add(1)
				}
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
