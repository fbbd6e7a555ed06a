package cli

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/horde-load/horde/internal/run"
	"github.com/horde-load/horde/internal/stats"
	"github.com/horde-load/horde/internal/store"
)

// newPercentilesCmd is `horde percentiles RUN --from --to`: percentiles
// over any window of a recorded run, from its per-minute histograms.
func newPercentilesCmd(stdout, stderr io.Writer, lookup env) *cobra.Command {
	var (
		dir, format string
		from, to    durationValue
	)
	cmd := &cobra.Command{
		Use:   "percentiles RUN",
		Short: "Response time percentiles per name over a window of a recorded run",
		Long: `Print the response time percentiles of every name over a window of a recorded
run (a run file, or a run id under --runs-dir): --from and --to are offsets
from the run's start (default: the whole run). They are read from the run
file's per-minute histograms (2 significant digits: within 0.8 % of the
value), so the window is widened to whole minutes; the header says which.

Columns are those of Locust's percentile CSV. --format csv writes CSV.
See docs/runs.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags(), lookup); err != nil {
				return err
			}
			switch format = formatName(format); format {
			case "text", "csv":
			default:
				return badInput("--format: %q is not text or csv", format)
			}
			if to.d != 0 && to.d <= from.d {
				return badInput("--to (%v) must be after --from (%v)", to.d, from.d)
			}
			ctx := cmd.Context()
			path := run.Resolve(args[0], dir)
			if _, err := os.Stat(path); err != nil {
				return badInput("no run %q: not a run file, nor a run id in %s (another directory: --runs-dir DIR or HORDE_RUNS_DIR)", args[0], absDir(dir))
			}
			st, err := store.Open(ctx, path)
			if err != nil {
				return badInput("%v", err)
			}
			defer st.Close(ctx)
			rr, err := st.Run(ctx)
			if err != nil {
				return badInput("%s: %v", path, err)
			}
			start := rr.Started.Add(from.d).Truncate(time.Minute)
			end := time.Now().Add(time.Minute)
			if to.d > 0 {
				end = rr.Started.Add(to.d)
				if t := end.Truncate(time.Minute); t.Before(end) {
					end = t.Add(time.Minute)
				}
			}
			hs, mins, err := st.Window(ctx, start, end)
			if err != nil {
				return &run.ExitError{Code: ExitBroken, Err: fmt.Errorf("%s: %w", path, err)}
			}
			if mins == 0 {
				return badInput("%s: no per-minute histograms between %s and %s (runs recorded before horde kept them have none)",
					path, start.Format(time.RFC3339), end.Format(time.RFC3339))
			}
			off := func(t time.Time) string { return fmt.Sprintf("%+v", t.Sub(rr.Started).Round(time.Second)) }
			fmt.Fprintf(stderr, "run %s: %d minutes, %s to %s (%s to %s of the run)\n", rr.ID, mins, start.Local().Format("15:04"),
				end.Local().Format("15:04"), off(start), off(end))
			if (from.d > 0 && !start.Equal(rr.Started.Add(from.d))) || (to.d > 0 && !end.Equal(rr.Started.Add(to.d))) {
				fmt.Fprintf(stderr, "horde: the window asked for, %s to %s of the run, is widened to the whole minutes around it: the run file keeps one histogram per clock minute, so percentiles over part of a minute cannot be told apart\n",
					off(rr.Started.Add(from.d)), off(rr.Started.Add(to.d)))
			}
			return writePercentiles(stdout, hs, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "runs-dir", run.DefaultRunsDir, "directory of the run files")
	f.Var(&from, "from", "start of the window, from the run's start (e.g. 10m)")
	f.Var(&to, "to", "end of the window, from the run's start (default: the end)")
	f.StringVar(&format, "format", "text", "text (a table) or csv (\"table\" is accepted for text)")
	return cmd
}

// writePercentiles writes one row per name (Aggregated last), with
// Locust's percentile columns.
func writePercentiles(w io.Writer, hs map[stats.Key]*hdr.PackedHistogram, format string) error {
	keys := make([]stats.Key, 0, len(hs))
	for k := range hs {
		if k.Name != stats.AggregatedName || k.Method != "" {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b stats.Key) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method)) })
	agg := stats.Key{Name: stats.AggregatedName}
	if hs[agg] != nil {
		keys = append(keys, agg)
	}
	header := append([]string{"Type", "Name", "Request Count"}, stats.PercentileLabels...)
	rows := [][]string{header}
	for _, k := range keys {
		h := hs[k]
		row := []string{k.Method, k.Name, strconv.FormatInt(h.TotalCount(), 10)}
		for _, p := range stats.Percentiles {
			row = append(row, strconv.FormatFloat(float64(h.ValueAtPercentile(p*100))/1000, 'f', -1, 64))
		}
		rows = append(rows, row)
	}
	if format == "csv" {
		cw := csv.NewWriter(w)
		cw.WriteAll(rows)
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range rows {
		for _, c := range r {
			fmt.Fprint(tw, c, "\t")
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
