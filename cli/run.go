package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/horde-load/horde/internal/cluster"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/srcaddr"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/horde-load/horde"
	"github.com/horde-load/horde/internal/engine"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/script"
	"github.com/horde-load/horde/internal/shape"
)

// Defaults of `horde run`, as Locust's headless defaults.
const (
	DefaultUsers     = 1
	DefaultSpawnRate = 1.0
)

// runOptions are the flags of `horde run` (Locust's names).
type runOptions struct {
	locust          locustFlags // Locust's flags horde run also takes
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
	runsDir         string
	runsInterval    durationValue
	requestTimeout  durationValue
	logLevel        string
	web             webOptions
	metrics         metricsOptions
	junit           string

	// load shapes and the open model
	rate   float64
	stages []string
	preVUs int
	maxVUs int

	thresholds []string
	baseline   string
	scrapes    []string
	pids       []int
	limits     []string
	promURL    string
	promql     []string
	warmup     durationValue

	// TLS to the target (distinct from the worker channel's --tls-*)
	targetCA, targetCert, targetKey string
	insecureSkipTLSVerify           bool
	sourceAddrs                     string

	iterations  int      // -i: task iterations per user
	tags        []string // -T: keep the tasks with these tags
	excludeTags []string // -E: drop the tasks with these tags
	classPicker bool     // the start form chooses the user classes
	configFile  string   // --config, Locust's format
	classes     []string // class names given as arguments
}

func newRunCmd(stdout, stderr io.Writer, lookup env, classes []horde.Class) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [FILE] [CLASS...]",
		Short: "Run a load test from a scenario file",
		Long: `Run a load test from a scenario file (or from the Go user classes built into
this binary). Flags use Locust's names; each also reads HORDE_<FLAG> from the
environment, e.g. HORDE_USERS=100 or HORDE_RUN_TIME=1h, and then from
--config FILE, ./horde.conf, ./locust.conf or ~/.locust.conf (Locust's
key = value format). Class names after the file limit the run to those
user classes, as Locust's do.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &o.locust
			if l.file != "" {
				if len(args) > 0 && looksLikeScenario(args[0]) {
					return badInput("give the scenario once: -f %s or %s, not both", l.file, args[0])
				}
				args = append([]string{l.file}, args...)
			}
			file, err := o.resolveArgs(cmd, args, lookup)
			if err != nil {
				return err
			}
			if isLocustfile(file) {
				if file, err = convertForRun(file, "running", o.tags, o.excludeTags, o.classes, stderr); err != nil {
					return err
				}
				// The conversion applied the tags and kept the classes.
				o.tags, o.excludeTags, o.classes = nil, nil, nil
			}
			if l.list || l.ratio || l.ratioJSON {
				return locustInfo(l, file, o.host, stdout)
			}
			locustNotes(cmd, l, stderr)
			c, err := o.config(cmd, scenarioSource{file: file}, classes, stdout, stderr)
			if err != nil {
				return err
			}
			return runRun(cmd.Context(), c)
		},
	}
	addRunFlags(cmd.Flags(), o)
	addLocustFlags(cmd.Flags(), &o.locust)
	cmd.Flags().BoolVar(&o.resume, "resume", true, "go on with an unfinished run of this scenario found in --runs-dir (a killed or evicted horde run); see docs/runs.md")
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
	f.StringVar(&o.junit, "junit", "", "write the thresholds and checks as JUnit XML test cases to FILE at the end (for CI)")
	f.BoolVar(&o.onlySummary, "only-summary", false, "print only the final summary, not the table every 2 s")
	f.IntVar(&o.exitCodeOnError, "exit-code-on-error", run.ExitFailures, "exit code when any request failed or user code raised an error")
	f.BoolVar(&o.resetStats, "reset-stats", false, "reset statistics once all users are spawned")
	f.Var(&o.requestTimeout, "request-timeout", "default timeout of a request (default 60s)")
	f.StringVarP(&o.logLevel, "loglevel", "L", "info", "log level: debug, info, warn, error")
	f.Float64Var(&o.rate, "rate", 0, "open model: start this many iterations per second, whatever the server does (instead of --users)")
	f.StringSliceVar(&o.stages, "stage", nil, "ramp DURATION:TARGET (users, or iterations/s with --rate); repeat, or separate with commas, for several stages")
	f.IntVar(&o.preVUs, "pre-allocated-vus", 0, "open model: users started before the first iteration (default: 100 ms of iterations at the peak rate)")
	f.IntVar(&o.maxVUs, "max-vus", 0, "open model: the most users the pool may grow to (default 1000); iterations beyond are dropped and counted")
	f.IntSliceVar(&o.pids, "pid", nil, "record a local process from /proc: resident memory, CPU, threads, open fds and their limit, its cgroup's memory limit (repeatable; added to the scenario's monitor:)")
	f.StringArrayVar(&o.limits, "limit", nil, "a resource's limit, METRIC=VALUE (process_resident_memory_bytes=512MiB, horde_target_pool_in_use=100), for the forecast of when it runs out (repeatable; added to the scenario's monitor: limits:)")
	f.StringArrayVar(&o.scrapes, "scrape", nil, "record the target's memory, CPU and goroutines from this Prometheus /metrics URL (repeatable; added to the scenario's monitor:)")
	f.StringVar(&o.promURL, "prometheus-url", "", "Prometheus server the monitor's PromQL queries go to (overrides the scenario's monitor: prometheus: url)")
	f.StringArrayVar(&o.promql, "promql", nil, "record NAME=PROMQL, a PromQL query evaluated every monitor interval, e.g. memory='sum(container_memory_working_set_bytes{pod=~\"my-app-.*\"})' (repeatable; needs a Prometheus URL)")
	f.Var(&o.warmup, "warmup", "leave this start of the run out of the leak and drift checks (default: 10% of the run, at most 5m)")
	f.StringArrayVar(&o.thresholds, "threshold", nil, `pass/fail criterion, e.g. "p95 < 300ms" or "error_rate < 1%" (repeatable; added to the scenario's thresholds:)`)
	f.StringVar(&o.baseline, "baseline", "", `runs the regression(...) thresholds compare with: last:N (the last N passed runs of this scenario and load in --runs-dir) or run ids/files, comma-separated`)
	f.IntVarP(&o.iterations, "iterations", "i", 0, "each user stops after this many task iterations; the run ends when every user has (0: no limit)")
	f.StringSliceVarP(&o.tags, "tags", "T", nil, "run only the tasks (or classes) with one of these tags (comma-separated or repeated)")
	f.StringSliceVarP(&o.excludeTags, "exclude-tags", "E", nil, "leave out the tasks (or classes) with one of these tags")
	f.BoolVar(&o.classPicker, "class-picker", false, "let the web UI's start form choose the user classes")
	f.StringVar(&o.configFile, "config", "", "read options from FILE (Locust's key = value format), after ~/.locust.conf, ./locust.conf and ./horde.conf")
	f.StringVar(&o.runsDir, "runs-dir", run.DefaultRunsDir, "record the run into a file in this directory (see docs/runs.md)")
	o.runsInterval.d = run.DefaultRunsInterval
	f.Var(&o.runsInterval, "runs-interval", "write the statistics to the run file this often (a multiple of the 1 s tick); the history the checks judge is kept every second whatever this says")
	addTargetTLSFlags(f, &o.targetCA, &o.targetCert, &o.targetKey, &o.insecureSkipTLSVerify)
	addSourceAddrsFlag(f, &o.sourceAddrs)
	addWebFlags(f, &o.web)
	addMetricsFlags(f, &o.metrics)
}

// addTargetTLSFlags defines the flags of TLS to the target on f.
func addTargetTLSFlags(f *pflag.FlagSet, ca, cert, key *string, insecure *bool) {
	f.StringVar(ca, "target-ca", "", "verify the target's certificate against this CA (PEM) instead of the system's roots; overrides the scenario's tls: ca")
	f.StringVar(cert, "target-cert", "", "client certificate (PEM) for targets that require one (mutual TLS); with --target-key")
	f.StringVar(key, "target-key", "", "private key (PEM) of --target-cert")
	f.BoolVar(insecure, "insecure-skip-tls-verify", false, "do not verify the target's TLS certificate (k6's name)")
}

// addSourceAddrsFlag defines --source-addrs on f.
func addSourceAddrsFlag(f *pflag.FlagSet, s *string) {
	f.StringVar(s, "source-addrs", "", "make the users' connections from these local addresses in turn, e.g. 127.0.0.2-127.0.0.9 or 10.0.0.5,10.0.0.6, to open more connections to one target than one address has ports; overrides the scenario's defaults: source_addrs:")
}

// sourceAddrs parses --source-addrs; nil when it is not set.
func sourceAddrs(s string) (*srcaddr.Addrs, error) {
	src, err := srcaddr.Parse(s)
	if err != nil {
		return nil, badInput("--source-addrs: %v", err)
	}
	return src, nil
}

// targetTLS reads the target TLS flags' files and checks them.
func (o *runOptions) targetTLS() (scenario.TLSFlags, error) {
	return readTargetTLS(o.targetCA, o.targetCert, o.targetKey, o.insecureSkipTLSVerify)
}

// readTargetTLS reads the files of --target-ca, --target-cert and
// --target-key and checks them (bad input names the flag and file).
func readTargetTLS(ca, cert, key string, insecure bool) (scenario.TLSFlags, error) {
	fl := scenario.TLSFlags{InsecureSkipVerify: insecure}
	for _, f := range []struct {
		flag, path string
		dst        *scenario.File
	}{{"target-ca", ca, &fl.CA}, {"target-cert", cert, &fl.Cert}, {"target-key", key, &fl.Key}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fl, badInput("--%s: %v", f.flag, err)
		}
		*f.dst = scenario.File{Name: f.path, Data: b}
	}
	if err := fl.Check(); err != nil {
		return fl, badInput("%v", err)
	}
	return fl, nil
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
	return l, nil
}

// resolveArgs applies the environment and the config files to the flags
// and splits the arguments into the scenario file and class names. The
// scenario is the first argument when it looks like one (a .yaml, .yml or
// .star name, or an existing file), else HORDE_SCENARIO (how a Kubernetes
// manifest points at a mounted ConfigMap), else a config file's
// locustfile/scenario key; the other arguments name user classes.
func (o *runOptions) resolveArgs(cmd *cobra.Command, args []string, lookup env) (string, error) {
	if err := bindEnv(cmd.Flags(), lookup); err != nil {
		return "", err
	}
	fromConf, err := applyConfig(cmd.Flags(), lookup, o.configFile)
	if err != nil {
		return "", err
	}
	file := ""
	if len(args) > 0 && looksLikeScenario(args[0]) {
		file, args = args[0], args[1:]
	} else if v, ok := lookup("HORDE_SCENARIO"); ok && v != "" {
		file = v
	} else {
		file = fromConf
	}
	o.classes = args
	return file, nil
}

func looksLikeScenario(arg string) bool {
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".yaml", ".yml", ".star", ".json", ".py":
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && fi.Mode().IsRegular()
}

// scenarioSource is where a command's scenario comes from: a file (read
// once) or built-in bytes (horde demo).
type scenarioSource struct {
	file string // as named; "" for Go users
	dir  string // its data files' directory ("": the file's)
	text []byte // nil: read file
	// locust, when set, are the User classes of the locustfile file (text):
	// a master whose users run on Locust workers (horde master -f x.py).
	locust []horde.Class
}

// config resolves the flags of `horde run` (and `horde master`), the
// environment and the scenario's own load: and monitor: sections into the
// run's configuration. Flags win over the scenario, the scenario over the
// defaults.
func (o *runOptions) config(cmd *cobra.Command, src scenarioSource, goClasses []horde.Class, stdout, stderr io.Writer) (*run.Config, error) {
	logTo := stderr
	if o.locust.logfile != "" {
		f, err := os.OpenFile(o.locust.logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, badInput("--logfile: %v", err)
		}
		logTo = f // open for the process's life, as Locust's
	}
	log, err := newLogger(logTo, o.logLevel)
	if err != nil {
		return nil, err
	}
	c := &run.Config{
		Command: cmd.Name(), ScenarioFile: src.file, Version: Version, Stdout: stdout, Log: log,
		Headless: o.headless, ResetStats: o.resetStats, RequestTimeout: o.requestTimeout.d, Warmup: o.warmup.d,
		ExitCodeOnError: o.exitCodeOnError, RunsDir: o.runsDir, RunsInterval: o.runsInterval.d,
		Resume: o.resume, Handover: o.onSigterm == "handover",
		Output: run.Output{
			CSVPrefix: o.csvPrefix, CSVFullHistory: o.csvFullHistory, HTML: o.html, JSON: o.jsonFile, JUnit: o.junit, OnlySummary: o.onlySummary,
		},
		Web: run.Web{
			Host: o.web.host, Port: o.web.port, Auth: o.web.auth, Token: o.web.token,
			TLSCert: o.web.tlsCert, TLSKey: o.web.tlsKey, Autostart: o.web.autostart, Autoquit: o.web.autoquit,
		},
	}
	if c.Metrics, err = o.metrics.config(); err != nil {
		return nil, err
	}
	host := o.host
	if c.TargetTLS, err = o.targetTLS(); err != nil {
		return nil, err
	}
	if c.SourceAddrs, err = sourceAddrs(o.sourceAddrs); err != nil {
		return nil, err
	}
	switch {
	case src.locust != nil:
		c.Scenario = src.text
		c.Classes = src.locust
	case src.file != "":
		c.Scenario = src.text
		if c.Scenario == nil {
			if c.Scenario, err = os.ReadFile(src.file); err != nil {
				return nil, badInput("read scenario: %v", err)
			}
		}
		dir := src.dir
		if dir == "" {
			dir = filepath.Dir(src.file)
		}
		opts := scenario.Options{Host: o.host, Tags: o.tags, ExcludeTags: o.excludeTags, TLS: c.TargetTLS}
		if c.Plan, err = script.Parse(src.file, dir, c.Scenario, opts); err != nil {
			return nil, badInput("%v", err)
		}
		if host == "" {
			host = c.Plan.Host
		}
		if c.SourceAddrs == nil {
			c.SourceAddrs = c.Plan.SourceAddrs
		}
		c.Classes = engine.PlanClasses(c.Plan, host)
	case len(goClasses) > 0:
		if len(o.tags)+len(o.excludeTags) > 0 {
			return nil, badInput("--tags and --exclude-tags select tasks of a scenario file; Go user classes have none")
		}
		c.Classes = goClasses
	default:
		return nil, badInput("no scenario: name a scenario file (horde %s FILE) or set HORDE_SCENARIO", cmd.Name())
	}

	flags := cmd.Flags()
	c.Spec = cluster.RunSpec{Users: o.users, SpawnRate: o.spawnRate, Host: host, RunTime: o.runTime.d, Iterations: o.iterations, Classes: o.classes}
	c.Tags, c.ExcludeTags = o.tags, o.excludeTags
	c.Web.ClassPicker = o.classPicker
	if err := checkClassNames(c.Classes, o.classes); err != nil {
		return nil, err
	}
	c.StopTimeout = o.stopTimeout.d
	if plan := c.Plan; plan != nil {
		if !flags.Changed("users") && plan.Load.Users > 0 {
			c.Spec.Users = plan.Load.Users
		}
		if !flags.Changed("spawn-rate") && plan.Load.SpawnRate > 0 {
			c.Spec.SpawnRate = plan.Load.SpawnRate
		}
		if !flags.Changed("run-time") && plan.Load.RunTime > 0 {
			c.Spec.RunTime = plan.Load.RunTime
		}
		if !flags.Changed("stop-timeout") && plan.Load.StopTimeout > 0 {
			c.StopTimeout = plan.Load.StopTimeout
		}
	}
	if c.Thresholds, err = run.Thresholds(c.Plan, o.thresholds); err != nil {
		return nil, err
	}
	if o.baseline != "" {
		sp, err := run.ParseBaseline(o.baseline, o.runsDir)
		if err != nil {
			return nil, err
		}
		c.Baseline = &sp
	}
	if c.Load, err = loadShape(flags, o, c.Plan, c.Spec.Users); err != nil {
		return nil, err
	}
	switch {
	case o.iterations < 0:
		return nil, badInput("--iterations: %d is negative", o.iterations)
	case o.iterations > 0 && c.Load.Open:
		return nil, badInput("--iterations counts task iterations per user: it needs the closed model, not --rate (the open model starts iterations at a rate)")
	case len(o.classes) > 0 && c.Load.Open:
		return nil, badInput("user classes %s: choosing classes needs the closed model (the open model runs every class)", strings.Join(o.classes, ", "))
	}
	if c.Monitor, err = run.MonitorConfig(c.Plan, run.MonitorSources{Scrapes: o.scrapes, PromURL: o.promURL, PromQL: o.promql, PIDs: o.pids, Limits: o.limits}); err != nil {
		return nil, err
	}
	return c, nil
}

// checkClassNames refuses a class argument that names no user class.
func checkClassNames(classes []horde.Class, names []string) error {
	known := make([]string, len(classes))
	for i, c := range classes {
		known[i] = c.Name
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return badInput("user class %q: no such class (the scenario has %s; a scenario file must come first)", n, strings.Join(known, ", "))
		}
	}
	return nil
}

// runRun runs the test and turns its outcome into the exit status.
func runRun(ctx context.Context, c *run.Config) error {
	oc, err := run.Run(ctx, *c)
	if err != nil {
		return err
	}
	return outcomeErr(oc)
}

// outcomeErr is the error that carries oc's exit code (nil for ExitOK).
func outcomeErr(oc *run.Outcome) error {
	if err := oc.Err(); err != nil {
		return &run.ExitError{Code: oc.ExitCode(), Err: err}
	}
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, badInput("--loglevel: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
