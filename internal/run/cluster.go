package run

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/scenario"
)

// Cluster makes a distributed run (`horde master`): the users run on
// workers that join over gRPC.
type Cluster struct {
	BindHost string // "" or "*": every interface when Access allows, else loopback
	BindPort int
	Access   rpc.Access
	TLS      rpc.TLSFiles
	// ReportInterval and HeartbeatTimeout are the workers' (0: defaults).
	ReportInterval   time.Duration
	HeartbeatTimeout time.Duration
	// ExpectWorkers, headless, is how many workers to wait for before the
	// start, for at most ExpectMaxWait (0: forever).
	ExpectWorkers int
	ExpectMaxWait time.Duration
}

// CheckCluster refuses a worker channel open beyond loopback without a
// token, mutual TLS or AllowOpen, before anything is recorded.
func CheckCluster(ctx context.Context, c *Cluster) error {
	if c.ExpectWorkers < 0 {
		return badInput("--expect-workers: %d is negative", c.ExpectWorkers)
	}
	if c.HeartbeatTimeout < 0 || c.ReportInterval < 0 {
		return badInput("--heartbeat-timeout and --report-interval must be > 0")
	}
	if err := c.Access.CheckHost(ctx, c.BindHost); err != nil {
		return &ExitError{Code: ExitBadInput, Err: err}
	}
	return nil
}

// distributed runs the test on workers: it listens for them, ships them
// the scenario and drives the run as a standalone one.
func (r *runner) distributed(ctx context.Context, mcfg master.Config) (*Outcome, error) {
	c := r.cfg.Cluster
	var bundle *cluster.Scenario
	if r.cfg.ScenarioFile != "" {
		var err error
		if bundle, err = cluster.NewScenario(r.cfg.ScenarioFile, r.cfg.Scenario, r.cfg.Spec.Host, r.cfg.TargetTLS, planFiles(r.cfg.Plan)...); err != nil {
			return nil, badInput("%v", err)
		}
		bundle.Tags, bundle.ExcludeTags = r.cfg.Tags, r.cfg.ExcludeTags
		bundle.Hash = bundle.ComputeHash()
	} // else the workers run the same binary's Go classes
	listener, err := rpc.Listen(ctx, c.BindHost, c.BindPort, c.Access)
	if err != nil {
		return nil, badInput("%v", err)
	}
	defer listener.Close()

	mcfg.Cluster = &master.ClusterConfig{
		Scenario:         bundle,
		Version:          r.cfg.Version,
		ReportInterval:   c.ReportInterval,
		HeartbeatTimeout: c.HeartbeatTimeout,
	}
	mcfg.OnCheckpoint = r.out.checkpoint
	mcfg.Feeders = feederInfo(r.cfg.Plan)
	m, err := r.newMaster(mcfg)
	if err != nil {
		return nil, err
	}

	// Sessions outlive the master's serving: the master tells its workers
	// to quit when it stops, then the sessions end with server.Stop.
	var tlsCfg *tls.Config
	tlsNote := ""
	if c.TLS.Enabled() {
		if tlsCfg, err = c.TLS.ServerConfig(); err != nil {
			return nil, badInput("%v", err)
		}
		tlsNote = " (TLS)"
		if c.TLS.CA != "" {
			tlsNote = " (mutual TLS)"
		}
	}
	server := rpc.NewServer(m, rpc.ServerConfig{Access: c.Access, TLS: tlsCfg, Version: r.cfg.Version, Logger: r.log})
	go server.Serve(listener)
	defer server.Stop(2 * time.Second)
	fmt.Fprintf(r.stdout, "horde master listening for workers on %s%s\n", listener.Addr(), tlsNote)
	r.log.Info("listening for workers", "addr", listener.Addr().String(), "tls", c.TLS.Enabled(), "token", c.Access.Token != "",
		"allow_open", c.Access.AllowOpen, "version", r.cfg.Version)

	return r.drive(ctx, m, func() error {
		return waitWorkers(ctx, m, c.ExpectWorkers, c.ExpectMaxWait, r.log)
	})
}

// waitWorkers waits until n workers are connected.
func waitWorkers(ctx context.Context, m *master.Master, n int, maxWait time.Duration, log interface {
	Info(string, ...any)
}) error {
	if n <= 0 {
		return nil
	}
	log.Info("waiting for workers", "expect", n)
	var deadline <-chan time.Time
	if maxWait > 0 {
		t := time.NewTimer(maxWait)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		have := 0
		for _, w := range m.Workers() {
			if w.State != cluster.WorkerMissing && w.State != cluster.WorkerDisconnected {
				have++
			}
		}
		if have >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return broken(fmt.Errorf("interrupted while waiting for workers (%d of %d joined)", have, n))
		case <-deadline:
			return broken(fmt.Errorf("gave up waiting for workers: %d of %d joined within %v (--expect-workers-max-wait)", have, n, maxWait))
		case <-tick.C:
		}
	}
}

// planFiles are the files a plan read besides its data: section (scripts
// and theirs), shipped with it.
func planFiles(p *scenario.Plan) []string {
	if p == nil {
		return nil
	}
	return p.Files
}
