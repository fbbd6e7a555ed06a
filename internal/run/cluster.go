package run

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/cluster/rpc"
	"github.com/horde-load/horde/internal/locust"
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
	// Locust, if set, takes Locust workers (locust --worker) on the same
	// port: connections are told apart by their first byte (docs/locust.md).
	Locust *LocustWorkers
}

// LocustWorkers is the locustfile whose User classes Locust workers run.
type LocustWorkers struct {
	File   string // as named
	Source []byte
	// UserSettings are --config-users: sent to Locust workers of 2.25+.
	UserSettings []locust.UserSettings
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
	if r.cfg.ScenarioFile != "" && r.cfg.Plan != nil { // (a locustfile alone has no plan: horde workers need a scenario file too)
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
	// One port for both kinds of worker: a connection whose first byte
	// starts a ZMTP greeting is a Locust worker's.
	var lw *locust.Server
	var zmtp func(net.Conn, *bufio.Reader)
	if lc := c.Locust; lc != nil {
		lw = locust.NewServer(m, locust.Config{
			Version: r.cfg.Version, Logger: r.log, Tags: r.cfg.Tags, ExcludeTags: r.cfg.ExcludeTags,
			Locustfiles:  []locust.File{{Name: filepath.Base(lc.File), Contents: lc.Source}},
			UserSettings: lc.UserSettings,
		})
		zmtp = func(conn net.Conn, br *bufio.Reader) { lw.ServeConn(ctx, conn, br) }
	}
	allow := locust.LoopbackOnly
	if c.Access.AllowOpen {
		allow = nil
	}
	demux := locust.NewDemux(listener, zmtp, allow, r.log)
	go demux.Run()
	go server.Serve(demux.Listener())
	defer func() {
		if lw != nil {
			lw.Close()
		}
	}()
	defer server.Stop(2 * time.Second)
	fmt.Fprintf(r.stdout, "horde master listening for workers on %s%s\n", listener.Addr(), tlsNote)
	if lw != nil {
		who := "from loopback only (--allow-open-workers takes them from anywhere)"
		if allow == nil {
			who = "from anywhere (--allow-open-workers: Locust's protocol has no token)"
		}
		fmt.Fprintf(r.stdout, "Locust workers (locust -f %s --worker --master-port %d) join on the same port, %s\n",
			filepath.Base(c.Locust.File), listener.Addr().(*net.TCPAddr).Port, who)
	}
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
			if !w.State.Gone() && w.State != cluster.WorkerDisconnected {
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
