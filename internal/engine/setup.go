package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// FailedStepError is a setup or teardown request that failed (an error
// or a failed check), as opposed to a scenario error.
type FailedStepError struct{ Msg string }

func (e *FailedStepError) Error() string { return e.Msg }

// RunOnce runs a scenario's setup: or teardown: steps once, as a user of
// its own would (user number 0, no feeder rows), with vars as its
// variables. It returns the variables afterwards (vars and what the steps
// captured) and the statistics of its requests. It stops at the first
// request that fails (an error or a failed check), with an error naming
// the step. host is the base URL ("": the plan's).
func RunOnce(ctx context.Context, p *scenario.Plan, steps []*scenario.Step, host string, vars map[string]string, opts httpload.Options) (map[string]string, *stats.Interval, error) {
	if host == "" {
		host = p.Host
	}
	rec := stats.NewRecorder(0)
	e := &Engine{cfg: Config{Host: host, HTTP: opts, Recorder: rec}}
	start := time.Now()
	out, err := e.runOnce(ctx, p, steps, host, vars)
	return out, rec.Flush(start, time.Now()), err
}

// runOnce runs steps as RunOnce does, on e (its recorder and trace).
func (e *Engine) runOnce(ctx context.Context, p *scenario.Plan, steps []*scenario.Step, host string, vars map[string]string) (map[string]string, error) {
	u, taskCtx := newVU(ctx, e, 0, 0)
	defer u.cancelTask()
	defer u.client.Close()
	release := u.client.StopOn(taskCtx)
	defer release()
	pu := &planUser{pc: &planClass{plan: p, class: &scenario.Class{}, host: host}, vars: make(scenario.Vars)}
	for k, v := range vars {
		pu.vars[k] = v
	}
	pu.env = scenario.Env{Vars: pu.vars, Rand: u.rand}
	pu.ctx = taskCtx
	defer pu.grpcConns.Close()
	var err error
	for _, s := range (transports{}).compileSteps(steps, host) {
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		if s.Script != nil && s.Script.Run != nil {
			if err = s.Script.Run(ctx, u, pu.vars); err != nil {
				break
			}
			continue
		}
		if s.Sleep {
			if err = pu.sleep(ctx, u, s); err != nil {
				err = context.Canceled
				break
			}
			continue
		}
		u.failure = ""
		var failed bool
		if failed, err = pu.run(u, s); err != nil {
			if errors.Is(err, httpload.ErrStopped) {
				err = context.Canceled
			}
			break
		}
		if failed {
			name := s.Name
			if name == "" {
				name = s.URL.String()
			}
			err = &FailedStepError{Msg: fmt.Sprintf("%s:%d: %s %s: %s", s.Pos.File, s.Pos.Line, s.Method, name, u.failure)}
			break
		}
	}
	out := make(map[string]string, len(pu.vars))
	for k, v := range pu.vars {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, err
}
