package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/horde-load/horde/internal/series"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/master"
	"github.com/horde-load/horde/internal/monitor"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// DefaultRunsDir is where run files go (--runs-dir, HORDE_RUNS_DIR).
const DefaultRunsDir = "runs"

// DefaultRunsInterval is how often a run file gets a row per name: 20
// names for 7 days fit in 0.75 GB (docs/runs.md).
const DefaultRunsInterval = 2 * time.Second

// runConfig is the run's configuration as recorded in its file (run.config).
type runConfig struct {
	Command      string             `json:"command"` // run or master
	ScenarioFile string             `json:"scenario_file"`
	Host         string             `json:"host"`
	Users        int                `json:"users"`
	SpawnRate    float64            `json:"spawn_rate"`
	RunTimeS     float64            `json:"run_time_s"`
	Headless     bool               `json:"headless"`
	Open         bool               `json:"open"`
	Thresholds   []string           `json:"thresholds"`
	WarmupS      float64            `json:"warmup_s"`
	Classes      []report.ClassInfo `json:"classes"`
}

// runRecorder writes a run into its file: a tick per master tick, the end
// and the verdicts in finish.
type runRecorder struct {
	st        *store.Store
	mon       *monitor.Monitor
	log       *slog.Logger
	last      map[string]time.Time // the last sample recorded per target series
	warned    bool
	cp        *master.Checkpoint // the master's checkpoint for the next tick
	every     time.Duration      // --runs-interval: write a tick this often
	monErrs   map[string]string  // the monitor errors already logged, by source
	lastWrite time.Time
	minutes   []*stats.Minute // completed minutes, for the next written tick
}

// openRunFile creates the run's file under --runs-dir and tells where it is.
func openRunFile(ctx context.Context, cmd *cobra.Command, rs *runSetup, o *runOptions) error {
	dir := DefaultRunsDir
	if f := cmd.Flags().Lookup("runs-dir"); f != nil {
		dir = f.Value.String()
	} else if v, ok := os.LookupEnv("HORDE_RUNS_DIR"); ok {
		dir = v // commands without the flag (horde demo)
	}
	if dir == "" {
		return badInput("--runs-dir: empty (runs are always recorded; name a directory)")
	}
	if o.resume {
		if ok, err := resumeRunFile(ctx, rs, o, dir); ok || err != nil {
			return err
		}
	}
	cfg := runConfig{
		Command: cmd.Name(), ScenarioFile: rs.file, Host: rs.host, Users: rs.spec.Users, SpawnRate: rs.spec.SpawnRate,
		RunTimeS: rs.spec.RunTime.Seconds(), Headless: o.headless, Open: o.open, WarmupS: o.warmup.d.Seconds(),
		Classes: classInfo(rs.plan, rs.classes, rs.spec.Users),
	}
	for _, t := range o.parsedThresholds {
		cfg.Thresholds = append(cfg.Thresholds, t.Text)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return &exitError{code: ExitBroken, err: err}
	}
	var text []byte
	if rs.file != "" {
		text, _ = os.ReadFile(rs.file) // already loaded once; the copy is for the record
	}
	st, err := store.Create(ctx, dir, store.Run{Config: b, Scenario: string(text)})
	if err != nil {
		return &exitError{code: ExitBadInput, err: fmt.Errorf("--runs-dir: %w", err)}
	}
	rec := newRunRecorder(st, rs, o)
	rs.out.rec = rec
	rs.cleanups = append(rs.cleanups, func() { st.Close(context.Background()) })
	fmt.Fprintf(rs.stdout, "run file: %s\n", st.Path())
	return nil
}

// newRunRecorder records the run of rs into st.
func newRunRecorder(st *store.Store, rs *runSetup, o *runOptions) *runRecorder {
	return &runRecorder{st: st, mon: o.mon, log: rs.log, last: map[string]time.Time{}, every: o.runsInterval.d}
}

// samples returns the monitor's samples not yet recorded.
func (r *runRecorder) samples() []store.Sample {
	if r.mon == nil {
		return nil
	}
	var out []store.Sample
	for _, s := range r.mon.Series() {
		last := r.last[s.Name]
		for _, p := range s.Points {
			if p.T.After(last) {
				out = append(out, store.Sample{Series: s.Name, Metric: s.Metric, Memory: s.Memory, T: p.T, V: p.V})
				last = p.T
			}
		}
		r.last[s.Name] = last
	}
	return out
}

func (r *runRecorder) warn(what string, err error) {
	if err != nil && !r.warned {
		r.warned = true // once: a full disk would say so every second
		r.log.Warn("recording the run", "file", r.st.Path(), "what", what, "err", err)
	}
}

// tick records one tick (called on the master's tick, under outputs.mu).
func (r *runRecorder) tick(s *stats.Snapshot, load store.Load) {
	ctx := context.Background()
	final := r.cp != nil && r.cp.Final
	if r.every > 0 && !r.lastWrite.IsZero() && s.Time.Sub(r.lastWrite) < r.every-r.every/4 && !final {
		r.cp = nil // not this tick: the state goes with the statistics it describes
		return
	}
	r.lastWrite = s.Time
	cp := r.cp
	err := r.st.TickState(ctx, s, load, r.samples(), r.state(), r.minutes)
	if err == nil {
		r.minutes = nil // else kept for the next tick
	}
	r.warn("tick", err)
	if cp != nil && cp.Written != nil {
		// Stored (or the disk failed, and the counts live in memory only):
		// the master acknowledges the reports the checkpoint holds.
		cp.Written()
	}
	r.logMonitorErrors()
}

// logMonitorErrors logs each monitor source's error once (again when it
// changes): a scrape or PromQL query that fails records nothing.
func (r *runRecorder) logMonitorErrors() {
	if r.mon == nil {
		return
	}
	if r.monErrs == nil {
		r.monErrs = map[string]string{}
	}
	for src, msg := range r.mon.Errors() {
		if r.monErrs[src] != msg {
			r.monErrs[src] = msg
			r.log.Warn("monitor: a source records nothing", "source", src, "err", msg)
		}
	}
}

// finish records the end of the run, its verdicts and exit code.
func (r *runRecorder) finish(end time.Time, code int, final *stats.Snapshot, verdicts []soak.Verdict, exceptions []stats.Exception) {
	if end.IsZero() {
		end = time.Now()
	}
	// The last counts and minutes, which a skipped tick may not have written.
	if final != nil {
		r.warn("tick", r.st.TickState(context.Background(), final, store.Load{}, nil, nil, r.minutes))
	} else {
		for _, m := range r.minutes {
			r.warn("minute", r.st.Minute(context.Background(), m))
		}
	}
	r.minutes = nil
	status := store.StatusPassed
	switch code {
	case ExitOK:
	case ExitBroken:
		status = store.StatusBroken
	default:
		status = store.StatusFailed
	}
	if err := r.st.Finish(context.Background(), end, status, code, final, verdicts, r.samples(), exceptions); err != nil {
		r.log.Warn("recording the end of the run", "file", r.st.Path(), "err", err)
	}
}

// runFile is a run file read back: what analyze and report work on.
type runFile struct {
	path     string
	run      store.Run
	cfg      runConfig
	snap     *stats.Snapshot
	hist     []stats.Tick
	series   []series.Series
	events   []stats.Event
	verdicts []soak.Verdict // recorded at the end of the run
	// exceptions are recorded at the end of the run
	exceptions []stats.Exception
}

// resolveRun finds RUN: a file, or a run id under the runs directory.
func resolveRun(arg, dir string) string {
	if _, err := os.Stat(arg); err == nil {
		return arg
	}
	for _, p := range []string{filepath.Join(dir, arg), filepath.Join(dir, arg+store.Ext)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return arg
}

func loadRunFile(ctx context.Context, path string) (*runFile, error) {
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, badInput("%v", err)
	}
	defer st.Close(ctx)
	rf := &runFile{path: path}
	fail := func(err error) (*runFile, error) { return nil, badInput("%s: %v", path, err) }
	if rf.run, err = st.Run(ctx); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(rf.run.Config, &rf.cfg); err != nil {
		return fail(fmt.Errorf("config: %w", err))
	}
	if rf.snap, err = st.Latest(ctx); err != nil {
		return fail(err)
	}
	if rf.snap == nil {
		rf.snap = &stats.Snapshot{Start: rf.run.Started, Time: rf.run.Started, Total: stats.Entry{Name: stats.AggregatedName}}
	}
	if rf.hist, err = st.History(ctx); err != nil {
		return fail(err)
	}
	if rf.series, err = st.Series(ctx); err != nil {
		return fail(err)
	}
	if rf.events, err = st.Events(ctx); err != nil {
		return fail(err)
	}
	if rf.verdicts, err = st.Verdicts(ctx); err != nil {
		return fail(err)
	}
	if rf.exceptions, err = st.Exceptions(ctx); err != nil {
		return fail(err)
	}
	return rf, nil
}

// info describes the recorded run for the report writers. An unfinished
// run (killed) reports exit code 3: it did not end.
func (rf *runFile) info(verdicts []soak.Verdict) report.Info {
	c := rf.cfg
	info := report.Info{
		Title: "horde load test report", ScenarioFile: c.ScenarioFile, Host: c.Host,
		Start: rf.run.Started, End: rf.run.Ended, Users: c.Users, SpawnRate: c.SpawnRate,
		RunTime: time.Duration(c.RunTimeS * float64(time.Second)), Classes: c.Classes,
		ExitCode: rf.run.ExitCode, Verdicts: verdicts, Exceptions: rf.exceptions,
	}
	if rf.run.Ended.IsZero() {
		info.Title += " (unfinished run)"
		info.End = rf.snap.Time
		info.ExitCode = ExitBroken
	}
	return info
}

// warmup is the warm-up the run's checks used, unless set.
func (rf *runFile) warmup(d time.Duration, set bool) time.Duration {
	if set {
		return d
	}
	return time.Duration(rf.cfg.WarmupS * float64(time.Second))
}

// addCharts adds to info what the HTML report draws beside the request
// statistics: the target's series, each memory series with the fitted floor
// of its leak check; the fitted p95 trend of the degradation check; and
// the events. The fits are those the checks judge (the same series and
// warm-up), recomputed: the checks are pure and cheap.
func addCharts(info *report.Info, hist []stats.Tick, target []series.Series, events []stats.Event, warmup time.Duration) {
	for _, s := range target {
		ts := report.TargetSeries{Series: s}
		if s.Memory {
			l := soak.Leak(s.Name, s.Points, soak.LeakOptions{Warmup: warmup})
			ts.Trend = reportTrend(l.Fit, fmt.Sprintf("%s, floor %+.1f%% over %s", l.Status, l.GrowthPct, l.Window.Round(time.Second)))
		}
		info.Target = append(info.Target, ts)
	}
	d := soak.Drift("latency p95 (ms)", historySeries(hist)["p95"], soak.DriftOptions{Warmup: warmup})
	info.P95Trend = reportTrend(d.Fit, fmt.Sprintf("%s, %+.1f%% last quarter vs first", d.Status, d.ChangePct))
	info.Events = events
}

func reportTrend(l soak.Line, note string) *report.Trend {
	if l.IsZero() {
		return nil
	}
	return &report.Trend{From: l.From, To: l.To, Start: l.V0, SlopePerSec: l.SlopePerSec, Note: note}
}

// analyze judges the recorded run as the end of a run does: the run's
// thresholds plus extra, the drift checks and the leak checks.
func (rf *runFile) analyze(extra []string, warmup time.Duration, warmupSet bool) ([]soak.Verdict, error) {
	texts := append(append([]string{}, rf.cfg.Thresholds...), extra...)
	ths, err := collectThresholds(nil, texts)
	if err != nil {
		return nil, err
	}
	return judgeSeries(ths, rf.snap, rf.hist, rf.series, rf.warmup(warmup, warmupSet)), nil
}

func newRunsCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the recorded runs",
		Long: `List the run files under --runs-dir (HORDE_RUNS_DIR), oldest first: id, start,
duration, status, requests, failures and exit code. A run whose process was
killed shows as "unfinished". See docs/runs.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			ctx := cmd.Context()
			sums, err := store.List(ctx, dir)
			if err != nil {
				return badInput("--runs-dir: %v", err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTART\tDURATION\tSTATUS\tREQUESTS\tFAILURES\tEXIT")
			for _, s := range sums {
				if s.Err != nil {
					fmt.Fprintf(stderr, "horde: skipping %s: %v\n", s.Path, s.Err)
					continue
				}
				r := s.Run
				end, status, code := r.Ended, r.Status, "-"
				if end.IsZero() {
					end = s.LastTick
					if end.IsZero() {
						end = r.Started
					}
					if time.Since(end) > 30*time.Second {
						status = "unfinished"
					}
				} else {
					code = fmt.Sprint(r.ExitCode)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.ID, r.Started.Local().Format("2006-01-02 15:04:05"),
					end.Sub(r.Started).Round(time.Second), status, s.Requests, s.Failures, code)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "runs-dir", DefaultRunsDir, "directory of the run files")
	return cmd
}

func newAnalyzeCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var (
		dir, format string
		thresholds  []string
		warmup      durationValue
		prom        promOptions
	)
	cmd := &cobra.Command{
		Use:   "analyze RUN | analyze --prometheus URL --query Q",
		Short: "Judge a recorded run: thresholds, leak and drift checks",
		Long: `Judge a recorded run (a run file, or a run id under --runs-dir) again: the
thresholds recorded with the run plus --threshold, latency/error-rate/throughput
drift, and a leak check on every recorded target memory series.

With --prometheus, it judges series from a Prometheus server instead, as the
seed's analyser does: each --query (PromQL) over --start..--end; memory series
get the leak check, others the drift check.

Exit codes: 0 every threshold and check passed (warnings pass); 1 a threshold
or a check failed (the failed ones are named on stderr); 2 bad input (no such
file, not a run file, a bad threshold or format). See docs/runs.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			if format != "text" && format != "json" && format != "markdown" {
				return badInput("--format: %q is not text, json or markdown", format)
			}
			ctx := cmd.Context()
			if prom.url != "" {
				if len(args) > 0 {
					return badInput("give a run file or --prometheus, not both")
				}
				return analyzePrometheus(ctx, &prom, warmup.d, format, stdout)
			}
			if len(args) != 1 {
				return badInput("name a run file (or a run id), or use --prometheus URL --query Q")
			}
			rf, err := loadRunFile(ctx, resolveRun(args[0], dir))
			if err != nil {
				return err
			}
			vs, err := rf.analyze(thresholds, warmup.d, cmd.Flags().Changed("warmup"))
			if err != nil {
				return err
			}
			var failed []string
			for _, v := range vs {
				if v.Status == soak.Fail {
					failed = append(failed, v.Kind+" "+v.Name)
				}
			}
			info := rf.info(vs)
			switch format {
			case "text":
				fmt.Fprintf(stdout, "Run %s (%s, %s)\n\n", rf.run.ID, rf.path, rf.run.Status)
				report.PrintVerdicts(stdout, vs)
			case "json":
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				err = enc.Encode(struct {
					Run      string         `json:"run"`
					File     string         `json:"file"`
					Status   string         `json:"status"`
					Passed   bool           `json:"passed"`
					Verdicts []soak.Verdict `json:"verdicts"`
				}{rf.run.ID, rf.path, rf.run.Status, len(failed) == 0, append([]soak.Verdict{}, vs...)})
			case "markdown":
				if len(failed) > 0 {
					info.ExitCode = ExitFailures
				} else {
					info.ExitCode = ExitOK
				}
				err = report.WriteMarkdown(stdout, info, rf.snap)
			}
			if err != nil {
				return &exitError{code: ExitBroken, err: err}
			}
			if len(failed) > 0 {
				return &exitError{code: ExitFailures, err: fmt.Errorf("%d failed: %s", len(failed), strings.Join(failed, "; "))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", DefaultRunsDir, "directory of the run files (for a run given by id)")
	f.StringVar(&format, "format", "text", "output: text, json or markdown")
	f.StringArrayVar(&thresholds, "threshold", nil, `extra pass/fail criterion, e.g. "p95 < 300ms" (repeatable; added to the run's own)`)
	f.Var(&warmup, "warmup", "leave this start of the run out of the leak and drift checks (default: the run's, else 10% of the run, at most 5m)")
	f.StringVar(&prom.url, "prometheus", "", "judge series from this Prometheus server (http://host:9090) instead of a run file")
	f.StringArrayVar(&prom.queries, "query", nil, `with --prometheus: a PromQL query, e.g. 'sum(container_memory_working_set_bytes{pod=~"my-app-.*"})' (repeatable)`)
	f.StringVar(&prom.start, "start", "-24h", "with --prometheus: start of the range (RFC 3339, unix seconds, or relative to now like -24h)")
	f.StringVar(&prom.end, "end", "now", "with --prometheus: end of the range (as --start)")
	f.Var(&prom.step, "step", "with --prometheus: resolution (default: the range / 1000, at least 1s)")
	return cmd
}

// promOptions are analyze's --prometheus flags.
type promOptions struct {
	url        string
	queries    []string
	start, end string
	step       durationValue
}

// promTime reads an RFC 3339 time, unix seconds, "now", or a duration
// relative to now ("-24h").
func promTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now" || s == "":
		return now, nil
	case strings.HasPrefix(s, "-"):
		d, err := scenario.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMilli(int64(f * 1000)), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, unix seconds, now, or -DURATION)", s)
}

// analyzePrometheus judges series queried from a Prometheus server.
func analyzePrometheus(ctx context.Context, p *promOptions, warmup time.Duration, format string, stdout io.Writer) error {
	if len(p.queries) == 0 {
		return badInput("--prometheus needs at least one --query")
	}
	now := time.Now()
	start, err := promTime(p.start, now)
	if err != nil {
		return badInput("--start: %v", err)
	}
	end, err := promTime(p.end, now)
	if err != nil {
		return badInput("--end: %v", err)
	}
	if !end.After(start) {
		return badInput("--end must be after --start")
	}
	step := p.step.d
	if step <= 0 {
		step = max(end.Sub(start)/1000, time.Second)
	}
	var vs []soak.Verdict
	for _, q := range p.queries {
		series, err := monitor.QueryRange(ctx, nil, p.url, q, start, end, step)
		if err != nil {
			return &exitError{code: ExitBadInput, err: fmt.Errorf("--query %q: %w", q, err)}
		}
		if len(series) == 0 {
			vs = append(vs, soak.Verdict{Kind: "check", Name: q, Status: soak.Warn, Reason: q + ": no data in the range"})
		}
		for _, s := range series {
			pts := make([]soak.Point, len(s.Points))
			for i, pt := range s.Points {
				pts[i] = soak.Point{T: pt.T, V: pt.V}
			}
			if s.Memory {
				l := soak.Leak(s.Name, pts, soak.LeakOptions{Warmup: warmup})
				vs = append(vs, soak.Verdict{Kind: "check", Name: "memory leak: " + s.Name, Status: l.Status, Reason: "memory leak (" + s.Name + "): " + l.Reason})
				continue
			}
			d := soak.Drift(s.Name, pts, soak.DriftOptions{Warmup: warmup})
			vs = append(vs, soak.Verdict{Kind: "check", Name: "drift: " + s.Name, Status: d.Status, Reason: d.Reason})
		}
	}
	var failed []string
	for _, v := range vs {
		if v.Status == soak.Fail {
			failed = append(failed, v.Name)
		}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			Prometheus string         `json:"prometheus"`
			Start      time.Time      `json:"start"`
			End        time.Time      `json:"end"`
			Passed     bool           `json:"passed"`
			Verdicts   []soak.Verdict `json:"verdicts"`
		}{p.url, start.UTC(), end.UTC(), len(failed) == 0, vs}); err != nil {
			return &exitError{code: ExitBroken, err: err}
		}
	case "markdown":
		fmt.Fprintf(stdout, "### horde analyze: %s, %s to %s\n\n| result | check | reason |\n|---|---|---|\n", p.url, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		for _, v := range vs {
			fmt.Fprintf(stdout, "| %s | %s | %s |\n", strings.ToUpper(string(v.Status)), strings.ReplaceAll(v.Name, "|", "\\|"), strings.ReplaceAll(v.Reason, "|", "\\|"))
		}
	default:
		fmt.Fprintf(stdout, "Prometheus %s, %s to %s\n\n", p.url, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		report.PrintVerdicts(stdout, vs)
	}
	if len(failed) > 0 {
		return &exitError{code: ExitFailures, err: fmt.Errorf("%d failed: %s", len(failed), strings.Join(failed, "; "))}
	}
	return nil
}

func newReportCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var dir, out, format string
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Write the HTML, JSON or Markdown report of a recorded run",
		Long: `Write the report of a recorded run (a run file, or a run id under --runs-dir):
the same self-contained HTML page or JSON summary as --html/--json at the end
of a run, or a Markdown summary for CI logs. The format follows -o's extension
(.json, .md) unless --format says. Without -o the report goes to stdout.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			if format == "" {
				switch strings.ToLower(filepath.Ext(out)) {
				case ".json":
					format = "json"
				case ".md", ".markdown":
					format = "markdown"
				default:
					format = "html"
				}
			}
			var write func(io.Writer, report.Info, *stats.Snapshot, []stats.Tick) error
			switch format {
			case "html":
				write = report.WriteHTML
			case "json":
				write = report.WriteJSON
			case "markdown", "md":
				write = func(w io.Writer, info report.Info, s *stats.Snapshot, _ []stats.Tick) error {
					return report.WriteMarkdown(w, info, s)
				}
			default:
				return badInput("--format: %q is not html, json or markdown", format)
			}
			ctx := cmd.Context()
			rf, err := loadRunFile(ctx, resolveRun(args[0], dir))
			if err != nil {
				return err
			}
			vs := rf.verdicts
			if rf.run.Ended.IsZero() {
				// Killed before its verdict: judge what was recorded.
				if vs, err = rf.analyze(nil, 0, false); err != nil {
					return err
				}
			}
			info := rf.info(vs)
			if format == "html" {
				addCharts(&info, rf.hist, rf.series, rf.events, rf.warmup(0, false))
			}
			if out == "" || out == "-" {
				err = write(stdout, info, rf.snap, rf.hist)
			} else {
				err = writeFile(out, func(w io.Writer) error { return write(w, info, rf.snap, rf.hist) })
			}
			if err != nil {
				if errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
					return badInput("-o: %v", err)
				}
				return &exitError{code: ExitBroken, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", DefaultRunsDir, "directory of the run files (for a run given by id)")
	f.StringVarP(&out, "output", "o", "", "write the report to FILE (default: stdout)")
	f.StringVar(&format, "format", "", "html, json or markdown (default: from -o's extension, else html)")
	return cmd
}
