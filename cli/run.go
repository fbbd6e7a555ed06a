package cli

import (
	"context"
	"fmt"
	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/series"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/httpload"
	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/shape"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
	"github.com/horde-load/horde/internal/worker"
)

// Defaults of `horde run`, as Locust's headless defaults.
const (
	DefaultUsers     = 1
	DefaultSpawnRate = 1.0
	consoleEvery     = 2 * time.Second
	filesEvery       = 2 * time.Second
)

// runOptions are the flags of `horde run` (Locust's names).
type runOptions struct {
	users           int
	spawnRate       float64
	runTime         durationValue
	host            string
	headless        bool
	stopTimeout     durationValue
	csvPrefix       string
	csvFullHistory  bool
	html            string
	jsonFile        string
	onlySummary     bool
	exitCodeOnError int
	resetStats      bool
	resume          bool   // horde master: go on with an unfinished run (--resume)
	onSigterm       string // horde master: stop or handover (--sigterm)
	runsInterval    durationValue
	priorSeries     []series.Series // a resumed run's target samples from before the restart
	requestTimeout  durationValue
	logLevel        string
	web             webOptions

	// load shapes and the open model
	open   bool // set from the flags and the scenario
	rate   float64
	stages []string
	preVUs int
	maxVUs int

	thresholds       []string
	parsedThresholds []*scenario.Threshold
	scrapes          []string
	promURL          string
	promql           []string
	mon              *monitor.Monitor
	warmup           durationValue
}

func newRunCmd(stdout, stderr io.Writer, lookup env, classes []horde.Class) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [FILE]",
		Short: "Run a load test from a scenario file",
		Long: `Run a load test from a scenario file (or from the Go user classes built into
this binary). Flags use Locust's names; each also reads HORDE_<FLAG> from the
environment, e.g. HORDE_USERS=100 or HORDE_RUN_TIME=1h.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			file := scenarioArg(args, lookup)
			var load planLoader
			if file != "" {
				load = func(opts scenario.Options) (*scenario.Plan, error) { return scenario.LoadFile(file, opts) }
			}
			return runRun(cmd.Context(), cmd, o, file, load, classes, stdout, stderr)
		},
	}
	addRunFlags(cmd.Flags(), o)
	return cmd
}

// addRunFlags defines the flags `horde run` and `horde master` share, bound to o.
func addRunFlags(f *pflag.FlagSet, o *runOptions) {
	f.IntVarP(&o.users, "users", "u", DefaultUsers, "peak number of concurrent users")
	f.Float64VarP(&o.spawnRate, "spawn-rate", "r", DefaultSpawnRate, "users started per second")
	f.VarP(&o.runTime, "run-time", "t", "stop after this long (20, 90s, 1h30m, 7d); default: until interrupted")
	f.StringVarP(&o.host, "host", "H", "", "base URL of the system under test (overrides the scenario's host)")
	f.BoolVar(&o.headless, "headless", false, "run without the web UI, starting at once")
	f.VarP(&o.stopTimeout, "stop-timeout", "s", "let running tasks finish for this long when stopping (default: cut them off)")
	f.StringVar(&o.csvPrefix, "csv", "", "write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv, PREFIX_exceptions.csv")
	f.BoolVar(&o.csvFullHistory, "csv-full-history", false, "write every entry (not just Aggregated) to the history CSV")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report to FILE at the end")
	f.StringVar(&o.jsonFile, "json", "", "write a JSON summary to FILE at the end")
	f.BoolVar(&o.onlySummary, "only-summary", false, "print only the final summary, not the table every 2 s")
	f.IntVar(&o.exitCodeOnError, "exit-code-on-error", ExitFailures, "exit code when any request failed or user code raised an error")
	f.BoolVar(&o.resetStats, "reset-stats", false, "reset statistics once all users are spawned")
	f.Var(&o.requestTimeout, "request-timeout", "default timeout of a request (default 60s)")
	f.StringVarP(&o.logLevel, "loglevel", "L", "info", "log level: debug, info, warn, error")
	f.Float64Var(&o.rate, "rate", 0, "open model: start this many iterations per second, whatever the server does (instead of --users)")
	f.StringSliceVar(&o.stages, "stage", nil, "ramp DURATION:TARGET (users, or iterations/s with --rate); repeat, or separate with commas, for several stages")
	f.IntVar(&o.preVUs, "pre-allocated-vus", 0, "open model: users started before the first iteration (default: 100 ms of iterations at the peak rate)")
	f.IntVar(&o.maxVUs, "max-vus", 0, "open model: the most users the pool may grow to (default 1000); iterations beyond are dropped and counted")
	f.StringArrayVar(&o.scrapes, "scrape", nil, "record the target's memory, CPU and goroutines from this Prometheus /metrics URL (repeatable; added to the scenario's monitor:)")
	f.StringVar(&o.promURL, "prometheus-url", "", "Prometheus server the monitor's PromQL queries go to (overrides the scenario's monitor: prometheus: url)")
	f.StringArrayVar(&o.promql, "promql", nil, "record NAME=PROMQL, a PromQL query evaluated every monitor interval, e.g. memory='sum(container_memory_working_set_bytes{pod=~\"my-app-.*\"})' (repeatable; needs a Prometheus URL)")
	f.Var(&o.warmup, "warmup", "leave this start of the run out of the leak and drift checks (default: 10% of the run, at most 5m)")
	f.StringArrayVar(&o.thresholds, "threshold", nil, `pass/fail criterion, e.g. "p95 < 300ms" or "error_rate < 1%" (repeatable; added to the scenario's thresholds:)`)
	f.String("runs-dir", DefaultRunsDir, "record the run into a file in this directory (see docs/runs.md)")
	o.runsInterval.d = DefaultRunsInterval
	f.Var(&o.runsInterval, "runs-interval", "write the statistics to the run file this often (a multiple of the 1 s tick)")
	addWebFlags(f, &o.web)
}

// loadShape combines the scenario's load section with the shape flags.
func loadShape(flags interface{ Changed(string) bool }, o *runOptions, plan *scenario.Plan, users int) (scenario.Load, error) {
	var l scenario.Load
	if plan != nil {
		l = plan.Load
	}
	l.Users = users
	if flags.Changed("rate") {
		if flags.Changed("users") {
			return l, badInput("--rate (open model) and --users (closed model) exclude each other: choose one")
		}
		if o.rate < 0 {
			return l, badInput("--rate: %v is negative", o.rate)
		}
		l.Open, l.Rate = true, o.rate
	}
	if len(o.stages) > 0 {
		l.Stages, l.Cycle, l.Spike = nil, nil, nil
		for _, st := range o.stages {
			d, t, ok := strings.Cut(st, ":")
			dur, err := scenario.ParseDuration(strings.TrimSpace(d))
			if !ok || err != nil || dur <= 0 {
				return l, badInput("--stage %q: want DURATION:TARGET, e.g. 5m:100", st)
			}
			target, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil || target < 0 {
				return l, badInput("--stage %q: target must be a number >= 0", st)
			}
			l.Stages = append(l.Stages, shape.Stage{Duration: dur, Target: target})
		}
	}
	if flags.Changed("pre-allocated-vus") {
		l.PreAllocatedVUs = o.preVUs
	}
	if flags.Changed("max-vus") {
		l.MaxVUs = o.maxVUs
	}
	if !l.Open && (l.PreAllocatedVUs > 0 || l.MaxVUs > 0) {
		return l, badInput("--pre-allocated-vus and --max-vus need the open model (--rate or load.rate)")
	}
	if l.PreAllocatedVUs < 0 || l.MaxVUs < 0 {
		return l, badInput("--pre-allocated-vus and --max-vus must be >= 0")
	}
	if l.Open && l.MaxVUs > 0 && l.PreAllocatedVUs > l.MaxVUs {
		return l, badInput("--max-vus (%d) is below --pre-allocated-vus (%d)", l.MaxVUs, l.PreAllocatedVUs)
	}
	if err := l.Shape().Validate(); err != nil {
		return l, badInput("load shape: %v", err)
	}
	o.open = l.Open
	return l, nil
}

// scenarioArg is the scenario file named on the command line, else by
// HORDE_SCENARIO (how a Kubernetes manifest points at a mounted ConfigMap).
func scenarioArg(args []string, lookup env) string {
	if len(args) == 1 {
		return args[0]
	}
	v, _ := lookup("HORDE_SCENARIO")
	return v
}

// planLoader loads the scenario with the given options.
type planLoader func(scenario.Options) (*scenario.Plan, error)

func runRun(ctx context.Context, cmd *cobra.Command, o *runOptions, file string, load planLoader, goClasses []horde.Class, stdout, stderr io.Writer) error {
	rs, err := prepareRun(ctx, cmd, o, file, load, goClasses, stdout, stderr)
	if err != nil {
		return err
	}
	defer rs.close()
	m, err := master.New(rs.masterConfig(o))
	if err != nil {
		return badInput("%v", err)
	}
	rs.local = true
	return rs.drive(ctx, m, o, nil)
}

// runSetup is what `horde run` and `horde master` share: the scenario and
// its classes, the load, the thresholds, the monitor and the outputs.
type runSetup struct {
	file        string
	plan        *scenario.Plan // nil for Go users
	classes     []horde.Class
	host        string
	spec        cluster.RunSpec
	stopTimeout time.Duration
	shaped      scenario.Load
	log         *slog.Logger
	out         *outputs
	resumed     *resumed // the unfinished run a restarted master goes on with
	local       bool     // standalone: the users run in an in-process worker
	stdout      io.Writer
	cleanups    []func()
}

// close undoes what prepareRun started, last first.
func (rs *runSetup) close() {
	for i := len(rs.cleanups) - 1; i >= 0; i-- {
		rs.cleanups[i]()
	}
}

// prepareRun reads the scenario and the flags into a runSetup, starts the
// monitor and opens the outputs. Bad input comes back as exit code 2.
func prepareRun(ctx context.Context, cmd *cobra.Command, o *runOptions, file string, load planLoader, goClasses []horde.Class, stdout, stderr io.Writer) (*runSetup, error) {
	if o.csvFullHistory && o.csvPrefix == "" {
		return nil, badInput("--csv-full-history needs --csv")
	}
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return nil, err
	}
	rs := &runSetup{file: file, host: o.host, log: log, stdout: stdout}
	switch {
	case load != nil:
		rs.plan, err = load(scenario.Options{Host: o.host})
		if err != nil {
			return nil, &exitError{code: ExitBadInput, err: err}
		}
		if rs.host == "" {
			rs.host = rs.plan.Host
		}
		rs.classes = engine.PlanClasses(rs.plan, rs.host)
	case len(goClasses) > 0:
		rs.classes = goClasses
	default:
		return nil, badInput("no scenario: name a scenario file (horde %s FILE) or set HORDE_SCENARIO", cmd.Name())
	}

	flags := cmd.Flags()
	users, rate := o.users, o.spawnRate
	runTime, stopTimeout := o.runTime.d, o.stopTimeout.d
	if plan := rs.plan; plan != nil {
		if !flags.Changed("users") && plan.Load.Users > 0 {
			users = plan.Load.Users
		}
		if !flags.Changed("spawn-rate") && plan.Load.SpawnRate > 0 {
			rate = plan.Load.SpawnRate
		}
		if !flags.Changed("run-time") && plan.Load.RunTime > 0 {
			runTime = plan.Load.RunTime
		}
		if !flags.Changed("stop-timeout") && plan.Load.StopTimeout > 0 {
			stopTimeout = plan.Load.StopTimeout
		}
	}
	if o.parsedThresholds, err = collectThresholds(rs.plan, o.thresholds); err != nil {
		return nil, err
	}
	if rs.shaped, err = loadShape(flags, o, rs.plan, users); err != nil {
		return nil, err
	}
	if users < 0 {
		return nil, badInput("--users: %d is negative", users)
	}
	if rate <= 0 {
		return nil, badInput("--spawn-rate: must be > 0, got %v", rate)
	}
	rs.spec = cluster.RunSpec{Users: users, SpawnRate: rate, Host: rs.host, RunTime: runTime}
	rs.stopTimeout = stopTimeout
	if o.mon, err = newMonitor(rs.plan, o); err != nil {
		return nil, err
	}

	rs.out = &outputs{opts: o, stdout: stdout, log: log}
	if err := rs.out.open(); err != nil {
		return nil, &exitError{code: ExitBadInput, err: err}
	}
	rs.cleanups = append(rs.cleanups, rs.out.close)
	if err := openRunFile(ctx, cmd, rs, o); err != nil {
		rs.close()
		return nil, err
	}
	monCtx, stopMon := context.WithCancel(context.WithoutCancel(ctx))
	monDone := make(chan struct{})
	go func() { o.mon.Run(monCtx); close(monDone) }()
	rs.cleanups = append(rs.cleanups, func() { stopMon(); <-monDone })
	return rs, nil
}

// masterConfig is the master's configuration for the setup.
func (rs *runSetup) masterConfig(o *runOptions) master.Config {
	return master.Config{
		Classes:         rs.classes,
		Host:            rs.host,
		StopTimeout:     rs.stopTimeout,
		RequestTimeout:  o.requestTimeout.d,
		ResetStats:      o.resetStats,
		Logger:          rs.log,
		OnTick:          rs.out.tick,
		OnEvent:         rs.out.event,
		OnMinute:        rs.out.minute,
		Shape:           rs.shaped.Shape(),
		PreAllocatedVUs: rs.shaped.PreAllocatedVUs,
		MaxVUs:          rs.shaped.MaxVUs,
	}
}

// drive serves m and runs the test: with the web UI until interrupted, or
// headless from the start (after beforeStart, e.g. waiting for workers) to
// the end of the run or an interrupt; then it writes the results.
func (rs *runSetup) drive(ctx context.Context, m *master.Master, o *runOptions, beforeStart func() error) error {
	rs.out.exceptions = func() []stats.Exception { return m.Exceptions() }
	for _, t := range o.parsedThresholds {
		if t.AbortOn {
			rs.out.aborts = append(rs.out.aborts, t)
		}
	}
	rs.out.stop = func() { go m.Stop() } // not from the tick: Stop waits for nothing, but keep the tick short
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- m.Serve(serveCtx) }()
	localDone := make(chan struct{})
	localCtx, stopLocal := context.WithCancel(context.WithoutCancel(ctx))
	if rs.local {
		go func() {
			defer close(localDone)
			if err := worker.Local(localCtx, m, rs.classes, httpload.Options{Timeout: o.requestTimeout.d}, rs.log); err != nil {
				rs.log.Error("in-process worker", "err", err)
			}
		}()
	} else {
		close(localDone)
	}
	defer func() { stopServing(); <-served; stopLocal(); <-localDone }()
	finish := func() error { return finishRun(m, o, rs.out, rs.plan, rs.classes, rs.file) }
	handover := func() bool { return rs.handover(ctx, m, o) }
	if !o.headless {
		extras := func(info *report.Info) { reportExtras(info, m, o, rs.out) }
		return serveWeb(ctx, m, o, rs.spec, webRun{plan: rs.plan, file: rs.file, handover: handover, reportExtras: extras}, finish, rs.log, rs.stdout)
	}
	if rs.resumed == nil {
		if beforeStart != nil {
			if err := beforeStart(); err != nil {
				return err
			}
		}
		if err := m.Start(rs.spec); err != nil {
			return badInput("%v", err)
		}
	}
	select {
	case <-m.RunDone():
	case <-ctx.Done():
		if handover() {
			return nil
		}
		rs.log.Info("interrupted: stopping the users (a second signal ends at once)")
		m.Stop()
		<-m.RunDone()
	}
	return finish()
}

// finishRun writes the final summary and result files of the master's last
// run and turns its outcome into the exit code.
func finishRun(m *master.Master, o *runOptions, out *outputs, plan *scenario.Plan, classes []horde.Class, file string) error {
	spec := m.Spec()
	final := m.Snapshot()
	start, end := m.Times()
	exceptions := m.Exceptions()
	info := report.Info{
		Title:        "horde load test report",
		ScenarioFile: file,
		Host:         spec.Host,
		Start:        start,
		End:          end,
		Users:        spec.Users,
		SpawnRate:    spec.SpawnRate,
		RunTime:      spec.RunTime,
		Classes:      classInfo(plan, classes, spec.Users),
		Exceptions:   exceptions,
	}
	info.Verdicts = judge(o.parsedThresholds, final, m.History(), o.mon, o.priorSeries, o.warmup.d)
	out.mu.Lock()
	aborted := out.aborted
	out.mu.Unlock()
	if aborted != "" {
		info.Verdicts = append([]soak.Verdict{{Kind: "threshold", Name: "abort_on_fail", Status: soak.Fail,
			Reason: "run aborted early: " + aborted}}, info.Verdicts...)
	}
	code := ExitOK
	failedThresholds := 0
	for _, v := range info.Verdicts {
		if v.Kind == "threshold" && v.Status == soak.Fail {
			failedThresholds++
		}
	}
	switch {
	case failedThresholds > 0:
		code = ExitFailures
	case len(o.parsedThresholds) == 0 && (final.Total.Failures > 0 || len(exceptions) > 0):
		// Without thresholds, Locust's rule: any failure fails the run.
		code = o.exitCodeOnError
	}
	info.ExitCode = code
	if out.rec != nil {
		out.rec.finish(end, code, final, info.Verdicts, exceptions)
	}
	reportExtras(&info, m, o, out)
	if err := out.finish(final, m.Users(), m.History(), info); err != nil {
		return &exitError{code: ExitBroken, err: err}
	}
	if failedThresholds > 0 {
		return &exitError{code: code, err: fmt.Errorf("%d of %d thresholds failed", failedThresholds, len(o.parsedThresholds))}
	}
	if code != ExitOK {
		return &exitError{code: code, err: fmt.Errorf("%d of %d requests failed, %d exceptions", final.Total.Failures, final.Total.Requests, len(exceptions))}
	}
	return nil
}

// reportExtras adds to a report what the run's recording knows beyond the
// statistics: the open model's figures, the target's series with the
// checks' fitted trends, and the events (for --html at the end, and the web
// UI's /stats/report during the run).
func reportExtras(info *report.Info, m *master.Master, o *runOptions, out *outputs) {
	if o.open {
		op := m.Open()
		info.Open = &report.OpenInfo{Iterations: op.Iterations, Dropped: op.Dropped, LagMean: op.LagMean, LagMax: op.LagMax}
	}
	var events []stats.Event
	out.mu.Lock()
	rec := out.rec
	out.mu.Unlock()
	if rec != nil {
		events, _ = rec.st.Events(context.Background()) // only the charts miss them on error
	}
	var cur []series.Series
	if o.mon != nil {
		cur = o.mon.Series()
	}
	addCharts(info, m.History(), series.Prepend(o.priorSeries, cur), events, o.warmup.d)
}

// collectThresholds returns the scenario's thresholds and those of --threshold.
func collectThresholds(plan *scenario.Plan, flags []string) ([]*scenario.Threshold, error) {
	var out []*scenario.Threshold
	if plan != nil {
		out = append(out, plan.Thresholds...)
	}
	for _, f := range flags {
		t, err := scenario.ParseThreshold(f)
		if err != nil {
			return nil, badInput("--threshold: %v", err)
		}
		if t.Stat == "target" && !slices.Contains(scenario.TargetMetrics, t.Target) {
			return nil, badInput("--threshold %q: unknown target metric %q (known: %s)", f, t.Target, strings.Join(scenario.TargetMetrics, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// judge evaluates the thresholds and runs the built-in checks on the
// run's history: latency degradation (the seed's rule), error-rate drift
// and throughput drift. Only thresholds decide the exit code; checks inform.
func judge(ths []*scenario.Threshold, snap *stats.Snapshot, hist []stats.Tick, mon *monitor.Monitor, prior []series.Series, warmup time.Duration) []soak.Verdict {
	var cur []series.Series
	if mon != nil {
		mon.Sample(context.Background(), time.Now()) // the last word on the target's state
		cur = mon.Series()
	}
	return judgeSeries(ths, snap, hist, series.Prepend(prior, cur), warmup)
}

// historySeries are the run's series over time that thresholds and the
// drift checks judge: p50/p95/p99 of the windows with requests, rps and
// error_rate (%) from the first request on.
func historySeries(hist []stats.Tick) map[string][]soak.Point {
	series := map[string][]soak.Point{}
	for _, p := range hist {
		if p.Requests == 0 {
			continue
		}
		if p.P50Ms > 0 {
			series["p50"] = append(series["p50"], soak.Point{T: p.Time, V: p.P50Ms})
			series["p95"] = append(series["p95"], soak.Point{T: p.Time, V: p.P95Ms})
			series["p99"] = append(series["p99"], soak.Point{T: p.Time, V: p.P99Ms})
		}
		series["rps"] = append(series["rps"], soak.Point{T: p.Time, V: p.RPS})
		rate := 0.0
		if p.RPS > 0 {
			rate = p.FailPerSec / p.RPS * 100
		}
		series["error_rate"] = append(series["error_rate"], soak.Point{T: p.Time, V: rate})
	}
	return series
}

// judgeSeries is judge on recorded target series (`horde analyze` too).
func judgeSeries(ths []*scenario.Threshold, snap *stats.Snapshot, hist []stats.Tick, targetSeries []series.Series, warmup time.Duration) []soak.Verdict {
	var leaks []soak.LeakResult
	target := map[string]float64{}
	for _, s := range targetSeries {
		if !s.Memory {
			continue
		}
		l := soak.Leak(s.Name, s.Points, soak.LeakOptions{Warmup: warmup})
		leaks = append(leaks, l)
		if g, ok := target["memory_growth"]; !ok || l.GrowthPct > g {
			target["memory_growth"] = l.GrowthPct
		}
	}
	series := historySeries(hist)
	var out []soak.Verdict
	for _, r := range soak.EvaluateThresholds(ths, soak.Inputs{Snapshot: snap, Series: series, Target: target, Warmup: warmup}) {
		st := soak.Pass
		if !r.Pass {
			st = soak.Fail
		}
		out = append(out, soak.Verdict{Kind: "threshold", Name: r.Threshold.Text, Status: st, Reason: r.Reason})
	}
	checks := []soak.DriftResult{
		soak.Drift("latency p95 (ms)", series["p95"], soak.DriftOptions{Warmup: warmup}),
		soak.Drift("error rate (%)", series["error_rate"], soak.DriftOptions{Absolute: true, FailPct: 1, Warmup: warmup}),
		soak.Drift("throughput (req/s)", series["rps"], soak.DriftOptions{Worse: -1, Warmup: warmup}),
	}
	for _, c := range checks {
		out = append(out, soak.Verdict{Kind: "check", Name: c.Name, Status: c.Status, Reason: c.Reason})
	}
	for _, l := range leaks {
		out = append(out, soak.Verdict{Kind: "check", Name: "memory leak: " + l.Name, Status: l.Status, Reason: "memory leak (" + l.Name + "): " + l.Reason})
	}
	return out
}

// newMonitor builds the monitor of the scenario's monitor: section, --scrape,
// --prometheus-url and --promql.
func newMonitor(plan *scenario.Plan, o *runOptions) (*monitor.Monitor, error) {
	var cfg monitor.Config
	promURL := o.promURL
	if plan != nil {
		cfg.Interval = plan.Monitor.Interval
		for _, s := range plan.Monitor.Scrapes {
			cfg.Scrapes = append(cfg.Scrapes, monitor.Scrape{URL: s.URL, Metrics: s.Metrics})
		}
		if promURL == "" {
			promURL = plan.Monitor.Prometheus.URL
		}
		for _, q := range plan.Monitor.Prometheus.Queries {
			cfg.Queries = append(cfg.Queries, monitor.Query{URL: promURL, Name: q.Name, Query: q.Query, Memory: q.Memory})
		}
		cfg.Processes = plan.Monitor.Processes
	}
	for _, u := range o.scrapes {
		cfg.Scrapes = append(cfg.Scrapes, monitor.Scrape{URL: u})
	}
	for _, nq := range o.promql {
		name, q, ok := strings.Cut(nq, "=")
		if !ok || name == "" || strings.TrimSpace(q) == "" {
			return nil, badInput("--promql %q: want NAME=PROMQL", nq)
		}
		if promURL == "" {
			return nil, badInput("--promql %s: no Prometheus server: add --prometheus-url or the scenario's monitor: prometheus: url", name)
		}
		cfg.Queries = append(cfg.Queries, monitor.Query{URL: promURL, Name: name, Query: q})
	}
	m, err := monitor.New(cfg)
	if err != nil {
		return nil, badInput("monitor: %v", err)
	}
	return m, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, badInput("--loglevel: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// classInfo describes the classes for the report's ratio table, with the
// users each class gets of the run's user count.
func classInfo(plan *scenario.Plan, classes []horde.Class, users int) []report.ClassInfo {
	running, _ := cluster.Counts(classes, users)
	out := make([]report.ClassInfo, 0, len(classes))
	for i, c := range classes {
		ci := report.ClassInfo{Name: c.Name, Weight: c.Weight}
		if i < len(running) {
			ci.Users = running[i]
		}
		if plan != nil && i < len(plan.Classes) {
			seen := map[string]int{}
			for _, t := range plan.Classes[i].Tasks {
				name := taskName(t)
				if seen[name]++; seen[name] > 1 {
					name = fmt.Sprintf("%s (%d)", name, seen[name]) // the ratio tables are keyed by name
				}
				ci.Tasks = append(ci.Tasks, report.TaskInfo{Name: name, Weight: t.Weight})
			}
		}
		out = append(out, ci)
	}
	return out
}

// taskName names a task for the ratio tables: "METHOD name" for a
// one-request task (as its statistics row), the task's own name otherwise.
func taskName(t *scenario.Task) string {
	if len(t.Steps) == 1 {
		s := t.Steps[0]
		if s.Name != "" {
			return s.Method + " " + s.Name
		}
		if u, ok := s.URL.Static(); ok {
			return s.Method + " " + u
		}
	}
	if t.Name != "" {
		return t.Name
	}
	return "task"
}

// outputs writes the console table, the CSV files and the reports.
type outputs struct {
	opts   *runOptions
	stdout io.Writer
	log    *slog.Logger

	// exceptions reads the user-code errors so far (set once the run exists).
	exceptions func() []stats.Exception
	// aborts are the abort_on_fail thresholds, judged every tick; stop ends
	// the run when one fails, and aborted says why it was ended.
	aborts  []*scenario.Threshold
	stop    func()
	aborted string
	// rec records the run into its file (docs/runs.md).
	rec *runRecorder

	mu          sync.Mutex
	lastConsole time.Time
	lastFiles   time.Time
	historyFile *os.File
	historyCSV  *report.HistoryCSV
}

func (o *outputs) open() error {
	if o.opts.csvPrefix == "" {
		return nil
	}
	if dir := filepath.Dir(o.opts.csvPrefix); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--csv: %w", err)
		}
	}
	f, err := os.Create(o.opts.csvPrefix + "_stats_history.csv")
	if err != nil {
		return fmt.Errorf("--csv: %w", err)
	}
	o.historyFile = f
	o.historyCSV = report.NewHistoryCSV(f, o.opts.csvFullHistory)
	return nil
}

func (o *outputs) close() {
	if o.historyFile != nil {
		o.historyFile.Close()
	}
}

// tick runs once a second on the master's goroutine.
func (o *outputs) tick(s *stats.Snapshot, users int, target float64, open bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rec != nil {
		o.rec.tick(s, store.Load{Users: users, Target: target, Open: open})
	}
	if o.historyCSV != nil {
		o.historyCSV.Row(s, users)
	}
	o.judgeAborts(s)
	if o.opts.csvPrefix != "" && s.Time.Sub(o.lastFiles) >= filesEvery {
		// Keep the result files current during long runs, as Locust does.
		o.lastFiles = s.Time
		var ex []stats.Exception
		if o.exceptions != nil {
			ex = o.exceptions()
		}
		if err := o.writeCSVs(s, ex); err != nil {
			o.log.Warn("writing CSV files", "err", err)
		}
	}
	// The live table is for headless runs; with the web UI the page shows it.
	if o.opts.headless && !o.opts.onlySummary && s.Time.Sub(o.lastConsole) >= consoleEvery {
		o.lastConsole = s.Time
		report.PrintTable(o.stdout, s, users)
		fmt.Fprintln(o.stdout)
	}
}

// finish writes everything once more at the end, so the files include the
// whole run (on_stop requests too).
func (o *outputs) finish(s *stats.Snapshot, users int, hist []stats.Tick, info report.Info) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.historyCSV != nil {
		if err := o.historyCSV.Row(s, users); err != nil {
			return err
		}
	}
	report.PrintSummary(o.stdout, s, info.Exceptions)
	report.PrintOpen(o.stdout, info.Open)
	report.PrintVerdicts(o.stdout, info.Verdicts)
	var errs []error
	if o.opts.csvPrefix != "" {
		errs = append(errs, o.writeCSVs(s, info.Exceptions))
	}
	if o.opts.jsonFile != "" {
		errs = append(errs, writeFile(o.opts.jsonFile, func(w io.Writer) error {
			return report.WriteJSON(w, info, s, hist)
		}))
	}
	if o.opts.html != "" {
		errs = append(errs, writeFile(o.opts.html, func(w io.Writer) error {
			return report.WriteHTML(w, info, s, hist)
		}))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// judgeAborts ends the run when an abort_on_fail threshold fails after its
// grace period. o.mu is held.
func (o *outputs) judgeAborts(s *stats.Snapshot) {
	if len(o.aborts) == 0 || o.aborted != "" || o.stop == nil {
		return
	}
	for _, t := range o.aborts {
		if s.Time.Sub(s.Start) < t.Grace {
			continue
		}
		r := soak.EvaluateThresholds([]*scenario.Threshold{t}, soak.Inputs{Snapshot: s})[0]
		if r.Pass || r.NoData {
			continue
		}
		o.aborted = r.Reason
		if o.rec != nil {
			o.rec.warn("event", o.rec.st.Event(context.Background(), s.Time, "threshold breach", t.Text+": "+r.Reason))
		}
		o.log.Warn("threshold failed with abort_on_fail: stopping the run", "threshold", t.Text, "reason", r.Reason)
		o.stop()
		return
	}
}

func (o *outputs) writeCSVs(s *stats.Snapshot, ex []stats.Exception) error {
	p := o.opts.csvPrefix
	if err := writeFile(p+"_stats.csv", func(w io.Writer) error { return report.WriteStatsCSV(w, s) }); err != nil {
		return err
	}
	if err := writeFile(p+"_failures.csv", func(w io.Writer) error { return report.WriteFailuresCSV(w, s) }); err != nil {
		return err
	}
	return writeFile(p+"_exceptions.csv", func(w io.Writer) error { return report.WriteExceptionsCSV(w, ex) })
}

// writeFile writes through a temporary file and renames it into place, so a
// reader never sees half a file.
func writeFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
