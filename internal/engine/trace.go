package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// Exchange is one request and its response, shown to Config.Trace after
// the request is recorded. Its request and response (the methods below)
// are the user's scratch and valid only during the call.
type Exchange struct {
	Method, URL, Name string
	// FinalURL is the URL of the last request when redirects were followed
	// ("" when none was): the headers shown are that request's.
	FinalURL string
	Took     time.Duration
	// Err is the transport's error (no response); "" when one came.
	Err    string
	Status int
	// Failure is what was recorded: "" for a success.
	Failure string
	// Eval is the scenario step's checks and captures one by one (nil for
	// Go users and transport errors).
	Eval *scenario.Trace
	// Pos is where the scenario step is (zero for Go users).
	Pos scenario.Pos
	// StatusLine, when set, is shown instead of the HTTP status: a gRPC
	// call's status ("grpc-status NOT_FOUND: no such device").
	StatusLine string

	req  *fasthttp.Request
	resp *fasthttp.Response
	// proto marks a WebSocket or SSE sample (proto.go): bodies are messages, no headers.
	proto bool
}

// RequestHeader returns the request's header lines, in order.
func (x *Exchange) RequestHeader() [][2]string {
	var out [][2]string
	if h := x.req.Header.Host(); len(h) > 0 {
		out = append(out, [2]string{"Host", string(h)})
	}
	for k, v := range x.req.Header.All() {
		if string(k) == "Host" {
			continue
		}
		out = append(out, [2]string{string(k), string(v)})
	}
	return out
}

// RequestBody returns the body sent.
func (x *Exchange) RequestBody() []byte { return x.req.Body() }

// ResponseHeader returns the response's header lines, in order (nil when
// no response came).
func (x *Exchange) ResponseHeader() [][2]string {
	if x.Err != "" || x.proto {
		return nil
	}
	var out [][2]string
	for k, v := range x.resp.Header.All() {
		out = append(out, [2]string{string(k), string(v)})
	}
	return out
}

// ResponseBody returns the body received (nil when no response came).
func (x *Exchange) ResponseBody() []byte {
	if x.Err != "" {
		return nil
	}
	return x.resp.Body()
}

// trace shows an exchange to cfg.Trace.
func (u *vuser) trace(x *Exchange) {
	x.req, x.resp = u.scratch()
	u.e.cfg.Trace(x)
}

// TryConfig is a run of one user of a scenario, once (horde try).
type TryConfig struct {
	Plan *scenario.Plan
	Host string
	// Class picks the user class by index.
	Class int
	HTTP  httpload.Options
	// Trace is shown every exchange; Phase is called before on_start,
	// each task ("task 2 of 4 (weight 3)") and on_stop.
	Trace func(*Exchange)
	Phase func(phase string)
}

// ErrNoClass is returned by Try for a class index out of range.
var ErrNoClass = errors.New("no such user class")

// Try runs one user of cfg.Class once, without waits between tasks (a
// task's own sleep steps do sleep), as Locust's run_single_user: the
// scenario's setup (its captures are the user's variables), the user's
// feeders and on_start, then every task once in the listed order (whatever
// its weight; per-iteration feeders give each its row), then on_stop and
// the teardown, showing each exchange to cfg.Trace. It returns a scenario error (a template that cannot
// render, a feeder with no rows) or ctx's; failed requests are only traced.
func Try(ctx context.Context, cfg TryConfig) error {
	classes := PlanClasses(cfg.Plan, cfg.Host)
	if cfg.Class < 0 || cfg.Class >= len(classes) {
		return ErrNoClass
	}
	e, err := New(Config{
		Classes:  classes,
		Host:     cfg.Host,
		HTTP:     cfg.HTTP,
		Recorder: stats.NewRecorder(1),
		Trace:    cfg.Trace,
	})
	if err != nil {
		return err
	}
	phase := cfg.Phase
	if phase == nil {
		phase = func(string) {}
	}
	u, taskCtx := newVU(ctx, e, 1, cfg.Class)
	defer u.client.Close()
	defer u.cancelTask()
	defer u.client.StopOn(ctx)() // an interrupt cuts a request in flight off
	var vars map[string]string
	if len(cfg.Plan.Setup) > 0 {
		phase("setup")
		if vars, err = e.runOnce(ctx, cfg.Plan, cfg.Plan.Setup, cfg.Host, nil); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		e.cfg.Vars = vars
	}
	user := classes[cfg.Class].New()
	pu, ok := user.(*planUser)
	if !ok { // a script's user class
		if err := tryUser(ctx, taskCtx, u, user, cfg.Plan.Classes[cfg.Class], phase); err != nil {
			return err
		}
	} else if err := tryPlanUser(ctx, taskCtx, u, pu, phase); err != nil {
		return err
	}
	if len(cfg.Plan.Teardown) > 0 {
		phase("teardown")
		if _, err := e.runOnce(ctx, cfg.Plan, cfg.Plan.Teardown, cfg.Host, vars); err != nil {
			return fmt.Errorf("teardown: %w", err)
		}
	}
	return ctx.Err()
}

// taskRunner is a user class that runs a given task (internal/script's).
type taskRunner interface {
	RunTask(ctx context.Context, vu horde.VU, i int) error
}

// tryUser runs a script user's on_start, each task once in order, and
// on_stop.
func tryUser(ctx, taskCtx context.Context, u *vuser, user horde.User, c *scenario.Class, phase func(string)) error {
	phase("on_start")
	if err := user.OnStart(taskCtx, u); err != nil {
		return fmt.Errorf("on_start: %w", err)
	}
	tr, ok := user.(taskRunner)
	if !ok {
		phase("a task")
		if err := user.Task(taskCtx, u); err != nil {
			return fmt.Errorf("task: %w", err)
		}
	}
	for i := 0; ok && i < len(c.Tasks); i++ {
		name := taskPhase(i, c.Tasks)
		phase(name)
		if err := tr.RunTask(taskCtx, u, i); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	phase("on_stop")
	if err := user.OnStop(ctx, u); err != nil {
		return fmt.Errorf("on_stop: %w", err)
	}
	return nil
}

func taskPhase(i int, tasks []*scenario.Task) string {
	t := tasks[i]
	name := fmt.Sprintf("task %d of %d (weight %d)", i+1, len(tasks), t.Weight)
	if t.Name != "" {
		name += " " + t.Name
	}
	return name
}

// tryPlanUser runs a scenario user's on_start, each task once in order
// (its steps, or the script function it names), and on_stop.
func tryPlanUser(ctx, taskCtx context.Context, u *vuser, pu *planUser, phase func(string)) error {
	pc := pu.pc
	if len(pc.class.OnStart) > 0 || len(pc.class.Feeds) > 0 {
		phase("on_start")
	}
	if err := pu.OnStart(taskCtx, u); err != nil {
		return fmt.Errorf("on_start: %w", err)
	}
	for i, steps := range pc.tasks {
		name := taskPhase(i, pc.class.Tasks)
		phase(name)
		if len(pc.class.IterationFeeds) > 0 {
			if err := pu.feedIteration(taskCtx, u); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		var err error
		if sc := pc.scripts[i]; sc != nil {
			if sc.Run == nil {
				err = fmt.Errorf("%s: script %s of %s was not loaded", sc.Pos, sc.Name, sc.File)
			} else {
				err = sc.Run(taskCtx, u, pu.vars)
			}
		} else {
			err = pu.runSteps(taskCtx, u, steps)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(pc.onStop) > 0 {
		phase("on_stop")
		if err := pu.OnStop(ctx, u); err != nil {
			return fmt.Errorf("on_stop: %w", err)
		}
	}
	return nil
}

// Tracing tells a script (internal/script) whether its requests are shown.
func (u *vuser) Tracing() bool { return u.e.cfg.Trace != nil }

// TraceScript shows a script's request (internal/script), already
// recorded: req and resp are copies the script kept, ev the checks its
// script made after it and the failure recorded.
func (u *vuser) TraceScript(req *fasthttp.Request, resp *fasthttp.Response, name string, pos scenario.Pos, took time.Duration, errText string, ev *scenario.Trace) {
	x := &Exchange{
		Method:  string(req.Header.Method()),
		URL:     string(req.URI().FullURI()),
		Name:    name,
		Took:    took,
		Err:     errText,
		Failure: ev.Failure,
		Eval:    ev,
		Pos:     pos,
		req:     req,
		resp:    resp,
	}
	if errText == "" {
		x.Status = resp.StatusCode()
	}
	u.e.cfg.Trace(x)
}
