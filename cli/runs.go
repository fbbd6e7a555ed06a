package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/compare"
	"github.com/horde-load/horde/internal/report"
	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/scenario"
	"github.com/horde-load/horde/internal/soak"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

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
			if len(sums) == 0 {
				fmt.Fprintf(stderr, "horde: no runs in %s (another directory: --runs-dir DIR or HORDE_RUNS_DIR)\n", absDir(dir))
				return nil
			}
			fmt.Fprintf(stderr, "runs in %s\n", absDir(dir))
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
	cmd.Flags().StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files")
	return cmd
}

func newAnalyzeCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var (
		dir, format, junit string
		baseline           string
		thresholds, limits []string
		warmup             durationValue
		prom               promOptions
	)
	cmd := &cobra.Command{
		Use:   "analyze RUN | analyze --prometheus URL --query Q",
		Short: "Judge a recorded run: thresholds, leak and drift checks",
		Long: `Judge a recorded run (a run file, or a run id under --runs-dir) again: the
thresholds recorded with the run plus --threshold, latency/error-rate/throughput
drift, and a leak check on every recorded target memory series.

With --prometheus, it judges series from a Prometheus server instead, as the
seed's analyser does: each --query (PromQL) over --start..--end; memory series
(by their metric's name, or every series of a --memory-query) get the leak
check, others the drift check; --threshold takes target.* thresholds, such as
'target.memory_growth < 10%'. A query that returns no data is an error (exit 2).

Exit codes: 0 every threshold and check passed (warnings pass); 1 a threshold
or a check failed (the failed ones are named on stderr); 2 bad input (no such
file, not a run file, a bad threshold or format). See docs/runs.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			format = formatName(format)
			if format != "text" && format != "json" && format != "markdown" {
				return badInput("--format: %q is not text, json or markdown", format)
			}
			ctx := cmd.Context()
			lims, err := run.ParseLimits(limits)
			if err != nil {
				return err
			}
			prom.limits = lims
			if prom.url != "" {
				if len(args) > 0 {
					return badInput("give a run file or --prometheus, not both")
				}
				return analyzePrometheus(ctx, &prom, thresholds, warmup.d, format, junit, stdout)
			}
			if len(args) != 1 {
				return badInput("name a run file (or a run id), or use --prometheus URL --query Q")
			}
			rf, err := openRun(ctx, args[0], dir)
			if err != nil {
				return err
			}
			var sp *compare.Spec
			if baseline != "" {
				s, err := run.ParseBaseline(baseline, dir)
				if err != nil {
					return err
				}
				sp = &s
			}
			oc, base, err := rf.AnalyzeAgainst(ctx, thresholds, lims, warmup.d, cmd.Flags().Changed("warmup"), sp, dir)
			if err != nil {
				return err
			}
			vs := oc.Verdicts
			info := rf.Info(vs)
			info.Baseline = base
			if junit != "" {
				ji := info
				ji.ExitCode = oc.ExitCode()
				if err := writeJUnit(junit, "horde analyze "+rf.Run.ID, ji, rf.Snapshot); err != nil {
					return err
				}
			}
			switch format {
			case "text":
				fmt.Fprintf(stdout, "Run %s (%s, %s)\n\n", rf.Run.ID, rf.Path, rf.Run.Status)
				if base != nil {
					compare.WriteSummaryText(stdout, base)
					fmt.Fprintln(stdout)
				}
				report.PrintVerdictsDeciding(stdout, vs, oc.ChecksDecide)
				if len(oc.Differs) == 0 {
					fmt.Fprintln(stdout, "Same verdicts as the run recorded.")
				}
				for _, d := range oc.Differs {
					fmt.Fprintln(stdout, "differs:", d)
				}
			case "json":
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				err = enc.Encode(struct {
					Run      string           `json:"run"`
					File     string           `json:"file"`
					Status   string           `json:"status"`
					Passed   bool             `json:"passed"`
					Verdicts []soak.Verdict   `json:"verdicts"`
					Differs  []string         `json:"differs"`
					Baseline *compare.Summary `json:"baseline,omitempty"`
				}{rf.Run.ID, rf.Path, rf.Run.Status, oc.ExitCode() == run.ExitOK, append([]soak.Verdict{}, vs...), append([]string{}, oc.Differs...), base})
			case "markdown":
				info.ExitCode = oc.ExitCode()
				err = report.WriteMarkdown(stdout, info, rf.Snapshot)
			}
			if err != nil {
				return &run.ExitError{Code: run.ExitBroken, Err: err}
			}
			return outcomeErr(oc)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files (for a run given by id)")
	f.StringVar(&format, "format", "text", "output: text, json or markdown")
	f.StringVar(&junit, "junit", "", "also write the thresholds and checks as JUnit XML test cases to FILE (for CI)")
	f.StringArrayVar(&thresholds, "threshold", nil, `extra pass/fail criterion, e.g. "p95 < 300ms" (repeatable; added to the run's own)`)
	f.StringVar(&baseline, "baseline", "", `runs the regression(...) thresholds compare with: last:N (the last N passed runs of this scenario and load before this one in --runs-dir) or run ids/files, comma-separated`)
	f.Var(&warmup, "warmup", "leave this start of the run out of the leak and drift checks (default: the run's, else 10% of the run, at most 5m)")
	f.StringArrayVar(&limits, "limit", nil, `a resource's limit, METRIC=VALUE (process_resident_memory_bytes=512MiB, a query's text or a pool's metric=100), for the forecast of when it runs out (repeatable)`)
	f.StringVar(&prom.url, "prometheus", "", "judge series from this Prometheus server (http://host:9090) instead of a run file")
	f.StringArrayVar(&prom.queries, "query", nil, `with --prometheus: a PromQL query, e.g. 'sum(container_memory_working_set_bytes{pod=~"my-app-.*"})' (repeatable)`)
	f.StringArrayVar(&prom.memory, "memory-query", nil, `with --prometheus: a PromQL query whose series are memory (the leak check, and target.memory_growth), whatever their name (repeatable)`)
	f.StringVar(&prom.kind, "kind", "", `with --prometheus: what the memory series measure, overriding their names: heap (a garbage-collected heap: its drops are collections, never restarts), os (RSS, a working set: a drop to the baseline is a restart) or count`)
	f.StringVar(&prom.start, "start", "-24h", "with --prometheus: start of the range (RFC 3339, unix seconds, or relative to now like -24h)")
	f.StringVar(&prom.end, "end", "now", "with --prometheus: end of the range (as --start)")
	f.Var(&prom.step, "step", "with --prometheus: resolution (default: the range / 1000, at least 1s)")
	return cmd
}

// promOptions are analyze's --prometheus flags.
type promOptions struct {
	limits     map[string]float64
	url        string
	queries    []string
	memory     []string
	kind       string
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
func analyzePrometheus(ctx context.Context, p *promOptions, thresholds []string, warmup time.Duration, format, junit string, stdout io.Writer) error {
	ths, err := run.Thresholds(nil, thresholds)
	if err != nil {
		return err
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
	kind, err := soak.ParseKind(p.kind)
	if err != nil {
		return badInput("--kind: %v", err)
	}
	oc, err := run.AnalyzePrometheus(ctx, run.PromAnalysis{
		URL: p.url, Queries: p.queries, MemoryQueries: p.memory, Start: start, End: end, Step: p.step.d,
		Warmup: warmup, Thresholds: ths, Kind: kind, Limits: p.limits,
	})
	if err != nil {
		return err
	}
	vs := oc.Verdicts
	if junit != "" {
		info := report.Info{Host: p.url, Start: start, End: end, Verdicts: vs, ExitCode: oc.ExitCode()}
		if err := writeJUnit(junit, "horde analyze "+p.url, info, nil); err != nil {
			return err
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
			StepS      float64        `json:"step_s"`
			Notes      []string       `json:"notes,omitempty"`
			Passed     bool           `json:"passed"`
			Verdicts   []soak.Verdict `json:"verdicts"`
		}{p.url, start.UTC(), end.UTC(), oc.Step.Seconds(), oc.Notes, oc.ExitCode() == run.ExitOK, vs}); err != nil {
			return &run.ExitError{Code: run.ExitBroken, Err: err}
		}
	case "markdown":
		fmt.Fprintf(stdout, "### horde analyze: %s, %s to %s\n\n| result | check | reason |\n|---|---|---|\n", p.url, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
		for _, v := range vs {
			fmt.Fprintf(stdout, "| %s | %s | %s |\n", strings.ToUpper(string(v.Status)), strings.ReplaceAll(v.Name, "|", "\\|"), strings.ReplaceAll(v.Reason, "|", "\\|"))
		}
	default:
		fmt.Fprintf(stdout, "Prometheus %s, %s to %s, step %v\n", p.url, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), oc.Step)
		for _, n := range oc.Notes {
			fmt.Fprintln(stdout, "note:", n)
		}
		fmt.Fprintln(stdout)
		report.PrintVerdictsDeciding(stdout, vs, oc.ChecksDecide)
	}
	return outcomeErr(oc.Outcome)
}

func newReportCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var dir, out, format, junit, baseline string
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
			format = outFormat(format, out, "html")
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
			rf, err := openRun(ctx, args[0], dir)
			if err != nil {
				return err
			}
			vs := rf.Verdicts
			if rf.Run.Ended.IsZero() {
				// Killed before its verdict: judge what was recorded.
				oc, err := rf.Analyze(nil, 0, false)
				if err != nil {
					return err
				}
				vs = oc.Verdicts
			}
			info := rf.Info(vs)
			if baseline != "" {
				sp, err := run.ParseBaseline(baseline, dir)
				if err != nil {
					return err
				}
				if info.Baseline, err = rf.Against(ctx, sp, dir); err != nil {
					return err
				}
			}
			if junit != "" {
				if err := writeJUnit(junit, "horde report "+rf.Run.ID, info, rf.Snapshot); err != nil {
					return err
				}
			}
			if format == "html" {
				rf.Charts(&info)
			}
			return writeOut(stdout, out, func(w io.Writer) error { return write(w, info, rf.Snapshot, rf.LiveHistory()) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files (for a run given by id)")
	f.StringVarP(&out, "output", "o", "", "write the report to FILE (default: stdout)")
	f.StringVar(&format, "format", "", "html, json or markdown (default: from -o's extension, else html)")
	f.StringVar(&junit, "junit", "", "also write the run's thresholds and checks as JUnit XML test cases to FILE (for CI)")
	f.StringVar(&baseline, "baseline", "", `add "compared with the last N runs": last:N (the last N passed runs of this scenario and load before this one) or run ids/files, comma-separated`)
	return cmd
}

// writeJUnit writes info's verdicts as JUnit XML to path (--junit).
func writeJUnit(path, suite string, info report.Info, s *stats.Snapshot) error {
	return writeFile(path, "--junit", func(w io.Writer) error { return report.WriteJUnit(w, suite, info, s) })
}

// writeOut writes a command's output to stdout when -o is empty or "-",
// else to the file -o names.
func writeOut(stdout io.Writer, out string, write func(io.Writer) error) error {
	if out == "" || out == "-" {
		if err := write(stdout); err != nil {
			return &run.ExitError{Code: run.ExitBroken, Err: err}
		}
		return nil
	}
	return writeFile(out, "-o", write)
}

// writeFile writes the file path, which flag named: a path that cannot be
// created is bad input, a failed write a broken run.
func writeFile(path, flag string, write func(io.Writer) error) error {
	err := run.WriteFile(path, write)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist):
		return badInput("%s: %v", flag, err)
	}
	return &run.ExitError{Code: run.ExitBroken, Err: fmt.Errorf("%s: %w", flag, err)}
}

// openRun opens a run given as a file or as a run id under dir; a run found
// neither way is an error naming the directory looked in.
func openRun(ctx context.Context, arg, dir string) (*run.File, error) {
	path := run.Resolve(arg, dir)
	if _, err := os.Stat(path); err != nil && errors.Is(err, os.ErrNotExist) {
		return nil, badInput("no run %q: not a run file, nor a run id in %s (another directory: --runs-dir DIR or HORDE_RUNS_DIR; horde runs lists them)", arg, absDir(dir))
	}
	return run.Open(ctx, path)
}

// absDir is dir as an absolute path, for messages.
func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return dir
}

// formatName is a --format value by its one name across commands (text,
// csv, json, markdown, html): the older names and short forms ("table"
// for text, "md" for markdown) are accepted as aliases.
func formatName(f string) string {
	switch strings.ToLower(f) {
	case "table", "txt":
		return "text"
	case "md":
		return "markdown"
	case "htm":
		return "html"
	}
	return strings.ToLower(f)
}
