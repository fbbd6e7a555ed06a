package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
)

// userClass is what user(...) returns: a kind of user, as a Locust User class.
type userClass struct {
	name        string
	weight      int
	count       int
	wait        horde.Wait
	host        string
	onStart     starlark.Callable
	onStop      starlark.Callable
	tasks       []taskEntry
	cumulative  []int
	total       int
	sequential  bool
	taskTimeout time.Duration
	maxSteps    uint64
	pos         scenario.Pos
}

type taskEntry struct {
	fn     starlark.Callable
	name   string
	weight int
}

func (c *userClass) String() string        { return fmt.Sprintf("<user %s>", c.name) }
func (c *userClass) Type() string          { return "user" }
func (c *userClass) Freeze()               {}
func (c *userClass) Truth() starlark.Bool  { return true }
func (c *userClass) Hash() (uint32, error) { return 0, errors.New("unhashable: user") }

func (c *userClass) planClass() *scenario.Class {
	pc := &scenario.Class{Name: c.name, Weight: c.weight, Count: c.count, Wait: c.wait, New: c.newUser, Pos: c.pos}
	for _, t := range c.tasks {
		pc.Tasks = append(pc.Tasks, &scenario.Task{Name: t.name, Weight: t.weight})
	}
	return pc
}

// builtinUser is user(name, tasks, wait=, weight=, count=, host=,
// on_start=, on_stop=, sequential=, task_timeout=, max_steps=).
func builtinUser(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name            string
		tasks           starlark.Value
		wait            starlark.Value = starlark.None
		weight                         = 1
		count                          = 0
		host            string
		onStart, onStop starlark.Value = starlark.None, starlark.None
		sequential      bool
		timeout         starlark.Value = starlark.None
		maxSteps                       = DefaultMaxSteps
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "tasks", &tasks, "wait?", &wait,
		"weight?", &weight, "count?", &count, "host?", &host, "on_start?", &onStart, "on_stop?", &onStop,
		"sequential?", &sequential, "task_timeout?", &timeout, "max_steps?", &maxSteps); err != nil {
		return nil, err
	}
	c := &userClass{name: name, weight: weight, count: count, host: strings.TrimRight(host, "/"), sequential: sequential,
		taskTimeout: DefaultTaskTimeout, maxSteps: uint64(maxSteps)}
	if fr, ok := scriptFrame(thread.CallStack()); ok {
		c.pos = posOf(fr.Pos)
	}
	if name == "" {
		return nil, errors.New("user: name is empty")
	}
	if weight <= 0 {
		return nil, fmt.Errorf("user %s: weight must be > 0, got %d", name, weight)
	}
	if count < 0 {
		return nil, fmt.Errorf("user %s: count must be >= 0, got %d", name, count)
	}
	if maxSteps <= 0 {
		return nil, fmt.Errorf("user %s: max_steps must be > 0, got %d", name, maxSteps)
	}
	if host != "" && !isHostURL(host) {
		return nil, fmt.Errorf("user %s: host %q is not an http://, https://, mqtt:// or mqtts:// URL", name, host)
	}
	switch w := wait.(type) {
	case starlark.NoneType:
	case waitValue:
		c.wait = w.w
	default:
		d, err := toDuration(wait)
		if err != nil {
			return nil, fmt.Errorf("user %s: wait must be between(lo, hi), constant(s), pacing(s) or seconds: %w", name, err)
		}
		c.wait = horde.Constant(d)
	}
	if timeout != starlark.None {
		d, err := toDuration(timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("user %s: task_timeout must be a positive duration", name)
		}
		c.taskTimeout = d
	}
	for _, h := range []struct {
		v    starlark.Value
		what string
		dst  *starlark.Callable
	}{{onStart, "on_start", &c.onStart}, {onStop, "on_stop", &c.onStop}} {
		if h.v == starlark.None {
			continue
		}
		fn, ok := h.v.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("user %s: %s must be a function, got %s", name, h.what, h.v.Type())
		}
		if err := takesUser(fn); err != nil {
			return nil, fmt.Errorf("user %s: %s: %w", name, h.what, err)
		}
		*h.dst = fn
	}
	add := func(v, w starlark.Value) error {
		fn, ok := v.(starlark.Callable)
		if !ok {
			return fmt.Errorf("user %s: a task must be a function, got %s", name, v.Type())
		}
		n, err := starlark.AsInt32(w)
		if err != nil || n <= 0 {
			return fmt.Errorf("user %s: task %s: weight must be an integer > 0, got %s", name, fn.Name(), w)
		}
		if err := takesUser(fn); err != nil {
			return fmt.Errorf("user %s: task %w", name, err)
		}
		c.tasks = append(c.tasks, taskEntry{fn: fn, name: fn.Name(), weight: n})
		return nil
	}
	switch ts := tasks.(type) {
	case *starlark.Dict:
		for _, kv := range ts.Items() {
			if err := add(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
	case starlark.Indexable:
		for i := 0; i < ts.Len(); i++ {
			v := ts.Index(i)
			if tup, ok := v.(starlark.Tuple); ok && len(tup) == 2 {
				if err := add(tup[0], tup[1]); err != nil {
					return nil, err
				}
				continue
			}
			if err := add(v, starlark.MakeInt(1)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("user %s: tasks must be a dict {function: weight} or a list of functions, got %s", name, tasks.Type())
	}
	if len(c.tasks) == 0 {
		return nil, fmt.Errorf("user %s has no tasks", name)
	}
	for _, t := range c.tasks {
		c.total += t.weight
		c.cumulative = append(c.cumulative, c.total)
	}
	return c, nil
}

// takesUser checks that a Starlark function can be called with one
// argument, the user (def task(u):), so that a wrong signature is reported
// when the file loads, not at every call.
func takesUser(fn starlark.Callable) error {
	f, ok := fn.(*starlark.Function)
	if !ok {
		return nil // a built-in: checked when called
	}
	positional := f.NumParams() - f.NumKwonlyParams()
	if f.HasVarargs() {
		positional--
	}
	if f.HasKwargs() {
		positional--
	}
	required := 0
	for i := 0; i < positional; i++ {
		if f.ParamDefault(i) == nil {
			required++
		}
	}
	for i := positional; i < f.NumParams()-boolInt(f.HasVarargs())-boolInt(f.HasKwargs()); i++ {
		if f.ParamDefault(i) == nil {
			return fmt.Errorf("%s (%s) has a required keyword-only parameter: it is called with the user alone", f.Name(), f.Position())
		}
	}
	if (positional == 0 && !f.HasVarargs()) || required > 1 {
		return fmt.Errorf("%s (%s) must take one argument, the user: def %s(u):", f.Name(), f.Position(), f.Name())
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// errStopped ends a script call when its user is stopped.
var errStopped = httpload.ErrStopped

// Error is an error raised by script code: a Starlark error, fail(), or a
// task cut off by its timeout or step limit. Error() is
// "file:line:col: in function: message"; Traceback is Starlark's.
type Error struct {
	Pos   scenario.Pos
	Func  string
	Msg   string
	Trace string
}

func (e *Error) Error() string {
	if e.Func != "" {
		return fmt.Sprintf("%s: in %s: %s", e.Pos, e.Func, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// Traceback is the Starlark backtrace, innermost call last.
func (e *Error) Traceback() string { return e.Trace }

// runner is the script side of one virtual user: its thread, its u object
// and the limits of its calls. It belongs to the user's goroutine, except
// for what the timers and the stop touch (thread.Cancel and wake).
type runner struct {
	class  *userClass // nil for a task of a YAML class
	vu     horde.VU
	ex     exchanger // vu's fast path; nil when vu has none
	u      *userValue
	ctx    context.Context
	thread *starlark.Thread
	cur    atomic.Pointer[starlark.Thread] // thread, for the stop hook
	timer  *time.Timer
	wake   chan struct{}   // the stop hook's signal to a sleep
	cutOff chan struct{}   // the current thread's timer's signal to a sleep
	stopAt context.Context // the context a stop hook is registered on
	unhook func() bool
	hooked chan struct{} // closed when the hook on stopAt has run
	next   int           // sequential classes
	args   starlark.Tuple

	timeout  time.Duration
	maxSteps uint64
	callee   string // the function being called, for the timeout message
}

func newRunner(c *userClass, vu horde.VU) *runner {
	r := &runner{class: c, vu: vu, wake: make(chan struct{}, 1), timeout: DefaultTaskTimeout, maxSteps: DefaultMaxSteps}
	if c != nil {
		r.timeout, r.maxSteps = c.taskTimeout, c.maxSteps
	}
	r.ex, _ = vu.(exchanger)
	host := vu.Host()
	if c != nil && c.host != "" {
		host = c.host
	}
	r.u = newUserValue(r, strings.TrimRight(host, "/"))
	r.args = starlark.Tuple{r.u}
	r.newThread()
	return r
}

// newThread gives the runner a fresh thread and its timeout timer; the old
// thread's timer may still fire, but only on the old thread.
func (r *runner) newThread() {
	th := &starlark.Thread{Name: "user", Print: func(t *starlark.Thread, msg string) {
		pos := ""
		if fr, ok := scriptFrame(t.CallStack()); ok {
			pos = posOf(fr.Pos).String() + ": "
		}
		fmt.Fprintf(stderr, "%suser %d: %s\n", pos, r.vu.ID(), msg)
	}}
	th.SetLocal(localRunner, r)
	cut := make(chan struct{})
	r.timer = time.AfterFunc(time.Hour, func() {
		th.Cancel("timeout")
		close(cut) // fires once: a new thread and timer follow
	})
	r.cutOff = cut
	r.timer.Stop()
	r.thread = th
	r.cur.Store(th)
}

const localRunner = "horde.runner"

func runnerOf(t *starlark.Thread) *runner {
	r, _ := t.Local(localRunner).(*runner)
	return r
}

// call runs fn(u) under ctx, the timeout and the step limit, and turns a
// Starlark error into an *Error.
func (r *runner) call(ctx context.Context, fn starlark.Callable) error {
	if ctx.Err() != nil {
		return errStopped
	}
	if ctx != r.stopAt {
		if r.unhook != nil && !r.unhook() {
			<-r.hooked // the old hook ran or runs: let it finish before Uncancel
		}
		done := make(chan struct{})
		r.stopAt, r.hooked = ctx, done
		r.unhook = context.AfterFunc(ctx, func() {
			defer close(done)
			r.stop()
		})
	}
	r.ctx = ctx
	th := r.thread
	th.Uncancel()
	if ctx.Err() != nil {
		return errStopped
	}
	select { // a wake-up left by the hook of an earlier context
	case <-r.wake:
	default:
	}
	th.SetMaxExecutionSteps(th.ExecutionSteps() + r.maxSteps)
	r.callee = fn.Name()
	r.timer.Reset(r.timeout)
	_, err := starlark.Call(th, fn, r.args, nil)
	if !r.timer.Stop() {
		r.newThread() // its timer fired (or fires now): let it cancel a thread no one uses
	}
	r.u.flush()
	if r.class == nil && r.u.last != nil {
		// a YAML class: its next steps reuse the buffers the last response is in
		r.u.last.detach()
		r.u.last = nil
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || errors.Is(err, errStopped) {
		return errStopped
	}
	return r.scriptError(err, fn.Name())
}

// stop cancels the running call when the user's context ends.
func (r *runner) stop() {
	r.cur.Load().Cancel("stopped")
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) scriptError(err error, fn string) error {
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return err
	}
	e := &Error{Func: fn, Msg: ee.Msg, Trace: ee.Backtrace()}
	if fr, ok := scriptFrame(ee.CallStack); ok {
		e.Pos = posOf(fr.Pos)
		e.Func = fr.Name
	}
	switch {
	case strings.HasSuffix(e.Msg, "cancelled: timeout"):
		e.Msg = fmt.Sprintf("%s cut off: it ran longer than its task_timeout of %v", r.callee, r.timeout)
	case strings.HasSuffix(e.Msg, "cancelled: too many steps"):
		e.Msg = fmt.Sprintf("%s cut off: it ran more than its max_steps of %d steps", r.callee, r.maxSteps)
	}
	return e
}

// classUser runs a script user class for one virtual user (horde.User).
type classUser struct {
	c *userClass
	r *runner
}

var _ horde.User = (*classUser)(nil)

func (c *userClass) newUser() horde.User { return &classUser{c: c} }

func (cu *classUser) OnStart(ctx context.Context, vu horde.VU) error {
	cu.r = newRunner(cu.c, vu)
	if cu.c.onStart == nil {
		return nil
	}
	return cu.r.call(ctx, cu.c.onStart)
}

func (cu *classUser) Task(ctx context.Context, vu horde.VU) error {
	c := cu.c
	var i int
	if c.sequential {
		i = cu.r.next
		cu.r.next = (cu.r.next + 1) % len(c.tasks)
	} else if len(c.tasks) > 1 {
		n := vu.Rand().IntN(c.total)
		for i = 0; c.cumulative[i] <= n; i++ {
		}
	}
	return cu.r.call(ctx, c.tasks[i].fn)
}

// RunTask runs task i (in the class's order) once: horde try runs each in
// turn, whatever its weight.
func (cu *classUser) RunTask(ctx context.Context, vu horde.VU, i int) error {
	if i < 0 || i >= len(cu.c.tasks) {
		return fmt.Errorf("user %s has no task %d", cu.c.name, i)
	}
	return cu.r.call(ctx, cu.c.tasks[i].fn)
}

func (cu *classUser) OnStop(ctx context.Context, vu horde.VU) error {
	if cu.r == nil {
		return nil
	}
	defer cu.r.UserStopped()
	defer cu.r.u.closeConns() // WebSocket connections left open (ws.go)
	defer cu.r.u.closeMQTT()  // MQTT connections left open (mqtt.go)
	if cu.c.onStop == nil {
		return nil
	}
	return cu.r.call(ctx, cu.c.onStop)
}

// varsKey is where a YAML class's user keeps its script runner among its
// variables (a name no template can spell).
const varsKey = " script"

// newTaskFunc makes the Run of a YAML task that names a script function.
// The user's YAML variables are copied into u.vars before the call and
// back after it, so captures and script state are shared.
func newTaskFunc(fn starlark.Callable, name string) func(ctx context.Context, vu horde.VU, vars scenario.Vars) error {
	return func(ctx context.Context, vu horde.VU, vars scenario.Vars) error {
		r, _ := vars[varsKey].(*runner)
		if r == nil {
			r = newRunner(nil, vu)
			vars[varsKey] = r
		}
		if err := r.u.importVars(vars); err != nil {
			return err
		}
		err := r.call(ctx, fn)
		r.u.exportVars(vars)
		return err
	}
}
