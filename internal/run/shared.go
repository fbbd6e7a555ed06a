package run

import (
	"context"
	"errors"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/stats"
)

// feederInfo lists the scenario's feeders whose rows a distributed
// master owns and leases: the unique and sequential ones.
func feederInfo(p *scenario.Plan) map[string]cluster.FeederInfo {
	if p == nil {
		return nil
	}
	out := map[string]cluster.FeederInfo{}
	for name, f := range p.Feeders {
		if m := f.Mode(); m == scenario.FeedUnique || m == scenario.FeedSequential {
			out[name] = cluster.FeederInfo{Mode: m, Rows: int64(f.Len())}
		}
	}
	return out
}

// setupHooks gives the master the scenario's setup: and teardown:, run
// on the master itself (docs/scenario.md): once per test, whatever the
// number of workers.
func (r *runner) setupHooks(mc *master.Config) {
	p := r.cfg.Plan
	if p == nil {
		return
	}
	opts := httpload.Options{Timeout: r.cfg.RequestTimeout, SourceAddrs: r.cfg.SourceAddrs}
	if len(p.Setup) > 0 {
		mc.Setup = func(ctx context.Context, host string) (map[string]string, *stats.Interval, error) {
			return engine.RunOnce(ctx, p, p.Setup, host, nil, opts)
		}
	}
	if len(p.Teardown) > 0 {
		mc.Teardown = func(ctx context.Context, host string, vars map[string]string) (*stats.Interval, error) {
			_, iv, err := engine.RunOnce(ctx, p, p.Teardown, host, vars, opts)
			return iv, err
		}
	}
}

// startError is the exit of a run that could not start: a failed setup
// fails the test (exit 1), anything else is bad input.
func startError(err error) error {
	var se *master.SetupError
	if errors.As(err, &se) {
		return &ExitError{Code: ExitFailures, Err: err}
	}
	return badInput("%v", err)
}
