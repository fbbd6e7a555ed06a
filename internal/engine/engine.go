// Package engine runs virtual users: it spawns them at the spawn rate,
// spreads them over user classes by weight, runs each one's tasks with its
// wait time between them, and stops them gracefully.
//
// It knows nothing of masters or workers: it is given a target user count
// and reports samples to a stats.Recorder.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/stats"
)

// DefaultOnStopTimeout is the least time on_stop gets when a user stops,
// even with a stop timeout of zero (cluster.OnStopGrace).
const DefaultOnStopTimeout = cluster.OnStopGrace

// releaseAfterRamp is the user count from which a finished ramp-up returns
// freed memory to the OS at once.
const releaseAfterRamp = 1000

// After a large ramp-up the engine returns freed memory to the OS at once
// and again once the users have settled: when at most one in settledShare
// is busy (not parked in a long wait), checked every settleCheck for at
// most settleChecks times (then once more, settled or not). A ramp whose users take long to connect (a busy
// machine, a slow target) would otherwise keep its garbage: parked users
// allocate nothing, so no GC comes for minutes.
const (
	settledShare = 20
	settleCheck  = 500 * time.Millisecond
	settleChecks = 240
)

// releaseMemory collects twice (the second empties the sync.Pools' victim
// caches) and returns the free pages to the OS.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// parkAfter is the shortest wait between tasks for which a closed-model
// user gives up its goroutine: it parks (Engine.park) and a timer starts a
// fresh goroutine to resume it, so that a waiting user holds no stack.
// Shorter waits sleep on the user's goroutine, sparing the spawn.
const parkAfter = 10 * time.Millisecond

// maxExceptions caps the distinct exception messages kept.
const maxExceptions = 100

// Config is what a run of the engine needs.
type Config struct {
	Classes []horde.Class
	Host    string // base URL for relative request URLs
	Users   int    // target number of users
	// ClassUsers, when set (one count per class), is the initial target
	// per class instead of Users: the engine runs exactly that many users
	// of each class (weights and fixed counts are not applied again), as a
	// worker does with the share its master computed.
	ClassUsers  []int
	SpawnRate   float64 // users started (or stopped) per second; <= 0: all at once
	StopTimeout time.Duration
	HTTP        httpload.Options
	Recorder    *stats.Recorder
	Logger      *slog.Logger
	// Trace, if set, is shown every request and its response after it is
	// recorded (horde try; the request lines of -L debug). It runs on the
	// user's goroutine and must not keep the Exchange.
	Trace func(*Exchange)
	// OnRampDone, if set, is called (from the engine's goroutine) each time
	// the running user count reaches the target.
	OnRampDone func(users int)
	// Iterations, when > 0, ends each user after that many task iterations
	// (Locust's -i): it runs on_stop and is not replaced, so the run's
	// users finish one by one. OnUserDone, if set, is called after each.
	Iterations int
	OnUserDone func()

	// Shape, when Open, is a rate of iterations per second and the
	// open-model executor runs instead of Users (see open.go). A closed-model
	// shape is the master's to follow: it sets the users of each worker.
	Shape           shape.Shape
	PreAllocatedVUs int // open model: users started before the first iteration
	// ShapeElapsed starts the open model's shape this far in (a worker that
	// joins a run already under way).
	ShapeElapsed time.Duration
	MaxVUs       int // open model: the most users it may grow to

	// Shared, when set, hands out feeder rows, {{ seq }} and user numbers
	// cluster-wide (a worker's leases); nil: this process's own.
	Shared Shared
	// Vars are variables every scenario user starts with (the captures of
	// the scenario's setup:).
	Vars map[string]string
}

// Engine runs the users of one process.
type Engine struct {
	cfg   Config
	order *cluster.SpawnOrder
	log   *slog.Logger

	mu        sync.Mutex
	target    []int // users wanted per class
	byOrder   bool  // target is a prefix of the spawn order (setTarget)
	listed    []int // users in e.users per class
	rate      float64
	gen       uint64 // grows with every change of the target
	reached   uint64 // the gen whose target was last reached
	retarget  chan struct{}
	users     []*vuser // in spawn order; ramp-down stops the last first
	nextID    int
	wg        sync.WaitGroup
	running   atomic.Int64
	exc       map[string]int64
	excTrace  map[string]string // a traceback per message, for errors that carry one
	excOthers int64
	perClass  []atomic.Int64
	done      atomic.Int64 // users that ran their Iterations and ended
	busy      atomic.Int64 // closed-model users with a goroutine (not parked)

	// base is the context of the users' on_stop (cancelled when on_stop
	// overran its budget everywhere); root is base without its
	// cancellation, the parent of every user's task context (a user's task
	// is cut by its own cancel, so base holds no registration per user).
	// Both are set by Run before the first user starts.
	base, root context.Context

	// open model
	openStart  time.Time    // the shape's time origin; guarded by mu
	newShape   *shape.Shape // set by SetShape, taken by runOpen; guarded by mu
	newShapeAt time.Duration
	newMaxVUs  int
	openMaxVUs int          // the pool's maximum; the scheduler's goroutine only
	iterations atomic.Int64 // iterations started
	dropped    atomic.Int64 // iterations no free user could start on time
	lagSumUs   atomic.Int64
	lagMaxUs   atomic.Int64
}

// New checks cfg and returns an engine ready to Run.
func New(cfg Config) (*Engine, error) {
	order, err := cluster.NewSpawnOrder(cfg.Classes)
	if err != nil {
		return nil, err
	}
	if cfg.Recorder == nil {
		return nil, errors.New("engine: no recorder")
	}
	if cfg.Users < 0 {
		return nil, errors.New("engine: negative user count")
	}
	if err := cfg.Shape.Validate(); err != nil {
		return nil, fmt.Errorf("engine: load shape: %w", err)
	}
	if cfg.Iterations < 0 {
		return nil, errors.New("engine: negative iteration count")
	}
	if cfg.Iterations > 0 && cfg.Shape.Open {
		return nil, errors.New("engine: iterations per user need the closed model (the open model starts iterations on a schedule)")
	}
	if !cfg.Shape.Open && cfg.Shape.Dynamic() {
		return nil, errors.New("engine: a closed-model shape is followed by the master, not the engine")
	}
	for _, c := range cfg.Classes {
		if c.New == nil {
			return nil, errors.New("engine: class " + c.Name + " has no constructor")
		}
	}
	target, byOrder := order.Counts(min(cfg.Users, order.Limit()), len(cfg.Classes)), true
	if cfg.ClassUsers != nil {
		if len(cfg.ClassUsers) != len(cfg.Classes) {
			return nil, fmt.Errorf("engine: %d class counts for %d classes", len(cfg.ClassUsers), len(cfg.Classes))
		}
		for i, n := range cfg.ClassUsers {
			if n < 0 {
				return nil, fmt.Errorf("engine: class %s: negative user count", cfg.Classes[i].Name)
			}
		}
		target, byOrder = append([]int(nil), cfg.ClassUsers...), false
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:      cfg,
		order:    order,
		log:      log,
		target:   target,
		byOrder:  byOrder,
		listed:   make([]int, len(cfg.Classes)),
		gen:      1,
		rate:     cfg.SpawnRate,
		retarget: make(chan struct{}, 1),
		exc:      make(map[string]int64),
		excTrace: make(map[string]string),
		perClass: make([]atomic.Int64, len(cfg.Classes)),
	}, nil
}

// setTarget changes the target user count and spawn rate while running
// (Locust's edit of a running test). The users are spread over the classes
// by the spawn order (fixed counts first, then by weight), and ramp-down
// stops the last spawned first.
func (e *Engine) setTarget(users int, rate float64) {
	counts := e.order.Counts(min(max(users, 0), e.order.Limit()), len(e.cfg.Classes))
	e.setTargets(counts, true, rate)
}

// SetClassTargets sets exactly how many users of each class should run
// (counts has one entry per class; a missing entry is 0) and the spawn
// rate (<= 0: at once). The engine gets there one user at a time at the
// rate: while classes are below their counts it starts a user of the class
// furthest below (relative to its count), so the classes interleave during
// the ramp; classes above their counts lose their newest users first.
func (e *Engine) SetClassTargets(counts []int, rate float64) {
	t := make([]int, len(e.cfg.Classes))
	for i := range t {
		if i < len(counts) {
			t[i] = max(counts[i], 0)
		}
	}
	e.setTargets(t, false, rate)
}

func (e *Engine) setTargets(t []int, byOrder bool, rate float64) {
	e.mu.Lock()
	e.target, e.byOrder, e.rate = t, byOrder, rate
	e.gen++
	e.mu.Unlock()
	select {
	case e.retarget <- struct{}{}:
	default:
	}
}

// classTargets returns the users wanted per class.
func (e *Engine) classTargets() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.target...)
}

// RampDone reports whether the users (per class) have reached the latest
// target since it was set. In the open model it is true once the pool is
// started.
func (e *Engine) RampDone() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reached == e.gen
}

// userCount returns the number of users running now.
func (e *Engine) userCount() int { return int(e.running.Load()) }

// UsersDone returns how many users have run their Config.Iterations and
// ended.
func (e *Engine) UsersDone() int { return int(e.done.Load()) }

// ClassUsers returns the number of running users of each class.
func (e *Engine) ClassUsers() []int {
	out := make([]int, len(e.perClass))
	for i := range e.perClass {
		out[i] = int(e.perClass[i].Load())
	}
	return out
}

// Exceptions returns the errors raised by user code, most frequent first.
func (e *Engine) Exceptions() []stats.Exception {
	e.mu.Lock()
	out := make([]stats.Exception, 0, len(e.exc)+1)
	for m, n := range e.exc {
		out = append(out, stats.Exception{Message: m, Count: n, Traceback: e.excTrace[m]})
	}
	if e.excOthers > 0 {
		out = append(out, stats.Exception{Message: "(other exceptions, not kept: too many distinct messages)", Count: e.excOthers})
	}
	e.mu.Unlock()
	stats.SortExceptions(out)
	return out
}

// tracer is an error that carries a traceback (a script's, internal/script).
type tracer interface{ Traceback() string }

func (e *Engine) exception(err error) {
	msg := err.Error()
	var tr tracer
	e.mu.Lock()
	if _, ok := e.exc[msg]; ok || len(e.exc) < maxExceptions {
		e.exc[msg]++
		if _, ok := e.excTrace[msg]; !ok && errors.As(err, &tr) {
			e.excTrace[msg] = tr.Traceback()
		}
	} else {
		e.excOthers++
	}
	e.mu.Unlock()
}

// Run spawns users towards the target and keeps them running until ctx is
// done; then it stops every user (each finishes or abandons its task within
// StopTimeout, then runs on_stop) and returns once all have ended.
func (e *Engine) Run(ctx context.Context) error {
	if e.cfg.Shape.Open {
		return e.runOpen(ctx)
	}
	base, cancelAll := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAll()
	e.base, e.root = base, context.WithoutCancel(base)

	timer := time.NewTimer(0)
	defer timer.Stop()
	rampStart := time.Now()
	startedAtRamp := 0
	rampDoneReported := false

	for {
		e.mu.Lock()
		rate, gen, pending, have := e.rate, e.gen, e.pendingLocked(), len(e.users)
		if pending == 0 {
			e.reached = gen
		}
		e.mu.Unlock()

		var wait time.Duration = -1
		switch {
		case pending == 0:
			if !rampDoneReported {
				rampDoneReported = true
				e.log.Info("all users spawned", "users", have)
				if e.cfg.OnRampDone != nil {
					e.cfg.OnRampDone(have)
				}
				if have >= releaseAfterRamp {
					// A large ramp leaves garbage (buffers of the users'
					// first requests); hand it back to the OS rather than
					// carry it for the whole soak. The users spawned may
					// still be connecting and sending their first
					// requests, so once now and again after they settled.
					// Idle users allocate nothing, so no GC would come for
					// minutes; and the buffer pools (sync.Pool) drop what
					// they hold only at the second GC after a release.
					go e.releaseWhenSettled(ctx)
				}
			}
		default:
			if rampDoneReported {
				rampDoneReported = false
			}
			due := math.MaxInt
			if rate > 0 {
				due = int(time.Since(rampStart).Seconds()*rate) + 1 - startedAtRamp
			}
			n := min(due, pending)
			for range n {
				if !e.step() {
					break
				}
				startedAtRamp++
			}
			e.mu.Lock()
			pending = e.pendingLocked()
			e.mu.Unlock()
			if pending != 0 {
				next := time.Duration(float64(startedAtRamp) / rate * float64(time.Second))
				wait = max(time.Until(rampStart.Add(next)), 0)
			} else {
				wait = 0
			}
		}

		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			e.stopAll(cancelAll)
			return nil
		case <-e.retarget:
			rampStart, startedAtRamp = time.Now(), 0
		case <-timerC(timer, wait >= 0):
		}
	}
}

// releaseWhenSettled returns freed memory to the OS now, and again once the
// users have settled (see settledShare).
func (e *Engine) releaseWhenSettled(ctx context.Context) {
	releaseMemory()
	t := time.NewTicker(settleCheck)
	defer t.Stop()
	for range settleChecks {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if e.busy.Load()*settledShare <= e.running.Load() {
			break
		}
	}
	releaseMemory()
}

// shapeStep is how often a dynamic closed-model shape updates the target.
const shapeStep = 100 * time.Millisecond

// Open returns the open model's counters (zero in the closed model).
func (e *Engine) Open() cluster.OpenStats {
	n := e.iterations.Load()
	o := cluster.OpenStats{Iterations: n, Dropped: e.dropped.Load(), LagMax: time.Duration(e.lagMaxUs.Load()) * time.Microsecond}
	if n > 0 {
		o.LagMean = time.Duration(e.lagSumUs.Load()/n) * time.Microsecond
	}
	return o
}

func timerC(t *time.Timer, armed bool) <-chan time.Time {
	if armed {
		return t.C
	}
	return nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pendingLocked is how many users must start or stop to reach the target.
func (e *Engine) pendingLocked() int {
	n := 0
	for c, t := range e.target {
		n += abs(t - e.listed[c])
	}
	return n
}

// step starts or stops one user towards the target; false when there is
// nothing to do. While the total is short and a class is below its count,
// it starts a user; otherwise it stops one of a class above its count (so a
// change of mix alternates a stop and a start and the total stays near the
// target).
func (e *Engine) step() bool {
	e.mu.Lock()
	have, want := 0, 0
	below, above := false, false
	for c, t := range e.target {
		have += e.listed[c]
		want += t
		below = below || e.listed[c] < t
		above = above || e.listed[c] > t
	}
	switch {
	case below && (have < want || !above):
		c := e.nextClassLocked()
		e.mu.Unlock()
		u := e.addUser(false, c)
		go e.runUser(u)
		return true
	case above:
		u := e.removeVictimLocked()
		e.mu.Unlock()
		e.stopUser(u)
		return true
	}
	e.mu.Unlock()
	return false
}

// nextClassLocked picks the class of the next user: the spawn order's
// next one when following it (and that class is short), else the class
// furthest below its count relative to the count (ties: the larger
// shortfall, then the first class).
func (e *Engine) nextClassLocked() int {
	if e.byOrder {
		if c := e.order.Class(len(e.users)); c >= 0 && e.listed[c] < e.target[c] {
			return c
		}
	}
	best := -1
	for c, t := range e.target {
		h := e.listed[c]
		if h >= t {
			continue
		}
		if best < 0 {
			best = c
			continue
		}
		bh, bt := e.listed[best], e.target[best]
		// h/t < bh/bt: c has the smaller part of its count running.
		l, r := h*bt, bh*t
		if l < r || (l == r && t-h > bt-bh) {
			best = c
		}
	}
	return best
}

// removeVictimLocked takes out of e.users the newest user of a class above
// its count.
func (e *Engine) removeVictimLocked() *vuser {
	for i := len(e.users) - 1; i >= 0; i-- {
		u := e.users[i]
		if e.listed[u.class] > e.target[u.class] {
			copy(e.users[i:], e.users[i+1:])
			e.users[len(e.users)-1] = nil
			e.users = e.users[:len(e.users)-1]
			e.listed[u.class]--
			return u
		}
	}
	return nil
}

// addUser creates a user of class ci (the next in spawn order when ci < 0)
// and counts it as running; the caller starts its goroutine.
func (e *Engine) addUser(open bool, ci int) *vuser {
	e.mu.Lock()
	if ci < 0 {
		ci = max(e.order.Class(len(e.users)), 0)
	}
	e.nextID++
	id := e.nextID
	e.mu.Unlock()
	if sh := e.cfg.Shared; sh != nil {
		if n, err := sh.UserID(); err == nil {
			id = n
		} else {
			e.log.Warn("no cluster-wide user number; using this worker's own", "err", err)
		}
	}

	u, _ := newVU(e.root, e, id, ci)
	u.open = open
	e.mu.Lock()
	e.users = append(e.users, u)
	e.listed[ci]++
	e.mu.Unlock()
	e.running.Add(1)
	e.perClass[ci].Add(1)
	e.wg.Add(1)
	return u
}

// stopUser asks u to stop: its wait ends at once (a parked user's on_stop
// starts here), and its task is cut off when the stop timeout expires.
func (e *Engine) stopUser(u *vuser) {
	close(u.stop)
	if u.parked.CompareAndSwap(true, false) {
		// Parked, and now never resumed: end it here.
		u.wake.Stop()
		go e.end(u)
	}
	if e.cfg.StopTimeout <= 0 {
		u.cut()
		return
	}
	time.AfterFunc(e.cfg.StopTimeout, u.cut)
}

func (e *Engine) stopAll(cancelAll context.CancelFunc) {
	e.mu.Lock()
	users := e.users
	e.users = nil
	clear(e.listed)
	e.mu.Unlock()
	for i := len(users) - 1; i >= 0; i-- {
		e.stopUser(users[i])
	}
	// When on_stop overruns its budget everywhere, every request is cut off.
	cluster.WaitOrForce(e.wg.Wait, max(e.cfg.StopTimeout, 0)+DefaultOnStopTimeout+time.Second, cancelAll)
}

// runUser runs a closed-model user: its on_start, then its tasks with
// waits between them until it is stopped (tasks).
func (e *Engine) runUser(u *vuser) {
	e.busy.Add(1)
	e.start(u)
	e.tasks(u)
}

// tasks runs u's tasks, with the class's wait between them, until u is
// stopped or ran its Config.Iterations, then ends it; or until a wait of
// parkAfter or more, for which it parks u, to be resumed here by a timer.
func (e *Engine) tasks(u *vuser) {
	cls := &e.cfg.Classes[u.class]
	var timer *time.Timer // short waits; made at the first
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	pacing := cls.Wait.Kind == horde.WaitPacing // only pacing needs how long a task took
	for !u.stopped() {
		u.iter++
		var t0 time.Time
		if pacing {
			t0 = time.Now()
		}
		if err := e.call(func() error { return u.impl.Task(u.taskCtx, u) }); err != nil && !u.stopped() {
			e.exception(err)
		}
		if u.iter == e.cfg.Iterations && !u.stopped() {
			// Done: the user stays listed (so it is not replaced) and
			// ends after its on_stop.
			u.finished = true
			break
		}
		var took time.Duration
		if pacing {
			took = time.Since(t0)
		}
		wait := cls.Wait.Next(u.rand, took)
		if wait <= 0 {
			continue
		}
		if wait >= parkAfter {
			if e.park(u, wait) {
				e.busy.Add(-1)
				return
			}
			break
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-u.stop: // the loop's condition ends it
		}
	}
	e.busy.Add(-1)
	e.end(u)
}

// park leaves u waiting for d without a goroutine: its request buffers go
// back to their pools and its timer resumes its tasks on a new goroutine
// (a waiting user costs its vuser, its connection and a timer, not a
// stack). It returns false when u was stopped meanwhile and will not be
// resumed: the caller ends it.
//
// u.parked hands the user over: whoever turns it from true to false (the
// timer's function, stopUser, or this check) owns the user from then on.
// stopUser closes stop before trying, so either it takes the user or this
// check sees the stop.
func (e *Engine) park(u *vuser, d time.Duration) bool {
	u.dropScratch()
	if u.wake == nil {
		u.wake = time.AfterFunc(time.Duration(math.MaxInt64), func() {
			if u.parked.CompareAndSwap(true, false) {
				e.busy.Add(1)
				e.tasks(u)
			}
		})
	}
	u.parked.Store(true)
	u.wake.Reset(d)
	if u.stopped() && u.parked.CompareAndSwap(true, false) {
		u.wake.Stop()
		return false
	}
	return true
}

// start creates u's user and runs its on_start.
func (e *Engine) start(u *vuser) {
	u.impl = e.cfg.Classes[u.class].New()
	if err := e.call(func() error { return u.impl.OnStart(u.taskCtx, u) }); err != nil && !u.stopped() {
		e.exception(err)
	}
}

// end runs a user's on_stop under the engine's base context, keeps the
// engine's counts and frees the user.
func (e *Engine) end(u *vuser) {
	defer e.wg.Done()
	defer func() {
		e.running.Add(-1)
		e.perClass[u.class].Add(-1)
		if u.finished {
			e.done.Add(1)
			if e.cfg.OnUserDone != nil {
				e.cfg.OnUserDone()
			}
		}
	}()
	defer u.dropScratch()
	defer u.client.Close()
	defer u.cancelTask()
	u.endTasks()
	e.onStop(e.base, u, u.impl)
}

// onStop runs a stopped user's on_stop on a fresh connection, with its own
// budget of max(StopTimeout, DefaultOnStopTimeout) under ctx (the engine's).
func (e *Engine) onStop(ctx context.Context, u *vuser, impl horde.User) {
	u.client.Reset()
	budget := max(e.cfg.StopTimeout, DefaultOnStopTimeout)
	octx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	releaseStop := u.client.StopOn(octx)
	defer releaseStop()
	if err := e.call(func() error { return impl.OnStop(octx, u) }); err != nil {
		e.exception(err)
	}
}

// call runs user code, turning a panic into an exception so one bad user
// cannot take the run down.
func (e *Engine) call(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	err = f()
	if errors.Is(err, httpload.ErrStopped) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic: " + anyString(p.v) }

func anyString(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	default:
		return slog.AnyValue(v).String()
	}
}

func seedFor(id int) *rand.Rand {
	return rand.New(rand.NewPCG(rand.Uint64(), uint64(id)))
}
