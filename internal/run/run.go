// Package run owns a load test from its start to its verdict: it wires the
// master, the in-process worker (standalone) or the worker listener
// (distributed), the monitor of the system under test, the run file and its
// resume, the console, CSV, JSON and HTML outputs, the web UI, and the
// thresholds and soak checks; and it returns the run's Outcome, which the
// command line turns into an exit code.
//
// Its Config is plain data: the command line (internal cli) resolves flags,
// environment and the scenario's own settings into it.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/srcaddr"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/worker"
)

// Defaults.
const (
	DefaultRunsDir = "runs"
	// DefaultRunsInterval is how often a run file gets a row per name: 20
	// names for 7 days fit in 0.75 GB (docs/runs.md).
	DefaultRunsInterval = 2 * time.Second
	consoleEvery        = 2 * time.Second
	filesEvery          = 2 * time.Second
)

// Config is everything a run needs, resolved from the command line, the
// environment and the scenario.
type Config struct {
	// Command is the command that runs it, "run" or "master" (recorded in
	// the run file; a restarted master resumes only a master's run).
	Command string
	// ScenarioFile is the scenario's path as named ("" for Go users), and
	// Scenario its text as read once: recorded with the run, compared on
	// resume, shipped to workers.
	ScenarioFile string
	Scenario     []byte
	// TargetTLS is the command line's TLS settings for the target, shipped
	// to workers with the scenario.
	TargetTLS scenario.TLSFlags
	// Plan is the compiled scenario (nil for Go users); Classes are the
	// user classes that run (the plan's, or the Go users').
	Plan    *scenario.Plan
	Classes []horde.Class
	// Tags and ExcludeTags selected the plan's tasks (--tags,
	// --exclude-tags); workers apply them too.
	Tags, ExcludeTags []string

	Spec           cluster.RunSpec // users, spawn rate, host and run time
	Load           scenario.Load   // the load shape and the open model
	StopTimeout    time.Duration
	RequestTimeout time.Duration // default timeout of a request (0: httpload's)
	// SourceAddrs are the local addresses the in-process users connect
	// from in turn (--source-addrs, else the scenario's); nil: the kernel's.
	SourceAddrs *srcaddr.Addrs
	ResetStats  bool // reset the statistics once all users are spawned

	// Thresholds are the scenario's and the command line's.
	Thresholds []*scenario.Threshold
	// Monitor records the system under test during the run.
	Monitor monitor.Config
	// Warmup is left out of the leak and drift checks (0: their default).
	Warmup time.Duration
	// Baseline is what the regression thresholds compare the run with
	// (--baseline; nil: nothing, they pass with a warning).
	Baseline *compare.Spec

	Headless        bool // no web UI: start at once, end with the run
	Output          Output
	ExitCodeOnError int // when requests failed and no threshold decides

	// RunsDir is where the run file goes; RunsInterval how often a tick is
	// written to it.
	RunsDir      string
	RunsInterval time.Duration
	// Resume goes on with an unfinished run of the same scenario found in
	// RunsDir (a master that was killed).
	Resume bool
	// Handover: on SIGTERM, leave the run going for the next master on
	// RunsDir (`horde master --sigterm handover`).
	Handover bool

	Web     Web
	Metrics Metrics
	Cluster *Cluster // nil: standalone, the users run in this process

	Version string
	Stdout  io.Writer
	Log     *slog.Logger
}

// Output are the result files and the console (Locust's flags).
type Output struct {
	CSVPrefix      string // PREFIX_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv
	CSVFullHistory bool
	HTML, JSON     string
	JUnit          string // thresholds and checks as JUnit XML
	OnlySummary    bool
}

// Web is the web UI and HTTP API (when not Headless).
type Web struct {
	Host            string
	Port            int
	Auth, Token     string // HTTP Basic user:pass; Bearer token
	TLSCert, TLSKey string
	Autostart       bool
	Autoquit        int  // seconds after the run ends; -1: never
	ClassPicker     bool // the start form chooses the user classes
}

// Metrics is horde's own Prometheus /metrics: on the web UI's listener,
// and on Addr when set (a headless run's only one).
type Metrics struct {
	Addr      string // HOST:PORT ("": none beyond the web UI's)
	Histogram monitor.Histogram
}

// ExitError is an error with the exit code it gives the process.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func badInput(format string, args ...any) error {
	return &ExitError{Code: ExitBadInput, Err: fmt.Errorf(format, args...)}
}

func broken(err error) error { return &ExitError{Code: ExitBroken, Err: err} }

// Interrupted is the cause of a context that a signal cancelled (as
// cmd/horde sets it): with Handover, SIGTERM (a pod deleted) hands the run
// over where an interrupt (Ctrl-C) stops it.
type Interrupted struct{ Signal os.Signal }

func (i Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// sigterm reports whether ctx was cancelled by SIGTERM.
func sigterm(ctx context.Context) bool {
	var i Interrupted
	return errors.As(context.Cause(ctx), &i) && i.Signal == syscall.SIGTERM
}

// Run runs the test cfg describes until it ends (headless) or until ctx is
// done (with the web UI), writes its results and returns its outcome. An
// error is bad input (ExitError with ExitBadInput) or a broken run; a
// failed run is an Outcome whose ExitCode is not ExitOK, with a nil error.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	if cfg.Cluster != nil {
		if err := CheckCluster(ctx, cfg.Cluster); err != nil {
			return nil, err
		}
	}
	r, err := newRunner(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	mcfg := r.masterConfig()
	r.setupHooks(&mcfg)
	var out *Outcome
	if cfg.Cluster != nil {
		out, err = r.distributed(ctx, mcfg)
	} else {
		mcfg.OnCheckpoint = r.out.checkpoint // so that a killed `horde run` can resume
		var m *master.Master
		if m, err = r.newMaster(mcfg); err == nil {
			out, err = r.drive(ctx, m, nil)
		}
	}
	if err != nil {
		r.unstarted(err)
	}
	return out, err
}

// newMaster makes the run's master and, when the run resumes, gives it
// the checkpoint to go on from.
func (r *runner) newMaster(mcfg master.Config) (*master.Master, error) {
	m, err := master.New(mcfg)
	if err != nil {
		return nil, badInput("%v", err)
	}
	if rs := r.resumed; rs != nil {
		if err := m.Resume(rs.cp, rs.hist); err != nil {
			return nil, broken(err)
		}
	}
	return m, nil
}

// runner is one run being wired and driven.
type runner struct {
	cfg      *Config
	log      *slog.Logger
	stdout   io.Writer
	mon      *monitor.Monitor
	out      *outputs
	resumed  *resumed // the unfinished run a restarted master goes on with
	cleanups []func()
	live     liveJudgement // the regressions the web UI shows
}

// close undoes what newRunner started, last first.
func (r *runner) close() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// newRunner starts the monitor and opens the outputs and the run file.
func newRunner(ctx context.Context, cfg *Config) (*runner, error) {
	if cfg.Output.CSVFullHistory && cfg.Output.CSVPrefix == "" {
		return nil, badInput("--csv-full-history needs --csv")
	}
	if len(cfg.Classes) == 0 {
		return nil, badInput("no user classes")
	}
	if cfg.Spec.Users < 0 {
		return nil, badInput("--users: %d is negative", cfg.Spec.Users)
	}
	if cfg.Spec.SpawnRate <= 0 {
		return nil, badInput("--spawn-rate: must be > 0, got %v", cfg.Spec.SpawnRate)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.RunsDir == "" {
		return nil, badInput("--runs-dir: empty (runs are always recorded; name a directory)")
	}
	r := &runner{cfg: cfg, log: cfg.Log, stdout: cfg.Stdout}
	mon, err := monitor.New(cfg.Monitor)
	if err != nil {
		return nil, badInput("monitor: %v", err)
	}
	r.mon = mon
	r.out = &outputs{cfg: cfg, stdout: cfg.Stdout, log: cfg.Log}
	for _, t := range cfg.Thresholds {
		if t.AbortOn {
			r.out.aborts = append(r.out.aborts, t)
		}
	}
	if err := r.out.open(); err != nil {
		return nil, badInput("%v", err)
	}
	r.cleanups = append(r.cleanups, r.out.close)
	if err := r.openRunFile(ctx); err != nil {
		r.close()
		return nil, err
	}
	monCtx, stopMon := context.WithCancel(context.WithoutCancel(ctx))
	monDone := make(chan struct{})
	go func() { mon.Run(monCtx); close(monDone) }()
	r.cleanups = append(r.cleanups, func() { stopMon(); <-monDone })
	return r, nil
}

// masterConfig is the master's configuration for the run.
func (r *runner) masterConfig() master.Config {
	c := r.cfg
	return master.Config{
		Classes:         c.Classes,
		Host:            c.Spec.Host,
		StopTimeout:     c.StopTimeout,
		RequestTimeout:  c.RequestTimeout,
		ResetStats:      c.ResetStats,
		Logger:          r.log,
		OnTick:          r.out.tick,
		OnEvent:         r.out.event,
		OnMinute:        r.out.minute,
		Shape:           c.Load.Shape(),
		PreAllocatedVUs: c.Load.PreAllocatedVUs,
		MaxVUs:          c.Load.MaxVUs,
	}
}

// drive serves m and runs the test: with the web UI until interrupted, or
// headless from the start (after beforeStart, e.g. waiting for workers) to
// the end of the run or an interrupt; then it writes the results.
func (r *runner) drive(ctx context.Context, m *master.Master, beforeStart func() error) (*Outcome, error) {
	r.out.exceptions = m.Exceptions
	if r.cfg.Cluster != nil {
		r.out.workers = m.Workers
	}
	r.out.stop = func() { go m.Stop() } // not from the tick: Stop waits for nothing, but keep the tick short
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- m.Serve(serveCtx) }()
	localCtx, stopLocal := context.WithCancel(context.WithoutCancel(ctx))
	localDone := make(chan struct{})
	if r.cfg.Cluster == nil {
		go func() {
			defer close(localDone)
			if err := worker.Local(localCtx, m, r.cfg.Classes, httpload.Options{Timeout: r.cfg.RequestTimeout, TLSConfig: scenario.FlagsTLS(r.cfg.TargetTLS), SourceAddrs: r.cfg.SourceAddrs}, r.log); err != nil {
				r.log.Error("in-process worker", "err", err)
			}
		}()
	} else {
		close(localDone)
	}
	defer func() { stopServing(); <-served; stopLocal(); <-localDone }()
	exporter, err := monitor.NewExporter(webControl{Master: m, version: r.cfg.Version, verdicts: cachedVerdicts(func() []soak.Verdict {
		return Judge(r.cfg.Thresholds, m.Snapshot(), m.History(), r.targetSeries(), r.cfg.Warmup)
	})}, r.cfg.Metrics.Histogram)
	if err != nil {
		return nil, badInput("--metrics-buckets: %v", err)
	}
	// The running verdicts, and each resource's forecast, for Grafana.
	if err := exporter.SetVerdicts(func() []soak.Verdict {
		return Judge(r.cfg.Thresholds, m.Snapshot(), m.History(), r.targetSeries(), r.cfg.Warmup)
	}); err != nil {
		return nil, err
	}
	if r.cfg.Metrics.Addr != "" {
		stop, err := r.serveMetrics(exporter)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	finish := func() (*Outcome, error) { return r.finish(m) }
	if !r.cfg.Headless {
		return r.serveWeb(ctx, m, exporter, finish)
	}
	if r.resumed == nil {
		if beforeStart != nil {
			if err := beforeStart(); err != nil {
				r.notStarted(err)
				return nil, err
			}
		}
		if err := m.Start(r.cfg.Spec); err != nil {
			return nil, startError(err)
		}
	}
	select {
	case <-m.RunDone():
	case <-ctx.Done():
		if r.handover(ctx, m) {
			return &Outcome{HandedOver: true}, nil
		}
		r.log.Info("interrupted: stopping the users (a second signal ends at once)")
		m.Stop()
		<-m.RunDone()
	}
	return finish()
}
